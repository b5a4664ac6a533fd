//! The steps, one file each, and their registry. A step takes its request
//! (`crate::requests`) and the [`StepContext`], calls the domain crates and
//! the shared services (`crate::app`), and returns a [`Report`]; it never
//! prints, never talks to a forge, and never imports another step.
//!
//! Adding a step: its request in `requests.rs`, its file here, one line in
//! [`registry!`] below, and its clap args in `src/cli`.

mod compare;
mod config_check;
mod data_drift;
mod data_fingerprint;
mod data_infer_schema;
mod data_merge;
mod data_sample;
mod data_validate;
mod gate;
mod iac_check;
mod iac_render;
mod init;
mod ledger_sync;
mod ledger_transfer;
mod model;
mod model_get;
mod promote;
mod quickstart;
mod report;
mod reproduce;
mod rollback;
mod runs;
mod site;
mod status;
mod train;

use trainyard_core::{Report, StepError};

use crate::app::StepContext;
use crate::requests::SiteBuildRequest;
use crate::requests::{
    CompareRequest, ConfigCheckRequest, DataDriftRequest, DataFingerprintRequest,
    DataInferSchemaRequest, DataMergeRequest, DataSampleRequest, DataValidateRequest, GateRequest,
    IacCheckRequest, IacRenderRequest, InitRequest, LedgerExportRequest, LedgerImportRequest,
    LedgerSyncRequest, ModelAliasRequest, ModelGetRequest, ModelListRequest, ModelShowRequest,
    ModelTagRequest, PromoteRequest, QuickstartRequest, ReportRequest, ReproduceRequest,
    RollbackRequest, RunsListRequest, RunsShowRequest, StatusRequest, TrainRequest,
};

/// Whether a step judges the change: a judging step gets a check run and a
/// commit status and a place in the PR report; bookkeeping (syncing or
/// listing the ledger, quickstart) gets neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Judges,
    Bookkeeping,
}

/// Declares every step once: its identity, its request, its entry point,
/// the name it is typed and reported by, and its [`Kind`].
macro_rules! registry {
    ($( $step:ident($request:ty) => $run:path, $name:literal, $kind:ident; )*) => {
        /// Every step trainyard has, by identity.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Step {
            $($step,)*
        }

        impl Step {
            /// Every step, in registry order.
            pub const ALL: &'static [Step] = &[$(Step::$step,)*];

            /// The step's name as typed (`data validate`); reports, check
            /// runs and CI outputs carry it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Step::$step => $name,)*
                }
            }

            pub fn kind(self) -> Kind {
                match self {
                    $(Step::$step => Kind::$kind,)*
                }
            }
        }

        /// A step and what it is asked to do.
        #[derive(Debug, Clone)]
        pub enum Request {
            $($step($request),)*
        }

        impl Request {
            pub fn step(&self) -> Step {
                match self {
                    $(Request::$step(_) => Step::$step,)*
                }
            }
        }

        /// Runs the step a request names.
        pub fn run(request: &Request, context: &StepContext) -> Result<Report, StepError> {
            match request {
                $(Request::$step(request) => $run(request, context),)*
            }
        }
    };
}

registry! {
    ConfigCheck(ConfigCheckRequest) => config_check::run, "config check", Judges;
    DataValidate(DataValidateRequest) => data_validate::run, "data validate", Judges;
    DataFingerprint(DataFingerprintRequest) => data_fingerprint::run, "data fingerprint", Judges;
    DataSample(DataSampleRequest) => data_sample::run, "data sample", Judges;
    DataMerge(DataMergeRequest) => data_merge::run, "data merge", Judges;
    DataDrift(DataDriftRequest) => data_drift::run, "data drift", Judges;
    DataInferSchema(DataInferSchemaRequest) => data_infer_schema::run, "data infer-schema", Judges;
    IacRender(IacRenderRequest) => iac_render::run, "iac render", Judges;
    IacCheck(IacCheckRequest) => iac_check::run, "iac check", Judges;
    Quickstart(QuickstartRequest) => quickstart::run, "quickstart", Bookkeeping;
    Init(InitRequest) => init::run, "init", Bookkeeping;
    Train(TrainRequest) => train::run, "train", Judges;
    Compare(CompareRequest) => compare::run, "compare", Judges;
    Reproduce(ReproduceRequest) => reproduce::run, "reproduce", Judges;
    Gate(GateRequest) => gate::run, "gate", Judges;
    Promote(PromoteRequest) => promote::run, "promote", Judges;
    Rollback(RollbackRequest) => rollback::run, "rollback", Judges;
    Status(StatusRequest) => status::run, "status", Bookkeeping;
    Report(ReportRequest) => report::run, "report", Judges;
    LedgerPush(LedgerSyncRequest) => ledger_sync::push, "ledger push", Bookkeeping;
    LedgerPull(LedgerSyncRequest) => ledger_sync::pull, "ledger pull", Bookkeeping;
    LedgerExport(LedgerExportRequest) => ledger_transfer::export, "ledger export", Bookkeeping;
    LedgerImport(LedgerImportRequest) => ledger_transfer::import, "ledger import", Bookkeeping;
    RunsList(RunsListRequest) => runs::list, "runs list", Bookkeeping;
    RunsShow(RunsShowRequest) => runs::show, "runs show", Bookkeeping;
    ModelList(ModelListRequest) => model::list, "model list", Bookkeeping;
    ModelShow(ModelShowRequest) => model::show, "model show", Bookkeeping;
    ModelAlias(ModelAliasRequest) => model::alias, "model alias", Bookkeeping;
    ModelTag(ModelTagRequest) => model::tag, "model tag", Bookkeeping;
    ModelGet(ModelGetRequest) => model_get::run, "model get", Bookkeeping;
    SiteBuild(SiteBuildRequest) => site::build, "site build", Bookkeeping;
}

impl Step {
    /// The step a report names (reports kept on disk carry the name).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|step| step.name() == name)
    }

    /// Whether the step judges the change (see [`Kind`]).
    pub fn judges(self) -> bool {
        self.kind() == Kind::Judges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_again() {
        for step in Step::ALL {
            assert_eq!(Step::named(step.name()), Some(*step));
        }
        let mut names: Vec<&str> = Step::ALL.iter().map(|step| step.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Step::ALL.len());
    }

    #[test]
    fn bookkeeping_commands_get_no_check_run() {
        for step in [
            "data validate",
            "train",
            "compare",
            "gate",
            "promote",
            "report",
            "iac check",
            "data drift",
            "config check",
        ] {
            assert!(Step::named(step).is_some_and(Step::judges), "{step}");
        }
        for step in [
            "ledger pull",
            "ledger push",
            "runs list",
            "model alias",
            "status",
            "quickstart",
            "init",
        ] {
            assert!(!Step::named(step).is_some_and(Step::judges), "{step}");
        }
    }
}
