//! The publisher end to end, per host and format, with snapshots of the
//! console text, the summary markdown and the JSON.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use pretty_assertions::assert_eq;
use trainyard_ci::summary::GITHUB_SUMMARY_LIMIT;
use trainyard_ci::{Env, Host, OutputFormat, Publisher};
use trainyard_core::{Conclusion, ConfigError, Finding, Location, Report, SourceSpan, StepError};

struct Ci {
    dir: tempfile::TempDir,
    env: Env,
}

impl Ci {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([
            ("GITHUB_OUTPUT", dir.path().join("output").to_str().unwrap()),
            (
                "GITHUB_STEP_SUMMARY",
                dir.path().join("summary.md").to_str().unwrap(),
            ),
            ("AGENT_TEMPDIRECTORY", dir.path().to_str().unwrap()),
        ]);
        Self { dir, env }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn publish(&self, host: Host, format: OutputFormat, report: &Report) -> String {
        let mut publisher = Publisher::new(host, format, &self.env, Vec::new(), false);
        publisher.publish(report).unwrap();
        String::from_utf8(publisher.into_inner()).unwrap()
    }
}

fn config_error() -> StepError {
    StepError::from(
        ConfigError::new("trainyard.yaml", "unknown-key", "unknown key `nmae`")
            .at("project:\n  nmae: x\n", SourceSpan { line: 2, column: 3 })
            .with_help("did you mean `name`?"),
    )
}

#[test]
fn console_text_snapshot() {
    let out = Ci::new().publish(
        Host::Terminal,
        OutputFormat::Text,
        &common::representative(),
    );
    insta::assert_snapshot!("console_text", out);
}

#[test]
fn summary_markdown_snapshot() {
    let ci = Ci::new();
    let out = ci.publish(
        Host::GitHubActions,
        OutputFormat::Json,
        &common::representative(),
    );
    assert!(out.starts_with('{'));
    insta::assert_snapshot!("summary_markdown", ci.file("summary.md"));
}

#[test]
fn json_snapshot_is_one_document_and_nothing_else() {
    for host in [Host::Terminal, Host::GitHubActions, Host::AzurePipelines] {
        let out = Ci::new().publish(host, OutputFormat::Json, &common::representative());
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(
            !out.contains("::") && !out.contains("##vso["),
            "{host}: {out}"
        );
        if host == Host::Terminal {
            insta::assert_json_snapshot!("report_json", value);
        }
    }
}

#[test]
fn conclusion_is_added_to_every_report_s_outputs() {
    let ci = Ci::new();
    let out = ci.publish(
        Host::Terminal,
        OutputFormat::Json,
        &common::representative(),
    );
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["outputs"]["conclusion"], "failure");
    assert_eq!(value["children"][0]["outputs"]["conclusion"], "neutral");
    ci.publish(
        Host::GitHubActions,
        OutputFormat::Text,
        &Report::new("s", Conclusion::Success, "t"),
    );
    assert_eq!(ci.file("output"), "conclusion=success\n");
}

#[test]
fn github_text_writes_console_annotations_outputs_and_summary() {
    let ci = Ci::new();
    let out = ci.publish(
        Host::GitHubActions,
        OutputFormat::Text,
        &common::representative(),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("::stop-commands::trainyard-"), "{out}");
    assert!(out.contains("  error[type-mismatch] data/train.csv:17:5: column `age`"));
    assert!(out.contains(
        "::error title=type-mismatch,file=data/train.csv,line=17,col=5::column `age`: expected integer, got \"abc\"\n"
    ));
    assert!(out.contains("::warning title=null-ratio,file=data/train.csv::column `income` is 12%25 null (max 10%25)\n"));
    assert!(out.contains("::notice title=sampled::validated a deterministic 10%25 sample\n"));
    assert!(out.contains("::notice title=no-checks::dataset `holdout` declares no checks\n"));
    assert_eq!(
        ci.file("output"),
        "conclusion=failure\ndatasets=3\nfingerprint=b3:5d41402abc4b2a76\n"
    );
    assert!(
        ci.file("summary.md")
            .starts_with("## ❌ data validate: 2 of 3 datasets valid\n")
    );
}

