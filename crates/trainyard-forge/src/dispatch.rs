//! Starting another workflow: `repository_dispatch` (any workflow listening
//! for the event type) or `workflow_dispatch` (one workflow file, on a ref).

use serde_json::{Value, json};

use crate::client::GitHub;
use crate::error::ForgeError;
use crate::pulls::encode;

impl GitHub {
    /// Sends a `repository_dispatch` event of `event_type` with `client_payload`.
    pub fn repository_dispatch(
        &self,
        event_type: &str,
        client_payload: &Value,
    ) -> Result<(), ForgeError> {
        self.send(
            &http::Method::POST,
            &format!("{}/dispatches", self.repository.route()),
            Some(&json!({"event_type": event_type, "client_payload": client_payload})),
            "send a repository_dispatch event",
        )?;
        Ok(())
    }

    /// Runs workflow `workflow` (a file name such as `train.yml`, or an id)
    /// on `git_ref` with string `inputs`.
    pub fn workflow_dispatch(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &serde_json::Map<String, Value>,
    ) -> Result<(), ForgeError> {
        self.send(
            &http::Method::POST,
            &format!(
                "{}/actions/workflows/{}/dispatches",
                self.repository.route(),
                encode(workflow)
            ),
            Some(&json!({"ref": git_ref, "inputs": inputs})),
            "start a workflow_dispatch run",
        )?;
        Ok(())
    }
}
