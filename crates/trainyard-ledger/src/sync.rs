//! Syncing the ledger refs with a remote through the `git` command line (it
//! reads `http.extraheader`, credential helpers and proxies; libgit2 does not).

use serde::Serialize;

use crate::{GitLedger, LedgerError};

/// What a push or pull did to one ledger ref.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefSync {
    /// `refs/trainyard/runs` or `refs/trainyard/registry`.
    pub reference: String,
    /// The local tip before, if the ref existed.
    pub local_before: Option<String>,
    /// The remote's tip as fetched, if the remote had the ref.
    pub remote: Option<String>,
    /// The local tip after (for a push, also the remote's).
    pub local_after: Option<String>,
    /// Local records re-applied on top of the remote's (they were not there yet).
    pub replayed: usize,
    /// Model versions renumbered because the remote had registered the same
    /// number meanwhile: `(model, local number, new number)`.
    pub renumbered: Vec<(String, u64, u64)>,
}

/// What `push` or `pull` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub remote: String,
    pub refs: Vec<RefSync>,
    /// How many fetch-merge-push rounds it took (a push retries when another
    /// writer pushed in between).
    pub attempts: u32,
}

impl GitLedger {
    /// Fetches the remote's ledger refs and merges them into the local ones.
    pub fn pull(&self, remote: &str) -> Result<SyncReport, LedgerError> {
        let _ = remote;
        Err(LedgerError::GitCommand {
            command: "git fetch".to_owned(),
            status: "not implemented yet".to_owned(),
            stderr: String::new(),
        })
    }

    /// Pulls, then pushes the merged ledger refs with a lease; retries when
    /// another writer pushed in between.
    pub fn push(&self, remote: &str) -> Result<SyncReport, LedgerError> {
        let _ = remote;
        Err(LedgerError::GitCommand {
            command: "git push".to_owned(),
            status: "not implemented yet".to_owned(),
            stderr: String::new(),
        })
    }
}
