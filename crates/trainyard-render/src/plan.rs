//! IaC planning: from the manifest to the files `iac render` writes and
//! `iac check` compares. Which environments and targets, every environment's
//! Azure names (checked against Azure's rules, and against each other), the
//! values the templates see, the built-in templates overlaid by the
//! repository's own (`templates/iac/`), the rendered files and the folders in
//! which a generated file nothing renders any more is stale.
//!
//! The manifest's IaC rules (names, principal ids, addresses, scale bounds,
//! tags) are also checked on their own by [`check`], so `config check` refuses
//! what `iac render` would. Every refusal is a [`ManifestError`] carrying the
//! [`KeyPath`] of the value to fix; the caller points it at the manifest's line.
//!
//! The built-in templates are the caller's (`include_dir!` in the binary): this
//! crate reads no file outside its own folder at build time.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

use include_dir::Dir;
use serde::Serialize;
use trainyard_core::manifest::{
    Environment, Iac, IacTarget, KeyPath, ModelFormat, NetworkIsolation,
};
use trainyard_core::{Manifest, StoreUrl};

use crate::naming::{self, NameInputs, Names};
use crate::{RenderError, RenderedFile, Renderer, Template, TemplateSet};

/// Where a repository's template overrides live, relative to the manifest.
pub const OVERRIDES_DIR: &str = "templates/iac";

/// Which environments and targets a plan covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Selection<'a> {
    /// These environments (in any order; the plan keeps the manifest's).
    pub environments: &'a [String],
    /// Every declared environment (wins over `environments`, as does an empty list).
    pub all: bool,
    /// Only these targets; the manifest's `iac.targets` when empty.
    pub targets: &'a [IacTarget],
}

/// What a plan reads besides the selection.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub manifest: &'a Manifest,
    /// The manifest's folder; the repository's templates are under [`OVERRIDES_DIR`] in it.
    pub root: &'a Path,
    /// The built-in templates.
    pub builtin: &'a Dir<'a>,
}

/// Everything one render produces.
#[derive(Debug)]
pub struct Plan {
    pub files: Vec<RenderedFile>,
    /// Folders (relative to the project root) where a generated file that was
    /// not rendered is stale.
    pub scan_dirs: Vec<String>,
    /// The selected environments, in manifest order.
    pub environments: Vec<String>,
    pub targets: Vec<IacTarget>,
    /// User templates that replaced or added built-in ones, as a person finds them.
    pub overrides: Vec<String>,
    /// Per selected environment: its names.
    pub names: Vec<(String, Names)>,
}

/// A value of the manifest that the infrastructure cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ManifestError {
    /// The value to fix.
    pub at: KeyPath,
    /// A stable rule id (`name-rule`, `bad-principal-id`, …).
    pub rule: &'static str,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What would be right.
    pub help: Option<String>,
}

