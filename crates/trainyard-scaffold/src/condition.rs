//! The conditions of `[conditional.'<condition>']` blocks. cargo-generate
//! evaluates them as Rhai expressions over the template's values; trainyard
//! evaluates the subset templates use — `==`, `!=`, `&&`, `||`, `!`,
//! parentheses, double-quoted strings, `true`, `false` and value names — with
//! Rhai's rules: a bool placeholder is a bool and every other value a string;
//! `==` between different types is false and `!=` true; a condition that
//! fails to evaluate (an unknown name, `&&` on a string, a result that is not
//! a bool) is false. Anything else is refused, never guessed.

use liquid::Object;
use liquid::model::{ScalarCow, ValueView};

/// A value as a condition sees it.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Bool(bool),
    Text(String),
}

/// Evaluates `condition` over `values`; `Err` names syntax outside the subset.
pub fn evaluate(condition: &str, values: &Object) -> Result<bool, String> {
    let tokens = tokenize(condition)?;
    let mut parser = Parser {
        tokens: &tokens,
        position: 0,
    };
    let expression = parser.or()?;
    if parser.position != tokens.len() {
        return Err(format!(
            "unexpected `{}`",
            tokens[parser.position].describe()
        ));
    }
    Ok(matches!(expression.eval(values), Some(Operand::Bool(true))))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Text(String),
    Bool(bool),
    Equal,
    NotEqual,
    And,
    Or,
    Not,
    Open,
    Close,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Name(name) => name.clone(),
            Self::Text(text) => format!("\"{text}\""),
            Self::Bool(value) => value.to_string(),
            Self::Equal => "==".into(),
            Self::NotEqual => "!=".into(),
            Self::And => "&&".into(),
            Self::Or => "||".into(),
            Self::Not => "!".into(),
            Self::Open => "(".into(),
            Self::Close => ")".into(),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '=' if chars.next_if_eq(&'=').is_some() => tokens.push(Token::Equal),
            '!' if chars.next_if_eq(&'=').is_some() => tokens.push(Token::NotEqual),
            '!' => tokens.push(Token::Not),
            '&' if chars.next_if_eq(&'&').is_some() => tokens.push(Token::And),
            '|' if chars.next_if_eq(&'|').is_some() => tokens.push(Token::Or),
            '"' => {
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => literal.push('"'),
                            Some('\\') => literal.push('\\'),
                            Some('n') => literal.push('\n'),
                            Some('t') => literal.push('\t'),
                            other => {
                                return Err(format!(
                                    "the escape `\\{}` is not supported",
                                    other.map(String::from).unwrap_or_default()
                                ));
                            }
                        },
                        Some(other) => literal.push(other),
                        None => return Err("a string is not closed".into()),
                    }
                }
                tokens.push(Token::Text(literal));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::from(c);
                while let Some(next) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    name.push(next);
                }
                tokens.push(match name.as_str() {
                    "true" => Token::Bool(true),
                    "false" => Token::Bool(false),
                    _ => Token::Name(name),
                });
            }
            other => return Err(format!("`{other}` is not supported")),
        }
    }
    Ok(tokens)
}

#[derive(Debug)]
enum Expression {
    Literal(Operand),
    Name(String),
    Not(Box<Expression>),
    Compare(Box<Expression>, bool, Box<Expression>),
    And(Box<Expression>, Box<Expression>),
    Or(Box<Expression>, Box<Expression>),
}

impl Expression {
    /// `None` is an evaluation error (false for the whole condition).
    fn eval(&self, values: &Object) -> Option<Operand> {
        Some(match self {
            Self::Literal(operand) => operand.clone(),
            Self::Name(name) => {
                let scalar = values.get(name.as_str())?.as_scalar()?;
                operand(&scalar)
            }
            Self::Not(inner) => match inner.eval(values)? {
                Operand::Bool(value) => Operand::Bool(!value),
                Operand::Text(_) => return None,
            },
            Self::Compare(left, equal, right) => {
                let same = left.eval(values)? == right.eval(values)?;
                Operand::Bool(same == *equal)
            }
            // Short-circuiting, as Rhai does: the right side is not evaluated.
            Self::And(left, right) => match left.eval(values)? {
                Operand::Bool(false) => Operand::Bool(false),
                Operand::Bool(true) => Operand::Bool(as_bool(&right.eval(values)?)?),
                Operand::Text(_) => return None,
            },
            Self::Or(left, right) => match left.eval(values)? {
                Operand::Bool(true) => Operand::Bool(true),
                Operand::Bool(false) => Operand::Bool(as_bool(&right.eval(values)?)?),
                Operand::Text(_) => return None,
            },
        })
    }
}

