//! What `iac render` and `iac check` share: which environments and targets,
//! every environment's names (checked against Azure's rules), the values the
//! templates see, and the rendered files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use include_dir::{Dir, include_dir};
use serde::Serialize;
use trainyard_core::manifest::{Environment, Iac, IacTarget, NetworkIsolation};
use trainyard_core::{ConfigError, SourceSpan, StepError};
use trainyard_render::naming::{self, NameInputs, Names};
use trainyard_render::{RenderError, RenderedFile, Renderer, Template, TemplateSet};

use super::Project;
use crate::requests::IacSelection;

/// The built-in templates, compiled into the binary.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates/iac");

/// Where a user's template overrides live, relative to the manifest.
pub const OVERRIDES_DIR: &str = "templates/iac";

/// Everything one render produces.
#[derive(Debug)]
pub struct Plan {
    pub files: Vec<RenderedFile>,
    /// Folders (relative to the project root) where a generated file that was
    /// not rendered is stale.
    pub scan_dirs: Vec<String>,
    pub environments: Vec<String>,
    pub targets: Vec<IacTarget>,
    /// User templates that replaced or added built-in ones.
    pub overrides: Vec<String>,
    /// Per environment: its names, for the summary.
    pub names: Vec<(String, Names)>,
}

pub fn plan(project: &Project, selection: &IacSelection) -> Result<Plan, StepError> {
    // Only for pointing at lines; the manifest itself was already parsed.
    let source = std::fs::read_to_string(&project.manifest_file).unwrap_or_default();
    let locate = Locator {
        file: &project.manifest_file,
        source: &source,
    };
    let manifest = &project.manifest;
    let Some(iac) = &manifest.iac else {
        return Err(ConfigError::new(
            project.manifest_file.clone(),
            "iac-missing",
            "the manifest has no `iac` section",
        )
        .with_help("add `iac: { targets: [terraform, kubernetes] }` (see docs/steps/iac.md)")
        .into());
    };
    if manifest.environments.is_empty() {
        return Err(ConfigError::new(
            project.manifest_file.clone(),
            "no-environments",
            "`iac` needs environments, and `environments` is empty",
        )
        .with_help(
            "declare them in promotion order, e.g. `environments: [{ name: dev }, { name: prod }]`",
        )
        .into());
    }
    let selected = select_environments(project, selection)?;
    let targets: Vec<IacTarget> = if selection.targets.is_empty() {
        iac.targets.clone()
    } else {
        selection.targets.clone()
    };

    // Names of every environment, selected or not: uniqueness is across all of them.
    let mut all_names = Vec::new();
    for environment in &manifest.environments {
        all_names.push(environment_names(project, iac, environment, &locate)?);
    }
    let regions: Vec<(&str, &str, &Names)> = manifest
        .environments
        .iter()
        .zip(&all_names)
        .map(|(env, names)| (env.name.as_str(), env.region(), names))
        .collect();
    if let Some(collision) = naming::collisions(&regions).into_iter().next() {
        let keys = ["names", collision.key];
        return Err(locate
            .error(&collision.second, &keys, "name-collision", collision.to_string())
            .with_help(
                "give one of them another name under `names:`, or remove the override that makes them equal",
            )
            .into());
    }

    let set = TemplateSet::builtin(&TEMPLATES)
        .with_overrides(&project.root.join(OVERRIDES_DIR), OVERRIDES_DIR)
        .map_err(render_error)?;
    let renderer = Renderer::new(&set).map_err(render_error)?;
    let mut files = Vec::new();
    let mut names_out = Vec::new();
    for (environment, names) in manifest.environments.iter().zip(&all_names) {
        if !selected.contains(&environment.name) {
            continue;
        }
        check_values(environment, &locate)?;
        let context = context(project, iac, environment, names);
        for target in &targets {
            files.extend(
                renderer
                    .render_target(
                        target.as_str(),
                        &environment.name,
                        &iac.output_dir,
                        &context,
                    )
                    .map_err(render_error)?,
            );
        }
        names_out.push((environment.name.clone(), names.clone()));
    }

    let scan_dirs = scan_dirs(&iac.output_dir, &targets, selection.all, &selected, &files);
    Ok(Plan {
        files,
        scan_dirs,
        environments: selected,
        targets,
        overrides: set.overridden().map(Template::display_path).collect(),
        names: names_out,
    })
}

