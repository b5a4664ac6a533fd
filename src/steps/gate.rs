//! `trainyard gate --env E [--model NAME@VERSION|ALIAS]`: whether a model
//! version may enter environment E, judged by the policy committed on the base
//! branch (see `app::judge`); the verdict as a report, and as JSON on request.

use trainyard_core::{Report, StepError};

use crate::app::StepContext;
use crate::app::fs::write_atomic;
use crate::app::judge::judge;
use crate::requests::GateRequest;

pub fn run(request: &GateRequest, context: &StepContext) -> Result<Report, StepError> {
    let judged = judge(request, context)?;
    if let Some(path) = &request.verdict {
        let json = serde_json::to_string_pretty(&judged.verdict).unwrap_or_default() + "\n";
        write_atomic(path, json.as_bytes())?;
    }
    Ok(judged.report)
}
