//! Where a key path sits in YAML text, to point a person at a line. This does
//! not parse: the manifest is parsed by serde; these only find lines again.

use crate::diagnostic::SourceSpan;

/// The line and column of a block-style key path such as `gates`, `prod`,
/// `metrics` (each key indented deeper than its parent; keys may sit on list
/// items, `- name: x`), or `None` when the whole path is not there. Flow style
/// is not followed.
pub fn locate_key(source: &str, path: &[&str]) -> Option<SourceSpan> {
    let mut parent_indent: Option<usize> = None;
    let mut found = None;
    let mut lines = source.lines().enumerate();
    for key in path {
        let mut hit = None;
        for (index, line) in lines.by_ref() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if parent_indent.is_some_and(|parent| indent <= parent) {
                return None;
            }
            let unquoted = trimmed.trim_start_matches("- ");
            let key_text = unquoted
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            if key_text == *key && unquoted.contains(':') {
                hit = Some((index, indent));
                break;
            }
        }
        let (index, indent) = hit?;
        parent_indent = Some(indent);
        found = Some(SourceSpan {
            line: u32::try_from(index + 1).unwrap_or(u32::MAX),
            column: u32::try_from(indent + 1).unwrap_or(u32::MAX),
        });
    }
    found
}

/// [`locate_key`], or else the deepest enclosing key that is there.
pub fn locate_nearest_key(source: &str, path: &[&str]) -> Option<SourceSpan> {
    (1..=path.len())
        .rev()
        .find_map(|depth| locate_key(source, &path[..depth]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATES: &str = "version: 1\ngates:\n  staging:\n    metrics: [a]\n  prod:\n    # why\n    metrics: [b]\n    require-tag: \"v*\"\nenvironments: []\n";

    fn line(path: &[&str]) -> Option<u32> {
        locate_key(GATES, path).map(|span| span.line)
    }

    #[test]
    fn finds_keys_under_their_parent_only() {
        assert_eq!(line(&["gates", "prod", "metrics"]), Some(7));
        assert_eq!(line(&["gates", "staging", "metrics"]), Some(4));
        assert_eq!(line(&["gates", "prod", "require-tag"]), Some(8));
        assert_eq!(line(&["gates", "staging", "require-tag"]), None);
        assert_eq!(line(&["gates", "dev"]), None);
    }

    #[test]
    fn the_nearest_key_is_the_deepest_that_exists() {
        let span = locate_nearest_key(GATES, &["gates", "staging", "require-tag"]).unwrap();
        assert_eq!((span.line, span.column), (3, 3));
        assert_eq!(locate_nearest_key(GATES, &["nothing"]), None);
    }
}