/// Folders (relative to the project root) in which a generated file that was
/// not rendered is stale: whole targets with `--all`, else the selected environments'.
fn scan_dirs(
    output_dir: &str,
    targets: &[IacTarget],
    all: bool,
    selected: &[String],
    files: &[RenderedFile],
) -> Vec<String> {
    let output_dir = output_dir.trim_end_matches('/');
    let mut scan_dirs = Vec::new();
    for target in targets {
        if all {
            scan_dirs.push(format!("{output_dir}/{}", target.as_str()));
        } else {
            for env in selected {
                scan_dirs.push(format!("{output_dir}/{}/{env}", target.as_str()));
            }
        }
    }
    // Files rendered outside the output folder (deploy/<env>/kustomization.yaml)
    // can be stale too: their environment's folder, or with --all its parent.
    for file in files {
        if !file.path.starts_with(&format!("{output_dir}/"))
            && let Some((dir, _)) = file.path.rsplit_once('/')
        {
            let dir = if all {
                dir.rsplit_once('/').map_or(dir, |(parent, _)| parent)
            } else {
                dir
            };
            if !scan_dirs.iter().any(|known| known == dir) {
                scan_dirs.push(dir.to_owned());
            }
        }
    }
    scan_dirs
}

fn render_error(error: RenderError) -> StepError {
    match error {
        RenderError::Template { .. } | RenderError::Encoding { .. } => {
            StepError::from(ConfigError::new(error.to_string(), "template-error", "the template does not render").with_help(
                "fix the template (a user override under templates/iac/, or report a bug if it is built in)",
            ))
        }
        RenderError::Io { path, source } => StepError::io("reading", path, source),
    }
}

fn select_environments(
    project: &Project,
    selection: &IacSelection,
) -> Result<Vec<String>, StepError> {
    let declared: Vec<&str> = project
        .manifest
        .environments
        .iter()
        .map(|env| env.name.as_str())
        .collect();
    if selection.all || selection.environments.is_empty() {
        return Ok(declared.iter().map(|name| (*name).to_owned()).collect());
    }
    for wanted in &selection.environments {
        if !declared.contains(&wanted.as_str()) {
            let hint = trainyard_core::diagnostic::nearest(wanted, declared.iter().copied())
                .map_or_else(String::new, |near| format!("did you mean `{near}`? "));
            return Err(StepError::Usage(format!(
                "--env {wanted}: no environment `{wanted}` is declared in {}; {hint}declared: {}",
                project.manifest_file,
                declared.join(", ")
            )));
        }
    }
    // Manifest order, whatever order the flags came in.
    Ok(declared
        .iter()
        .filter(|name| selection.environments.iter().any(|wanted| wanted == *name))
        .map(|name| (*name).to_owned())
        .collect())
}

fn environment_names(
    project: &Project,
    iac: &Iac,
    environment: &Environment,
    locate: &Locator<'_>,
) -> Result<Names, StepError> {
    let given = &environment.names;
    let mut overrides = BTreeMap::new();
    for (key, value) in [
        (naming::RESOURCE_GROUP.key, &given.resource_group),
        (naming::STORAGE_ACCOUNT.key, &given.storage_account),
        (naming::KEY_VAULT.key, &given.key_vault),
        (naming::CONTAINER_REGISTRY.key, &given.container_registry),
        (naming::WORKSPACE.key, &given.workspace),
        (naming::ONLINE_ENDPOINT.key, &given.online_endpoint),
    ] {
        if let Some(value) = value {
            overrides.insert(key, value.as_str());
        }
    }
    let inputs = NameInputs {
        project: &project.manifest.project.name,
        environment: &environment.name,
        suffix: iac.name_suffix.as_deref(),
        overrides,
        kubernetes_namespace: iac.kubernetes.namespace.as_deref(),
        state_storage_account: iac.terraform_state.storage_account.as_deref(),
    };
    Names::compute(&inputs).map_err(|errors| {
        let count = errors.len();
        let first = &errors[0];
        let more = if count > 1 {
            format!(
                " ({} more name(s) of this environment break their rules too)",
                count - 1
            )
        } else {
            String::new()
        };
        let message = format!("{first}{more}");
        let error = if first.overridden {
            locate.error(
                &environment.name,
                &["names", first.key],
                "name-rule",
                message,
            )
        } else if first.key == "kubernetes" && iac.kubernetes.namespace.is_some() {
            locate.top(&["iac", "kubernetes", "namespace"], "name-rule", message)
        } else if first.key == "storage-account"
            && iac.terraform_state.storage_account.as_deref() == Some(first.name.as_str())
        {
            locate.top(
                &["iac", "terraform-state", "storage-account"],
                "name-rule",
                message,
            )
        } else {
            locate.top(&["project", "name"], "name-rule", message)
        };
        StepError::from(error.with_help(format!("the rule: {}", first.rule)))
    })
}

