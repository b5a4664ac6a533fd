//! The end-to-end tests of the `trainyard` binary, as one test binary: each
//! module is one area of the product (they were one binary each, every one
//! linking the whole dependency tree). `common` holds the shared helpers (the
//! binary with CI variables scrubbed, the test tools, the gate fixture
//! repository); git fixtures and the recording GitHub stand-in come from the
//! `trainyard-testkit` crate, which the forge and ledger crates' tests use too.
//!
//! A new area is a new module here; Cargo.toml sets `autotests = false`, so a
//! file dropped into `tests/` is not built on its own.

mod common;

mod azure_devops;
mod azure_repos_publish;
mod cancel;
mod config_check;
mod containment;
mod corpus;
mod data_drift;
mod data_infer_schema;
mod data_parquet;
mod data_profile;
mod data_remote;
mod data_sample;
mod data_validate_path;
mod exit_codes;
mod forge_publish;
mod gate;
mod gate_checks;
mod gate_quickstart;
mod github_actions;
mod github_report;
mod github_runner;
mod github_workflows;
mod iac;
mod iac_kserve;
mod init;
mod ledger;
mod ledger_transfer;
mod markdown_escaping;
mod mlflow;
mod model_get;
mod promote;
mod promote_forge_request;
mod promote_on_merge;
mod promote_recovery;
mod promotion_order;
mod quickstart;
mod release;
mod scaffolds;
mod schema;
mod site;
mod terminal;
mod train;
mod train_compare;
mod train_rules;
mod verdicts;
