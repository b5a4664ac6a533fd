//! Azure resource names: computed from the project and environment, then
//! checked against the rule of each resource type, so a name that Azure would
//! refuse at deployment is refused at render time instead, naming the rule.
//!
//! Globally unique names (storage accounts, key vaults, registries) carry a
//! short suffix derived from the project and environment names. It is stable:
//! the same project and environment give the same suffix in every release, on
//! every machine, so re-rendering never renames (and so never replaces) a resource.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Where a name must be unique, which decides what a collision is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Unique across all of Azure (it becomes a DNS name).
    Global,
    /// Unique within one Azure region.
    Region,
    /// Unique within the subscription.
    Subscription,
    /// Unique within its parent (resource group, workspace, namespace).
    Parent,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Global => "globally",
            Self::Region => "within its region",
            Self::Subscription => "within the subscription",
            Self::Parent => "within its parent",
        })
    }
}

/// Which characters a rule accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    /// a–z and 0–9.
    LowerAlnum,
    /// Letters and digits.
    Alnum,
    /// Letters, digits and `-`.
    AlnumHyphen,
    /// Letters, digits, `-` and `_`.
    AlnumHyphenUnderscore,
    /// Letters, digits, `-`, `_`, `.`, `(`, `)`.
    ResourceGroup,
    /// a–z, 0–9 and `-` (Kubernetes DNS-1123 labels).
    Dns1123,
}

impl Charset {
    fn accepts(self, c: char) -> bool {
        match self {
            Self::LowerAlnum => c.is_ascii_lowercase() || c.is_ascii_digit(),
            Self::Alnum => c.is_ascii_alphanumeric(),
            Self::AlnumHyphen => c.is_ascii_alphanumeric() || c == '-',
            Self::AlnumHyphenUnderscore => c.is_ascii_alphanumeric() || c == '-' || c == '_',
            Self::ResourceGroup => c.is_ascii_alphanumeric() || "-_.()".contains(c),
            Self::Dns1123 => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::LowerAlnum => "lower-case letters and digits only",
            Self::Alnum => "letters and digits only",
            Self::AlnumHyphen => "letters, digits and hyphens only",
            Self::AlnumHyphenUnderscore => "letters, digits, hyphens and underscores only",
            Self::ResourceGroup => "letters, digits, `-`, `_`, `.`, `(` and `)` only",
            Self::Dns1123 => "lower-case letters, digits and hyphens only",
        }
    }
}

/// The naming rule of one Azure (or Kubernetes) resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The resource type as Azure names it, e.g. `Microsoft.Storage/storageAccounts`.
    pub resource: &'static str,
    /// The manifest's word for it, e.g. `storage-account` (the key under `names:`).
    pub key: &'static str,
    pub min: usize,
    pub max: usize,
    charset: Charset,
    /// The first character must be a letter.
    starts_with_letter: bool,
    /// The last character must be a letter or digit.
    ends_alnum: bool,
    /// `--` is refused.
    no_double_hyphen: bool,
    pub scope: Scope,
}

impl Rule {
    /// The rule in one line, as error messages and the docs quote it.
    pub fn describe(&self) -> String {
        let mut parts = vec![
            format!("{}–{} characters", self.min, self.max),
            self.charset.describe().to_owned(),
        ];
        if self.starts_with_letter {
            parts.push("starts with a letter".to_owned());
        }
        if self.ends_alnum {
            parts.push("ends with a letter or digit".to_owned());
        }
        if self.no_double_hyphen {
            parts.push("no consecutive hyphens".to_owned());
        }
        parts.push(format!("unique {}", self.scope));
        format!("{} names: {}", self.resource, parts.join(", "))
    }

