//! Our workflow commands and files, read exactly as the platforms read them:
//! azure-pipelines-task-lib's parser, @actions/core's writer, and the GitHub
//! runner's GITHUB_OUTPUT format.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use trainyard_ci::{Env, Host, OutputFormat, Publisher};
use trainyard_core::Severity;

use common::{HOSTILE, HOSTILE_FILE};

#[test]
fn azure_task_lib_parses_every_vso_line_back_to_the_original_strings() {
    let taskcommand = common::node_modules().join("azure-pipelines-task-lib/taskcommand.js");
    let dir = tempfile::tempdir().unwrap();
    let env = Env::from_pairs([("AGENT_TEMPDIRECTORY", dir.path().to_str().unwrap())]);
    let report = common::hostile();
    let mut publisher = Publisher::new(
        Host::AzurePipelines,
        OutputFormat::Text,
        &env,
        Vec::new(),
        false,
    );
    publisher.mask(HOSTILE).unwrap();
    publisher.publish(&report).unwrap();
    let out = String::from_utf8(publisher.into_inner()).unwrap();
    let lines: Vec<&str> = out.lines().filter(|line| line.contains("##vso[")).collect();

    let script = r"
        const { commandFromString } = require(process.argv[1]);
        const lines = JSON.parse(require('fs').readFileSync(0, 'utf8'));
        const parsed = lines.map((line) => {
            const c = commandFromString(line);
            return { command: c.command, properties: c.properties, message: c.message };
        });
        process.stdout.write(JSON.stringify(parsed));
    ";
    let parsed: Vec<Value> = serde_json::from_str(&common::node(
        &["-e", script, taskcommand.to_str().unwrap()],
        &serde_json::to_string(&lines).unwrap(),
    ))
    .unwrap();

    let mut expected = Vec::new();
    // A multi-line secret is masked line by line.
    for line in HOSTILE.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        expected.push(json!({"command": "task.setsecret", "properties": {}, "message": line}));
    }
    for finding in report.all_findings() {
        let kind = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => continue,
        };
        let mut properties = json!({"type": kind, "code": finding.rule});
        if let Some(location) = &finding.location {
            properties["sourcepath"] = json!(location.file);
            if let Some(line) = location.line {
                properties["linenumber"] = json!(line.to_string());
            }
            if let Some(column) = location.column {
                properties["columnnumber"] = json!(column.to_string());
            }
        }
        expected.push(json!({"command": "task.logissue", "properties": properties, "message": finding.message}));
    }
    let mut outputs = report.outputs.clone();
    outputs.insert("conclusion".into(), "failure".into());
    for (name, value) in &outputs {
        expected.push(json!({
            "command": "task.setvariable",
            "properties": {"variable": name, "isOutput": "true"},
            "message": value,
        }));
    }
    let summary = dir.path().join("trainyard-data-validate.md");
    expected.push(json!({"command": "task.uploadsummary", "properties": {}, "message": summary.to_str().unwrap()}));
    assert_eq!(parsed, expected);
    assert!(
        std::fs::read_to_string(summary).unwrap().contains("pwned"),
        "the summary file holds the findings"
    );
    // The hostile file name really went through the properties.
    assert!(
        parsed
            .iter()
            .any(|c| c["properties"]["sourcepath"] == HOSTILE_FILE)
    );
}

