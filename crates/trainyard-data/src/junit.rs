//! JUnit XML: one `<testsuite>` per dataset, one `<testcase>` per check, a
//! `<failure>` listing the offending rows, so any CI test reporter shows them.

use std::fmt::Write as _;

use crate::validate::Validation;

/// Escapes text for XML content and attributes. Characters XML 1.0 cannot hold even
/// escaped (control characters other than tab, newline, carriage return) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML document for these validations.
pub fn render(validations: &[Validation]) -> String {
    let tests: usize = validations.iter().map(|v| v.checks.len()).sum();
    let failures: usize = validations.iter().map(|v| v.failures().count()).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"trainyard data validate\" tests=\"{tests}\" failures=\"{failures}\">"
    );
    for validation in validations {
        let suite = escape(&validation.dataset);
        let _ = writeln!(
            xml,
            "  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            validation.checks.len(),
            validation.failures().count()
        );
        for check in &validation.checks {
            let _ = write!(
                xml,
                "    <testcase classname=\"trainyard.data.{suite}\" name=\"{}\"",
                escape(&check.name)
            );
            if let Some(file) = check
                .offenders
                .first()
                .map(|o| &o.file)
                .or(validation.files.first())
            {
                let _ = write!(xml, " file=\"{}\"", escape(file));
            }
            if check.passed {
                xml.push_str("/>\n");
                continue;
            }
            let _ = writeln!(
                xml,
                ">\n      <failure type=\"{}\" message=\"{}\">",
                escape(check.rule),
                escape(&check.observed)
            );
            for offense in &check.offenders {
                let mut row = format!("{}:{}", offense.file, offense.line);
                if let Some(column) = offense.column {
                    let _ = write!(row, ":{column}");
                }
                if let Some(value) = &offense.value {
                    let _ = write!(row, " value `{value}`");
                }
                if let Some(detail) = &offense.detail {
                    let _ = write!(row, " ({detail})");
                }
                let _ = writeln!(xml, "{}", escape(&row));
            }
            if check.failed > check.offenders.len() as u64 && !check.offenders.is_empty() {
                let _ = writeln!(
                    xml,
                    "... {} more",
                    check.failed - check.offenders.len() as u64
                );
            }
            xml.push_str("      </failure>\n    </testcase>\n");
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Writes [`render`] to `out`.
pub fn write(validations: &[Validation], out: &mut impl std::io::Write) -> std::io::Result<()> {
    out.write_all(render(validations).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}"
        );
    }
}
