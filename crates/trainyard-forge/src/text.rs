//! Fitting text into GitHub's size limits without breaking a character.

/// A check run's `output.summary` and `output.text` hold at most this many characters.
pub const CHECK_TEXT_LIMIT: usize = 65_535;

/// `text` if it fits in `limit` bytes (bytes bound characters from above, so
/// this is safe for a character limit too); otherwise as much of it as fits,
/// cut at a line end where possible, followed by `note`. The second value
/// says whether anything was cut.
pub fn truncate_with_note(text: &str, limit: usize, note: &str) -> (String, bool) {
    if text.len() <= limit {
        return (text.to_owned(), false);
    }
    let room = limit.saturating_sub(note.len() + 2);
    let mut cut = room.min(text.len());
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    // Prefer a whole last line, unless that loses most of the room.
    if let Some(line_end) = text[..cut].rfind('\n')
        && line_end > cut / 2
    {
        cut = line_end;
    }
    let mut out = String::with_capacity(limit);
    out.push_str(&text[..cut]);
    out.push_str("\n\n");
    out.push_str(note);
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept() {
        assert_eq!(
            truncate_with_note("abc", 10, "cut"),
            ("abc".to_owned(), false)
        );
    }

    #[test]
    fn long_text_is_cut_at_a_line_within_the_limit_and_noted() {
        let text = "line\n".repeat(100);
        let (out, cut) = truncate_with_note(&text, 100, "(more in the job summary)");
        assert!(cut);
        assert!(out.len() <= 100, "{}", out.len());
        assert!(out.ends_with("\n\n(more in the job summary)"));
        assert!(out.starts_with("line\nline\n"));
    }

    #[test]
    fn multibyte_characters_are_never_split() {
        let text = "é".repeat(100);
        let (out, cut) = truncate_with_note(&text, 51, "…");
        assert!(cut);
        assert!(out.len() <= 51);
        assert!(out.starts_with("ééé"));
    }
}