    /// Why `name` breaks this rule, or `None` if it follows it.
    pub fn violation(&self, name: &str) -> Option<String> {
        let length = name.chars().count();
        if length < self.min || length > self.max {
            return Some(format!(
                "is {length} characters long; {} names must be {}–{} characters",
                self.resource, self.min, self.max
            ));
        }
        if let Some(bad) = name.chars().find(|c| !self.charset.accepts(*c)) {
            return Some(format!(
                "contains `{bad}`; {} names take {}",
                self.resource,
                self.charset.describe()
            ));
        }
        if self.starts_with_letter && !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Some(format!("must start with a letter ({})", self.resource));
        }
        if self.ends_alnum && !name.ends_with(|c: char| c.is_ascii_alphanumeric()) {
            return Some(format!(
                "must end with a letter or digit ({})",
                self.resource
            ));
        }
        if self.no_double_hyphen && name.contains("--") {
            return Some(format!(
                "contains consecutive hyphens, which {} names refuse",
                self.resource
            ));
        }
        None
    }
}

const fn rule(
    resource: &'static str,
    key: &'static str,
    (min, max): (usize, usize),
    charset: Charset,
    (starts_with_letter, ends_alnum, no_double_hyphen): (bool, bool, bool),
    scope: Scope,
) -> Rule {
    Rule {
        resource,
        key,
        min,
        max,
        charset,
        starts_with_letter,
        ends_alnum,
        no_double_hyphen,
        scope,
    }
}

// The rules from Azure's "Naming rules and restrictions for Azure resources"
// and the Azure ML docs (online endpoints, computes).
pub const RESOURCE_GROUP: Rule = rule(
    "Microsoft.Resources/resourceGroups",
    "resource-group",
    (1, 90),
    Charset::ResourceGroup,
    (false, true, false),
    Scope::Subscription,
);
pub const STORAGE_ACCOUNT: Rule = rule(
    "Microsoft.Storage/storageAccounts",
    "storage-account",
    (3, 24),
    Charset::LowerAlnum,
    (false, false, false),
    Scope::Global,
);
pub const KEY_VAULT: Rule = rule(
    "Microsoft.KeyVault/vaults",
    "key-vault",
    (3, 24),
    Charset::AlnumHyphen,
    (true, true, true),
    Scope::Global,
);
pub const CONTAINER_REGISTRY: Rule = rule(
    "Microsoft.ContainerRegistry/registries",
    "container-registry",
    (5, 50),
    Charset::Alnum,
    (false, false, false),
    Scope::Global,
);
pub const WORKSPACE: Rule = rule(
    "Microsoft.MachineLearningServices/workspaces",
    "workspace",
    (3, 33),
    Charset::AlnumHyphenUnderscore,
    (false, false, false),
    Scope::Parent,
);
pub const ONLINE_ENDPOINT: Rule = rule(
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
    "online-endpoint",
    (3, 32),
    Charset::AlnumHyphen,
    (true, true, false),
    Scope::Region,
);
pub const ONLINE_DEPLOYMENT: Rule = rule(
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
    "online-deployment",
    (3, 32),
    Charset::AlnumHyphen,
    (true, true, false),
    Scope::Parent,
);
pub const COMPUTE_CLUSTER: Rule = rule(
    "Microsoft.MachineLearningServices/workspaces/computes",
    "compute-cluster",
    (2, 16),
    Charset::AlnumHyphen,
    (true, true, false),
    Scope::Parent,
);
pub const LOG_ANALYTICS: Rule = rule(
    "Microsoft.OperationalInsights/workspaces",
    "log-analytics",
    (4, 63),
    Charset::AlnumHyphen,
    (false, true, false),
    Scope::Parent,
);
pub const APPLICATION_INSIGHTS: Rule = rule(
    "Microsoft.Insights/components",
    "application-insights",
    (1, 260),
    Charset::ResourceGroup,
    (false, true, false),
    Scope::Parent,
);
pub const VIRTUAL_NETWORK: Rule = rule(
    "Microsoft.Network/virtualNetworks",
    "virtual-network",
    (2, 64),
    Charset::ResourceGroup,
    (false, true, false),
    Scope::Parent,
);
pub const KUBERNETES_NAME: Rule = rule(
    "Kubernetes objects (DNS-1123 labels)",
    "kubernetes",
    (1, 63),
    Charset::Dns1123,
    (true, true, false),
    Scope::Parent,
);

