//! The composite actions as files: inputs reach scripts only through `env:`,
//! every output is wired to the step that sets it, docs/github-action.md
//! documents every input and output. action/install.sh, which every action
//! runs first, is tested with the release archives in `release`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

fn actions() -> Vec<(String, PathBuf)> {
    let mut all = vec![(
        "trainyard/trainyard".to_owned(),
        common::repo().join("action.yml"),
    )];
    let mut steps: Vec<_> = std::fs::read_dir(common::repo().join("action"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("action.yml").is_file())
        .collect();
    steps.sort();
    for dir in steps {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        all.push((
            format!("trainyard/trainyard/action/{name}"),
            dir.join("action.yml"),
        ));
    }
    all
}

fn load(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn there_is_an_action_for_every_step_the_issue_names() {
    let names: Vec<String> = actions().into_iter().map(|(name, _)| name).collect();
    for step in [
        "validate-data",
        "train",
        "report",
        "gate",
        "promote",
        "iac",
        "drift",
    ] {
        assert!(
            names.contains(&format!("trainyard/trainyard/action/{step}")),
            "{names:?}"
        );
    }
}

#[test]
fn inputs_reach_scripts_only_through_env_and_every_input_is_used() {
    for (name, path) in actions() {
        let action = load(&path);
        assert_eq!(action["runs"]["using"], "composite", "{name}");
        let steps = action["runs"]["steps"].as_sequence().unwrap();
        let mut used = String::new();
        for step in steps {
            let script = step["run"].as_str().unwrap_or_default();
            assert!(
                !script.contains("${{"),
                "{name}: an expression inside `run:` is a script injection:\n{script}"
            );
            used.push_str(&serde_yaml_ng::to_string(&step["env"]).unwrap());
            used.push_str(&serde_yaml_ng::to_string(&step["working-directory"]).unwrap());
        }
        for input in action["inputs"].as_mapping().unwrap().keys() {
            let input = input.as_str().unwrap();
            assert!(
                used.contains(&format!("${{{{ inputs.{input} }}}}")),
                "{name}: input `{input}` reaches no step"
            );
        }
        for (output, spec) in action["outputs"].as_mapping().unwrap() {
            let output = output.as_str().unwrap();
            assert_eq!(
                spec["value"].as_str().unwrap(),
                format!("${{{{ steps.run.outputs.{output} }}}}"),
                "{name}: output `{output}`"
            );
        }
    }
}

#[test]
fn the_documentation_lists_every_input_and_output_of_every_action() {
    let docs = std::fs::read_to_string(common::repo().join("docs/github-action.md")).unwrap();
    for (name, path) in actions() {
        let heading = format!("### `{name}`\n");
        let start = docs
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/github-action.md has no section {heading}"));
        let section = &docs[start + heading.len()..];
        let section = &section[..section.find("\n### ").unwrap_or(section.len())];
        let action = load(&path);
        for key in ["inputs", "outputs"] {
            for item in action[key].as_mapping().unwrap().keys() {
                let item = item.as_str().unwrap();
                assert!(
                    section.contains(&format!("| `{item}` |")),
                    "docs/github-action.md, {name}: {key} `{item}` is not documented"
                );
            }
        }
    }
}
