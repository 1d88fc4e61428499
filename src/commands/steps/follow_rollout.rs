//! Following a deployment we started or found, as update-service, wait and continue do: the
//! wait lasts long enough for the service's strategy (unless `--timeout` says otherwise), and
//! its end is told in one line and one result word.
use serde_json::Value;

use super::rollout_wait::{wait_following, WaitSettings};
use super::service_deployment::Followed;
use crate::adapters::ecs::Ecs;
use crate::domain::duration::format_duration;
use crate::domain::rollout::{
    short_task_definition, Deployment, ServiceSnapshot, Target, WaitUntil,
};
use crate::domain::service_deployment::short_id;
use crate::domain::strategy_time::{strategy_of, strategy_time};
use crate::error::Result;
use crate::output;

/// How a followed deployment ended: the result's word (`completed`, `running`, `no-tasks`,
/// `paused`, `baking`) and, where ECS reports it, our ServiceDeployment and the hook it waits at.
#[derive(Debug, Clone, Default)]
pub struct FollowResult {
    pub result: String,
    pub service_deployment_arn: Option<String>,
    pub hook_id: Option<String>,
    /// With `hook_id`: the lifecycle stage the deployment waits at.
    pub stage: Option<String>,
}

/// Waits for `deployment` as asked. `configuration` is the service's deployment configuration:
/// without `--timeout`, the wait lasts long enough for its bake time, steps and pause hooks.
/// Shared with `deployer wait` and `deployer continue`.
#[allow(clippy::too_many_arguments)]
pub async fn follow(
    ecs: &Ecs,
    cluster: &str,
    service: &str,
    deployment: &Deployment,
    until: &WaitUntil,
    wait: &WaitSettings,
    initial: &ServiceSnapshot,
    configuration: Option<&Value>,
    followed: Followed,
) -> Result<FollowResult> {
    let target = Target {
        early_success: crate::domain::rollout::early_success_of(configuration),
        deployment_id: deployment.id.clone(),
        task_definition_arn: deployment.task_definition.clone(),
        wait_until: until.clone(),
        created_at: deployment.created_at.clone(),
    };
    let mut wait = wait.clone();
    if !wait.timeout_explicit {
        if let Some((extra, how)) = strategy_time(configuration) {
            let base = wait.timeout;
            wait.timeout += extra;
            output::step(format!(
                "waiting up to {}: {} for the rollout + {how} ({} strategy; --timeout overrides)",
                format_duration(wait.timeout),
                format_duration(base),
                strategy_of(configuration)
            ));
        }
    }
    let gated = followed.gated;
    let finished = wait_following(ecs, cluster, service, &target, initial, &wait, followed).await?;
    let short = short_task_definition(&deployment.task_definition);
    let arn = finished
        .service_deployment
        .as_ref()
        .map(|d| d.service_deployment_arn.clone());
    if let Some(hook) = finished.paused_hook {
        let id = arn.as_deref().map_or("", short_id).to_string();
        if gated {
            output::step(format!(
                "deployment {} of {short} is paused at lifecycle hook {hook} (service deployment {id}) for the smoke test",
                deployment.id
            ));
        } else {
            output::step(format!(
            "deployment {} of {short} is paused at lifecycle hook {hook} (service deployment {id}): approve with deployer continue --cluster {cluster} --service {service}, or reject with --rollback",
            deployment.id
        ));
        }
        return Ok(FollowResult {
            result: "paused".to_string(),
            service_deployment_arn: arn,
            hook_id: Some(hook),
            stage: finished
                .service_deployment
                .as_ref()
                .and_then(|d| d.lifecycle_stage.clone()),
        });
    }
    if finished.baking {
        output::step(format!(
            "deployment {} of {short} serves production traffic and is baking",
            deployment.id
        ));
        return Ok(FollowResult {
            result: "baking".to_string(),
            service_deployment_arn: arn,
            hook_id: None,
            stage: None,
        });
    }
    if finished.snapshot.desired_count == 0 {
        // Nothing ran: a completed rollout of zero tasks proves nothing about the revision.
        output::warn(format!(
            "deployment {} of {short} completed with no task running: the service's desired count is 0, so the revision was not started",
            deployment.id,
        ));
        return Ok(FollowResult {
            result: "no-tasks".to_string(),
            service_deployment_arn: arn,
            hook_id: None,
            stage: None,
        });
    }
    let result = match until {
        WaitUntil::Running => "running",
        WaitUntil::Stable => "completed",
        WaitUntil::Paused | WaitUntil::BakeTime => {
            output::warn(format!(
                "deployment {} of {short} finished without {} first",
                deployment.id,
                if *until == WaitUntil::Paused {
                    "pausing at a lifecycle hook"
                } else {
                    "a bake time"
                }
            ));
            "completed"
        }
    };
    output::step(format!(
        "deployment {} of {short} is {result}",
        deployment.id
    ));
    Ok(FollowResult {
        result: result.to_string(),
        service_deployment_arn: arn,
        hook_id: None,
        stage: None,
    })
}
