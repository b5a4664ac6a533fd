//! The command line: one args struct per step, global options, and the
//! dispatch from a parsed command to its step and then to the publisher.
//!
//! Every option can also come from `TRAINYARD_<NAME>` or, for a GitHub
//! composite action or an Azure DevOps task, `INPUT_<NAME>`; a flag wins over
//! both, and `TRAINYARD_*` wins over `INPUT_*`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use trainyard_ci::{Env, Host, OutputFormat, Publisher};
use trainyard_core::ExitStatus;

use crate::steps::{self, StepContext};

mod data;
pub(crate) mod forge;
mod gate;
mod iac;
mod ledger;
mod log;
mod report;
mod train;

pub use data::{
    DataCommand, DataDriftArgs, DataFingerprintArgs, DataInferSchemaArgs, DataMergeArgs,
    DataSampleArgs, DataValidateArgs,
};
pub use gate::{ChangeArgs, GateArgs, PromoteArgs, RollbackArgs, StatusArgs};
pub use iac::{IacCheckArgs, IacCommand, IacRenderArgs, IacSelection};
pub use ledger::{
    LedgerCommand, ModelAliasArgs, ModelCommand, ModelShowArgs, ModelTagArgs, RunsCommand,
    RunsListArgs, RunsShowArgs,
};
pub use report::ReportArgs;
pub use train::{CompareArgs, ReproduceArgs, TrainArgs, TrainMode};

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

    #[command(subcommand)]
    pub command: Command,
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

    if let Command::Config(ConfigCommand::Schema) = cli.command {
        // A document, not a report: it is meant to be redirected into a file.
        return write_document(&trainyard_core::manifest::json_schema_text());
    }

    let host = Host::detect(&env);
    let format = match cli.format {
        Format::Text => OutputFormat::Text,
        Format::Json => OutputFormat::Json,
    };
    let stdout = std::io::stdout();
    let color = anstream::AutoStream::choice(&stdout) != anstream::ColorChoice::Never;
    let log = steps::LogStream::new(log::CiLog::new(host, format, &env, color));
    let context = StepContext {
        forge: Box::new(forge::GitHubEvidence::new(&env)),
        env,
        manifest_path: cli.manifest.clone(),
        log,
    };
    let step_name = cli.command.step_name();
    let outcome = steps::run(&cli.command, &context);

    match outcome {
        Ok(report) => {
            let mut publisher = Publisher::new(host, format, &context.env, stdout.lock(), color);
            match publisher.publish(&report) {
                Ok(()) => {
                    drop(publisher);
                    forge::publish(&report, &context, host, format)
                }
                Err(error) => report_publish_failure(&error),
            }
        }
        Err(error) => {
            // People read errors on stderr; CI reads workflow commands and JSON on stdout.
            let published = if host == Host::Terminal && format == OutputFormat::Text {
                let stderr = std::io::stderr();
                let color = anstream::AutoStream::choice(&stderr) != anstream::ColorChoice::Never;
                Publisher::new(host, format, &context.env, stderr.lock(), color)
                    .publish_error(step_name, &error)
            } else {
                Publisher::new(host, format, &context.env, stdout.lock(), color)
                    .publish_error(step_name, &error)
            };
            match published {
                Ok(()) => forge::publish_error(step_name, &error, &context, host, format),
                Err(publish_error) => report_publish_failure(&publish_error),
            }
        }
    }
}

impl Command {
    /// The step's name as typed, used in reports and CI output names.
    pub fn step_name(&self) -> &'static str {
        match self {
            Self::Config(ConfigCommand::Check) => "config check",
            Self::Config(ConfigCommand::Schema) => "config schema",
            Self::Data(DataCommand::Validate(_)) => "data validate",
            Self::Data(DataCommand::Fingerprint(_)) => "data fingerprint",
            Self::Data(DataCommand::Sample(_)) => "data sample",
            Self::Data(DataCommand::Merge(_)) => "data merge",
            Self::Data(DataCommand::Drift(_)) => "data drift",
            Self::Data(DataCommand::InferSchema(_)) => "data infer-schema",
            Self::Iac(IacCommand::Render(_)) => "iac render",
            Self::Iac(IacCommand::Check(_)) => "iac check",
            Self::Quickstart(_) => "quickstart",
            Self::Train(_) => "train",
            Self::Compare(_) => "compare",
            Self::Reproduce(_) => "reproduce",
            Self::Gate(_) => "gate",
            Self::Promote(_) => "promote",
            Self::Rollback(_) => "rollback",
            Self::Status(_) => "status",
            Self::Report(_) => "report",
            Self::Ledger(command) => command.step_name(),
            Self::Runs(command) => command.step_name(),
            Self::Model(command) => command.step_name(),
        }
    }
}

fn write_document(text: &str) -> ExitStatus {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitStatus::Passed,
        Err(error) => report_publish_failure(&error),
    }
}

fn report_publish_failure(error: &std::io::Error) -> ExitStatus {
    let _ = writeln!(
        std::io::stderr(),
        "error: could not write the step's output: {error}"
    );
    ExitStatus::Environment
}

/// Lets every option with a `TRAINYARD_<NAME>` variable also be set by
/// `INPUT_<NAME>`, the variable GitHub composite actions (through `env:`) and
/// Azure DevOps tasks set, by making that value the option's default.
fn with_input_fallbacks(command: clap::Command, env: &Env) -> clap::Command {
    command
        .mut_args(|arg| {
            let input_value = arg
                .get_env()
                .and_then(|variable| variable.to_str())
                .and_then(|variable| variable.strip_prefix("TRAINYARD_"))
                .filter(|name| env.get(&format!("TRAINYARD_{name}")).is_none())
                .and_then(|name| env.get(&format!("INPUT_{name}")))
                .map(str::to_owned);
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
        assert_eq!(cli.command.step_name(), "quickstart");
    }

    #[test]
    fn input_variables_satisfy_required_options() {
        let cli = parse(&["trainyard", "gate"], &[("INPUT_ENV", "staging")]);
        assert_eq!(cli.command.step_name(), "gate");
        let Command::Gate(args) = cli.command else {
            panic!("not the gate command");
        };
        assert_eq!(args.env, "staging");
        let env = Env::from_pairs(std::iter::empty::<(String, String)>());
        assert!(
            with_input_fallbacks(Cli::command(), &env)
                .try_get_matches_from(["trainyard", "gate"])
                .is_err(),
            "without the input, --env stays required"
        );
    }
}
