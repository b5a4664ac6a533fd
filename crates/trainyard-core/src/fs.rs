//! Writing files so that nothing is ever half-written, and nothing derived
//! from the manifest lands outside the project.
//!
//! Every file trainyard writes goes through a temporary file in the same
//! folder, is flushed to disk, and replaces the old one by a rename. A reader
//! (or a crash) sees the old content or the new, never a part. The new file
//! gets the mode of the file it replaces, or `0666` less the umask for a new
//! one (as `touch` or an editor would), not the temporary file's `0600`.
//!
//! Paths that come from the manifest or the repository (a dataset's name,
//! `iac.output-dir`, a template's path, `deploy/<env>/`) are written through
//! the `*_within` functions: the path must be relative, without `..`, and no
//! folder on the way (nor the file itself) may be a symbolic link. The checks
//! read each component with `symlink_metadata` (never following it) and create
//! missing folders one at a time, refusing a link found on the way; the final
//! rename replaces a name and never writes through it. This is checked, not
//! enforced by the kernel (as `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
//! or cap-std would): it stops the links and names a repository or a manifest
//! carries, which are static while trainyard runs, and works the same on every
//! platform. A process able to swap a folder for a link between the check and
//! the write already runs as the same user, and could write there itself.
//! Paths a person gives on the command line (`-o`, `--profiles`, `--junit`)
//! go through [`write_atomic`] and are written where they point.

use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// Why a path inside the project may not be written.
#[derive(Debug, thiserror::Error)]
pub enum ContainmentError {
    /// The path is absolute, or climbs out with `..`.
    #[error(
        "`{}` is outside the project: paths trainyard derives from the manifest stay inside its folder",
        path.display()
    )]
    Outside { path: PathBuf },
    /// A folder on the way, or the file itself, is a symbolic link.
    #[error(
        "`{}` is a symbolic link; trainyard does not write through links (it could lead outside the project)",
        link.display()
    )]
    Symlink { link: PathBuf },
    /// A component on the way exists and is not a folder.
    #[error("`{}` is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    /// Reading, creating or writing failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ContainmentError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self + use<> {
        let path = path.to_path_buf();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    /// Whether the path itself is refused (outside, a link, not a folder),
    /// as opposed to the file system failing.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Io { .. })
    }
}

/// Whether `relative` stays inside whatever folder it is joined to, by its
/// text alone: relative, without `..` (`.` components are dropped). Returns it
/// normalised.
pub fn relative_inside(relative: &Path) -> Result<PathBuf, ContainmentError> {
    let mut normal = PathBuf::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(ContainmentError::Outside {
                    path: relative.to_path_buf(),
                });
            }
        }
    }
    Ok(normal)
}

/// `root/relative` once `relative` is known to stay inside `root` without
/// passing through a symbolic link: every component that exists is a real
/// folder (the last may be a file, or missing). `relative` may also be a path
/// that starts with `root` (as `root.join(…)` gives).
pub fn resolve_within(root: &Path, relative: &Path) -> Result<PathBuf, ContainmentError> {
    let relative = relative.strip_prefix(root).unwrap_or(relative);
    let normal = relative_inside(relative)?;
    let mut current = root.to_path_buf();
    let count = normal.components().count();
    for (index, component) in normal.components().enumerate() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(ContainmentError::Symlink { link: current });
            }
            Ok(meta) if index + 1 < count && !meta.is_dir() => {
                return Err(ContainmentError::NotAFolder { path: current });
            }
            Ok(_) => {}
            // Nothing further exists: nothing further can be a link.
            Err(error) if error.kind() == io::ErrorKind::NotFound => break,
            Err(error) => return Err(ContainmentError::io("reading", &current)(error)),
        }
    }
    Ok(root.join(normal))
}

