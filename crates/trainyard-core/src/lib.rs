//! The shared vocabulary of trainyard: the manifest (`trainyard.yaml`), the
//! [`Report`] every step returns, and the exit codes every step ends with.
//!
//! Data flows one way: `cli -> steps -> domain crates -> Report -> publisher`.
//! Nothing in this crate prints or touches the network.

pub mod diagnostic;
pub mod exit;
pub mod fs;
pub mod lock;
pub mod manifest;
pub mod markdown;
pub mod report;
pub mod store_url;
pub mod yaml;

pub use diagnostic::{ConfigError, SourceSpan};
pub use exit::{ExitStatus, StepError};
pub use manifest::Manifest;
pub use report::{
    Block, Chart, Conclusion, Finding, ForgeRequest, Location, Report, RowStatus, Severity, Table,
};
pub use store_url::{StoreUrl, StoreUrlError};