/// Values the types cannot check: principal ids, addresses, scale bounds.
fn check_values(environment: &Environment, locate: &Locator<'_>) -> Result<(), StepError> {
    let env = environment.name.as_str();
    check_tags(environment, locate)?;
    let rbac = &environment.rbac;
    for (key, ids) in [
        ("data-scientists", &rbac.data_scientists),
        ("readers", &rbac.readers),
        ("deployers", &rbac.deployers),
    ] {
        if let Some(bad) = ids.iter().find(|id| !is_guid(id)) {
            return Err(locate
                .error(env, &["rbac", key], "bad-principal-id", format!("`{bad}` is not a Microsoft Entra object id"))
                .with_help("object ids are GUIDs like 00000000-0000-0000-0000-000000000000 (`az ad sp show --id … --query id`)")
                .into());
        }
    }
    let network = &environment.network;
    if subnets(&network.address_space).is_none() {
        return Err(locate
            .error(env, &["network", "address-space"], "bad-address-space", format!("`{}` is not an IPv4 range of /22 or larger", network.address_space))
            .with_help("write it as a CIDR range such as 10.0.0.0/16; the environment needs room for two /24 subnets")
            .into());
    }
    if let Some(bad) = network.allowed_ips.iter().find(|ip| !is_ipv4_or_cidr(ip)) {
        return Err(locate
            .error(
                env,
                &["network", "allowed-ips"],
                "bad-address",
                format!("`{bad}` is not an IPv4 address or CIDR range"),
            )
            .into());
    }
    if environment.compute.min_nodes > environment.compute.max_nodes {
        return Err(locate
            .error(
                env,
                &["compute", "min-nodes"],
                "bad-scale",
                format!(
                    "`min-nodes` ({}) is larger than `max-nodes` ({})",
                    environment.compute.min_nodes, environment.compute.max_nodes
                ),
            )
            .into());
    }
    if environment.serving.replicas > environment.serving.max_replicas {
        return Err(locate
            .error(
                env,
                &["serving", "replicas"],
                "bad-scale",
                format!(
                    "`replicas` ({}) is larger than `max-replicas` ({})",
                    environment.serving.replicas, environment.serving.max_replicas
                ),
            )
            .into());
    }
    Ok(())
}