#[test]
fn our_github_annotations_are_byte_identical_to_actions_core() {
    let core = common::node_modules().join("@actions/core/lib/core.js");
    let report = common::hostile();
    let findings = report.all_findings();
    // What @actions/core writes for the same calls.
    let calls: Vec<Value> = findings
        .iter()
        .map(|finding| {
            let mut properties = json!({});
            if !finding.rule.is_empty() {
                properties["title"] = json!(finding.rule);
            }
            if let Some(location) = &finding.location {
                properties["file"] = json!(location.file);
                for (key, value) in [
                    ("startLine", location.line),
                    ("startColumn", location.column),
                    ("endLine", location.end_line),
                    ("endColumn", location.end_column),
                ] {
                    if let Some(value) = value {
                        properties[key] = json!(value);
                    }
                }
            }
            let function = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Notice => "notice",
            };
            json!({"function": function, "message": finding.message, "properties": properties})
        })
        .chain([
            json!({"function": "setSecret", "message": "s3cr%t:,;]"}),
            json!({"function": "startGroup", "message": "Validate: a,b %0A ::x::"}),
            json!({"function": "endGroup"}),
        ])
        .collect();
    let script = r"
        const core = await import(process.argv[1]);
        const fs = await import('node:fs');
        for (const call of JSON.parse(fs.readFileSync(0, 'utf8'))) {
            if (call.function === 'endGroup') core.endGroup();
            else if (call.properties) core[call.function](call.message, call.properties);
            else core[call.function](call.message);
        }
    ";
    let url = format!("file://{}", core.display());
    let theirs = common::node(
        &["--input-type=module", "-e", script, &url],
        &serde_json::to_string(&calls).unwrap(),
    );

    let mut publisher = Publisher::new(
        Host::GitHubActions,
        OutputFormat::Text,
        &Env::default(),
        Vec::new(),
        false,
    );
    publisher.mask("s3cr%t:,;]").unwrap();
    publisher.group_start("Validate: a,b %0A ::x::").unwrap();
    publisher.group_end().unwrap();
    let tail = String::from_utf8(publisher.into_inner()).unwrap();
    // Report order per severity is what we emit; @actions/core was called in report order.
    let ours: String = findings
        .iter()
        .map(|finding| trainyard_ci::github::annotation(finding) + "\n")
        .collect::<String>()
        + &tail;
    assert_eq!(ours, theirs);
}

/// GITHUB_OUTPUT as the runner's `SetOutputFileCommand` reads it (Linux:
/// lines end at `\n`): `name=value` when `=` comes before any `<<`, else a
/// heredoc `name<<DELIM` whose value is the text up to the line `DELIM`.
fn parse_like_the_runner(text: &str) -> BTreeMap<String, String> {
    fn read_line<'a>(text: &'a str, index: &mut usize) -> Option<(&'a str, usize)> {
        if *index >= text.len() {
            return None;
        }
        let start = *index;
        if let Some(offset) = text[start..].find('\n') {
            *index = start + offset + 1;
            Some((&text[start..start + offset], 1))
        } else {
            *index = text.len();
            Some((&text[start..], 0))
        }
    }
    let mut outputs = BTreeMap::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        if equals.is_some() && (heredoc.is_none() || equals < heredoc) {
            let (name, value) = line.split_once('=').unwrap();
            outputs.insert(name.to_owned(), value.to_owned());
        } else if heredoc.is_some() && (equals.is_none() || heredoc < equals) {
            let (name, delimiter) = line.split_once("<<").unwrap();
            assert!(
                !name.is_empty() && !delimiter.is_empty(),
                "invalid heredoc line {line:?}"
            );
            let start = index;
            let mut end = None;
            loop {
                let (next, newline) = read_line(text, &mut index)
                    .unwrap_or_else(|| panic!("matching delimiter not found: {delimiter}"));
                if next == delimiter {
                    break;
                }
                end = Some(index - newline);
            }
            let value = end
                .filter(|&end| end > start)
                .map_or("", |end| &text[start..end]);
            outputs.insert(name.to_owned(), value.to_owned());
        } else {
            panic!("invalid format {line:?}");
        }
    }
    outputs
}

#[test]
fn the_runner_reads_every_hostile_output_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("output");
    std::fs::write(&path, "earlier=step\n").unwrap();
    let env = Env::from_pairs([("GITHUB_OUTPUT", path.to_str().unwrap())]);
    let report = common::hostile();
    let mut publisher = Publisher::new(
        Host::GitHubActions,
        OutputFormat::Json,
        &env,
        Vec::new(),
        false,
    );
    publisher.publish(&report).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let mut expected = report.outputs.clone();
    expected.insert("conclusion".into(), "failure".into());
    expected.insert("earlier".into(), "step".into());
    assert_eq!(parse_like_the_runner(&text), expected);
    assert!(text.contains("hostile<<ghadelimiter_"), "{text}");
    assert!(text.contains("equals-and-heredoc=a=b<<c\n"), "{text}");
}

#[test]
fn the_runner_parser_in_this_test_can_fail() {
    // Guards the guard: a value written naively is misread.
    let parsed = parse_like_the_runner("a=1\nb<<EOF\nx\n\nEOF\n");
    assert_eq!(parsed["a"], "1");
    assert_eq!(parsed["b"], "x\n");
    let naive = format!("hostile={HOSTILE}\n");
    let result = std::panic::catch_unwind(|| parse_like_the_runner(&naive));
    assert!(result.is_err() || result.unwrap().get("hostile").map(String::as_str) != Some(HOSTILE));
}
