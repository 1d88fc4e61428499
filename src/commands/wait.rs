//! `deployer wait`: the aws-ecs orb's `verify_revision_is_deployed` on its own, and
//! `aws ecs wait services-stable` done right. It finds the deployment of the revision asked for
//! (default: the service's newest) and waits for it with update-service's rules and output.
use serde::Serialize;
use serde_json::Value;

use super::steps::follow_rollout::follow;
use super::steps::rollout_wait::WaitSettings;
use super::steps::service::{check_wait_until, named_service};
use super::steps::service_deployment::Followed;
use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecs::Ecs;
use crate::domain::rollout::{
    check_task_definition_reference, same_task_definition, short_task_definition, Deployment,
    ServiceSnapshot, WaitUntil,
};
use crate::error::{Error, ErrorKind, Result};
use crate::output;

#[derive(Debug, Clone)]
pub struct WaitServiceSettings {
    pub aws: AwsSettings,
    pub cluster: String,
    pub service: String,
    /// ARN, FAMILY:REVISION or FAMILY; `None`: the revision of the newest deployment.
    pub task_definition: Option<String>,
    pub wait: WaitSettings,
    pub until: WaitUntil,
}

/// What was waited for, for stdout and `--export-env`.
#[derive(Debug, Clone, Serialize)]
pub struct WaitOutcome {
    pub cluster: String,
    pub service: String,
    pub task_definition_arn: String,
    pub deployment_id: String,
    /// `completed`, `running` (with `--wait-until running`), `paused`, `baking` or `no-tasks`
    /// (desired count 0).
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_deployment_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<String>,
}

impl WaitOutcome {
    pub fn export_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "DEPLOYER_TASK_DEFINITION_ARN",
                self.task_definition_arn.clone(),
            ),
            ("DEPLOYER_DEPLOYMENT_ID", self.deployment_id.clone()),
            ("DEPLOYER_CLUSTER", self.cluster.clone()),
            ("DEPLOYER_SERVICE", self.service.clone()),
            (
                "DEPLOYER_SERVICE_DEPLOYMENT_ARN",
                self.service_deployment_arn.clone().unwrap_or_default(),
            ),
            ("DEPLOYER_HOOK_ID", self.hook_id.clone().unwrap_or_default()),
        ]
    }
}

pub async fn run(settings: WaitServiceSettings) -> Result<WaitOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let state = named_service(&ecs, &settings.cluster, &settings.service, "wait for").await?;
    let wanted = match &settings.task_definition {
        Some(named) => revision_arn(&ecs, named).await?,
        None => state.snapshot.task_definition.clone(),
    };
    let deployment = deployment_of(&state.snapshot, &wanted)
        .map_err(|missing| missing.error(&settings.service, &settings.cluster, &state.snapshot))?;
    output::step(format!(
        "waiting for deployment {} of {} in {} ({})",
        deployment.id,
        short_task_definition(&deployment.task_definition),
        settings.service,
        deployment
            .rollout_state
            .as_deref()
            .unwrap_or(&deployment.status)
            .to_lowercase()
    ));
    check_wait_until(
        &settings.until,
        state.deployment_configuration(),
        &settings.service,
    )?;
    let followed = follow(
        &ecs,
        &settings.cluster,
        &settings.service,
        deployment,
        &settings.until,
        &settings.wait,
        &state.snapshot,
        state.deployment_configuration(),
        Followed::new(None, None),
    )
    .await?;
    Ok(WaitOutcome {
        cluster: settings.cluster,
        service: settings.service,
        task_definition_arn: deployment.task_definition.clone(),
        deployment_id: deployment.id.clone(),
        result: followed.result,
        service_deployment_arn: followed.service_deployment_arn,
        hook_id: followed.hook_id,
    })
}

/// The full ARN of `named`, which must exist: a typo is bad input, not a failed rollout.
async fn revision_arn(ecs: &Ecs, named: &str) -> Result<String> {
    check_task_definition_reference(named)
        .map_err(|why| Error::usage(format!("--task-definition: {why}")))?;
    let described = ecs.describe_task_definition(named).await.map_err(|error| {
        if error.kind == ErrorKind::Usage {
            error.with_hint(
                "check --task-definition (an ARN, FAMILY:REVISION or FAMILY) and the region",
            )
        } else {
            error
        }
    })?;
    described
        .pointer("/taskDefinition/taskDefinitionArn")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| Error::environment(format!("ECS described {named} without an ARN")))
}

/// Why the service has no deployment of the revision to wait for.
#[derive(Debug, PartialEq, Eq)]
pub enum NotDeploying {
    /// An older deployment runs it; a newer one (id, revision) took over.
    Replaced { primary: String, by: String },
    /// No deployment of the service runs it (never deployed, or rolled back and gone).
    Absent { primary: Option<String> },
}