#[test]
fn azure_text_writes_console_issues_outputs_and_summary() {
    let ci = Ci::new();
    let out = ci.publish(
        Host::AzurePipelines,
        OutputFormat::Text,
        &common::representative(),
    );
    assert!(
        out.starts_with("✖ data validate (failure): 2 of 3 datasets valid\n"),
        "{out}"
    );
    assert!(out.contains(
        "##vso[task.logissue type=error;sourcepath=data/train.csv;linenumber=17;columnnumber=5;code=type-mismatch]column `age`: expected integer, got \"abc\"\n"
    ));
    assert!(out.contains("##vso[task.logissue type=warning;sourcepath=data/train.csv;code=null-ratio]column `income` is 12%AZP25 null (max 10%AZP25)\n"));
    assert!(!out.contains("type=notice"), "Azure has no notice issue");
    assert!(
        out.contains("  notice[sampled] validated a deterministic 10% sample\n"),
        "notices stay console lines"
    );
    assert!(out.contains("##vso[task.setvariable variable=conclusion;isOutput=true]failure\n"));
    assert!(out.contains("##vso[task.setvariable variable=datasets;isOutput=true]3\n"));
    let summary = ci.dir.path().join("trainyard-data-validate.md");
    assert!(
        out.ends_with(&format!("##vso[task.uploadsummary]{}\n", summary.display())),
        "{out}"
    );
    assert!(
        std::fs::read_to_string(summary)
            .unwrap()
            .starts_with("## ❌ data validate")
    );
}

#[test]
fn the_annotation_cap_is_ten_per_type_and_the_summary_lists_all() {
    let mut report = Report::new("data validate", Conclusion::Success, "many");
    for i in 1..=25 {
        report.push_finding(
            Finding::error("bad-row", format!("error {i}")).at(Location::file("d.csv").at(i, None)),
        );
        if i <= 3 {
            report.push_finding(Finding::warning("odd", format!("warning {i}")));
        }
    }
    let ci = Ci::new();
    let out = ci.publish(Host::GitHubActions, OutputFormat::Text, &report);
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with("::error")).collect();
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("::warning")).collect();
    assert_eq!(errors.len(), 10);
    assert_eq!(warnings.len(), 3);
    assert_eq!(
        errors[0],
        "::error title=bad-row,file=d.csv,line=1::error 1"
    );
    assert_eq!(
        errors[8],
        "::error title=bad-row,file=d.csv,line=9::error 9"
    );
    assert_eq!(
        errors[9],
        "::error title=trainyard::16 more errors not shown as annotations: see the job summary"
    );
    let summary = ci.file("summary.md");
    let rows = summary
        .lines()
        .filter(|l| l.starts_with("| ❌ error") || l.starts_with("| ⚠️ warning"));
    assert_eq!(rows.count(), 28);
    // Errors before warnings, whatever the report order.
    let first_warning = out.find("::warning").unwrap();
    assert!(out.rfind("::error").unwrap() < first_warning);
}

#[test]
fn a_summary_over_one_mib_is_cut_at_a_line_below_the_cap_with_a_note() {
    let mut report = Report::new("data validate", Conclusion::Success, "huge");
    for i in 0..12_000 {
        report.push_finding(Finding::error(
            "bad-row",
            format!("row {i}: {}", "x".repeat(80)),
        ));
    }
    let ci = Ci::new();
    ci.publish(Host::GitHubActions, OutputFormat::Text, &report);
    let summary = ci.file("summary.md");
    assert!(summary.len() < GITHUB_SUMMARY_LIMIT, "{}", summary.len());
    assert!(
        summary.len() > GITHUB_SUMMARY_LIMIT - 1000,
        "{}",
        summary.len()
    );
    let note = summary.find("\n> [!WARNING]\n").unwrap();
    assert!(summary[note + 1..].contains("truncated") && summary.contains("--format json"));
    let kept = &summary[..note];
    assert!(kept.ends_with("|\n"), "cut at the end of a table row");
    let full = trainyard_ci::summary::render(&report);
    assert!(full.len() > GITHUB_SUMMARY_LIMIT);
    assert!(full.starts_with(kept));
}

