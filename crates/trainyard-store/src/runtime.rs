//! The private async runtime behind the blocking API: the rest of trainyard is
//! synchronous, so each store owns a current-thread tokio runtime and blocks
//! on it. Calling a store from inside another tokio runtime is not supported.

use std::future::Future;
use std::sync::Arc;

use crate::StoreError;

/// A shared current-thread runtime (a store and its readers use the same one).
#[derive(Debug, Clone)]
pub(crate) struct Runtime {
    inner: Arc<tokio::runtime::Runtime>,
}

impl Runtime {
    pub(crate) fn new(store: &str) -> Result<Self, StoreError> {
        install_crypto_provider();
        let inner = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| StoreError::Config {
                store: store.to_owned(),
                message: format!("cannot start the I/O runtime: {error}"),
            })?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }
}

/// reqwest is built without a compiled-in TLS provider (so the workspace has
/// one crypto library, ring); the process default must be set before the
/// first client. Another default installed first (by the binary) is kept.
/// Public for the other reqwest clients of the workspace (the MLflow ledger).
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only when another thread installed one meanwhile: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
