//! The command line, the only module that knows clap: one args struct per
//! step, global options, and the conversion of a parsed command into the
//! step's request, handed to `publish::run`.
//!
//! Every option can also come from `TRAINYARD_<NAME>` or, for a GitHub
//! composite action or an Azure DevOps task, `INPUT_<NAME>`; a flag wins over
//! both, and `TRAINYARD_*` wins over `INPUT_*`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use trainyard_ci::{Env, OutputFormat};
use trainyard_core::ExitStatus;

use crate::publish;
use crate::requests::{ConfigCheckRequest, InitRequest, QuickstartRequest};
use crate::steps::Request;

mod data;
mod gate;
mod iac;
mod ledger;
mod report;
mod site;
mod train;

use data::DataCommand;
use gate::{GateArgs, PromoteArgs, RollbackArgs, StatusArgs};
use iac::IacCommand;
use ledger::{LedgerCommand, ModelCommand, RunsCommand};
use report::ReportArgs;
use site::SiteCommand;
use train::{CompareArgs, ReproduceArgs, TrainArgs};

#[derive(Debug, Parser)]
#[command(
    name = "trainyard",
    version,
    about = "GitOps CI/CD for machine-learning projects: validate data, train, gate, promote.",
    after_help = "Exit codes: 0 passed, 1 a check or gate failed, 2 usage or configuration error, 3 environment error."
)]
pub struct Cli {
    /// The manifest to read.
    #[arg(long, global = true, env = "TRAINYARD_MANIFEST", default_value = trainyard_core::manifest::MANIFEST_FILE)]
    pub manifest: PathBuf,

    /// How to print the result: text for people, json for machines (one document on stdout).
    #[arg(long, global = true, env = "TRAINYARD_FORMAT", value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// In a terminal, show every row of a table, every output and every folded
    /// section (by default failures are shown in full and what passed is counted).
    #[arg(long, short = 'v', global = true, env = "TRAINYARD_VERBOSE")]
    pub verbose: bool,

    /// When to colour text: auto (a terminal, unless NO_COLOR is set;
    /// CLICOLOR_FORCE=1 forces it), always, or never.
    #[arg(long, global = true, env = "TRAINYARD_COLOR", value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check or describe trainyard.yaml.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Validate, fingerprint and sample datasets.
    #[command(subcommand)]
    Data(DataCommand),
    /// Render the infrastructure code of each environment, or check it for drift.
    #[command(subcommand)]
    Iac(IacCommand),
    /// Copy the bundled example ML project into DIR and run every step against it.
    Quickstart(QuickstartArgs),
    /// Create a new ML project in DIR from a template (the same templates cargo-generate renders),
    /// and make its first git commit.
    Init(InitArgs),
    /// Run the project's training command (sampled on a pull request, full on the
    /// default branch), stream its log, capture its metrics, record the run.
    Train(TrainArgs),
    /// Compare a run's metrics with the champion's, the base branch's or another run's.
    Compare(CompareArgs),
    /// Re-run a recorded run from its commit, params and data; check its metrics match.
    Reproduce(ReproduceArgs),
    /// Judge whether a model version may enter an environment; exit 1 when refused.
    Gate(GateArgs),
    /// After a passed gate, make a model version an environment's desired state in git.
    Promote(PromoteArgs),
    /// Make an earlier entry of an environment's history its desired state again.
    Rollback(RollbackArgs),
    /// What each environment runs, since when, and what waits at which gate.
    Status(StatusArgs),
    /// Gather this job's step reports into one PR report (the sticky comment on GitHub).
    Report(ReportArgs),
    /// Sync the run ledger (refs/trainyard/*) with a git remote.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// List and show the recorded training runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// The model registry: versions, aliases (champion, challenger…), tags.
    #[command(subcommand)]
    Model(ModelCommand),
    /// The static dashboard: runs, models, environments and data as a web site.
    #[command(subcommand)]
    Site(SiteCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the manifest: keys, types, and cross-references.
    Check,
    /// Print the JSON Schema of trainyard.yaml (for editors and CI linters).
    Schema,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Where to put the example project (must be empty or absent); a new temporary folder by default.
    #[arg(env = "TRAINYARD_DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The new project's folder: new or empty (then it becomes a git repository with a first
    /// commit), or one without any of the template's files. Its last component is the project's
    /// name unless `--define project-name=…` gives it.
    #[arg(env = "TRAINYARD_DIR", required_unless_present = "list")]
    pub dir: Option<PathBuf>,
    /// The template, by name (`trainyard init --list` shows them); realtime-classifier by default.
    #[arg(long, env = "TRAINYARD_TEMPLATE", conflicts_with = "template_dir")]
    pub template: Option<String>,
    /// A cargo-generate template folder on disk instead of a built-in template.
    #[arg(long, env = "TRAINYARD_TEMPLATE_DIR")]
    pub template_dir: Option<PathBuf>,
    /// A placeholder's value, `key=value` (repeatable), as cargo-generate's `--define`;
    /// one per line in `TRAINYARD_DEFINE`.
    #[arg(
        long = "define",
        short = 'd',
        value_name = "KEY=VALUE",
        env = "TRAINYARD_DEFINE",
        value_delimiter = '\n'
    )]
    pub defines: Vec<String>,
    /// List the templates, their descriptions and placeholders.
    #[arg(long, env = "TRAINYARD_LIST")]
    pub list: bool,
}