/// The computed names of one environment, as the templates see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Names {
    /// The stable suffix of globally unique names.
    pub suffix: String,
    pub resource_group: String,
    pub storage_account: String,
    pub key_vault: String,
    pub container_registry: String,
    pub workspace: String,
    pub application_insights: String,
    pub log_analytics: String,
    pub compute_cluster: String,
    pub online_endpoint: String,
    pub online_deployment: String,
    pub virtual_network: String,
    pub kubernetes_app: String,
    pub kubernetes_namespace: String,
    /// The Terraform state's storage account (shared by all environments).
    pub state_storage_account: String,
}

/// What the names are computed from.
#[derive(Debug, Clone, Default)]
pub struct NameInputs<'a> {
    pub project: &'a str,
    pub environment: &'a str,
    /// Replaces the computed suffix (`iac.name-suffix`).
    pub suffix: Option<&'a str>,
    /// User-given names by rule key (`storage-account`, …), validated like computed ones.
    pub overrides: BTreeMap<&'static str, &'a str>,
    pub kubernetes_namespace: Option<&'a str>,
    pub state_storage_account: Option<&'a str>,
}

/// A name that breaks its resource's rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} name `{name}` {why}")]
pub struct NameError {
    /// The rule's key (`storage-account`), which is also the key under `names:`.
    pub key: &'static str,
    /// What kind of name: the rule key, in words.
    pub kind: String,
    pub name: String,
    pub why: String,
    /// The whole rule, for the help line.
    pub rule: String,
    /// Whether the user wrote the name (under `names:`), or trainyard computed it.
    pub overridden: bool,
}

/// The suffix that makes a project's globally unique names unique: five
/// base-36 characters of a 64-bit FNV-1a hash of `project/environment`. The
/// algorithm is part of the contract: changing it would rename resources.
pub fn stable_suffix(project: &str, environment: &str) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in project.bytes().chain(*b"/").chain(environment.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..5)
        .map(|_| {
            let digit = usize::try_from(hash % 36).unwrap_or(0);
            hash /= 36;
            char::from(alphabet[digit])
        })
        .collect()
}

/// `project` with only the characters `keep` accepts, at most `room` long.
fn squeeze(text: &str, keep: impl Fn(char) -> bool, room: usize) -> String {
    text.chars().filter(|c| keep(*c)).take(room).collect()
}

/// Joins `prefix`, the project (shortened to fit) and `tail` so the whole fits `max`.
fn fit(prefix: &str, project: &str, tail: &str, max: usize, keep: impl Fn(char) -> bool) -> String {
    let room = max.saturating_sub(prefix.len() + tail.len());
    let project = squeeze(project, keep, room);
    let project = project.trim_end_matches('-');
    format!("{prefix}{project}{tail}")
}