impl NotDeploying {
    fn error(&self, service: &str, cluster: &str, snapshot: &ServiceSnapshot) -> Error {
        let error = match self {
            NotDeploying::Replaced { primary, by } => Error::failed(format!(
                "service {service} is no longer deploying that revision: deployment {primary} of {} replaced it",
                short_task_definition(by)
            )),
            NotDeploying::Absent { primary } => Error::failed(format!(
                "service {service} in cluster {cluster} has no deployment of that revision{}",
                primary
                    .as_deref()
                    .map(|primary| format!(
                        "; it runs {}",
                        short_task_definition(primary)
                    ))
                    .unwrap_or_default()
            ))
            .with_hint(
                "deploy the revision with update-service, or leave out --task-definition to wait for the service's newest deployment",
            ),
        };
        // The newest event usually says why (a rollback, a failed deployment).
        match snapshot.events.first() {
            Some(event) => {
                error.with_detail(format!("the service's latest event: {}", event.message))
            }
            None => error,
        }
    }
}

/// The deployment of `wanted` to wait for: the PRIMARY one. An ACTIVE (older) deployment of it
/// means a newer deployment replaced it; none at all means it is not being deployed.
pub fn deployment_of<'a>(
    snapshot: &'a ServiceSnapshot,
    wanted: &str,
) -> std::result::Result<&'a Deployment, NotDeploying> {
    let primary = snapshot
        .deployments
        .iter()
        .find(|deployment| deployment.status == "PRIMARY");
    if let Some(primary) = primary {
        if same_task_definition(&primary.task_definition, wanted) {
            return Ok(primary);
        }
    }
    let older = snapshot.deployments.iter().any(|deployment| {
        deployment.status != "PRIMARY" && same_task_definition(&deployment.task_definition, wanted)
    });
    match primary {
        Some(primary) if older => Err(NotDeploying::Replaced {
            primary: primary.id.clone(),
            by: primary.task_definition.clone(),
        }),
        _ => Err(NotDeploying::Absent {
            primary: primary.map(|primary| primary.task_definition.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const V2: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/tutorial-site-task:2";
    const V3: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/tutorial-site-task:3";

    /// DescribeServices' `services[0]` while v3 replaces v2, as ECS answers it.
    fn v3_replacing_v2() -> ServiceSnapshot {
        serde_json::from_value(json!({
            "serviceName": "tutorial-site-service",
            "status": "ACTIVE",
            "taskDefinition": V3,
            "desiredCount": 2,
            "runningCount": 2,
            "pendingCount": 1,
            "deployments": [
                {"id": "ecs-svc/3", "status": "PRIMARY", "taskDefinition": V3, "desiredCount": 2,
                 "runningCount": 0, "pendingCount": 1, "rolloutState": "IN_PROGRESS",
                 "createdAt": "2026-11-26T09:00:00Z"},
                {"id": "ecs-svc/2", "status": "ACTIVE", "taskDefinition": V2, "desiredCount": 2,
                 "runningCount": 2, "pendingCount": 0, "rolloutState": "COMPLETED",
                 "createdAt": "2026-11-25T09:00:00Z"}
            ],
            "events": [{"id": "e1", "createdAt": "2026-11-26T09:00:05Z",
                        "message": "(service tutorial-site-service) has started 1 tasks: (task 1)."}]
        }))
        .unwrap()
    }

    #[test]
    fn the_primary_deployment_of_the_revision_is_waited_for() {
        let snapshot = v3_replacing_v2();
        assert_eq!(deployment_of(&snapshot, V3).unwrap().id, "ecs-svc/3");
        // A short name matches the ARN.
        assert_eq!(
            deployment_of(&snapshot, "tutorial-site-task:3").unwrap().id,
            "ecs-svc/3"
        );
    }

    #[test]
    fn an_older_deployment_of_the_revision_was_replaced() {
        assert_eq!(
            deployment_of(&v3_replacing_v2(), V2).unwrap_err(),
            NotDeploying::Replaced {
                primary: "ecs-svc/3".into(),
                by: V3.into()
            }
        );
    }

    #[test]
    fn a_revision_no_deployment_runs_is_absent() {
        let missing = deployment_of(&v3_replacing_v2(), "tutorial-site-task:1").unwrap_err();
        assert_eq!(
            missing,
            NotDeploying::Absent {
                primary: Some(V3.into())
            }
        );
        let error = missing.error("tutorial-site-service", "tutorial", &v3_replacing_v2());
        assert!(error
            .message
            .contains("no deployment of that revision; it runs tutorial-site-task:3"));
    }
}