/// Azure's tag rules, the strictest resource's (storage accounts): names up to
/// 128 characters without `<>%&\\?/`, values up to 256, at most 50 tags (3 are trainyard's).
fn check_tags(environment: &Environment, locate: &Locator<'_>) -> Result<(), StepError> {
    let env = environment.name.as_str();
    let refuse = |message: String| -> StepError {
        locate
            .error(env, &["tags"], "bad-tag", message)
            .with_help("Azure tags: names up to 128 characters without < > % & \\ ? /, values up to 256, at most 50 per resource")
            .into()
    };
    if environment.tags.len() > 47 {
        return Err(refuse(format!(
            "{} tags, and trainyard adds 3: Azure takes at most 50 per resource",
            environment.tags.len()
        )));
    }
    for (name, value) in &environment.tags {
        if name.is_empty() || name.chars().count() > 128 {
            return Err(refuse(format!(
                "tag name `{name}` must be 1–128 characters"
            )));
        }
        if let Some(bad) = name.chars().find(|c| "<>%&\\?/".contains(*c)) {
            return Err(refuse(format!(
                "tag name `{name}` contains `{bad}`, which Azure refuses"
            )));
        }
        if value.chars().count() > 256 {
            return Err(refuse(format!(
                "the value of tag `{name}` is longer than 256 characters"
            )));
        }
    }
    Ok(())
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_ipv4_or_cidr(text: &str) -> bool {
    match text.split_once('/') {
        Some((address, prefix)) => {
            address.parse::<Ipv4Addr>().is_ok() && prefix.parse::<u8>().is_ok_and(|p| p <= 32)
        }
        None => text.parse::<Ipv4Addr>().is_ok(),
    }
}

/// The two /24 subnets carved from an address space: training, then private endpoints.
fn subnets(address_space: &str) -> Option<(String, String)> {
    let (address, prefix) = address_space.split_once('/')?;
    let address: Ipv4Addr = address.parse().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    if !(8..=22).contains(&prefix) {
        return None;
    }
    let base = u32::from(address) & (u32::MAX << (32 - prefix));
    let subnet = |index: u32| format!("{}/24", Ipv4Addr::from(base + (index << 8)));
    Some((subnet(1), subnet(2)))
}

/// Finds manifest keys, so a name or value error points at its line.
struct Locator<'a> {
    file: &'a str,
    source: &'a str,
}

impl Locator<'_> {
    /// An error at `environments[<env>].<keys…>` (or the nearest enclosing key found).
    fn error(&self, env: &str, keys: &[&str], rule: &'static str, message: String) -> ConfigError {
        let key_path = format!("environments[{env}].{}", keys.join("."));
        let error = ConfigError::new(self.file, rule, message).with_key_path(key_path);
        match self.find_in_environment(env, keys) {
            Some(span) => error.at(self.source, span),
            None => error,
        }
    }

    /// An error at a top-level key path like `project.name`.
    fn top(&self, keys: &[&str], rule: &'static str, message: String) -> ConfigError {
        let error = ConfigError::new(self.file, rule, message).with_key_path(keys.join("."));
        match self.find_keys(0, 0, 0, keys) {
            Some(span) => error.at(self.source, span),
            None => error,
        }
    }

    fn lines(&self) -> Vec<&str> {
        self.source.lines().collect()
    }

    fn find_in_environment(&self, env: &str, keys: &[&str]) -> Option<SourceSpan> {
        let lines = self.lines();
        let start = lines
            .iter()
            .position(|line| line.trim_end() == "environments:")?;
        let (index, line) = lines.iter().enumerate().skip(start + 1).find(|(_, line)| {
            let Some(item) = line.trim_start().strip_prefix("- ") else {
                return false;
            };
            let item = item.trim_start_matches('{').trim();
            item.strip_prefix("name:").is_some_and(|rest| {
                rest.split([',', '}', '#'])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches(['"', '\''])
                    == env
            })
        })?;
        let dash = line.len() - line.trim_start().len();
        let entry = span(index, dash + 2);
        Some(
            self.find_keys(index, dash + 2, dash + 2, keys)
                .unwrap_or(entry),
        )
    }

    /// Follows `keys` from line `start` (after column `column`), in block style
    /// (children indented at least `floor`) or flow style on one line.
    fn find_keys(
        &self,
        start: usize,
        column: usize,
        floor: usize,
        keys: &[&str],
    ) -> Option<SourceSpan> {
        let lines = self.lines();
        let (mut index, mut column, mut floor) = (start, column, floor);
        let mut found = None;
        for key in keys {
            let mut hit = None;
            let search_start = index;
            while index < lines.len() {
                let line = lines[index];
                let trimmed = line.trim_start();
                let indent = line.len() - trimmed.len();
                let blank = trimmed.is_empty() || trimmed.starts_with('#');
                if !blank && index != search_start && indent < floor {
                    return found;
                }
                if !blank && let Some(at) = key_column(line.get(column..).unwrap_or(""), key) {
                    hit = Some((index, column + at, indent));
                    break;
                }
                index += 1;
                column = 0;
            }
            let (line_index, at, indent) = hit?;
            found = Some(span(line_index, at));
            index = line_index;
            column = at + key.len() + 1;
            floor = indent + 1;
        }
        found
    }
}