impl ManifestError {
    fn new(at: KeyPath, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            at,
            rule,
            message: message.into(),
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Why no plan was made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The manifest has no `iac` section.
    #[error("the manifest has no `iac` section")]
    NoIac,
    /// The selection names an environment the manifest does not declare.
    #[error("no environment `{wanted}` is declared")]
    UnknownEnvironment {
        wanted: String,
        /// The declared ones, in manifest order.
        declared: Vec<String>,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A template (built in or the repository's) does not load or render.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Plans the selected environments and targets: checks the manifest's names
/// (every environment's: uniqueness is across all of them) and the selected
/// environments' values, then renders.
pub fn plan(sources: &Sources<'_>, selection: &Selection<'_>) -> Result<Plan, PlanError> {
    let manifest = sources.manifest;
    let iac = manifest.iac.as_ref().ok_or(PlanError::NoIac)?;
    environments_declared(manifest)?;
    let selected = select_environments(manifest, selection)?;
    let targets: Vec<IacTarget> = if selection.targets.is_empty() {
        iac.targets.clone()
    } else {
        selection.targets.to_vec()
    };
    let all_names = names(manifest, iac)?;
    let serving = check_serving(manifest, iac, &targets)?;

    let set = TemplateSet::builtin(sources.builtin).with_overrides(sources.root, OVERRIDES_DIR)?;
    let renderer = Renderer::new(&set)?;
    let target_names: Vec<&str> = targets.iter().map(|target| target.as_str()).collect();
    let mut files = Vec::new();
    let mut names_out = Vec::new();
    for (environment, names) in manifest.environments.iter().zip(&all_names) {
        if !selected.contains(&environment.name) {
            continue;
        }
        check_values(environment)?;
        let context = context(manifest, iac, environment, names, serving.as_ref());
        // Once, before anything renders: a misspelt value in the repository's
        // own templates, with the name it was probably meant to be.
        if names_out.is_empty()
            && let Some(unknown) = renderer
                .unknown_values(&target_names, &context)
                .into_iter()
                .next()
        {
            return Err(unknown.into());
        }
        for target in &targets {
            files.extend(renderer.render_target(
                target.as_str(),
                &environment.name,
                &iac.output_dir,
                &context,
            )?);
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

/// Every IaC rule of the manifest, for every environment, without rendering:
/// what [`plan`] of all environments would refuse in the manifest. A manifest
/// without an `iac` section has none to break (no step reads these values).
pub fn check(manifest: &Manifest) -> Result<(), ManifestError> {
    let Some(iac) = &manifest.iac else {
        return Ok(());
    };
    environments_declared(manifest)?;
    names(manifest, iac)?;
    check_serving(manifest, iac, &iac.targets)?;
    manifest.environments.iter().try_for_each(check_values)
}

/// What the serving targets deploy from, checked.
struct Serving {
    /// The artifact store, as the manifest names it (canonical, no secret).
    store: StoreUrl,
    /// `iac.kubernetes`' repository URL and predictor, when that target is rendered.
    kubernetes: Option<(String, ModelFormat, Option<String>)>,
}

/// What the `kubernetes` and `azureml` targets need and nothing else can
/// give: an artifact store the cluster or Azure ML can download from (the
/// release's `uri` is a folder in it), KServe's predictor, the repository
/// Argo CD and Flux clone. Each missing value is refused at the key to set,
/// never rendered as a placeholder. `None` when neither target is rendered.
fn check_serving(
    manifest: &Manifest,
    iac: &Iac,
    targets: &[IacTarget],
) -> Result<Option<Serving>, ManifestError> {
    let kubernetes = targets.contains(&IacTarget::Kubernetes);
    let azureml = targets.contains(&IacTarget::Azureml);
    if !kubernetes && !azureml {
        return Ok(None);
    }
    let deploying = match (kubernetes, azureml) {
        (true, true) => "the kubernetes and azureml targets deploy",
        (true, false) => "the kubernetes target deploys",
        _ => "the azureml target deploys",
    };
    if manifest.model.is_none() {
        return Err(ManifestError::new(
            KeyPath::new(&["model", "name"]),
            "model-missing",
            format!("{deploying} the registered model, and no `model` is declared (without one, train registers nothing)"),
        )
        .help("declare it: `model: { name: churn-classifier, path: model.pkl }` (see docs/steps/train.md)"));
    }
    let store = check_store(manifest, kubernetes, azureml, deploying)?;
    if azureml && manifest.train.is_none() {
        return Err(ManifestError::new(
            KeyPath::new(&["train", "command"]),
            "train-missing",
            "the azureml target renders the training job from `train.command`, and no `train` is declared",
        )
        .help("declare it: `train: { command: [python, train.py, --out, \"{{ output_dir }}\"] }`"));
    }
    if !kubernetes {
        return Ok(Some(Serving {
            store,
            kubernetes: None,
        }));
    }
    Ok(Some(Serving {
        store,
        kubernetes: Some(check_kubernetes(iac)?),
    }))
}

/// The artifact store, if the serving targets can download from it.
fn check_store(
    manifest: &Manifest,
    kubernetes: bool,
    azureml: bool,
    deploying: &str,
) -> Result<StoreUrl, ManifestError> {
    let store_key = KeyPath::new(&["artifacts", "store"]);
    let store_help = "set `artifacts.store` to s3://<bucket>/<prefix>, gs://<bucket>/<prefix> or https://<account>.blob.core.windows.net/<container>/<prefix> (see docs/storage.md)";
    let Some(artifacts) = &manifest.artifacts else {
        return Err(ManifestError::new(
            store_key,
            "store-not-deployable",
            format!("{deploying} the model from the artifact store, and `artifacts.store` is not set: models stay in .trainyard/artifacts on the machine that trained them"),
        )
        .help(store_help));
    };
    let store = artifacts.store_url().map_err(|error| {
        ManifestError::new(store_key.clone(), "bad-store-url", error.to_string())
    })?;
    match &store {
        StoreUrl::Local { .. } => {
            return Err(ManifestError::new(
                store_key,
                "store-not-deployable",
                format!("{deploying} the model from the artifact store, and `{store}` is a folder only this machine reads"),
            )
            .help(store_help));
        }
        StoreUrl::Azure { account: None, .. } => {
            return Err(ManifestError::new(
                store_key,
                "store-without-account",
                format!("{deploying} the model from `{store}`, which names no storage account: KServe and Azure ML read Azure storage only as https://<account>.blob.core.windows.net/…"),
            )
            .help("write the account into the URL: https://<account>.blob.core.windows.net/<container>/<prefix> (or abfss://<container>@<account>.dfs.core.windows.net/<prefix>)"));
        }
        StoreUrl::Oci { .. } if kubernetes => {
            return Err(ManifestError::new(
                store_key,
                "store-not-deployable",
                format!("the kubernetes target deploys the model with KServe's storage initializer, which cannot download a model artifact from the OCI registry `{store}`"),
            )
            .help(store_help));
        }
        StoreUrl::Azure { .. } => {}
        _ if azureml => {
            return Err(ManifestError::new(
                store_key,
                "store-not-deployable",
                format!("the azureml target deploys the model from the artifact store, and Azure ML reads models from Azure storage, not from `{store}`"),
            )
            .help("set `artifacts.store` to https://<account>.blob.core.windows.net/<container>/<prefix>, or render azureml from a manifest whose store is in Azure"));
        }
        _ => {}
    }
    Ok(store)
}

/// `iac.kubernetes`: the repository URL, the predictor's format and image.
fn check_kubernetes(iac: &Iac) -> Result<(String, ModelFormat, Option<String>), ManifestError> {
    let at = |keys: &[&str]| {
        let mut path = vec!["iac", "kubernetes"];
        path.extend_from_slice(keys);
        KeyPath::new(&path)
    };
    let Some(predictor) = &iac.kubernetes.predictor else {
        return Err(ManifestError::new(
            at(&["predictor", "format"]),
            "predictor-missing",
            "the kubernetes target needs `iac.kubernetes.predictor.format`: how KServe serves the model",
        )
        .help("e.g. `predictor: { format: sklearn }` (sklearn, xgboost, lightgbm or onnx: KServe's runtime for that format), or `predictor: { format: custom, image: registry/server@sha256:… }`"));
    };
    let image = match (predictor.format, &predictor.image) {
        (ModelFormat::Custom, None) => {
            return Err(ManifestError::new(
                at(&["predictor", "format"]),
                "predictor-image-missing",
                "`format: custom` serves the model with your own container, and `iac.kubernetes.predictor.image` is not set",
            )
            .help("set `image:` beside `format:` to the serving image, pinned by digest (registry/server@sha256:…); it must serve HTTP on port 8080 and read the model from /mnt/models"));
        }
        (ModelFormat::Custom, Some(image)) => Some(image.clone()),
        (format, Some(_)) => {
            return Err(ManifestError::new(
                at(&["predictor", "image"]),
                "predictor-image-unused",
                format!(
                    "`image` is for `format: custom`; KServe picks its own runtime for `{}`",
                    format.as_str()
                ),
            )
            .help("remove `image`, or set `format: custom` to serve with this image"));
        }
        (_, None) => None,
    };
    let Some(repo_url) = &iac.kubernetes.repo_url else {
        return Err(ManifestError::new(
            at(&["repo-url"]),
            "repo-url-missing",
            "the kubernetes target needs `iac.kubernetes.repo-url`: the Git URL Argo CD and Flux clone to watch deploy/<env>/",
        )
        .help("e.g. `repo-url: https://github.com/<owner>/<repository>.git`"));
    };
    Ok((repo_url.clone(), predictor.format, image))
}

/// The repository's template overrides (`templates/iac/`) of the manifest's
/// targets, checked without rendering: a template that does not parse, or a
/// value no template is given (named once, with the nearest that is), is
/// refused as `iac render` would refuse it. Call after [`check`].
pub fn check_templates(sources: &Sources<'_>) -> Result<(), PlanError> {
    let manifest = sources.manifest;
    let Some(iac) = &manifest.iac else {
        return Ok(());
    };
    let set = TemplateSet::builtin(sources.builtin).with_overrides(sources.root, OVERRIDES_DIR)?;
    if set.overridden().next().is_none() {
        return Ok(());
    }
    let renderer = Renderer::new(&set)?;
    let all_names = names(manifest, iac)?;
    let serving = check_serving(manifest, iac, &iac.targets)?;
    let (Some(environment), Some(names)) = (manifest.environments.first(), all_names.first())
    else {
        return Ok(());
    };
    let context = context(manifest, iac, environment, names, serving.as_ref());
    let targets: Vec<&str> = iac.targets.iter().map(|target| target.as_str()).collect();
    match renderer
        .unknown_values(&targets, &context)
        .into_iter()
        .next()
    {
        Some(unknown) => Err(unknown.into()),
        None => Ok(()),
    }
}

/// `iac` renders per environment: without one there is nothing to render.
fn environments_declared(manifest: &Manifest) -> Result<(), ManifestError> {
    if manifest.environments.is_empty() {
        return Err(ManifestError::new(
            KeyPath::new(&["iac"]),
            "no-environments",
            "`iac` needs environments, and `environments` is empty",
        )
        .help(
            "declare them in promotion order, e.g. `environments: [{ name: dev }, { name: prod }]`",
        ));
    }
    Ok(())
}

/// Every environment's names, in manifest order, each checked against its
/// rule, then against the other environments'.
fn names(manifest: &Manifest, iac: &Iac) -> Result<Vec<Names>, ManifestError> {
    let all_names = manifest
        .environments
        .iter()
        .map(|environment| environment_names(manifest, iac, environment))
        .collect::<Result<Vec<_>, _>>()?;
    let regions: Vec<(&str, &str, &Names)> = manifest
        .environments
        .iter()
        .zip(&all_names)
        .map(|(env, names)| (env.name.as_str(), env.region(), names))
        .collect();
    if let Some(collision) = naming::collisions(&regions).into_iter().next() {
        return Err(ManifestError::new(
            KeyPath::environment(&collision.second).keys(&["names", collision.key]),
            "name-collision",
            collision.to_string(),
        )
        .help(
            "give one of them another name under `names:`, or remove the override that makes them equal",
        ));
    }
    Ok(all_names)
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

fn select_environments(
    manifest: &Manifest,
    selection: &Selection<'_>,
) -> Result<Vec<String>, PlanError> {
    let declared: Vec<&str> = manifest
        .environments
        .iter()
        .map(|env| env.name.as_str())
        .collect();
    if selection.all || selection.environments.is_empty() {
        return Ok(declared.iter().map(|name| (*name).to_owned()).collect());
    }
    if let Some(wanted) = selection
        .environments
        .iter()
        .find(|wanted| !declared.contains(&wanted.as_str()))
    {
        return Err(PlanError::UnknownEnvironment {
            wanted: wanted.clone(),
            declared: declared.iter().map(|name| (*name).to_owned()).collect(),
        });
    }
    // Manifest order, whatever order the selection came in.
    Ok(declared
        .iter()
        .filter(|name| selection.environments.iter().any(|wanted| wanted == *name))
        .map(|name| (*name).to_owned())
        .collect())
}

fn environment_names(
    manifest: &Manifest,
    iac: &Iac,
    environment: &Environment,
) -> Result<Names, ManifestError> {
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
        project: &manifest.project.name,
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
        // The value that made the name: the user's own name, else what it was computed from.
        let at = if first.overridden {
            KeyPath::environment(&environment.name).keys(&["names", first.key])
        } else if first.key == naming::KUBERNETES_NAME.key && iac.kubernetes.namespace.is_some() {
            KeyPath::new(&["iac", "kubernetes", "namespace"])
        } else if first.key == naming::STORAGE_ACCOUNT.key
            && iac.terraform_state.storage_account.as_deref() == Some(first.name.as_str())
        {
            KeyPath::new(&["iac", "terraform-state", "storage-account"])
        } else {
            KeyPath::new(&["project", "name"])
        };
        ManifestError::new(at, "name-rule", format!("{first}{more}"))
            .help(format!("the rule: {}", first.rule))
    })
}

/// Values the types cannot check: principal ids, addresses, scale bounds, tags.
fn check_values(environment: &Environment) -> Result<(), ManifestError> {
    let at = |keys: &[&str]| KeyPath::environment(&environment.name).keys(keys);
    check_tags(environment)?;
    let rbac = &environment.rbac;
    for (key, ids) in [
        ("data-scientists", &rbac.data_scientists),
        ("readers", &rbac.readers),
        ("deployers", &rbac.deployers),
    ] {
        if let Some(bad) = ids.iter().find(|id| !is_guid(id)) {
            return Err(ManifestError::new(
                at(&["rbac", key]),
                "bad-principal-id",
                format!("`{bad}` is not a Microsoft Entra object id"),
            )
            .help("object ids are GUIDs like 00000000-0000-0000-0000-000000000000 (`az ad sp show --id … --query id`)"));
        }
    }
    let network = &environment.network;
    if subnets(&network.address_space).is_none() {
        return Err(ManifestError::new(
            at(&["network", "address-space"]),
            "bad-address-space",
            format!(
                "`{}` is not an IPv4 range of /22 or larger",
                network.address_space
            ),
        )
        .help("write it as a CIDR range such as 10.0.0.0/16; the environment needs room for two /24 subnets"));
    }
    if let Some(bad) = network.allowed_ips.iter().find(|ip| !is_ipv4_or_cidr(ip)) {
        return Err(ManifestError::new(
            at(&["network", "allowed-ips"]),
            "bad-address",
            format!("`{bad}` is not an IPv4 address or CIDR range"),
        ));
    }
    if environment.compute.min_nodes > environment.compute.max_nodes {
        return Err(ManifestError::new(
            at(&["compute", "min-nodes"]),
            "bad-scale",
            format!(
                "`min-nodes` ({}) is larger than `max-nodes` ({})",
                environment.compute.min_nodes, environment.compute.max_nodes
            ),
        ));
    }
    if environment.serving.replicas > environment.serving.max_replicas {
        return Err(ManifestError::new(
            at(&["serving", "replicas"]),
            "bad-scale",
            format!(
                "`replicas` ({}) is larger than `max-replicas` ({})",
                environment.serving.replicas, environment.serving.max_replicas
            ),
        ));
    }
    Ok(())
}

/// Azure's tag rules, the strictest resource's (storage accounts): names up to
/// 128 characters without `<>%&\\?/`, values up to 256, at most 50 tags (3 are trainyard's).
fn check_tags(environment: &Environment) -> Result<(), ManifestError> {
    let refuse = |message: String| {
        ManifestError::new(KeyPath::environment(&environment.name).key("tags"), "bad-tag", message)
            .help("Azure tags: names up to 128 characters without < > % & \\ ? /, values up to 256, at most 50 per resource")
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

#[derive(Serialize)]
struct Context<'a> {
    project: ProjectContext<'a>,
    env: EnvironmentContext<'a>,
    names: &'a Names,
    iac: IacContext<'a>,
    /// The serving targets' values; absent (and refused by name) when neither is rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    store: Option<StoreContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kserve: Option<KserveContext<'a>>,
    /// The manifest's `model` and `train`, absent when it has none (a template
    /// using them is then refused, rather than given a guess).
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<ModelContext<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    train: Option<TrainContext>,
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
    namespace: &'a str,
    /// `iac.kubernetes.repo-url`; empty unless the kubernetes target is rendered (it is required there).
    repo_url: &'a str,
    argocd_namespace: &'a str,
    flux_source: &'a str,
    azureml_environment: &'a str,
    /// `azureml.code` as seen from the environment's folder.
    azureml_code: String,
}

#[derive(Serialize)]
struct StoreContext {
    /// The artifact store as `artifacts.store` names it, canonical and without secrets.
    shown: String,
}

#[derive(Serialize)]
struct KserveContext<'a> {
    /// KServe's `modelFormat.name`, or `custom`.
    format: &'static str,
    custom: bool,
    /// The custom container's image (`custom` only, else empty).
    image: &'a str,
    /// Where the release's `uri` goes, as a kustomize field path.
    storage_path: &'static str,
    /// The same, for people.
    storage_field: &'static str,
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
    manifest: &'a Manifest,
    iac: &'a Iac,
    environment: &'a Environment,
    names: &'a Names,
    serving: Option<&'a Serving>,
) -> Context<'a> {
    let kubernetes = serving.and_then(|serving| serving.kubernetes.as_ref());
    let datasets: Vec<DatasetContext> = manifest
        .datasets
        .iter()
        .map(|(name, dataset)| DatasetContext {
            name: name.replace('-', "_"),
            path: dataset.path.clone(),
        })
        .collect();
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
            namespace: &names.kubernetes_namespace,
            repo_url: kubernetes.map_or("", |(repo_url, _, _)| repo_url.as_str()),
            argocd_namespace: &iac.kubernetes.argocd_namespace,
            flux_source: &iac.kubernetes.flux_source,
            azureml_environment: &iac.azureml.environment,
            azureml_code: relative_to_env_dir(&iac.output_dir, &iac.azureml.code),
        },
        store: serving.map(|serving| StoreContext {
            shown: serving.store.to_string(),
        }),
        kserve: kubernetes.map(|(_, format, image)| {
            let custom = *format == ModelFormat::Custom;
            KserveContext {
                format: format.as_str(),
                custom,
                image: image.as_deref().unwrap_or(""),
                storage_path: if custom {
                    "spec.predictor.containers.[name=kserve-container].env.[name=STORAGE_URI].value"
                } else {
                    "spec.predictor.model.storageUri"
                },
                storage_field: if custom {
                    "STORAGE_URI (its container's variable)"
                } else {
                    "spec.predictor.model.storageUri"
                },
            }
        }),
        model: manifest.model.as_ref().map(|model| ModelContext {
            name: &model.name,
            path: &model.path,
        }),
        train: manifest.train.as_ref().map(|train| TrainContext {
            command: azureml_command(&train.command, &datasets),
            datasets,
        }),
        // The workspace has one version: this crate's is trainyard's.
        trainyard: TrainyardContext {
            version: env!("CARGO_PKG_VERSION"),
        },
    }
}

fn environment_context<'a>(
    manifest: &'a Manifest,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use include_dir::{DirEntry, File};

    use super::*;

    static TEMPLATES: Dir<'static> = Dir::new(
        "",
        &[
            DirEntry::Dir(Dir::new(
                "terraform",
                &[DirEntry::File(File::new(
                    "terraform/main.tf.j2",
                    b"rg = [[ names.resource_group | hcl ]]\n",
                ))],
            )),
            DirEntry::Dir(Dir::new(
                "kubernetes",
                &[DirEntry::File(File::new(
                    "kubernetes/_project/deploy/__env__/kustomization.yaml.j2",
                    b"namespace: [[ iac.namespace | yaml ]]\n",
                ))],
            )),
        ],
    );

    const MANIFEST: &str = "version: 1\nproject:\n  name: churn\nmodel:\n  name: churn-classifier\n  path: model.onnx\nenvironments:\n  - name: dev\n  - name: prod\n    rbac: { readers: [not-a-guid] }\niac:\n  targets: [terraform, kubernetes]\n  kubernetes: { predictor: { format: onnx }, repo-url: https://example.com/churn.git }\nartifacts:\n  store: s3://models/churn\n";

    fn manifest(source: &str) -> Manifest {
        trainyard_core::manifest::parse(source, "trainyard.yaml").unwrap()
    }

    fn plan_of(manifest: &Manifest, selection: &Selection<'_>) -> Result<Plan, PlanError> {
        let root = Path::new("/nonexistent/trainyard-render-test");
        let sources = Sources {
            manifest,
            root,
            builtin: &TEMPLATES,
        };
        plan(&sources, selection)
    }

    #[test]
    fn check_refuses_a_value_of_any_environment_naming_its_key() {
        let error = check(&manifest(MANIFEST)).unwrap_err();
        assert_eq!(error.rule, "bad-principal-id");
        assert_eq!(error.at.to_string(), "environments[prod].rbac.readers");
        let located = trainyard_core::manifest::locate(MANIFEST, &error.at).unwrap();
        assert_eq!((located.line, located.column), (10, 13));

        let fine = MANIFEST.replace("not-a-guid", "5f0c3a55-2f4b-4c0e-8f64-9d1b2a7c6e01");
        check(&manifest(&fine)).unwrap();
        let without_iac = MANIFEST.split("iac:").next().unwrap();
        check(&manifest(without_iac)).unwrap();
        let without_environments =
            "version: 1\nproject:\n  name: churn\niac:\n  targets: [terraform]\n";
        let error = check(&manifest(without_environments)).unwrap_err();
        assert_eq!(
            (error.rule, error.at.to_string().as_str()),
            ("no-environments", "iac")
        );
    }

    #[test]
    fn a_plan_checks_only_the_selected_environments_values() {
        let manifest = manifest(MANIFEST);
        let dev = ["dev".to_owned()];
        let plan = plan_of(
            &manifest,
            &Selection {
                environments: &dev,
                ..Selection::default()
            },
        )
        .unwrap();
        let paths: Vec<&str> = plan.files.iter().map(|file| file.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "infra/terraform/dev/main.tf",
                "deploy/dev/kustomization.yaml"
            ]
        );
        assert!(plan.files[0].contents.ends_with("rg = \"rg-churn-dev\"\n"));
        assert_eq!(
            plan.scan_dirs,
            ["infra/terraform/dev", "infra/kubernetes/dev", "deploy/dev"]
        );
        assert_eq!(plan.environments, ["dev"]);

        let all = plan_of(
            &manifest,
            &Selection {
                all: true,
                ..Selection::default()
            },
        );
        assert!(matches!(all, Err(PlanError::Manifest(error)) if error.rule == "bad-principal-id"));
    }