/// Creates `root/relative` and every missing folder on the way, one at a
/// time, refusing a link or a way out. Returns the folder.
pub fn create_dir_within(root: &Path, relative: &Path) -> Result<PathBuf, ContainmentError> {
    let relative = relative.strip_prefix(root).unwrap_or(relative);
    let normal = relative_inside(relative)?;
    let mut current = root.to_path_buf();
    for component in normal.components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(ContainmentError::Symlink { link: current });
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(ContainmentError::NotAFolder { path: current }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                match std::fs::create_dir(&current) {
                    Ok(()) => {}
                    // Created meanwhile (a parallel step): checked again below.
                    Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                        let meta = std::fs::symlink_metadata(&current)
                            .map_err(ContainmentError::io("reading", &current))?;
                        if meta.file_type().is_symlink() {
                            return Err(ContainmentError::Symlink { link: current });
                        }
                        if !meta.is_dir() {
                            return Err(ContainmentError::NotAFolder { path: current });
                        }
                    }
                    Err(error) => return Err(ContainmentError::io("creating", &current)(error)),
                }
            }
            Err(error) => return Err(ContainmentError::io("reading", &current)(error)),
        }
    }
    Ok(root.join(normal))
}

/// Writes `bytes` to `root/relative` atomically, creating missing folders,
/// never leaving `root` or following a link (see the module).
pub fn write_atomic_within(
    root: &Path,
    relative: &Path,
    bytes: &[u8],
) -> Result<PathBuf, ContainmentError> {
    let target = prepare_within(root, relative)?;
    write_atomic(&target, bytes).map_err(ContainmentError::io("writing", &target))?;
    Ok(target)
}

/// [`write_if_changed`] under the rules of [`write_atomic_within`]; returns
/// whether it wrote.
pub fn write_if_changed_within(
    root: &Path,
    relative: &Path,
    bytes: &[u8],
) -> Result<bool, ContainmentError> {
    let target = prepare_within(root, relative)?;
    write_if_changed(&target, bytes).map_err(ContainmentError::io("writing", &target))
}

/// Removes the file `root/relative`, never through a link (a link itself is
/// refused, not removed: trainyard removes only what it wrote).
pub fn remove_file_within(root: &Path, relative: &Path) -> Result<(), ContainmentError> {
    let target = resolve_within(root, relative)?;
    std::fs::remove_file(&target).map_err(ContainmentError::io("removing", &target))
}

/// The checked target of a write, its folder created.
fn prepare_within(root: &Path, relative: &Path) -> Result<PathBuf, ContainmentError> {
    let relative = relative.strip_prefix(root).unwrap_or(relative);
    let normal = relative_inside(relative)?;
    if normal.as_os_str().is_empty() {
        return Err(ContainmentError::NotAFolder {
            path: root.to_path_buf(),
        });
    }
    if let Some(parent) = normal.parent() {
        create_dir_within(root, parent)?;
    }
    resolve_within(root, &normal)
}

/// The temporary file that becomes `path` once written, flushed and renamed
/// (`persist`): in `path`'s folder (which must exist), so the rename is
/// atomic, with the mode a plain write would give — `path`'s own mode when
/// it replaces a file, else 0666 less the umask (tempfile alone asks 0600,
/// which made every file private). For files written as a stream.
pub fn temporary_for(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".trainyard-").suffix(".tmp");
    // `open` applies the umask to the mode asked for.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let temporary = builder.tempfile_in(dir)?;
    // Set after, so the umask does not narrow a replaced file's mode.
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.is_file()
    {
        temporary.as_file().set_permissions(meta.permissions())?;
    }
    Ok(temporary)
}

/// Writes `bytes` to `path` atomically, creating missing folders. For paths
/// a person chose; paths derived from the manifest use [`write_atomic_within`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut temporary = temporary_for(path)?;
    temporary.write_all(bytes)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    Ok(())
}