impl Names {
    /// Computes every name of one environment and checks each against its rule.
    /// All violations are returned, so a person fixes them in one go.
    #[allow(clippy::too_many_lines)] // one entry per resource: a table, clearer in one place
    pub fn compute(inputs: &NameInputs<'_>) -> Result<Self, Vec<NameError>> {
        let project = inputs.project;
        let env = inputs.environment;
        let suffix = inputs
            .suffix
            .map_or_else(|| stable_suffix(project, env), str::to_owned);
        let lower_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let hyphenated = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        let env_alnum: String = squeeze(env, lower_alnum, 16);

        let mut errors = Vec::new();
        // `overridable`: whether `names:` may replace it (the Terraform state account
        // and the namespace have their own keys under `iac:`).
        let mut pick_from = |rule: &Rule, computed: String, overridable: bool| -> String {
            let given = if overridable {
                inputs.overrides.get(rule.key)
            } else {
                None
            };
            let (name, overridden) = match given {
                Some(given) => ((*given).to_owned(), true),
                None => (computed, false),
            };
            if let Some(why) = rule.violation(&name) {
                errors.push(NameError {
                    key: rule.key,
                    kind: rule.key.replace('-', " "),
                    name: name.clone(),
                    why,
                    rule: rule.describe(),
                    overridden,
                });
            }
            name
        };

        let kubernetes_namespace = pick_from(
            &KUBERNETES_NAME,
            inputs.kubernetes_namespace.map_or_else(
                || format!("{}-{env}", squeeze(project, hyphenated, 62 - env.len())),
                str::to_owned,
            ),
            false,
        );
        let state_storage_account = pick_from(
            &STORAGE_ACCOUNT,
            inputs.state_storage_account.map_or_else(
                || {
                    fit(
                        "sttf",
                        project,
                        &stable_suffix(project, "terraform-state"),
                        24,
                        lower_alnum,
                    )
                },
                str::to_owned,
            ),
            false,
        );
        let mut pick = |rule: &Rule, computed: String| pick_from(rule, computed, true);
        let names = Self {
            resource_group: pick(&RESOURCE_GROUP, format!("rg-{project}-{env}")),
            storage_account: pick(
                &STORAGE_ACCOUNT,
                fit(
                    "st",
                    project,
                    &format!("{env_alnum}{suffix}"),
                    24,
                    lower_alnum,
                ),
            ),
            key_vault: pick(
                &KEY_VAULT,
                fit(
                    "kv-",
                    project,
                    &format!("-{env_alnum}{suffix}"),
                    24,
                    hyphenated,
                ),
            ),
            container_registry: pick(
                &CONTAINER_REGISTRY,
                fit(
                    "cr",
                    project,
                    &format!("{env_alnum}{suffix}"),
                    50,
                    lower_alnum,
                ),
            ),
            workspace: pick(
                &WORKSPACE,
                fit("mlw-", project, &format!("-{env}"), 33, hyphenated),
            ),
            application_insights: pick(&APPLICATION_INSIGHTS, format!("appi-{project}-{env}")),
            log_analytics: pick(
                &LOG_ANALYTICS,
                fit("log-", project, &format!("-{env}"), 63, hyphenated),
            ),
            compute_cluster: pick(&COMPUTE_CLUSTER, "train-cluster".to_owned()),
            // Unique per region across every subscription: the suffix keeps two
            // projects (or a fork) in one region from colliding.
            online_endpoint: pick(
                &ONLINE_ENDPOINT,
                fit("", project, &format!("-{env}-{suffix}"), 32, hyphenated),
            ),
            online_deployment: pick(&ONLINE_DEPLOYMENT, "current".to_owned()),
            virtual_network: pick(
                &VIRTUAL_NETWORK,
                fit("vnet-", project, &format!("-{env}"), 64, hyphenated),
            ),
            kubernetes_app: pick(
                &KUBERNETES_NAME,
                fit("", project, "-server", 63, hyphenated),
            ),
            kubernetes_namespace,
            state_storage_account,
            suffix,
        };
        if errors.is_empty() {
            Ok(names)
        } else {
            Err(errors)
        }
    }

    /// The names that must differ between environments, with their rule.
    fn unique(&self, region: &str) -> Vec<(&'static Rule, String)> {
        vec![
            (&RESOURCE_GROUP, self.resource_group.clone()),
            (&STORAGE_ACCOUNT, self.storage_account.clone()),
            (&KEY_VAULT, self.key_vault.clone()),
            (
                &CONTAINER_REGISTRY,
                self.container_registry.to_ascii_lowercase(),
            ),
            // Endpoints only collide within one region.
            (
                &ONLINE_ENDPOINT,
                format!("{}@{region}", self.online_endpoint),
            ),
        ]
    }
}

/// Two environments that would get the same globally (or regionally) unique name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "environments `{first}` and `{second}` both get the {kind} name `{name}`, which must be unique {scope}"
)]
pub struct Collision {
    pub key: &'static str,
    pub kind: String,
    pub name: String,
    pub scope: Scope,
    pub first: String,
    /// The later environment, where the error is reported.
    pub second: String,
}

