//! The service a verb acts on, found and checked: it exists, is ACTIVE, and deployer can drive
//! its deployments (or CodeDeploy deploys it); and the `--wait-until` its deployments can reach.
use serde_json::Value;

use crate::adapters::ecs::{Ecs, ServiceState};
use crate::domain::controller;
use crate::domain::rollout::WaitUntil;
use crate::error::{Error, Result};
use crate::output;

/// What to do about a service that does not exist.
pub const MISSING_HINT: &str =
    "check --service (default: the family name) and --cluster, or pass --create-service to create it";

/// The service, which must exist and be active: the orb's silent success on a missing service
/// is the first thing deployer does differently.
pub async fn existing_service(ecs: &Ecs, cluster: &str, service: &str) -> Result<ServiceState> {
    let state = active_service(ecs, cluster, service, MISSING_HINT).await?;
    check_drivable(&state, service, "deploy")?;
    Ok(state)
}

/// The service named by `--cluster`/`--service`, which must exist, be ACTIVE and be drivable;
/// `doing` is what was asked ("wait for", "continue").
pub async fn named_service(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    doing: &str,
) -> Result<ServiceState> {
    let state = active_service(ecs, cluster, service, "check --service and --cluster").await?;
    check_drivable(&state, service, doing)?;
    Ok(state)
}

/// The service, which must exist (`missing_hint` says what to do when it does not), in
/// whatever status.
pub async fn described_service(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    missing_hint: &str,
) -> Result<ServiceState> {
    ecs.describe_service(cluster, service)
        .await?
        .ok_or_else(|| {
            Error::usage(format!(
                "service {service} does not exist in cluster {cluster}"
            ))
            .with_hint(missing_hint)
        })
}

/// The service, which must exist (`missing_hint` says what to do when it does not) and be ACTIVE.
pub async fn active_service(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    missing_hint: &str,
) -> Result<ServiceState> {
    let state = described_service(ecs, cluster, service, missing_hint).await?;
    if state.snapshot.status != "ACTIVE" {
        return Err(Error::usage(format!(
            "service {service} in cluster {cluster} is {}, not ACTIVE",
            state.snapshot.status
        )));
    }
    Ok(state)
}

/// Whether the service deploys through CodeDeploy (the CODE_DEPLOY deployment controller).
pub fn uses_codedeploy(state: &ServiceState) -> bool {
    controller::controller_of(&state.raw) == "CODE_DEPLOY"
}

/// Refuses a service whose deployments deployer cannot drive and follow; `doing` is what was
/// asked ("deploy", "wait for").
pub fn check_drivable(state: &ServiceState, service: &str, doing: &str) -> Result<()> {
    controller::check_drivable(&state.raw).map_err(|undrivable| {
        Error::usage(format!(
            "deployer cannot {doing} service {service}: {undrivable}"
        ))
        .with_hint(undrivable.hint())
    })
}

/// Refuses a `--wait-until` the service's deployments cannot reach (nothing has changed yet).
pub fn check_wait_until(
    until: &WaitUntil,
    configuration: Option<&Value>,
    service: &str,
) -> Result<()> {
    let word = match until {
        WaitUntil::Paused => "paused",
        WaitUntil::BakeTime => "bake-time",
        WaitUntil::Stable | WaitUntil::Running => {
            if let Some(pause) = crate::domain::strategy_time::pause_warning(configuration) {
                output::warn(format!("service {service}: {pause}"));
            }
            return Ok(());
        }
    };
    controller::check_wait_until(word, configuration)
        .map_err(|why| Error::usage(format!("service {service}: {why}")))
}