fn as_bool(operand: &Operand) -> Option<bool> {
    match operand {
        Operand::Bool(value) => Some(*value),
        Operand::Text(_) => None,
    }
}

/// As cargo-generate hands a value to Rhai: a bool scalar as a bool, any other as its text.
fn operand(scalar: &ScalarCow<'_>) -> Operand {
    scalar.to_bool().map_or_else(
        || Operand::Text(scalar.to_kstr().as_str().to_owned()),
        Operand::Bool,
    )
}

struct Parser<'a> {
    tokens: &'a [Token],
    position: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expression, String> {
        let mut left = self.and()?;
        while self.eat(&Token::Or) {
            left = Expression::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expression, String> {
        let mut left = self.compare()?;
        while self.eat(&Token::And) {
            left = Expression::And(Box::new(left), Box::new(self.compare()?));
        }
        Ok(left)
    }

    fn compare(&mut self) -> Result<Expression, String> {
        let left = self.unary()?;
        for (token, equal) in [(Token::Equal, true), (Token::NotEqual, false)] {
            if self.eat(&token) {
                let right = self.unary()?;
                if matches!(self.peek(), Some(Token::Equal | Token::NotEqual)) {
                    return Err("chained comparisons are not supported".into());
                }
                return Ok(Expression::Compare(Box::new(left), equal, Box::new(right)));
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expression, String> {
        if self.eat(&Token::Not) {
            return Ok(Expression::Not(Box::new(self.unary()?)));
        }
        let token = self
            .peek()
            .cloned()
            .ok_or_else(|| "the condition ends too early".to_owned())?;
        self.position += 1;
        match token {
            Token::Open => {
                let inner = self.or()?;
                if !self.eat(&Token::Close) {
                    return Err("a `(` is not closed".into());
                }
                Ok(inner)
            }
            Token::Text(text) => Ok(Expression::Literal(Operand::Text(text))),
            Token::Bool(value) => Ok(Expression::Literal(Operand::Bool(value))),
            Token::Name(name) => Ok(Expression::Name(name)),
            other => Err(format!("unexpected `{}`", other.describe())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use liquid::model::Value;

    fn values() -> Object {
        let mut object = Object::new();
        object.insert("ci".into(), Value::scalar("github"));
        object.insert("serve".into(), Value::scalar(true));
        object.insert("store_url".into(), Value::scalar(""));
        object
    }

    #[test]
    fn the_subset_follows_rhai() {
        let values = values();
        for (condition, expected) in [
            (r#"ci == "github""#, true),
            (r#"ci != "github""#, false),
            (r#"ci == "both" || ci == "github""#, true),
            (r#"ci == "github" && !serve"#, false),
            (r#"!(ci == "azure-devops")"#, true),
            ("serve", true),
            ("serve == true", true),
            // Different types: `==` is false and `!=` true, as in Rhai.
            (r#"serve == "true""#, false),
            (r#"serve != "true""#, true),
            (r#"store_url == """#, true),
            // Evaluation errors make the condition false.
            ("unknown", false),
            (r#"unknown == "x""#, false),
            ("ci", false),
            ("ci && serve", false),
            // Short-circuit: the unknown name on the right is not evaluated.
            ("serve || unknown", true),
        ] {
            assert_eq!(evaluate(condition, &values), Ok(expected), "{condition}");
        }
    }

    #[test]
    fn syntax_outside_the_subset_is_refused() {
        for condition in [
            "ci == 'g'",
            "a < b",
            "ci == \"x",
            "(ci == \"x\"",
            "ci ==",
            "a == b == c",
            "ci.len() > 0",
        ] {
            assert!(evaluate(condition, &values()).is_err(), "{condition}");
        }
    }
}
