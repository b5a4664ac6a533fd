//! The last guard before anything is shown: every string of a Report or a
//! step error passes through `trainyard_core::store_url::redact_urls`, so a URL
//! that carries a token (`https://x-access-token:TOKEN@github.com/…`, a SAS
//! query) loses it in the console text, the JSON, the annotations, `##vso`
//! issues, step outputs, the job summary and what the forge publishes. The
//! places that build messages from URLs redact too (the ledger's remotes, git's
//! output); this catches what they miss.

use trainyard_core::store_url::redact_urls;
use trainyard_core::{Report, StepError};

/// `report` with every URL in its strings redacted (title, summary, findings,
/// outputs, data, children, forge requests).
pub fn report(report: &Report) -> Report {
    let Ok(mut value) = serde_json::to_value(report) else {
        return report.clone();
    };
    redact_value(&mut value);
    serde_json::from_value(value).unwrap_or_else(|_| report.clone())
}

/// `error` with every URL in its message, help, snippet and path redacted.
pub fn error(error: &StepError) -> StepError {
    match error {
        StepError::Config(config) => {
            let mut config = (**config).clone();
            config.message = redact_urls(&config.message);
            config.help = config.help.as_deref().map(redact_urls);
            config.source_line = config.source_line.as_deref().map(redact_urls);
            config.file = redact_urls(&config.file);
            StepError::Config(Box::new(config))
        }
        StepError::Usage(message) => StepError::Usage(redact_urls(message)),
        StepError::Environment(message) => StepError::Environment(redact_urls(message)),
        StepError::Io {
            action,
            path,
            source,
        } => StepError::Io {
            action,
            path: redact_urls(&path.to_string_lossy()).into(),
            source: std::io::Error::new(source.kind(), redact_urls(&source.to_string())),
        },
    }
}

fn redact_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.contains("://") => *text = redact_urls(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_value),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use trainyard_core::{ConfigError, Finding};

    use super::*;

    const URL: &str = "https://x-access-token:ghs_SECRET@github.com/acme/churn.git";

    #[test]
    fn no_string_of_a_report_keeps_a_token() {
        let mut child = Report::new("child", trainyard_core::Conclusion::Success, URL);
        child.outputs.insert("remote".to_owned(), URL.to_owned());
        let mut report = Report::new("ledger push", trainyard_core::Conclusion::Failure, URL)
            .with_summary(format!("| remote |\n|---|\n| `{URL}` |\n"));
        report.push_finding(Finding::error(
            "ledger/x",
            format!("pushing to {URL} failed"),
        ));
        report.data = Some(serde_json::json!({ "remote": URL, "list": [URL] }));
        report.children.push(child);
        let redacted = super::report(&report);
        let text = serde_json::to_string(&redacted).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(
            text.contains("https://***@github.com/acme/churn.git"),
            "{text}"
        );
        assert_eq!(redacted.step, "ledger push");
    }

    #[test]
    fn no_part_of_an_error_keeps_a_token() {
        for error in [
            StepError::Usage(format!("cannot reach {URL}")),
            StepError::Environment(format!("git push {URL}: fatal: '{URL}' 403")),
            StepError::io("reading", URL, std::io::Error::other(format!("at {URL}"))),
            StepError::from(
                ConfigError::new("trainyard.yaml", "x", format!("bad {URL}"))
                    .with_help(format!("try {URL}")),
            ),
        ] {
            let redacted = super::error(&error);
            let shown = format!("{redacted} {redacted:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
            assert_eq!(redacted.exit_status(), error.exit_status());
        }
    }
}