impl From<InitArgs> for InitRequest {
    fn from(args: InitArgs) -> Self {
        Self {
            dir: args.dir,
            template: args.template,
            template_dir: args.template_dir,
            defines: args.defines,
            list: args.list,
        }
    }
}

/// Parses the process's arguments, runs the step, publishes, and says how to exit.
pub fn run() -> ExitStatus {
    let env = Env::from_process();
    let command = with_input_fallbacks(Cli::command(), &env);
    let cli = match command
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout and usage errors to stderr.
            let _ = error.print();
            return if error.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Passed
            };
        }
    };
    let format = match cli.format {
        Format::Text => OutputFormat::Text,
        Format::Json => OutputFormat::Json,
    };
    match Request::try_from(cli.command) {
        Ok(request) => {
            let console = publish::Console {
                color: match cli.color {
                    ColorWhen::Auto => anstream::ColorChoice::Auto,
                    ColorWhen::Always => anstream::ColorChoice::Always,
                    ColorWhen::Never => anstream::ColorChoice::Never,
                },
                verbose: cli.verbose,
            };
            publish::run(&request, env, cli.manifest, format, console)
        }
        // A document, not a report: it is meant to be redirected into a file.
        Err(Document::Schema) => write_document(&trainyard_core::manifest::json_schema_text()),
    }
}

/// A command that prints a document instead of running a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `config schema`: the manifest's JSON Schema.
    Schema,
}

impl TryFrom<Command> for Request {
    type Error = Document;

    fn try_from(command: Command) -> Result<Self, Document> {
        Ok(match command {
            Command::Config(ConfigCommand::Check) => Self::ConfigCheck(ConfigCheckRequest),
            Command::Config(ConfigCommand::Schema) => return Err(Document::Schema),
            Command::Data(command) => command.into(),
            Command::Iac(command) => command.into(),
            Command::Quickstart(args) => Self::Quickstart(QuickstartRequest { dir: args.dir }),
            Command::Init(args) => Self::Init(args.into()),
            Command::Train(args) => Self::Train(args.into()),
            Command::Compare(args) => Self::Compare(args.into()),
            Command::Reproduce(args) => Self::Reproduce(args.into()),
            Command::Gate(args) => Self::Gate(args.into()),
            Command::Promote(args) => Self::Promote(args.into()),
            Command::Rollback(args) => Self::Rollback(args.into()),
            Command::Status(args) => Self::Status(args.into()),
            Command::Report(args) => Self::Report(args.into()),
            Command::Ledger(command) => command.into(),
            Command::Runs(command) => command.into(),
            Command::Model(command) => command.into(),
            Command::Site(command) => command.into(),
        })
    }
}

fn write_document(text: &str) -> ExitStatus {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitStatus::Passed,
        Err(error) if publish::is_closed_output(&error) => ExitStatus::Passed,
        Err(error) => publish::report_publish_failure(&error),
    }
}

