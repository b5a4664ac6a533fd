//! Escaping, exactly as each platform's own toolkit does it, so that what the
//! runner or agent parses is what we meant, whatever a message contains.

/// Data (the message after `::`) of a GitHub workflow command, as
/// `@actions/core`'s `escapeData`: `%` `\r` `\n`.
pub fn github_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value of a GitHub workflow command, as `@actions/core`'s
/// `escapeProperty`: the data escapes plus `:` and `,`.
pub fn github_property(value: &str) -> String {
    github_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// Data (after `]`) of an Azure `##vso[` command, as azure-pipelines-task-lib's
/// `taskcommand.js` `escapedata`: `%` -> `%AZP25`, `\r`, `\n`.
pub fn azure_data(value: &str) -> String {
    value
        .replace('%', "%AZP25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value of an Azure `##vso[` command, as `taskcommand.js`'s
/// `escape`: the data escapes plus `]` and `;`.
pub fn azure_property(value: &str) -> String {
    azure_data(value).replace(']', "%5D").replace(';', "%3B")
}

/// Text for a terminal or a CI log: control characters other than newline and
/// tab are shown escaped (`\r`, `\u{1b}`), so a message can neither move the
/// cursor nor smuggle terminal escape sequences.
pub fn visible(value: &str) -> String {
    if !value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Log text for the Azure agent, which runs any line containing `##vso[` as a
/// command (anywhere in the line) and formats lines with `##[`: both are
/// broken with a space so they print as text.
pub fn azure_log_text(value: &str) -> String {
    value.replace("##vso[", "##vso [").replace("##[", "## [")
}

/// One line of a log-formatting command (`##[group]`, `::group::` titles):
/// line breaks become spaces.
pub fn single_line(value: &str) -> String {
    value.replace("\r\n", " ").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escapes() {
        assert_eq!(github_data("100%\r\nok: a,b"), "100%25%0D%0Aok: a,b");
        assert_eq!(
            github_property("100%\r\nok: a,b"),
            "100%25%0D%0Aok%3A a%2Cb"
        );
        // `%` first, so an existing escape is not decoded by the runner.
        assert_eq!(github_data("%0A"), "%250A");
    }

    #[test]
    fn azure_escapes() {
        assert_eq!(azure_data("100%\r\n]; x"), "100%AZP25%0D%0A]; x");
        assert_eq!(azure_property("100%\r\n]; x"), "100%AZP25%0D%0A%5D%3B x");
        assert_eq!(azure_data("%0A"), "%AZP250A");
    }

    #[test]
    fn visible_shows_control_characters() {
        assert_eq!(visible("a\rb\x1b[31mc\n\td"), "a\\rb\\u{1b}[31mc\n\td");
        assert_eq!(visible("plain"), "plain");
    }

    #[test]
    fn azure_log_text_defuses_commands() {
        assert_eq!(
            azure_log_text("x ##vso[task.setvariable variable=a]b ##[error]y"),
            "x ##vso [task.setvariable variable=a]b ## [error]y"
        );
        assert_eq!(single_line("a\r\nb\nc\rd"), "a b c d");
    }
}
