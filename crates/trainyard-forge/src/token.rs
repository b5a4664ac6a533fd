//! The API token: never printed.

use std::fmt;

/// A GitHub token. Its `Debug` prints `***`, and it has no `Display`, so it
/// cannot reach a log by accident; [`Token::expose`] is the one way out.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// `None` for an empty or blank value (an unset action input is "").
    pub fn new(value: impl Into<String>) -> Option<Self> {
        let value = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() {
            None
        } else {
            Some(Self(trimmed.to_owned()))
        }
    }

    /// The secret itself, for the Authorization header and for masking.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let token = Token::new("ghs_secret123").unwrap();
        assert_eq!(format!("{token:?}"), "***");
        assert_eq!(format!("{:?}", Some(&token)), "Some(***)");
        assert_eq!(token.expose(), "ghs_secret123");
    }

    #[test]
    fn blank_is_no_token() {
        assert!(Token::new("").is_none());
        assert!(Token::new("  \n").is_none());
    }
}
