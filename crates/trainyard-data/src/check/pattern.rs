//! The `pattern` check: a full match of a field. Small patterns run on a fully built
//! DFA (one table lookup per byte, no cache, no pool); patterns a DFA cannot do
//! (Unicode word boundaries, look-around) or that would build too large a table run
//! on `regex`.

use regex::bytes::Regex;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, util::syntax};

/// Bytes a pattern's DFA may take (tables of a few hundred states); larger
/// patterns run on `regex`.
const DFA_SIZE_LIMIT: usize = 1 << 20;

/// A compiled `pattern`, matched against whole fields.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per column; a box would add a load per field
pub(crate) enum Pattern {
    Dfa {
        dfa: dense::DFA<Vec<u32>>,
        /// The anchored start state at the start of a field (fields have no
        /// look-behind).
        start: StateID,
    },
    Regex(Regex),
}

impl Pattern {
    /// Compiles `pattern` as a full match (`^(?:pattern)$`), with `regex::bytes`'
    /// syntax (Unicode on, may match invalid UTF-8).
    pub(crate) fn new(pattern: &str) -> Result<Self, regex::Error> {
        let full = format!("^(?:{pattern})$");
        // The regex validates the pattern and gives the error messages.
        let regex = Regex::new(&full)?;
        Ok(Self::dfa(&full).unwrap_or(Self::Regex(regex)))
    }

    fn dfa(full: &str) -> Option<Self> {
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                    .determinize_size_limit(Some(DFA_SIZE_LIMIT)),
            )
            .syntax(syntax::Config::new().utf8(false))
            .thompson(thompson::Config::new().utf8(false))
            .build(full)
            .ok()?;
        let start = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .ok()?;
        Some(Self::Dfa { dfa, start })
    }

    /// Whether the whole of `field` matches.
    #[inline]
    pub(crate) fn is_match(&self, field: &[u8]) -> bool {
        match self {
            Self::Dfa { dfa, start } => {
                // The pattern ends in `$`, so a match can only end at the end of the
                // field: run every byte, then look at the end-of-input transition.
                let mut state = *start;
                for &byte in field {
                    state = dfa.next_state(state, byte);
                    if dfa.is_dead_state(state) {
                        return false;
                    }
                }
                dfa.is_match_state(dfa.next_eoi_state(state))
            }
            Self::Regex(regex) => regex.is_match(field),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields built from pieces that the patterns below care about: digits, letters,
    /// the benchmark's punctuation, multi-byte UTF-8, invalid UTF-8, line breaks.
    fn fields() -> Vec<Vec<u8>> {
        let pieces: &[&[u8]] = &[
            b"",
            b"a",
            b"Z",
            b"AB",
            b"ABC",
            b"-",
            b"0",
            b"42",
            b"1234",
            b"user",
            b"@",
            b".",
            b"example",
            b"com",
            b"x",
            b"\n",
            b" ",
            "é".as_bytes(),
            "ß".as_bytes(),
            "日本".as_bytes(),
            b"\xff",
            b"\xc3",
            b"_",
            b"$",
            b"^",
        ];
        let mut fields: Vec<Vec<u8>> = vec![
            b"user1@example.com".to_vec(),
            b"user@example.com".to_vec(),
            b"user12@example.com\n".to_vec(),
            b"user12@exampleXcom".to_vec(),
            b"ABC-1234".to_vec(),
            b"ABC-12345".to_vec(),
            b"abc-1234".to_vec(),
            "ÀBC-1234".as_bytes().to_vec(),
        ];
        // Every sequence of up to 3 pieces, plus longer pseudo-random ones.
        for a in pieces {
            for b in pieces {
                fields.push([*a, *b].concat());
                for c in pieces.iter().step_by(3) {
                    fields.push([*a, *b, *c].concat());
                }
            }
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..5000 {
            let mut field = Vec::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut bits = seed;
            for _ in 0..(bits % 9) {
                bits >>= 5;
                field.extend_from_slice(pieces[usize::try_from(bits % 25).unwrap_or(0)]);
            }
            fields.push(field);
        }
        fields
    }

    #[test]
    fn dfa_matches_exactly_as_the_regex() {
        let patterns = [
            r"user[0-9]+@example\.com",
            r"[A-Z]{3}-[0-9]{4}",
            r"",
            r"a*",
            r"a|AB|ABC|user",
            r"(?:ABC|AB)(?:C-|-)?[0-9]*",
            r"^ABC$",
            r"^a|b$",
            r"x$|^$",
            r"\w+",
            r"\pL+",
            r"[^0-9]*",
            r".*",
            r"(?s).*",
            r"(?i)abc-[0-9]{4}",
            r"\d{1,3}(?:\.\d+)?",
            r"(?-u:\xff)+",
            r"(?m)^a$",
            r"\bABC\b",
            r"(?-u:\b)ABC(?-u:\b)",
            r"\s*",
            r"[[:alpha:]]+",
            r"日本|é+",
        ];
        let fields = fields();
        for pattern in patterns {
            let compiled = Pattern::new(pattern).unwrap();
            let regex = Regex::new(&format!("^(?:{pattern})$")).unwrap();
            for field in &fields {
                assert_eq!(
                    compiled.is_match(field),
                    regex.is_match(field),
                    "/{pattern}/ on {:?}",
                    String::from_utf8_lossy(field)
                );
            }
        }
    }

    #[test]
    fn small_patterns_get_a_dfa_and_others_the_regex() {
        assert!(matches!(
            Pattern::new(r"user[0-9]+@example\.com").unwrap(),
            Pattern::Dfa { .. }
        ));
        assert!(matches!(
            Pattern::new(r"[A-Z]{3}-[0-9]{4}").unwrap(),
            Pattern::Dfa { .. }
        ));
        // A Unicode word boundary is beyond a DFA; a huge repetition beyond the size limit.
        assert!(matches!(Pattern::new(r"\bx\b").unwrap(), Pattern::Regex(_)));
        assert!(matches!(
            Pattern::new(r"\w{200}[0-9]{100}").unwrap(),
            Pattern::Regex(_)
        ));
        assert!(Pattern::new(r"(unclosed").is_err());
    }
}
