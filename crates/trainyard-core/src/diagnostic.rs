//! Configuration errors a person can act on: where (file, line, column), what
//! was expected, and the nearest valid key when a key is misspelt.

use std::fmt;

use crate::manifest::KeyPath;
use crate::report::{Finding, Location};

/// A position in a source file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceSpan {
    pub line: u32,
    pub column: u32,
}

/// A configuration file that trainyard could not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file as the user named it (relative paths stay relative).
    pub file: String,
    pub span: Option<SourceSpan>,
    /// The key path inside the file, like `datasets.train.sample`, when known.
    pub key_path: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What would be right: a suggestion or the accepted values.
    pub help: Option<String>,
    /// The offending source line, for the console snippet.
    pub source_line: Option<String>,
    /// A stable rule id for annotations and JSON, e.g. `unknown-key`.
    pub rule: &'static str,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            span: None,
            key_path: None,
            message: message.into(),
            help: None,
            source_line: None,
            rule,
        }
    }

    /// Points the error at a line and column of `source`, keeping that line for the snippet.
    #[must_use]
    pub fn at(mut self, source: &str, span: SourceSpan) -> Self {
        self.source_line = source
            .lines()
            .nth(span.line.saturating_sub(1) as usize)
            .map(str::to_owned);
        self.span = Some(span);
        self
    }

    /// Names the key path and points at its line in `source` (or at the
    /// deepest enclosing key there, when the key itself is absent).
    #[must_use]
    pub fn at_key(self, source: &str, path: &KeyPath) -> Self {
        let error = self.with_key_path(path.to_string());
        match crate::manifest::locate_nearest(source, path) {
            Some(span) => error.at(source, span),
            None => error,
        }
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub fn with_key_path(mut self, key_path: impl Into<String>) -> Self {
        self.key_path = Some(key_path.into());
        self
    }

    pub fn location(&self) -> Location {
        let location = Location::file(self.file.clone());
        match self.span {
            Some(span) => location.at(span.line, Some(span.column)),
            None => location,
        }
    }

    /// The error as a finding, so CI shows it as an annotation on the file.
    pub fn to_finding(&self) -> Finding {
        let message = match &self.help {
            Some(help) => format!("{} ({help})", self.message),
            None => self.message.clone(),
        };
        Finding::error(self.rule, message).at(self.location())
    }

    /// A plain-text snippet: the offending line with a caret under the column.
    pub fn snippet(&self) -> Option<String> {
        let span = self.span?;
        let line = self.source_line.as_ref()?;
        let gutter = span.line.to_string();
        let pad = " ".repeat(gutter.len());
        let caret_pad = " ".repeat(span.column.saturating_sub(1) as usize);
        Some(format!("{pad} |\n{gutter} | {line}\n{pad} | {caret_pad}^"))
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.message)?;
        if let Some(help) = &self.help {
            write!(f, "; {help}")?;
        }
        Ok(())
    }
}

/// The candidate closest to `given`, if it is close enough to be a likely typo.
pub fn nearest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(given, candidate), candidate))
        .filter(|(score, _)| *score >= 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_a_typo_and_ignores_noise() {
        let keys = ["name", "description", "default-branch"];
        assert_eq!(nearest("nmae", keys), Some("name"));
        assert_eq!(nearest("defualt-branch", keys), Some("default-branch"));
        assert_eq!(nearest("zzz", keys), None);
    }

    #[test]
    fn snippet_points_at_the_column() {
        let error = ConfigError::new("trainyard.yaml", "unknown-key", "unknown key `nmae`")
            .at("project:\n  nmae: x\n", SourceSpan { line: 2, column: 3 });
        assert_eq!(error.snippet().unwrap(), "  |\n2 |   nmae: x\n  |   ^");
        assert_eq!(error.to_string(), "trainyard.yaml:2:3: unknown key `nmae`");
    }
}