/// Like [`write_atomic`], but leaves the file alone when it already holds
/// exactly `bytes` (its modification time then says when it last changed).
/// Returns whether it wrote.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    if std::fs::read(path).is_ok_and(|existing| existing == bytes) {
        return Ok(false);
    }
    write_atomic(path, bytes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_creates_folders_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file.txt");
        write_atomic(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert!(write_if_changed(&path, b"two").unwrap());
        assert!(!write_if_changed(&path, b"two").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no temporary file is left: {leftovers:?}"
        );
    }

    #[test]
    fn a_way_out_by_name_is_refused_before_anything_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir(&root).unwrap();
        for escape in [
            "../elsewhere/x.tf",
            "a/../../x",
            "/abs/pwn.json",
            "../../../x/pwn.json",
        ] {
            let error = write_atomic_within(&root, Path::new(escape), b"x").unwrap_err();
            assert!(
                matches!(error, ContainmentError::Outside { .. }),
                "{escape}: {error}"
            );
            assert!(error.is_refusal());
        }
        assert!(!dir.path().join("elsewhere").exists());
        assert!(!dir.path().join("x").exists());
        // `.` components are harmless; a path that starts with the root is taken as relative.
        write_atomic_within(&root, Path::new("./a/./b.txt"), b"1").unwrap();
        write_atomic_within(&root, &root.join("c.txt"), b"2").unwrap();
        assert_eq!(std::fs::read(root.join("a/b.txt")).unwrap(), b"1");
        assert_eq!(std::fs::read(root.join("c.txt")).unwrap(), b"2");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_on_the_way_or_at_the_end_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("infra/terraform")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("infra/terraform/dev")).unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), root.join("link.txt")).unwrap();

        let error =
            write_atomic_within(&root, Path::new("infra/terraform/dev/main.tf"), b"x").unwrap_err();
        assert!(
            matches!(&error, ContainmentError::Symlink { link } if link.ends_with("infra/terraform/dev")),
            "{error}"
        );
        let error = create_dir_within(&root, Path::new("infra/terraform/dev/sub")).unwrap_err();
        assert!(matches!(error, ContainmentError::Symlink { .. }), "{error}");
        let error = write_atomic_within(&root, Path::new("link.txt"), b"x").unwrap_err();
        assert!(matches!(error, ContainmentError::Symlink { .. }), "{error}");
        let error = remove_file_within(&root, Path::new("infra/terraform/dev/victim")).unwrap_err();
        assert!(matches!(error, ContainmentError::Symlink { .. }), "{error}");
        let error = remove_file_within(&root, Path::new("link.txt")).unwrap_err();
        assert!(matches!(error, ContainmentError::Symlink { .. }), "{error}");

        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        // The project's root may itself be reached through a link: it is the user's choice.
        let linked_root = dir.path().join("linked-project");
        std::os::unix::fs::symlink(&root, &linked_root).unwrap();
        write_atomic_within(&linked_root, Path::new("ok/file"), b"ok").unwrap();
        assert_eq!(std::fs::read(root.join("ok/file")).unwrap(), b"ok");
    }

    /// The process's umask, from `/proc/self/status` (Linux 4.7 and later).
    fn umask() -> Option<u32> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|line| line.starts_with("Umask:"))?;
        u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).ok()
    }

    /// The umask is the process's, so it cannot be set here without racing the
    /// other tests' threads: this checks the mode against the umask the tests
    /// run under (the root tests run the binary under `umask 022` and `077`).
    #[cfg(unix)]
    #[test]
    fn files_get_the_umask_s_mode_or_the_replaced_file_s() {
        use std::os::unix::fs::PermissionsExt;
        let Some(umask) = umask() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let fresh = dir.path().join("fresh.yaml");
        write_atomic(&fresh, b"a").unwrap();
        assert_eq!(
            mode(&fresh),
            0o666 & !umask,
            "0666 less the umask {umask:03o}"
        );
        let within =
            write_atomic_within(dir.path(), Path::new("deploy/dev/release.yaml"), b"a").unwrap();
        assert_eq!(mode(&within), 0o666 & !umask);

        // A replaced file keeps its mode (an executable script stays executable).
        let script = dir.path().join("run.sh");
        std::fs::write(&script, b"old").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o772)).unwrap();
        write_atomic(&script, b"new").unwrap();
        assert_eq!(mode(&script), 0o772, "not narrowed by the umask");
        assert_eq!(std::fs::read(&script).unwrap(), b"new");
    }
}
