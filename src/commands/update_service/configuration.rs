//! The deployment configuration UpdateService sends: the service's own with `--strategy`,
//! `--enable-circuit-breaker` and the `--smoke-test` gate merged in.
use super::types::UpdateServiceSettings;
use serde_json::Value;

use crate::adapters::ecs::ServiceState;
use crate::domain::controller::merge_strategy;
use crate::domain::smoke_test::{with_gate, without_added_gate, Gate};
use crate::error::{Error, Result};

/// The deployment configuration UpdateService sends: the service's own with `--strategy`,
/// `--enable-circuit-breaker` and the `--smoke-test` gate merged in (everything else kept), or
/// without the gate an earlier `--smoke-test` added; `None` leaves it as it is.
pub fn planned_configuration(
    settings: &UpdateServiceSettings,
    state: &ServiceState,
) -> Result<Option<Value>> {
    Ok(gated_configuration(settings, state)?.0)
}

/// [`planned_configuration`], with where the `--smoke-test` gate's pause comes from.
pub(super) fn gated_configuration(
    settings: &UpdateServiceSettings,
    state: &ServiceState,
) -> Result<(Option<Value>, Option<Gate>)> {
    let Some(mut configuration) = merged_configuration(settings, state)? else {
        return Ok((None, None));
    };
    match &settings.smoke_test {
        Some(smoke) => {
            let (gated, gate) = with_gate(&configuration, smoke.timeout)
                .map_err(|why| Error::usage(format!("service {}: {why}", settings.service)))?;
            Ok((Some(gated), Some(gate)))
        }
        None => {
            if let Some(cleaned) = without_added_gate(&configuration) {
                configuration = cleaned;
            }
            Ok((Some(configuration), None))
        }
    }
}

/// The configuration with `--strategy` and `--enable-circuit-breaker` merged in; `None` when
/// nothing is to change (no such flag, no `--smoke-test`, no gate an earlier one added).
fn merged_configuration(
    settings: &UpdateServiceSettings,
    state: &ServiceState,
) -> Result<Option<Value>> {
    let added_gate = state
        .deployment_configuration()
        .and_then(without_added_gate)
        .is_some();
    if settings.strategy.is_empty()
        && !settings.enable_circuit_breaker
        && settings.smoke_test.is_none()
        && !added_gate
    {
        return Ok(None);
    }
    let mut configuration = if settings.strategy.is_empty() {
        state
            .deployment_configuration()
            .cloned()
            .unwrap_or_else(|| serde_json::json!({}))
    } else {
        merge_strategy(&state.raw, &settings.strategy).map_err(|why| {
            Error::usage(format!(
                "cannot change the deployment strategy of {}: {why}",
                settings.service
            ))
        })?
    };
    if settings.enable_circuit_breaker {
        configuration["deploymentCircuitBreaker"] =
            serde_json::json!({ "enable": true, "rollback": true });
    }
    Ok(Some(configuration))
}