    #[test]
    fn environments_keep_manifest_order_and_unknown_ones_are_refused() {
        let manifest =
            manifest(&MANIFEST.replace("not-a-guid", "5f0c3a55-2f4b-4c0e-8f64-9d1b2a7c6e01"));
        let both = ["prod".to_owned(), "dev".to_owned()];
        let terraform = [IacTarget::Terraform];
        let plan = plan_of(
            &manifest,
            &Selection {
                environments: &both,
                all: false,
                targets: &terraform,
            },
        )
        .unwrap();
        assert_eq!(plan.environments, ["dev", "prod"]);
        assert_eq!(plan.targets, [IacTarget::Terraform]);
        assert_eq!(plan.names[1].1.resource_group, "rg-churn-prod");

        let typo = ["prdo".to_owned()];
        let error = plan_of(
            &manifest,
            &Selection {
                environments: &typo,
                ..Selection::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(&error, PlanError::UnknownEnvironment { wanted, declared } if wanted == "prdo" && declared == &["dev", "prod"]),
            "{error:?}"
        );
    }

    #[test]
    fn an_overridden_name_is_refused_at_its_key_and_a_computed_one_at_the_project() {
        let source = MANIFEST
            .replace("not-a-guid", "5f0c3a55-2f4b-4c0e-8f64-9d1b2a7c6e01")
            .replace(
                "  - name: dev\n",
                "  - name: dev\n    names: { key-vault: kv_x }\n",
            );
        let error = check(&manifest(&source)).unwrap_err();
        assert_eq!(error.at.to_string(), "environments[dev].names.key-vault");
        assert_eq!(error.rule, "name-rule");

        // A project name outside its rule is refused when the manifest loads
        // (trainyard-core), before any name is computed from it.
        let fine = MANIFEST.replace("not-a-guid", "5f0c3a55-2f4b-4c0e-8f64-9d1b2a7c6e01");
        let error = check(&manifest(
            &fine.replace("kubernetes: {", "kubernetes: { namespace: Churn_NS,"),
        ))
        .unwrap_err();
        assert_eq!(error.at.to_string(), "iac.kubernetes.namespace");
    }

    /// The rule and key `check` refuses `source` with.
    fn refusal(source: &str) -> (&'static str, String, String) {
        let error = check(&manifest(source)).unwrap_err();
        (error.rule, error.at.to_string(), error.message)
    }

    #[test]
    fn serving_targets_refuse_what_they_cannot_deploy_at_the_key_to_set() {
        let fine = MANIFEST.replace("not-a-guid", "5f0c3a55-2f4b-4c0e-8f64-9d1b2a7c6e01");
        check(&manifest(&fine)).unwrap();
        let store = |url: &str| fine.replace("s3://models/churn", url);

        let (rule, at, message) = refusal(fine.split("artifacts:").next().unwrap());
        assert_eq!(
            (rule, at.as_str()),
            ("store-not-deployable", "artifacts.store")
        );
        assert!(
            message.contains("`artifacts.store` is not set"),
            "{message}"
        );
        let (rule, _, message) = refusal(&store(".trainyard/artifacts"));
        assert_eq!(rule, "store-not-deployable", "{message}");
        let (rule, at, message) = refusal(&store("az://models/churn"));
        assert_eq!(
            (rule, at.as_str()),
            ("store-without-account", "artifacts.store")
        );
        assert!(
            message.contains("https://<account>.blob.core.windows.net"),
            "{message}"
        );
        let (rule, _, message) = refusal(&store("oci://ghcr.io/acme/models"));
        assert_eq!(rule, "store-not-deployable");
        assert!(message.contains("OCI registry"), "{message}");
        check(&manifest(&store("gs://models/churn"))).unwrap();
        check(&manifest(&store(
            "https://stchurn.blob.core.windows.net/models/churn",
        )))
        .unwrap();
        check(&manifest(&store(
            "abfss://models@stchurn.dfs.core.windows.net/churn",
        )))
        .unwrap();
        // Azure ML reads Azure storage only.
        let azureml = fine.replace(
            "[terraform, kubernetes]",
            "[terraform, kubernetes, azureml]",
        );
        let (rule, _, message) = refusal(&azureml);
        assert_eq!(rule, "store-not-deployable");
        assert!(
            message.contains("Azure ML reads models from Azure storage"),
            "{message}"
        );
        // Only the rendered targets' needs count.
        let terraform = fine.replace("[terraform, kubernetes]", "[terraform]");
        check(&manifest(terraform.split("artifacts:").next().unwrap())).unwrap();

        let (rule, at, _) = refusal(&fine.replace("predictor: { format: onnx }, ", ""));
        assert_eq!(
            (rule, at.as_str()),
            ("predictor-missing", "iac.kubernetes.predictor.format")
        );
        let (rule, at, _) = refusal(&fine.replace("format: onnx", "format: custom"));
        assert_eq!(
            (rule, at.as_str()),
            ("predictor-image-missing", "iac.kubernetes.predictor.format")
        );
        let (rule, at, _) = refusal(&fine.replace("format: onnx", "format: onnx, image: x"));
        assert_eq!(
            (rule, at.as_str()),
            ("predictor-image-unused", "iac.kubernetes.predictor.image")
        );
        let (rule, at, _) = refusal(&fine.replace(", repo-url: https://example.com/churn.git", ""));
        assert_eq!(
            (rule, at.as_str()),
            ("repo-url-missing", "iac.kubernetes.repo-url")
        );
        // What is deployed is the registered model; Azure ML's job is `train.command`.
        let (rule, at, _) =
            refusal(&fine.replace("model:\n  name: churn-classifier\n  path: model.onnx\n", ""));
        assert_eq!((rule, at.as_str()), ("model-missing", "model.name"));
        let azure = azureml.replace(
            "s3://models/churn",
            "https://stchurn.blob.core.windows.net/models",
        );
        let (rule, at, _) = refusal(&azure);
        assert_eq!((rule, at.as_str()), ("train-missing", "train.command"));
    }

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
}
