//! `deploy/<env>/release.yaml`: an environment's desired state. Argo CD, Flux or
//! the generated pipeline deploys what it says; its history is `git log`.
//!
//! The file is also a Kubernetes-style resource (`apiVersion`, `kind: Release`,
//! `metadata` marked `config.kubernetes.io/local-config`), so the generated
//! `deploy/<env>/kustomization.yaml` lists it as a resource and copies its
//! `uri` into the InferenceService's `storageUri`; kustomize then drops it
//! from what it applies. Files written before these keys existed still parse.

use serde::{Deserialize, Serialize};

use crate::GateError;

/// Whether a release moved the environment forward or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseKind {
    Promote,
    Rollback,
}

/// The desired state of one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Release {
    pub environment: String,
    pub model: String,
    pub version: u64,
    /// The model artifact's BLAKE3 digest: what the deployment must fetch and check.
    pub digest: String,
    /// Where the deployment fetches the model: its folder in the artifact
    /// store (KServe's `storageUri`) or its OCI reference pinned by digest.
    /// Absent when the model is only in a runner's local folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The run that trained it.
    pub run: String,
    /// The commit the run trained from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The digest of the gate verdict that let it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// When it was made the desired state (RFC 3339, UTC).
    pub at: chrono::DateTime<chrono::Utc>,
    pub by: String,
    /// Written as `change:` (`kind` is the resource's kind, `Release`);
    /// files from before read as `kind: promote`.
    #[serde(rename = "change", alias = "kind")]
    pub kind: ReleaseKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The `apiVersion` of the file as a kustomize resource.
pub const API_VERSION: &str = "trainyard.dev/v1";

/// The `kind` of the file as a kustomize resource.
pub const KIND: &str = "Release";

/// The keys that make the file a kustomize resource, besides `kind`; not part of [`Release`].
const RESOURCE_KEYS: [&str; 2] = ["apiVersion", "metadata"];

/// The file's path for an environment, relative to the repository root.
pub fn path(environment: &str) -> String {
    format!("deploy/{environment}/release.yaml")
}

impl Release {
    /// `promote` or `rollback`: the command that writes this kind.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ReleaseKind::Promote => "promote",
            ReleaseKind::Rollback => "rollback",
        }
    }

    /// The file's text: a header saying what it is, the keys that make it a
    /// kustomize resource (named after the environment), then the fields.
    pub fn to_yaml(&self) -> String {
        let body = serde_yaml_ng::to_string(self).unwrap_or_default();
        let name = serde_yaml_ng::to_string(&self.environment).unwrap_or_default();
        format!(
            "# The desired state of environment `{}`, written by `trainyard {}`.\n\
             # Change it with `trainyard promote` or `trainyard rollback`; its history is `git log`.\n\
             apiVersion: {API_VERSION}\n\
             kind: {KIND}\n\
             metadata:\n  name: {}\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n{body}",
            self.environment,
            self.kind_name(),
            name.trim_end()
        )
    }

    pub fn parse(text: &str, file: &str) -> Result<Self, GateError> {
        let refused = |error: serde_yaml_ng::Error| {
            GateError::Config(format!(
                "{file}: not a release file ({error}); restore it from `git log -p -- {file}`"
            ))
        };
        let mut document: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(refused)?;
        if let Some(mapping) = document.as_mapping_mut() {
            for key in RESOURCE_KEYS {
                mapping.remove(key);
            }
            // `kind: Release` is the resource's; an older file's `kind: promote` is the change's.
            if mapping.get("kind").and_then(serde_yaml_ng::Value::as_str) == Some(KIND) {
                mapping.remove("kind");
            }
        }
        serde_yaml_ng::from_value(document).map_err(refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let release = Release {
            environment: "prod".into(),
            model: "clf".into(),
            version: 2,
            digest: "ab".repeat(32),
            uri: Some("s3://models/clf/models/clf/2/".into()),
            run: "r".into(),
            commit: Some("c0ffee".into()),
            verdict: None,
            at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            by: "ci".into(),
            kind: ReleaseKind::Promote,
            reason: None,
        };
        let text = release.to_yaml();
        assert!(text.starts_with("# The desired state of environment `prod`"));
        assert_eq!(Release::parse(&text, "x").unwrap(), release);
        assert!(
            text.contains("\nkind: Release\nmetadata:\n  name: prod\n"),
            "{text}"
        );
        assert!(text.contains("\nchange: promote\n"), "{text}");
        // A file written before it was a kustomize resource still parses.
        let old = text
            .lines()
            .filter(|line| {
                !["apiVersion:", "kind:", "metadata:", "  "]
                    .iter()
                    .any(|start| line.starts_with(start))
            })
            .map(|line| line.replace("change: ", "kind: "))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!old.contains("Release"), "{old}");
        assert_eq!(Release::parse(&old, "x").unwrap(), release);
        assert!(
            Release::parse("model: 3\n", "deploy/prod/release.yaml")
                .unwrap_err()
                .to_string()
                .contains("git log -p")
        );
    }
}