#[test]
fn hostile_strings_cannot_break_out_on_github() {
    let ci = Ci::new();
    let out = ci.publish(Host::GitHubActions, OutputFormat::Text, &common::hostile());
    // As the runner reads it: lines between ::stop-commands::T and ::T:: are text.
    let mut stop: Option<String> = None;
    let mut commands = Vec::new();
    for line in out.lines() {
        let trimmed = line.trim_start();
        if let Some(token) = &stop {
            if trimmed == format!("::{token}::") {
                stop = None;
            }
        } else if let Some(token) = trimmed.strip_prefix("::stop-commands::") {
            stop = Some(token.to_owned());
        } else if trimmed.starts_with("::") {
            commands.push(trimmed.to_owned());
        }
    }
    assert_eq!(stop, None);
    let expected: Vec<String> = {
        let report = common::hostile();
        trainyard_ci::github::annotations(&report.all_findings())
    };
    assert_eq!(commands, expected);
    assert!(commands.iter().all(|c| !c.contains('\r')));
    // The summary keeps every finding, escaped for the table.
    let summary = ci.file("summary.md");
    // The title, the rule, four messages and the output value.
    assert_eq!(summary.matches("pwned \\| cell").count(), 7, "{summary}");
    assert!(!summary.contains("<b>"));
}

#[test]
fn hostile_strings_cannot_break_out_on_azure() {
    let out = Ci::new().publish(Host::AzurePipelines, OutputFormat::Text, &common::hostile());
    for line in out.lines() {
        // The agent runs any line containing ##vso[ ; only our commands may start with it.
        if line.contains("##vso[") {
            assert!(line.starts_with("##vso[task."), "{line}");
        }
        assert!(!line.starts_with("##["), "{line}");
        assert!(!line.contains('\r'), "{line:?}");
    }
}

#[test]
fn publish_error_text_on_a_terminal() {
    let mut publisher = Publisher::new(
        Host::Terminal,
        OutputFormat::Text,
        &Env::default(),
        Vec::new(),
        false,
    );
    publisher
        .publish_error("config check", &config_error())
        .unwrap();
    insta::assert_snapshot!(
        "error_text",
        String::from_utf8(publisher.into_inner()).unwrap()
    );
}

#[test]
fn publish_error_annotates_in_ci() {
    let ci = Ci::new();
    let mut publisher = Publisher::new(
        Host::GitHubActions,
        OutputFormat::Text,
        &ci.env,
        Vec::new(),
        false,
    );
    publisher
        .publish_error("config check", &config_error())
        .unwrap();
    let out = String::from_utf8(publisher.into_inner()).unwrap();
    assert!(out.contains("error: trainyard.yaml:2:3: unknown key `nmae`\n"));
    assert!(out.contains("help: did you mean `name`?\n"));
    assert!(out.ends_with(
        "::error title=unknown-key,file=trainyard.yaml,line=2,col=3::unknown key `nmae` (did you mean `name`?)\n"
    ));
    assert!(ci.file("summary.md").contains("unknown-key"));

    let mut publisher = Publisher::new(
        Host::AzurePipelines,
        OutputFormat::Text,
        &ci.env,
        Vec::new(),
        false,
    );
    publisher
        .publish_error("config check", &config_error())
        .unwrap();
    let out = String::from_utf8(publisher.into_inner()).unwrap();
    assert!(out.ends_with(
        "##vso[task.logissue type=error;sourcepath=trainyard.yaml;linenumber=2;columnnumber=3;code=unknown-key]unknown key `nmae` (did you mean `name`?)\n"
    ));
}

