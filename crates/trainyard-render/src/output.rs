//! Rendered files against the disk: atomic writes, and the drift check.

use std::collections::BTreeSet;
use std::path::Path;

use similar::TextDiff;

use crate::{GENERATED_MARKER, RenderedFile};

/// How a committed file differs from what the manifest renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftKind {
    /// The file exists with other contents (edited by hand, or the manifest changed).
    Changed,
    /// The file should exist and does not.
    Missing,
    /// A generated file that the manifest no longer renders.
    Extra,
}

/// One drifted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Relative to the project root, with `/` separators.
    pub path: String,
    pub kind: DriftKind,
    /// A unified diff from what is on disk to what renders.
    pub diff: String,
    /// The first line (1-based) of the file on disk that differs, for an annotation there.
    pub line: Option<u32>,
}

/// Compares `rendered` with the files under `root`. Generated files (they
/// carry the header) found under `scan_dirs` that nothing rendered are extra.
pub fn compare(
    root: &Path,
    rendered: &[RenderedFile],
    scan_dirs: &[String],
) -> std::io::Result<Vec<Drift>> {
    let mut drifts = Vec::new();
    let mut expected = BTreeSet::new();
    for file in rendered {
        expected.insert(file.path.clone());
        // Never read through a link: its target (outside the project) would be
        // shown in the diff. The file differs, and `iac render` refuses it.
        if let Err(refused) = trainyard_core::fs::resolve_within(root, Path::new(&file.path)) {
            drifts.push(Drift {
                path: file.path.clone(),
                kind: DriftKind::Changed,
                diff: format!("{refused}\n"),
                line: None,
            });
            continue;
        }
        let on_disk = match std::fs::read(root.join(&file.path)) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(error),
        };
        match on_disk {
            Some(text) if text == file.contents => {}
            Some(text) => drifts.push(Drift {
                path: file.path.clone(),
                kind: DriftKind::Changed,
                diff: unified(&text, &file.contents, &file.path),
                line: first_changed_line(&text, &file.contents),
            }),
            None => drifts.push(Drift {
                path: file.path.clone(),
                kind: DriftKind::Missing,
                diff: unified("", &file.contents, &file.path),
                line: None,
            }),
        }
    }
    for dir in scan_dirs {
        for path in generated_files(root, dir)? {
            if !expected.contains(&path) {
                let text = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
                drifts.push(Drift {
                    diff: unified(&text, "", &path),
                    path,
                    kind: DriftKind::Extra,
                    line: None,
                });
            }
        }
    }
    drifts.sort_by(|a, b| a.path.cmp(&b.path));
    drifts.dedup_by(|a, b| a.path == b.path);
    Ok(drifts)
}

/// The first line of `old` that a line diff to `new` removes or inserts before.
fn first_changed_line(old: &str, new: &str) -> Option<u32> {
    TextDiff::from_lines(old, new)
        .ops()
        .iter()
        .find(|op| op.tag() != similar::DiffTag::Equal)
        .map(|op| u32::try_from(op.old_range().start + 1).unwrap_or(u32::MAX))
}

fn unified(old: &str, new: &str, path: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Files under `root/dir` (relative paths) whose first line carries the generated marker.
fn generated_files(root: &Path, dir: &str) -> std::io::Result<Vec<String>> {
    let mut found = Vec::new();
    // A scan folder reached through a link (or outside the project) holds
    // nothing trainyard wrote: it never writes through a link.
    if trainyard_core::fs::resolve_within(root, Path::new(dir)).is_err() {
        return Ok(found);
    }
    let mut pending = vec![root.join(dir)];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                // Tool state (`.terraform/`) is never generated.
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    pending.push(path);
                }
            } else if file_type.is_file() && first_line_is_generated(&path) {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found.sort();
    Ok(found)
}

fn first_line_is_generated(path: &Path) -> bool {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut first = String::new();
    let mut reader = std::io::BufReader::new(file);
    reader.read_line(&mut first).is_ok() && first.contains(GENERATED_MARKER)
}

/// Writes `contents` to `path` atomically unless it already holds them;
/// returns whether it wrote.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<bool> {
    trainyard_core::fs::write_if_changed(path, contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &str) -> RenderedFile {
        RenderedFile {
            path: path.to_owned(),
            contents: contents.to_owned(),
            template: "t".to_owned(),
        }
    }

    #[test]
    fn changed_missing_and_extra_files_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let header = format!("# {GENERATED_MARKER} from trainyard.yaml\n");
        write_atomic(&root.join("infra/t/dev/a.tf"), &format!("{header}a = 1\n")).unwrap();
        write_atomic(&root.join("infra/t/old/c.tf"), &format!("{header}c = 1\n")).unwrap();
        // A person's file (no header) and tool state are never extra.
        write_atomic(&root.join("infra/t/dev/notes.tf"), "x = 1\n").unwrap();
        write_atomic(&root.join("infra/t/dev/.terraform/x.tf"), &header).unwrap();

        let rendered = [
            file("infra/t/dev/a.tf", &format!("{header}a = 2\n")),
            file("infra/t/dev/b.tf", &format!("{header}b = 1\n")),
        ];
        let drifts = compare(root, &rendered, &["infra/t".to_owned()]).unwrap();
        let kinds: Vec<(&str, DriftKind)> =
            drifts.iter().map(|d| (d.path.as_str(), d.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("infra/t/dev/a.tf", DriftKind::Changed),
                ("infra/t/dev/b.tf", DriftKind::Missing),
                ("infra/t/old/c.tf", DriftKind::Extra),
            ]
        );
        assert!(
            drifts[0].diff.contains("-a = 1\n+a = 2\n"),
            "{}",
            drifts[0].diff
        );
        assert!(
            drifts[0]
                .diff
                .starts_with("--- a/infra/t/dev/a.tf\n+++ b/infra/t/dev/a.tf\n")
        );
    }

    #[test]
    fn an_unchanged_file_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/y.yaml");
        assert!(write_atomic(&path, "a: 1\n").unwrap());
        assert!(!write_atomic(&path, "a: 1\n").unwrap());
        assert!(write_atomic(&path, "a: 2\n").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 2\n");
        let leftovers = std::fs::read_dir(dir.path().join("x")).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
