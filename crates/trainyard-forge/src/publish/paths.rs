//! Check-run annotations need paths from the repository root; findings carry
//! paths from where trainyard ran, which may be a project folder inside it.

use std::path::{Component, Path};

/// A finding's file as a path from the repository root (`workspace`,
/// GITHUB_WORKSPACE): relative paths are relative to the working directory.
/// Without a workspace, or outside it, the path as given (with `/`).
pub(super) fn repository_path(file: &str, workspace: Option<&Path>) -> String {
    let path = Path::new(file);
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(dir) => dir.join(path),
            Err(_) => return file.replace('\\', "/"),
        }
    };
    workspace
        .and_then(|root| {
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            let absolute = absolute.canonicalize().unwrap_or_else(|_| absolute.clone());
            absolute.strip_prefix(root).ok().map(Path::to_path_buf)
        })
        .map_or_else(
            || file.replace('\\', "/"),
            |relative| relative.to_string_lossy().replace('\\', "/"),
        )
}

/// Whether a path from [`repository_path`] is inside the repository.
pub(super) fn in_repository(path: &str) -> bool {
    !path.is_empty()
        && !Path::new(path).has_root()
        && !path.contains(':')
        && !Path::new(path)
            .components()
            .any(|c| matches!(c, Component::ParentDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_repository_are_annotated() {
        assert!(in_repository("data/a.csv"));
        assert!(in_repository("trainyard.yaml"));
        assert!(!in_repository("/tmp/production.csv"));
        assert!(!in_repository("../other/a.csv"));
        assert!(!in_repository("C:/data/a.csv"));
        assert!(!in_repository(""));
    }

    #[test]
    fn paths_become_relative_to_the_repository_root() {
        let root = std::env::current_dir().unwrap();
        assert_eq!(repository_path("Cargo.toml", Some(&root)), "Cargo.toml");
        let parent = root.parent().unwrap();
        let name = root.file_name().unwrap().to_string_lossy();
        assert_eq!(
            repository_path("Cargo.toml", Some(parent)),
            format!("{name}/Cargo.toml")
        );
        assert_eq!(repository_path("data/x.csv", None), "data/x.csv");
    }
}