fn span(index: usize, column: usize) -> SourceSpan {
    SourceSpan {
        line: u32::try_from(index + 1).unwrap_or(u32::MAX),
        column: u32::try_from(column + 1).unwrap_or(u32::MAX),
    }
}

/// The column of `key:` in `line`, as a block key or inside a flow mapping.
fn key_column(line: &str, key: &str) -> Option<usize> {
    let pattern = format!("{key}:");
    let mut search = 0;
    while let Some(offset) = line[search..].find(&pattern) {
        let at = search + offset;
        let before = line[..at].chars().last();
        if before.is_none_or(|c| c == ' ' || c == '{' || c == ',' || c == '-') {
            return Some(at);
        }
        search = at + pattern.len();
    }
    None
}

#[derive(Serialize)]
struct Context<'a> {
    project: ProjectContext<'a>,
    env: EnvironmentContext<'a>,
    names: &'a Names,
    iac: IacContext<'a>,
    model: ModelContext<'a>,
    train: TrainContext,
    trainyard: TrainyardContext,
}

#[derive(Serialize)]
struct ProjectContext<'a> {
    name: &'a str,
    description: &'a str,
    default_branch: &'a str,
}

#[derive(Serialize)]
struct EnvironmentContext<'a> {
    name: &'a str,
    region: &'a str,
    /// Position in promotion order (0 = first).
    index: usize,
    /// The last environment in promotion order (production-like defaults).
    is_last: bool,
    tags: BTreeMap<String, String>,
    compute: ComputeContext<'a>,
    serving: ServingContext<'a>,
    network: NetworkContext<'a>,
    rbac: RbacContext<'a>,
}

#[derive(Serialize)]
struct ComputeContext<'a> {
    vm_size: &'a str,
    min_nodes: u32,
    max_nodes: u32,
    low_priority: bool,
}

#[derive(Serialize)]
struct ServingContext<'a> {
    instance_type: &'a str,
    instance_count: u32,
    replicas: u32,
    max_replicas: u32,
    cpu: &'a str,
    memory: &'a str,
}

#[derive(Serialize)]
struct RbacContext<'a> {
    data_scientists: &'a [String],
    readers: &'a [String],
    deployers: &'a [String],
}

#[derive(Serialize)]
struct NetworkContext<'a> {
    private: bool,
    address_space: &'a str,
    training_subnet: String,
    endpoints_subnet: String,
    allowed_ips: &'a [String],
}

#[derive(Serialize)]
struct IacContext<'a> {
    output_dir: &'a str,
    /// From an environment's folder (`<output-dir>/<target>/<env>/`) back to the project root, ending in `/`.
    to_root: String,
    state_resource_group: &'a str,
    state_container: &'a str,
    state_key: String,
    image: String,
    image_pinned: bool,
    namespace: &'a str,
    port: u16,
    repo_url: &'a str,
    argocd_namespace: &'a str,
    flux_source: &'a str,
    azureml_environment: &'a str,
    /// `azureml.code` as seen from the environment's folder.
    azureml_code: String,
}

#[derive(Serialize)]
struct ModelContext<'a> {
    name: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
struct TrainContext {
    /// The training command for Azure ML, placeholders as `${{inputs.…}}`/`${{outputs.…}}`.
    command: String,
    datasets: Vec<DatasetContext>,
}

#[derive(Serialize)]
struct DatasetContext {
    name: String,
    path: String,
}

#[derive(Serialize)]
struct TrainyardContext {
    version: &'static str,
}