/// Finds names two environments share although Azure needs them unique.
/// `environments` is (environment name, region, names), in manifest order.
pub fn collisions(environments: &[(&str, &str, &Names)]) -> Vec<Collision> {
    let mut seen: BTreeMap<(&'static str, String), &str> = BTreeMap::new();
    let mut found = Vec::new();
    for (env, region, names) in environments {
        for (rule, name) in names.unique(region) {
            match seen.get(&(rule.key, name.clone())) {
                Some(first) => found.push(Collision {
                    key: rule.key,
                    kind: rule.key.replace('-', " "),
                    name: name.split('@').next().unwrap_or_default().to_owned(),
                    scope: rule.scope,
                    first: (*first).to_owned(),
                    second: (*env).to_owned(),
                }),
                None => {
                    seen.insert((rule.key, name), env);
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(project: &'a str, environment: &'a str) -> NameInputs<'a> {
        NameInputs {
            project,
            environment,
            ..NameInputs::default()
        }
    }

    #[test]
    fn the_suffix_is_stable_and_differs_per_environment() {
        // Fixed values: a change here renames every user's resources.
        assert_eq!(
            stable_suffix("breast-cancer", "dev"),
            stable_suffix("breast-cancer", "dev")
        );
        assert_ne!(
            stable_suffix("breast-cancer", "dev"),
            stable_suffix("breast-cancer", "prod")
        );
        assert_eq!(stable_suffix("breast-cancer", "dev").len(), 5);
    }

    #[test]
    fn a_long_project_still_gets_valid_names() {
        let project = "a-very-long-project-name-for-a-classifier-of-biopsies";
        let names = Names::compute(&inputs(project, "staging")).unwrap();
        assert!(
            names.storage_account.len() <= 24,
            "{}",
            names.storage_account
        );
        assert!(names.storage_account.ends_with(&names.suffix));
        assert!(names.key_vault.len() <= 24);
        assert!(names.online_endpoint.len() <= 32);
        assert!(names.workspace.len() <= 33);
    }

    #[test]
    fn an_override_replaces_only_its_own_name() {
        let mut given = inputs("churn", "prod");
        given.overrides.insert("storage-account", "stchurnprod");
        let names = Names::compute(&given).unwrap();
        assert_eq!(names.storage_account, "stchurnprod");
        assert_ne!(names.state_storage_account, "stchurnprod");

        given.overrides.insert("key-vault", "kv_churn");
        let errors = Names::compute(&given).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].overridden);
        assert_eq!(
            errors[0].to_string(),
            "key vault name `kv_churn` contains `_`; Microsoft.KeyVault/vaults names take letters, digits and hyphens only"
        );
    }

    #[test]
    fn collisions_respect_the_scope() {
        let dev = Names::compute(&inputs("churn", "dev")).unwrap();
        let mut prod = Names::compute(&inputs("churn", "prod")).unwrap();
        assert!(
            collisions(&[("dev", "westeurope", &dev), ("prod", "westeurope", &prod)]).is_empty()
        );
        prod.online_endpoint.clone_from(&dev.online_endpoint);
        let found = collisions(&[("dev", "westeurope", &dev), ("prod", "westeurope", &prod)]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key, "online-endpoint");
        assert!(
            collisions(&[("dev", "westeurope", &dev), ("prod", "northeurope", &prod)]).is_empty()
        );
        prod.container_registry = dev.container_registry.to_uppercase();
        let found = collisions(&[("dev", "westeurope", &dev), ("prod", "northeurope", &prod)]);
        assert_eq!(
            found[0].key, "container-registry",
            "registry names ignore case"
        );
    }

    #[test]
    fn rules_name_what_is_wrong() {
        assert!(STORAGE_ACCOUNT.violation("stbreastcancerdev1").is_none());
        assert!(STORAGE_ACCOUNT.violation("st").unwrap().contains("3–24"));
        assert!(STORAGE_ACCOUNT.violation("st-bc").unwrap().contains("`-`"));
        assert!(STORAGE_ACCOUNT.violation("stBC1").unwrap().contains("`B`"));
        assert!(
            KEY_VAULT
                .violation("kv--x")
                .unwrap()
                .contains("consecutive")
        );
        assert!(
            KEY_VAULT
                .violation("1kv")
                .unwrap()
                .contains("start with a letter")
        );
        assert!(
            ONLINE_ENDPOINT
                .violation("ep-")
                .unwrap()
                .contains("end with")
        );
        assert!(
            CONTAINER_REGISTRY
                .violation("cr1")
                .unwrap()
                .contains("5–50")
        );
    }
}
