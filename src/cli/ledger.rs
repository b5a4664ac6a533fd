//! `trainyard ledger …`, `trainyard runs …`, `trainyard model …`: the run
//! ledger and the model registry in the project's git repository.

use clap::{Args, Subcommand};

use crate::requests::{
    DEFAULT_REMOTE, DEFAULT_RUNS_LIMIT, LedgerExportRequest, LedgerImportRequest,
    LedgerSyncRequest, ModelAliasRequest, ModelGetRequest, ModelListRequest, ModelShowRequest,
    ModelTagRequest, RunsListRequest, RunsShowRequest,
};
use crate::steps::Request;

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Send the ledger (refs/trainyard/*) to the remote, merging what others pushed meanwhile.
    Push(LedgerSyncArgs),
    /// Fetch the remote's ledger and merge it into the local one.
    Pull(LedgerSyncArgs),
    /// Copy this repository's ledger (runs, versions, aliases and their history, tags,
    /// deployments) into an MLflow server or another repository; again, only what is new.
    Export(LedgerExportArgs),
    /// Copy an MLflow server's or another repository's ledger into this repository's.
    Import(LedgerImportArgs),
}

#[derive(Debug, Args)]
pub struct LedgerExportArgs {
    /// `mlflow+http(s)://HOST[:PORT][/PATH]`, `mlflow+azureml://…` (credentials from
    /// MLFLOW_TRACKING_*), or another git repository (`git+file:///PATH` or a path).
    #[arg(long, env = "TRAINYARD_TO")]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct LedgerImportArgs {
    /// As `export --to`.
    #[arg(long, env = "TRAINYARD_FROM")]
    pub from: String,
    /// From MLflow: the repository that keeps its alias and tag history and
    /// deployments (MLflow keeps none); this repository by default.
    #[arg(long, env = "TRAINYARD_HISTORY")]
    pub history: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct LedgerSyncArgs {
    /// The git remote (a name or a URL).
    #[arg(long, env = "TRAINYARD_REMOTE", default_value = DEFAULT_REMOTE)]
    pub remote: String,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// The latest recorded runs, newest first.
    List(RunsListArgs),
    /// Everything recorded about one run.
    Show(RunsShowArgs),
}

#[derive(Debug, Args)]
pub struct RunsListArgs {
    /// How many runs to show (the newest).
    #[arg(long, env = "TRAINYARD_LIMIT", default_value_t = DEFAULT_RUNS_LIMIT)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct RunsShowArgs {
    /// The run's id, or a prefix of it that names one run.
    #[arg(env = "TRAINYARD_RUN")]
    pub id: String,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Every registered model: versions, aliases.
    List,
    /// A model's versions, or one version (`NAME@3`, `NAME@champion`).
    Show(ModelShowArgs),
    /// Point an alias (champion, challenger, an environment…) at a version; the move is recorded.
    Alias(ModelAliasArgs),
    /// Set tags (key=value) on a model version; each change is recorded.
    Tag(ModelTagArgs),
    /// Download a model version's files from the artifact store, each checked
    /// against its digest (the champion by default).
    Get(ModelGetArgs),
}

#[derive(Debug, Args)]
pub struct ModelGetArgs {
    /// `NAME@VERSION`, `NAME@ALIAS`, or a bare version or alias of the manifest's model.
    #[arg(env = "TRAINYARD_MODEL")]
    pub target: Option<String>,
    /// The version this environment runs (instead of naming one).
    #[arg(long, env = "TRAINYARD_ENV", conflicts_with = "target")]
    pub env: Option<String>,
    /// Where to write the files; `.trainyard/models/<model>/<version>` beside the manifest by default.
    #[arg(long, short, env = "TRAINYARD_OUTPUT")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ModelShowArgs {
    /// `NAME`, or `NAME@VERSION` / `NAME@ALIAS`.
    #[arg(env = "TRAINYARD_MODEL")]
    pub target: String,
}

#[derive(Debug, Args)]
pub struct ModelAliasArgs {
    /// The model's name.
    #[arg(env = "TRAINYARD_MODEL")]
    pub model: String,
    /// The version: `3`, `v3`, or an alias it has now (`challenger`).
    #[arg(env = "TRAINYARD_VERSION")]
    pub version: String,
    /// The alias to move.
    #[arg(env = "TRAINYARD_ALIAS")]
    pub alias: String,
    /// Why (recorded with the move).
    #[arg(long, env = "TRAINYARD_REASON")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ModelTagArgs {
    /// `NAME@VERSION` (or `NAME@ALIAS`).
    #[arg(env = "TRAINYARD_MODEL")]
    pub target: String,
    /// One or more `key=value`.
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Why (recorded with each change).
    #[arg(long, env = "TRAINYARD_REASON", default_value = "")]
    pub reason: String,
}

impl From<LedgerCommand> for Request {
    fn from(command: LedgerCommand) -> Self {
        match command {
            LedgerCommand::Push(args) => Self::LedgerPush(LedgerSyncRequest {
                remote: args.remote,
            }),
            LedgerCommand::Pull(args) => Self::LedgerPull(LedgerSyncRequest {
                remote: args.remote,
            }),
            LedgerCommand::Export(args) => Self::LedgerExport(LedgerExportRequest { to: args.to }),
            LedgerCommand::Import(args) => Self::LedgerImport(LedgerImportRequest {
                from: args.from,
                history: args.history,
            }),
        }
    }
}

impl From<RunsCommand> for Request {
    fn from(command: RunsCommand) -> Self {
        match command {
            RunsCommand::List(args) => Self::RunsList(RunsListRequest { limit: args.limit }),
            RunsCommand::Show(args) => Self::RunsShow(RunsShowRequest { id: args.id }),
        }
    }
}

impl From<ModelCommand> for Request {
    fn from(command: ModelCommand) -> Self {
        match command {
            ModelCommand::List => Self::ModelList(ModelListRequest),
            ModelCommand::Show(args) => Self::ModelShow(ModelShowRequest {
                target: args.target,
            }),
            ModelCommand::Alias(args) => Self::ModelAlias(ModelAliasRequest {
                model: args.model,
                version: args.version,
                alias: args.alias,
                reason: args.reason,
            }),
            ModelCommand::Tag(args) => Self::ModelTag(ModelTagRequest {
                target: args.target,
                tags: args.tags,
                reason: args.reason,
            }),
            ModelCommand::Get(args) => Self::ModelGet(ModelGetRequest {
                target: args.target,
                env: args.env,
                output: args.output,
            }),
        }
    }
}
