//! Shared test helpers: the real third-party parts in tests/support, and a
//! representative, a hostile and a big report.
#![allow(dead_code, clippy::missing_panics_doc, clippy::unwrap_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use trainyard_core::{Conclusion, Finding, Location, Report};

/// tests/support/node_modules at the workspace root. Panics (never skips) when
/// it is missing.
pub fn node_modules() -> PathBuf {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/support/node_modules"
    ));
    assert!(
        path.join("@octokit/webhooks-examples").is_dir()
            && path.join("@actions/core").is_dir()
            && path.join("azure-pipelines-task-lib").is_dir(),
        "{} is missing or incomplete: run `.ci/test` (it runs `npm ci --prefix tests/support`)",
        path.display()
    );
    path.canonicalize().unwrap()
}

/// Runs `node` with `args`, `stdin` as its standard input; returns stdout.
/// Panics when node is missing or fails.
pub fn node(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new("node")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot run `node` ({error}): install Node.js and run `.ci/test`")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every kind of character that has a meaning to a runner, an agent, a
/// terminal or markdown.
pub const HOSTILE: &str = "50% off: a,b; c] d\r\nline two ::error::pwned | cell\n##vso[task.setvariable variable=x]pwned %0A %AZP25 <b> ::";

/// A hostile file name (no leading or trailing spaces: the Azure parser trims property values).
pub const HOSTILE_FILE: &str = "data/we:ird,na;me]%25.csv";

/// A report like a real `data validate`: every severity, a summary, outputs, a child.
pub fn representative() -> Report {
    let mut report = Report::new(
        "data validate",
        Conclusion::Success,
        "2 of 3 datasets valid",
    )
    .with_summary(
        "| dataset | rows | status |\n|---|---|---|\n| train | 1000 | ❌ |\n| test | 200 | ✅ |\n",
    )
    .with_output("datasets", "3")
    .with_output("fingerprint", "b3:5d41402abc4b2a76");
    report.push_finding(
        Finding::error(
            "type-mismatch",
            "column `age`: expected integer, got \"abc\"",
        )
        .at(Location::file("data/train.csv").at(17, Some(5))),
    );
    report.push_finding(
        Finding::warning("null-ratio", "column `income` is 12% null (max 10%)")
            .at(Location::file("data/train.csv")),
    );
    report.push_finding(Finding::notice(
        "sampled",
        "validated a deterministic 10% sample",
    ));
    let mut child = Report::new(
        "data validate holdout",
        Conclusion::Neutral,
        "no checks declared",
    );
    child.push_finding(Finding::notice(
        "no-checks",
        "dataset `holdout` declares no checks",
    ));
    report.push_child(child);
    report
}

/// A report whose every string is hostile.
pub fn hostile() -> Report {
    let mut report = Report::new("data validate", Conclusion::Success, HOSTILE)
        .with_summary("**bold**: the report's own summary is markdown, passed through as written")
        .with_output("hostile", HOSTILE)
        .with_output("trailing-newline", "x\n")
        .with_output("crlf", "a\r\nb\r\n")
        .with_output(
            "looks-like-a-delimiter",
            "ghadelimiter_\nEOF\nghadelimiter_0123456789abcdef\n",
        )
        .with_output("equals-and-heredoc", "a=b<<c")
        .with_output("lone-cr", "a\rb")
        .with_output("empty", "");
    report.push_finding(
        Finding::error(format!("rule:{HOSTILE}"), HOSTILE).at(Location {
            file: HOSTILE_FILE.into(),
            line: Some(3),
            column: Some(7),
            end_line: Some(4),
            end_column: Some(2),
        }),
    );
    report.push_finding(
        Finding::warning("w;]", HOSTILE).at(Location::file(HOSTILE_FILE).at(1, None)),
    );
    report.push_finding(Finding::notice("n", HOSTILE));
    report.push_finding(Finding::error("no-location", HOSTILE));
    report
}