fn context<'a>(
    project: &'a Project,
    iac: &'a Iac,
    environment: &'a Environment,
    names: &'a Names,
) -> Context<'a> {
    let manifest = &project.manifest;
    let image = iac.kubernetes.image.clone().unwrap_or_else(|| {
        format!(
            "{}.azurecr.io/{}-server:1",
            names.container_registry, manifest.project.name
        )
    });
    let datasets: Vec<DatasetContext> = manifest
        .datasets
        .iter()
        .map(|(name, dataset)| DatasetContext {
            name: name.replace('-', "_"),
            path: dataset.path.clone(),
        })
        .collect();
    let command = manifest.train.as_ref().map_or_else(
        || "python train.py".to_owned(),
        |train| azureml_command(&train.command, &datasets),
    );
    Context {
        project: ProjectContext {
            name: &manifest.project.name,
            description: manifest.project.description.as_deref().unwrap_or(""),
            default_branch: &manifest.project.default_branch,
        },
        env: environment_context(manifest, environment),
        names,
        iac: IacContext {
            output_dir: &iac.output_dir,
            to_root: relative_to_env_dir(&iac.output_dir, ""),
            state_resource_group: &iac.terraform_state.resource_group,
            state_container: &iac.terraform_state.container,
            state_key: format!("{}/{}.tfstate", manifest.project.name, environment.name),
            image_pinned: image.contains("@sha256:"),
            image,
            namespace: &names.kubernetes_namespace,
            port: iac.kubernetes.port,
            repo_url: &iac.kubernetes.repo_url,
            argocd_namespace: &iac.kubernetes.argocd_namespace,
            flux_source: &iac.kubernetes.flux_source,
            azureml_environment: &iac.azureml.environment,
            azureml_code: relative_to_env_dir(&iac.output_dir, &iac.azureml.code),
        },
        model: ModelContext {
            name: manifest
                .model
                .as_ref()
                .map_or(manifest.project.name.as_str(), |model| model.name.as_str()),
            path: manifest
                .model
                .as_ref()
                .map_or("model", |model| model.path.as_str()),
        },
        train: TrainContext { command, datasets },
        trainyard: TrainyardContext {
            version: env!("CARGO_PKG_VERSION"),
        },
    }
}

fn environment_context<'a>(
    manifest: &'a trainyard_core::Manifest,
    environment: &'a Environment,
) -> EnvironmentContext<'a> {
    let index = manifest
        .environments
        .iter()
        .position(|env| env.name == environment.name)
        .unwrap_or(0);
    let mut tags = BTreeMap::from([
        ("project".to_owned(), manifest.project.name.clone()),
        ("environment".to_owned(), environment.name.clone()),
        ("managed-by".to_owned(), "trainyard".to_owned()),
    ]);
    tags.extend(environment.tags.clone());
    let (training_subnet, endpoints_subnet) =
        subnets(&environment.network.address_space).unwrap_or_default();
    EnvironmentContext {
        name: &environment.name,
        region: environment.region(),
        index,
        is_last: index + 1 == manifest.environments.len(),
        tags,
        compute: ComputeContext {
            vm_size: &environment.compute.vm_size,
            min_nodes: environment.compute.min_nodes,
            max_nodes: environment.compute.max_nodes,
            low_priority: environment.compute.low_priority,
        },
        serving: ServingContext {
            instance_type: &environment.serving.instance_type,
            instance_count: environment.serving.instance_count,
            replicas: environment.serving.replicas,
            max_replicas: environment.serving.max_replicas,
            cpu: &environment.serving.cpu,
            memory: &environment.serving.memory,
        },
        network: NetworkContext {
            private: environment.network.isolation == NetworkIsolation::Private,
            address_space: &environment.network.address_space,
            training_subnet,
            endpoints_subnet,
            allowed_ips: &environment.network.allowed_ips,
        },
        rbac: RbacContext {
            data_scientists: &environment.rbac.data_scientists,
            readers: &environment.rbac.readers,
            deployers: &environment.rbac.deployers,
        },
    }
}

/// `path` (relative to the project root) as seen from `<output-dir>/<target>/<env>/`.
fn relative_to_env_dir(output_dir: &str, path: &str) -> String {
    let depth = output_dir
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .count()
        + 2;
    let up = "../".repeat(depth);
    match path.trim_start_matches("./") {
        "" if path.is_empty() => up,
        "" | "." => up.trim_end_matches('/').to_owned(),
        rest => format!("{up}{rest}"),
    }
}

