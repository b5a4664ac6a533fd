//! JUnit XML test reports, as pytest, cargo-nextest, Jest, Maven Surefire and
//! most others write them: `<testsuites>` or a single `<testsuite>` of `<testcase>`s.

/// The counts of one report file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tests: u64,
    pub failures: u64,
    pub errors: u64,
    pub skipped: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Self) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }
}

/// Counts test cases and their outcomes. The `<testcase>` elements are counted
/// rather than the suites' attributes, which some writers leave out or get wrong.
pub fn count(xml: &str) -> Result<Counts, String> {
    let document = roxmltree::Document::parse(xml).map_err(|error| format!("not XML: {error}"))?;
    let root = document.root_element();
    if !matches!(root.tag_name().name(), "testsuites" | "testsuite") {
        return Err(format!(
            "the root element is <{}>, not <testsuites> or <testsuite>",
            root.tag_name().name()
        ));
    }
    let mut counts = Counts::default();
    for case in root
        .descendants()
        .filter(|node| node.has_tag_name("testcase"))
    {
        counts.tests += 1;
        let outcome = |name: &str| case.children().any(|child| child.has_tag_name(name));
        if outcome("failure") {
            counts.failures += 1;
        } else if outcome("error") {
            counts.errors += 1;
        } else if outcome("skipped") {
            counts.skipped += 1;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cases_by_outcome() {
        let xml = r#"<?xml version="1.0"?>
<testsuites><testsuite name="a" tests="99">
  <testcase name="ok"/>
  <testcase name="bad"><failure message="boom"/></testcase>
  <testcase name="broken"><error/></testcase>
  <testcase name="later"><skipped/></testcase>
</testsuite></testsuites>"#;
        assert_eq!(
            count(xml).unwrap(),
            Counts {
                tests: 4,
                failures: 1,
                errors: 1,
                skipped: 1
            }
        );
        assert_eq!(count("<testsuite/>").unwrap(), Counts::default());
        assert!(count("<html/>").unwrap_err().contains("<html>"));
        assert!(count("not xml").unwrap_err().starts_with("not XML"));
    }
}