/// Lets every option with a `TRAINYARD_<NAME>` variable also be set by
/// `INPUT_<NAME>`, the variable GitHub composite actions (through `env:`) and
/// Azure DevOps tasks set, by making that value the option's default.
fn with_input_fallbacks(command: clap::Command, env: &Env) -> clap::Command {
    command
        .mut_args(|arg| {
            // GitHub's runner keeps a hyphenated input's hyphens
            // (`INPUT_SKIP-ORDER`); Azure's agent turns them into `_`.
            let hyphenated = arg
                .get_long()
                .map(|long| format!("INPUT_{}", long.to_ascii_uppercase()));
            let input_value = arg
                .get_env()
                .and_then(|variable| variable.to_str())
                .and_then(|variable| variable.strip_prefix("TRAINYARD_"))
                .map(trainyard_ci::input_variables)
                .filter(|[trainyard, _]| env.get(trainyard).is_none())
                .and_then(|[_, input]| {
                    env.get(&input)
                        .or_else(|| hyphenated.as_deref().and_then(|name| env.get(name)))
                        .map(str::to_owned)
                });
            match input_value {
                // A required option given as an input is satisfied by it.
                Some(value) => arg.default_value(value).required(false),
                None => arg,
            }
        })
        .mut_subcommands(|sub| with_input_fallbacks(sub, env))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::Step;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Cli {
        let env = Env::from_pairs(env.iter().copied());
        let matches = with_input_fallbacks(Cli::command(), &env)
            .try_get_matches_from(args)
            .unwrap();
        Cli::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn input_variables_fill_options_and_flags_win() {
        let cli = parse(
            &["trainyard", "config", "check"],
            &[("INPUT_MANIFEST", "ml/trainyard.yaml")],
        );
        assert_eq!(cli.manifest, PathBuf::from("ml/trainyard.yaml"));
        let cli = parse(
            &["trainyard", "--manifest", "flag.yaml", "config", "check"],
            &[("INPUT_MANIFEST", "ml/trainyard.yaml")],
        );
        assert_eq!(cli.manifest, PathBuf::from("flag.yaml"));
        let cli = parse(
            &["trainyard", "quickstart"],
            &[("INPUT_FORMAT", "json"), ("INPUT_DIR", "/tmp/x")],
        );
        assert_eq!(cli.format, Format::Json);
        assert_eq!(
            Request::try_from(cli.command).map(|request| request.step()),
            Ok(Step::Quickstart)
        );
    }

    /// A hotfix through the GitHub action: its inputs arrive as
    /// `INPUT_SKIP-ORDER` (hyphen kept) and `INPUT_REASON`.
    #[test]
    fn hyphenated_inputs_fill_promote_skip_order() {
        for variable in ["INPUT_SKIP-ORDER", "INPUT_SKIP_ORDER"] {
            let cli = parse(
                &["trainyard", "promote", "--env", "prod"],
                &[(variable, "true"), ("INPUT_REASON", "CVE hotfix")],
            );
            let Ok(Request::Promote(request)) = Request::try_from(cli.command) else {
                panic!("not the promote command");
            };
            assert!(request.skip_order, "{variable}");
            assert_eq!(request.reason.as_deref(), Some("CVE hotfix"));
        }
        let cli = parse(&["trainyard", "promote", "--env", "prod"], &[]);
        let Ok(Request::Promote(request)) = Request::try_from(cli.command) else {
            panic!("not the promote command");
        };
        assert!(!request.skip_order);
    }

    #[test]
    fn input_variables_satisfy_required_options() {
        let cli = parse(&["trainyard", "gate"], &[("INPUT_ENV", "staging")]);
        let Ok(Request::Gate(request)) = Request::try_from(cli.command) else {
            panic!("not the gate command");
        };
        assert_eq!(request.env, "staging");
        let env = Env::from_pairs(std::iter::empty::<(String, String)>());
        assert!(
            with_input_fallbacks(Cli::command(), &env)
                .try_get_matches_from(["trainyard", "gate"])
                .is_err(),
            "without the input, --env stays required"
        );
    }

    fn request(args: &[&str]) -> Request {
        let cli = parse(args, &[]);
        Request::try_from(cli.command).unwrap()
    }

    /// A request built in code (quickstart) behaves like the bare command.
    #[test]
    fn the_bare_commands_give_the_default_requests() {
        use crate::requests::{
            CompareRequest, IacCheckRequest, LedgerSyncRequest, RunsListRequest, StatusRequest,
            TrainRequest,
        };
        let Request::Compare(compare) = request(&["trainyard", "compare"]) else {
            panic!("compare");
        };
        assert_eq!(compare, CompareRequest::default());
        let Request::Status(status) = request(&["trainyard", "status"]) else {
            panic!("status");
        };
        assert_eq!(status, StatusRequest::default());
        let Request::RunsList(list) = request(&["trainyard", "runs", "list"]) else {
            panic!("runs list");
        };
        assert_eq!(list, RunsListRequest::default());
        let Request::LedgerPush(push) = request(&["trainyard", "ledger", "push"]) else {
            panic!("ledger push");
        };
        assert_eq!(push, LedgerSyncRequest::default());
        let Request::IacCheck(check) = request(&["trainyard", "iac", "check"]) else {
            panic!("iac check");
        };
        assert_eq!(check, IacCheckRequest::default());
        let Request::Train(train) = request(&["trainyard", "train"]) else {
            panic!("train");
        };
        assert_eq!(train, TrainRequest::default());
        let Request::Promote(promote) = request(&["trainyard", "promote", "--env", "dev"]) else {
            panic!("promote");
        };
        assert_eq!(promote.change, crate::requests::ChangeRequest::default());
    }

    #[test]
    fn every_registered_step_has_a_command() {
        let commands = [
            "config check",
            "data validate",
            "data fingerprint",
            "data sample x",
            "data merge p.json",
            "data drift --reference a --current b",
            "data infer-schema x",
            "iac render --all",
            "iac check",
            "quickstart",
            "init x",
            "train",
            "compare",
            "reproduce r",
            "gate --env e",
            "promote --env e",
            "rollback --env e --reason r",
            "status",
            "report",
            "ledger push",
            "ledger pull",
            "ledger export --to x",
            "ledger import --from x",
            "runs list",
            "runs show r",
            "model list",
            "model show m",
            "model alias m 1 a --reason r",
            "model tag m@1 k=v",
            "model get",
            "site build",
        ];
        let mut steps: Vec<Step> = commands
            .iter()
            .map(|command| {
                let args: Vec<&str> = std::iter::once("trainyard")
                    .chain(command.split(' '))
                    .collect();
                let step = request(&args).step();
                assert!(
                    command.starts_with(step.name()),
                    "{command} ran {}",
                    step.name()
                );
                step
            })
            .collect();
        steps.dedup();
        assert_eq!(
            steps,
            Step::ALL,
            "one command per registered step, in registry order"
        );
    }
}