/// The training command with trainyard's placeholders turned into Azure ML's.
fn azureml_command(command: &[String], datasets: &[DatasetContext]) -> String {
    command
        .iter()
        .map(|word| {
            let mut word = word.replace("{{ output_dir }}", "${{outputs.model}}");
            for dataset in datasets {
                word = word.replace(
                    &format!("{{{{ datasets.{}.path }}}}", dataset.name),
                    &format!("${{{{inputs.{}}}}}", dataset.name),
                );
            }
            if word.contains(' ') {
                format!("'{word}'")
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The plan's targets, comma-separated.
pub fn targets(plan: &Plan) -> String {
    plan.targets
        .iter()
        .map(|target| target.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The names of every environment and the files, as Markdown.
pub fn summary(plan: &Plan) -> String {
    let mut text = String::from(
        "| environment | resource group | storage account | key vault | registry | online endpoint |\n|---|---|---|---|---|---|\n",
    );
    for (env, names) in &plan.names {
        let _ = writeln!(
            text,
            "| {env} | `{}` | `{}` | `{}` | `{}` | `{}` |",
            names.resource_group,
            names.storage_account,
            names.key_vault,
            names.container_registry,
            names.online_endpoint
        );
    }
    if !plan.overrides.is_empty() {
        let _ = writeln!(
            text,
            "\nTemplates from this repository: {}",
            plan.overrides
                .iter()
                .map(|path| format!("`{path}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_carved_from_the_address_space() {
        assert_eq!(
            subnets("10.20.0.0/16"),
            Some(("10.20.1.0/24".to_owned(), "10.20.2.0/24".to_owned()))
        );
        assert_eq!(subnets("10.20.0.0/24"), None);
        assert_eq!(subnets("nope"), None);
    }

    #[test]
    fn paths_from_an_environment_folder() {
        assert_eq!(relative_to_env_dir("infra", "."), "../../..");
        assert_eq!(relative_to_env_dir("ops/infra/", "src"), "../../../../src");
        assert_eq!(relative_to_env_dir("infra", ""), "../../../");
    }

    #[test]
    fn guids_and_addresses() {
        assert!(is_guid("8c1f7a2e-1b7d-4f0e-9a51-3f2d6c0b9e11"));
        assert!(!is_guid("alice@example.com"));
        assert!(is_ipv4_or_cidr("203.0.113.0/24"));
        assert!(!is_ipv4_or_cidr("203.0.113.0/33"));
    }

    #[test]
    fn placeholders_become_azureml_bindings() {
        let datasets = [DatasetContext {
            name: "biopsies".to_owned(),
            path: "data/x.csv".to_owned(),
        }];
        let command = [
            "python3",
            "train.py",
            "--data",
            "{{ datasets.biopsies.path }}",
            "--out",
            "{{ output_dir }}",
        ]
        .map(str::to_owned);
        assert_eq!(
            azureml_command(&command, &datasets),
            "python3 train.py --data ${{inputs.biopsies}} --out ${{outputs.model}}"
        );
    }

    #[test]
    fn keys_are_found_in_block_and_flow_style() {
        let source = "version: 1\nenvironments:\n  - name: dev\n    region: westeurope\n  - name: prod\n    names: { key-vault: kv--x }\n    rbac:\n      readers: [x]\n";
        let locate = Locator {
            file: "trainyard.yaml",
            source,
        };
        let error = locate.error("prod", &["names", "key-vault"], "name-rule", "m".to_owned());
        assert_eq!(
            error.span,
            Some(SourceSpan {
                line: 6,
                column: 14
            })
        );
        let error = locate.error("prod", &["rbac", "readers"], "r", "m".to_owned());
        assert_eq!(error.span, Some(SourceSpan { line: 8, column: 7 }));
        let error = locate.error("dev", &["names", "storage-account"], "r", "m".to_owned());
        assert_eq!(
            error.span.unwrap().line,
            3,
            "falls back to the environment's entry"
        );
    }
}