#[test]
fn publish_error_json() {
    let ci = Ci::new();
    let mut publisher = Publisher::new(
        Host::GitHubActions,
        OutputFormat::Json,
        &ci.env,
        Vec::new(),
        false,
    );
    publisher
        .publish_error("config check", &config_error())
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&publisher.into_inner()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"error": {
            "step": "config check", "exit-code": 2, "rule": "unknown-key", "message": "unknown key `nmae`",
            "location": {"file": "trainyard.yaml", "line": 2, "column": 3}, "help": "did you mean `name`?"
        }})
    );
    let io = StepError::io(
        "read",
        "data/x.csv",
        std::io::Error::from(std::io::ErrorKind::NotFound),
    );
    let mut publisher = Publisher::new(
        Host::Terminal,
        OutputFormat::Json,
        &ci.env,
        Vec::new(),
        false,
    );
    publisher.publish_error("data validate", &io).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&publisher.into_inner()).unwrap();
    assert_eq!(value["error"]["exit-code"], 3);
    assert_eq!(value["error"]["rule"], "io");
    assert_eq!(
        value["error"]["location"],
        serde_json::json!({"file": "data/x.csv"})
    );
    assert_eq!(value["error"]["help"], serde_json::Value::Null);
    let usage = StepError::Usage("bad flag".into());
    let mut publisher = Publisher::new(
        Host::Terminal,
        OutputFormat::Json,
        &ci.env,
        Vec::new(),
        false,
    );
    publisher.publish_error("x", &usage).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&publisher.into_inner()).unwrap();
    assert_eq!(value["error"]["location"], serde_json::Value::Null);
    assert_eq!(value["error"]["exit-code"], 2);
}

#[test]
fn masks_and_groups_per_host() {
    let run = |host: Host, format: OutputFormat| {
        let side = tempfile::NamedTempFile::new().unwrap();
        let mut publisher = Publisher::new(host, format, &Env::default(), Vec::new(), false)
            .with_side_channel(side.reopen().unwrap());
        publisher.mask("line1\nline%2\n").unwrap();
        publisher.group_start("Validate\ndata").unwrap();
        publisher.group_end().unwrap();
        let out = String::from_utf8(publisher.into_inner()).unwrap();
        (out, std::fs::read_to_string(side.path()).unwrap())
    };
    assert_eq!(
        run(Host::GitHubActions, OutputFormat::Text).0,
        "::add-mask::line1\n::add-mask::line%252\n::group::Validate data\n::endgroup::\n"
    );
    assert_eq!(
        run(Host::AzurePipelines, OutputFormat::Text).0,
        "##vso[task.setsecret]line1\n##vso[task.setsecret]line%AZP252\n##[group]Validate data\n##[endgroup]\n"
    );
    assert_eq!(run(Host::Terminal, OutputFormat::Text).0, "Validate data\n");
    // Json: nothing on out; masks still reach the runner through the side channel.
    assert_eq!(
        run(Host::GitHubActions, OutputFormat::Json),
        (
            String::new(),
            "::add-mask::line1\n::add-mask::line%252\n".to_owned()
        )
    );
    assert_eq!(
        run(Host::Terminal, OutputFormat::Json),
        (String::new(), String::new())
    );
}

#[test]
fn io_errors_writing_ci_files_propagate() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/out");
    let env = Env::from_pairs([("GITHUB_OUTPUT", missing.to_str().unwrap())]);
    let mut publisher = Publisher::new(
        Host::GitHubActions,
        OutputFormat::Text,
        &env,
        Vec::new(),
        false,
    );
    let error = publisher.publish(&common::representative()).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    let env = Env::from_pairs([("AGENT_TEMPDIRECTORY", missing.to_str().unwrap())]);
    let mut publisher = Publisher::new(
        Host::AzurePipelines,
        OutputFormat::Text,
        &env,
        Vec::new(),
        false,
    );
    assert!(publisher.publish(&common::representative()).is_err());
    assert!(!Path::new(&missing).exists());
}
