//! The verdict: every rule of a gate with its observed and required value.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use trainyard_core::markdown::{cell, code_in_text, text};

/// One rule of a gate, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RuleOutcome {
    /// The kind of rule: `metric`, `tests`, `non-regression`, `fairness`, `artifact-size`,
    /// `latency`, `tag`, `signed-tag`, `model-tag`, `data`.
    pub rule: String,
    /// What it is about: a metric, a glob, a tag pattern.
    pub subject: String,
    pub observed: String,
    pub required: String,
    pub passed: bool,
    /// For a failed rule: one line a person understands, saying what to do where it can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RuleOutcome {
    pub fn pass(
        rule: &str,
        subject: impl Into<String>,
        observed: impl Into<String>,
        required: impl Into<String>,
    ) -> Self {
        Self {
            rule: rule.to_owned(),
            subject: subject.into(),
            observed: observed.into(),
            required: required.into(),
            passed: true,
            reason: None,
        }
    }

    pub fn fail(
        rule: &str,
        subject: impl Into<String>,
        observed: impl Into<String>,
        required: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            passed: false,
            reason: Some(reason.into()),
            ..Self::pass(rule, subject, observed, required)
        }
    }
}

/// A gate's decision about one model version for one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Verdict {
    pub environment: String,
    pub model: String,
    pub version: u64,
    pub run: String,
    /// The commit the model was trained from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Where the policy was read: `main@<commit>:trainyard.yaml`.
    pub policy: String,
    /// Why that branch: "the pull request's base branch", "the default branch
    /// named by the CI event", ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_branch: Option<String>,
    pub passed: bool,
    pub rules: Vec<RuleOutcome>,
}

impl Verdict {
    /// The rules that failed.
    pub fn failures(&self) -> impl Iterator<Item = &RuleOutcome> {
        self.rules.iter().filter(|rule| !rule.passed)
    }

    /// `blake3:<hex>` of the verdict's JSON: release.yaml names the verdict it followed.
    pub fn digest(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("blake3:{}", blake3::hash(&json).to_hex())
    }

    /// The verdict as a Markdown table, then one line per failed rule.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "### Gate {}: {} v{} {}\n\n",
            code_in_text(&self.environment),
            text(&self.model),
            self.version,
            if self.passed { "passed" } else { "refused" }
        );
        let _ = writeln!(
            md,
            "Run {}{}; policy from {}{}.\n",
            code_in_text(&self.run),
            self.commit
                .as_deref()
                .map(|commit| format!(", commit {}", code_in_text(short(commit))))
                .unwrap_or_default(),
            code_in_text(&self.policy),
            self.policy_branch
                .as_deref()
                .map(|why| format!(", {why}"))
                .unwrap_or_default()
        );
        if self.rules.is_empty() {
            md.push_str("No rules are set for this environment: any registered model may enter.\n");
            return md;
        }
        md.push_str("| | rule | subject | observed | required |\n|---|---|---|---|---|\n");
        for rule in &self.rules {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                if rule.passed { "✅" } else { "❌" },
                cell(&rule.rule),
                cell(&rule.subject),
                cell(&rule.observed),
                cell(&rule.required)
            );
        }
        let failures: Vec<&RuleOutcome> = self.failures().collect();
        if !failures.is_empty() {
            md.push_str("\nWhy it refused:\n\n");
            for rule in failures {
                let _ = writeln!(
                    md,
                    "- {}",
                    text(rule.reason.as_deref().unwrap_or(&rule.subject))
                );
            }
        }
        md
    }
}

/// A commit as every report shows it (7 characters: `markdown::short_commit`).
pub fn short(commit: &str) -> &str {
    trainyard_core::markdown::short_commit(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(passed: bool) -> Verdict {
        Verdict {
            environment: "prod".into(),
            model: "clf".into(),
            version: 3,
            run: "r1".into(),
            commit: Some("0123456789abcdef0123".into()),
            policy: "main@0123456789ab:trainyard.yaml".into(),
            policy_branch: None,
            passed,
            rules: vec![
                RuleOutcome::pass("metric", "accuracy", "0.95", ">= 0.9"),
                RuleOutcome::fail("tag", "v*", "none", "a tag matching v*", "no | tag"),
            ],
        }
    }

    #[test]
    fn the_digest_follows_the_content() {
        assert_eq!(verdict(false).digest(), verdict(false).digest());
        assert_ne!(verdict(false).digest(), verdict(true).digest());
        assert!(verdict(true).digest().starts_with("blake3:"));
    }

    #[test]
    fn the_table_escapes_cells_and_lists_failures() {
        let text = verdict(false).markdown();
        assert!(
            text.contains("| ❌ | tag | v* | none | a tag matching v* |"),
            "{text}"
        );
        assert!(text.contains("- no \\| tag"), "{text}");
        assert!(text.contains("commit `0123456`"), "{text}");
    }
}
