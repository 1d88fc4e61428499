//! ECS's ServiceDeployment (DescribeServiceDeployments): what a deployment of any strategy —
//! ROLLING, BLUE_GREEN, LINEAR, CANARY — is doing, whether it is done, and what to print while it
//! goes. The waiter follows the deployment its UpdateService created through this, and falls back
//! to DescribeServices only where the API is not available.
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::duration::format_duration;
use super::rollout::WaitUntil;
use super::strategy_time::{bake_time, strategy_of};
pub use super::timestamps::{timestamp_seconds, timestamp_text};

/// One entry of DescribeServiceDeployments' `serviceDeployments`, as ECS sends it.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeployment {
    pub service_deployment_arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, STOP_REQUESTED, ROLLBACK_REQUESTED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_reason: Option<String>,
    /// Blue/green, linear and canary deployments only (RECONCILE_SERVICE … CLEAN_UP).
    #[serde(default)]
    pub lifecycle_stage: Option<String>,
    #[serde(default)]
    pub target_service_revision: Option<RevisionSummary>,
    /// AWS's own examples sometimes show one `sourceServiceRevision` object where the API
    /// reference has the `sourceServiceRevisions` list: both are read.
    #[serde(
        default,
        alias = "sourceServiceRevision",
        deserialize_with = "one_or_many"
    )]
    pub source_service_revisions: Vec<RevisionSummary>,
    #[serde(default)]
    pub lifecycle_hook_details: Vec<HookDetail>,
    #[serde(default)]
    pub rollback: Option<Rollback>,
    #[serde(default)]
    pub deployment_circuit_breaker: Option<Monitor>,
    #[serde(default)]
    pub alarms: Option<Alarms>,
    #[serde(default)]
    pub deployment_configuration: Option<Value>,
    /// Epoch seconds on the wire (RFC 3339 in the AWS CLI's output).
    #[serde(default)]
    pub created_at: Option<Value>,
    #[serde(default)]
    pub finished_at: Option<Value>,
}

/// A list, or the one object some answers put in its place.
fn one_or_many<'de, D>(deserializer: D) -> Result<Vec<RevisionSummary>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<RevisionSummary>),
        One(RevisionSummary),
        Nothing(()),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Many(list) => list,
        OneOrMany::One(one) => vec![one],
        OneOrMany::Nothing(()) => Vec::new(),
    })
}

/// How much older than our ECS deployment its ServiceDeployment may say it is (clock skew
/// between the two records, both written by ECS).
const CREATED_BEFORE_SLACK: f64 = 60.0;
/// How much later: a deployment created well after ours is someone else's.
const CREATED_AFTER_SLACK: f64 = 300.0;

impl ServiceDeployment {
    /// Whether this could be the ServiceDeployment our UpdateService created, by time alone:
    /// created on either side of our ECS deployment's `createdAt` within the slack, and not
    /// finished before it (a re-run or `--force-new-deployment` of the same revision must not
    /// take the previous, already SUCCESSFUL deployment for ours). Unknown times prove nothing
    /// either way.
    pub fn could_be_ours(&self, ours_created: Option<f64>) -> bool {
        let Some(ours) = ours_created else {
            return true;
        };
        let created = self.created_at.as_ref().and_then(timestamp_seconds);
        let finished = self.finished_at.as_ref().and_then(timestamp_seconds);
        let in_window = created.is_none_or(|created| {
            created + CREATED_BEFORE_SLACK >= ours && created <= ours + CREATED_AFTER_SLACK
        });
        let finished_before = finished.is_some_and(|finished| finished < ours);
        in_window && !finished_before
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RevisionSummary {
    #[serde(default)]
    pub arn: String,
    #[serde(default)]
    pub requested_task_count: i64,
    #[serde(default)]
    pub running_task_count: i64,
    #[serde(default)]
    pub pending_task_count: i64,
    #[serde(default)]
    pub requested_test_traffic_weight: Option<f64>,
    #[serde(default)]
    pub requested_production_traffic_weight: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct HookDetail {
    #[serde(default)]
    pub hook_id: String,
    /// PAUSE or AWS_LAMBDA.
    #[serde(default)]
    pub target_type: Option<String>,
    #[serde(default)]
    pub target_arn: Option<String>,
    /// AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED or TIMED_OUT.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub expires_at: Option<Value>,
    /// CONTINUE or ROLLBACK: what ECS does when a paused hook times out.
    #[serde(default)]
    pub timeout_action: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub service_revision_arn: Option<String>,
}

/// The circuit breaker's view of the deployment.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Monitor {
    /// MONITORING, TRIGGERED, MONITORING_COMPLETE or DISABLED.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub failure_count: i64,
    #[serde(default)]
    pub threshold: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Alarms {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub alarm_names: Vec<String>,
    #[serde(default)]
    pub triggered_alarm_names: Vec<String>,
}

/// Reads the deployments of a DescribeServiceDeployments answer.
pub fn parse_answer(answer: &Value) -> Result<Vec<ServiceDeployment>, String> {
    let listed = answer
        .get("serviceDeployments")
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    serde_json::from_value(listed).map_err(|e| format!("unexpected serviceDeployments: {e}"))
}

const SUCCESSFUL: &str = "SUCCESSFUL";
const AWAITING_ACTION: &str = "AWAITING_ACTION";

impl ServiceDeployment {
    /// The last part of the ARN: what ECS's console shows as the deployment's id.
    pub fn id(&self) -> &str {
        short_id(&self.service_deployment_arn)
    }

    /// ROLLING unless the deployment configuration says otherwise.
    pub fn strategy(&self) -> &str {
        strategy_of(self.deployment_configuration.as_ref())
    }

    /// Whether ECS is done with it, one way or the other.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status.as_str(),
            "SUCCESSFUL" | "STOPPED" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED"
        )
    }

    /// Any rollback or stop, requested or done.
    pub fn is_undone(&self) -> bool {
        self.status.starts_with("ROLLBACK") || self.status.starts_with("STOP")
    }

    /// A rollback or stop ECS has not finished: whether production is back on the previous
    /// revision, or the rollback itself failed (hooks run again during a rollback), is not known
    /// yet.
    pub fn is_undoing(&self) -> bool {
        self.is_undone() && !self.is_finished()
    }

    /// What a finished rollback or stop means, for the line a wait ends with (after
    /// `--rollback-on-cancel` too): ECS's own status word, never a bare "SUCCESSFUL".
    pub fn undone_outcome(&self, previous: Option<&str>) -> String {
        let id = self.id();
        let back_on = previous
            .map(|previous| format!(": the service runs {previous} again"))
            .unwrap_or_else(|| ": the service runs the previous revision again".to_string());
        match self.status.as_str() {
            "ROLLBACK_SUCCESSFUL" => format!("ECS rolled back service deployment {id}: ROLLBACK_SUCCESSFUL{back_on}"),
            "ROLLBACK_FAILED" => format!(
                "ECS failed to roll back service deployment {id}: ROLLBACK_FAILED: the service needs \
                 a person now; look at its events and stopped tasks, and at the lifecycle hooks, \
                 which run again during a rollback"
            ),
            "STOPPED" => format!("ECS stopped service deployment {id}: STOPPED"),
            "SUCCESSFUL" => format!(
                "service deployment {id} finished SUCCESSFUL before ECS could roll it back"
            ),
            other => format!("ECS is still undoing service deployment {id}: {other}"),
        }
    }

    /// The lifecycle hook waiting for ContinueServiceDeployment, if any.
    pub fn paused_hook(&self) -> Option<&HookDetail> {
        self.lifecycle_hook_details
            .iter()
            .find(|hook| hook.status == AWAITING_ACTION)
    }

    /// Production traffic on the target revision and on every source revision, in percent,
    /// when ECS reports weights (blue/green, linear and canary deployments).
    pub fn production_weights(&self) -> Option<(f64, f64)> {
        let new = self
            .target_service_revision
            .as_ref()?
            .requested_production_traffic_weight?;
        let old = self
            .source_service_revisions
            .iter()
            .filter_map(|source| source.requested_production_traffic_weight)
            .sum();
        Some((new, old))
    }

    pub fn test_weight(&self) -> Option<f64> {
        self.target_service_revision
            .as_ref()?
            .requested_test_traffic_weight
    }

    /// The target revision's task counts: running of requested, pending.
    pub fn counts(&self) -> Option<(i64, i64, i64)> {
        let target = self.target_service_revision.as_ref()?;
        Some((
            target.running_task_count,
            target.requested_task_count,
            target.pending_task_count,
        ))
    }

    /// The service revision a rollback goes back to: ECS's rollback details, else the source.
    pub fn rollback_revision(&self) -> Option<&str> {
        self.rollback
            .as_ref()
            .and_then(|rollback| rollback.service_revision_arn.as_deref())
            .or_else(|| {
                self.source_service_revisions
                    .first()
                    .map(|source| source.arn.as_str())
            })
            .filter(|arn| !arn.is_empty())
    }

    /// Why the deployment did not succeed, in ECS's words: its status, the rollback reason,
    /// the triggered alarms and the circuit breaker's count.
    pub fn failure(&self) -> String {
        self.failure_back_to(None)
    }

    /// [`Self::failure`], naming the task definition a rollback goes back to.
    pub fn failure_back_to(&self, previous: Option<&str>) -> String {
        let what = match self.status.as_str() {
            "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" => "ECS is rolling back deployment",
            "ROLLBACK_SUCCESSFUL" => "ECS rolled back deployment",
            "ROLLBACK_FAILED" => "ECS failed to roll back deployment",
            "STOP_REQUESTED" => "ECS is stopping deployment",
            "STOPPED" => "ECS stopped deployment",
            _ => "deployment",
        };
        let mut message = format!("{what} {} ({})", self.id(), self.status);
        if let Some(previous) = previous.filter(|_| self.status.starts_with("ROLLBACK")) {
            message = format!(
                "{message}; {} the service back to {previous}",
                if self.status == "ROLLBACK_SUCCESSFUL" {
                    "it rolled"
                } else {
                    "it is rolling"
                }
            );
        }
        let reasons: Vec<&str> = [
            self.rollback.as_ref().and_then(|r| r.reason.as_deref()),
            self.status_reason.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|reason| !reason.is_empty())
        .collect();
        let mut reasons = reasons;
        reasons.dedup();
        if !reasons.is_empty() {
            message.push_str(": ");
            message.push_str(&reasons.join("; "));
        }
        if let Some(alarms) = &self.alarms {
            if !alarms.triggered_alarm_names.is_empty() {
                message.push_str(&format!(
                    "; alarms triggered: {}",
                    alarms.triggered_alarm_names.join(", ")
                ));
            }
        }
        if let Some(breaker) = &self.deployment_circuit_breaker {
            if breaker.status == "TRIGGERED" {
                message.push_str(&format!(
                    "; circuit breaker triggered: {} of {} tasks failed",
                    breaker.failure_count, breaker.threshold
                ));
            }
        }
        if let Some(hook) = self
            .lifecycle_hook_details
            .iter()
            .find(|hook| matches!(hook.status.as_str(), "FAILED" | "TIMED_OUT"))
        {
            message.push_str(&format!(
                "; lifecycle hook {} {}",
                hook.hook_id,
                hook.status.to_lowercase().replace('_', " ")
            ));
        }
        if self.status == "ROLLBACK_FAILED" {
            message.push_str(
                "; the service needs a person now: look at its events and stopped tasks, and at \
                 the lifecycle hooks, which run again during a rollback",
            );
        }
        message
    }
}

/// The last part of a service deployment ARN.
pub fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// What the ServiceDeployment says about the wait.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    InProgress,
    Succeeded,
    /// ECS is rolling our deployment back (or stopping it) and has not finished: a failure
    /// whose end is not known yet.
    Undoing(String),
    /// `--wait-until paused`: the deployment waits at this PAUSE hook.
    Paused {
        hook_id: String,
    },
    /// `--wait-until bake-time`: production traffic is on our revision and it is baking.
    Baking,
    Failed(String),
}

/// Decides what the deployment means for a wait that ends at `until`. Success is SUCCESSFUL;
/// any rollback or stop is a failure, `Undoing` while ECS has not finished it. Any other status,
/// known or not (users report DRAINING), is "keep waiting".
pub fn assess(deployment: &ServiceDeployment, until: &WaitUntil) -> Verdict {
    if deployment.status == SUCCESSFUL {
        return Verdict::Succeeded;
    }
    if deployment.is_undoing() {
        return Verdict::Undoing(deployment.failure());
    }
    if deployment.is_undone() {
        return Verdict::Failed(deployment.failure());
    }
    match until {
        WaitUntil::Paused => {
            if let Some(hook) = deployment.paused_hook() {
                return Verdict::Paused {
                    hook_id: hook.hook_id.clone(),
                };
            }
        }
        WaitUntil::BakeTime => {
            // The final bake: production traffic all on ours. A linear step's or the canary's
            // bake at a share of the traffic is not it, whatever stage ECS names; for those
            // strategies the weights must say 100%.
            let all_traffic = match deployment.production_weights() {
                Some((new, _)) => new >= 99.999,
                None => !matches!(deployment.strategy(), "LINEAR" | "CANARY"),
            };
            if all_traffic
                && matches!(
                    deployment.lifecycle_stage.as_deref(),
                    Some("BAKE_TIME" | "CLEAN_UP")
                )
            {
                return Verdict::Baking;
            }
        }
        WaitUntil::Stable | WaitUntil::Running => {}
    }
    Verdict::InProgress
}

/// What each lifecycle stage means, for the log.
pub fn stage_meaning(stage: &str) -> &'static str {
    match stage {
        "RECONCILE_SERVICE" => "reconciling the service's active revisions",
        "PRE_SCALE_UP" => "before the new revision starts",
        "SCALE_UP" => "starting the new revision's tasks",
        "POST_SCALE_UP" => "the new revision's tasks started; no traffic yet",
        "TEST_TRAFFIC_SHIFT" => "shifting test traffic to the new revision",
        "POST_TEST_TRAFFIC_SHIFT" => "test traffic is on the new revision",
        "PRODUCTION_TRAFFIC_SHIFT" => "shifting production traffic to the new revision",
        "POST_PRODUCTION_TRAFFIC_SHIFT" => "production traffic is on the new revision",
        "BAKE_TIME" => "baking: both revisions run while production traffic is on the new one",
        "CLEAN_UP" => "stopping the old revision",
        _ => "",
    }
}

/// Turns successive answers into log lines: one per change of status, stage, traffic weights,
/// hook state, circuit-breaker count or triggered alarms, and nothing when nothing changed.
#[derive(Debug, Default)]
pub struct DeploymentLog {
    status: Option<String>,
    stage: Option<String>,
    weights: Option<(i64, i64)>,
    test_weight: Option<i64>,
    hooks: Vec<(String, String)>,
    failures: i64,
    triggered: Vec<String>,
    /// Seconds (on the caller's clock) when the bake stage was first seen.
    baking_since: Option<f64>,
}

impl DeploymentLog {
    /// Lines for what changed since the last answer; `now` is seconds on the caller's clock.
    pub fn observe(&mut self, deployment: &ServiceDeployment, now: f64) -> Vec<String> {
        let mut lines = Vec::new();
        if deployment.lifecycle_stage != self.stage {
            if let Some(stage) = &deployment.lifecycle_stage {
                let mut line = format!("stage {stage}");
                let meaning = stage_meaning(stage);
                if !meaning.is_empty() {
                    line.push_str(&format!(": {meaning}"));
                }
                if stage == "BAKE_TIME" {
                    self.baking_since = Some(now);
                    if let Some(bake) = bake_time(deployment.deployment_configuration.as_ref()) {
                        line.push_str(&format!(" for {}", format_duration(bake)));
                    }
                }
                lines.push(line);
            }
            self.stage = deployment.lifecycle_stage.clone();
        }
        if self.status.as_deref() != Some(deployment.status.as_str()) {
            if self.status.is_some() || deployment.status != "IN_PROGRESS" {
                lines.push(format!(
                    "service deployment {} is {}",
                    deployment.id(),
                    deployment.status
                ));
            }
            self.status = Some(deployment.status.clone());
        }
        if let Some(test) = deployment.test_weight() {
            let rounded = test.round() as i64;
            if self.test_weight != Some(rounded) {
                if self.test_weight.is_some() || rounded != 0 {
                    lines.push(format!("test traffic {rounded}% new"));
                }
                self.test_weight = Some(rounded);
            }
        }
        if let Some((new, old)) = deployment.production_weights() {
            let weights = (new.round() as i64, old.round() as i64);
            if self.weights != Some(weights) {
                lines.push(format!("production {}", weights_text(new, old)));
                self.weights = Some(weights);
            }
        }
        for hook in &deployment.lifecycle_hook_details {
            let known = self.hooks.iter_mut().find(|(id, _)| *id == hook.hook_id);
            let changed = match known {
                Some((_, status)) if *status == hook.status => false,
                Some((_, status)) => {
                    *status = hook.status.clone();
                    true
                }
                None => {
                    self.hooks.push((hook.hook_id.clone(), hook.status.clone()));
                    true
                }
            };
            if changed {
                lines.push(hook_line(hook));
            }
        }
        if let Some(breaker) = &deployment.deployment_circuit_breaker {
            if breaker.failure_count > self.failures {
                lines.push(format!(
                    "circuit breaker: {} of {} tasks failed",
                    breaker.failure_count, breaker.threshold
                ));
                self.failures = breaker.failure_count;
            }
        }
        if let Some(alarms) = &deployment.alarms {
            let fresh: Vec<&String> = alarms
                .triggered_alarm_names
                .iter()
                .filter(|name| !self.triggered.contains(name))
                .collect();
            if !fresh.is_empty() {
                lines.push(format!(
                    "alarm triggered: {}",
                    fresh
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                self.triggered.extend(fresh.into_iter().cloned());
            }
        }
        lines
    }

    /// The heartbeat's summary: stage, weights and the bake time left.
    pub fn summary(&self, deployment: &ServiceDeployment, now: f64) -> String {
        let mut parts = vec![match &deployment.lifecycle_stage {
            Some(stage) => format!("stage {stage}"),
            None => deployment.status.clone(),
        }];
        if let Some((running, requested, pending)) = deployment.counts() {
            parts.push(format!(
                "{running} of {requested} new tasks running, {pending} pending"
            ));
        }
        if let Some((new, old)) = deployment.production_weights() {
            parts.push(format!("production {}", weights_text(new, old)));
        }
        if let (Some(since), Some(bake)) = (
            self.baking_since,
            bake_time(deployment.deployment_configuration.as_ref()),
        ) {
            if deployment.lifecycle_stage.as_deref() == Some("BAKE_TIME") {
                let left = bake.saturating_sub(Duration::from_secs_f64((now - since).max(0.0)));
                parts.push(format!("{} of bake time left", format_duration(left)));
            }
        }
        if let Some(hook) = deployment.paused_hook() {
            parts.push(format!("paused at lifecycle hook {}", hook.hook_id));
        }
        parts.join(", ")
    }
}

fn weights_text(new: f64, old: f64) -> String {
    format!("{}% new / {}% old", percent(new), percent(old))
}

fn percent(value: f64) -> String {
    if (value - value.round()).abs() < 0.05 {
        format!("{}", value.round() as i64)
    } else {
        format!("{value:.1}")
    }
}

fn hook_line(hook: &HookDetail) -> String {
    let kind = hook.target_type.as_deref().unwrap_or("hook");
    let mut line = format!(
        "lifecycle hook {} ({kind}) {}",
        hook.hook_id,
        hook.status.to_lowercase().replace('_', " ")
    );
    if hook.status == AWAITING_ACTION {
        if let Some(expires) = hook.expires_at.as_ref().and_then(timestamp_text) {
            line.push_str(&format!(" until {expires}"));
        }
        if let Some(action) = &hook.timeout_action {
            line.push_str(&format!(", then {}", action.to_lowercase()));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The AWS CLI's documented answer for a finished rolling deployment.
    fn rolling_successful() -> Value {
        json!({
            "serviceDeployments": [{
                "serviceDeploymentArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/tutorial-cluster/tutorial-site-service/ejGvqq2ilnbKT9qj0vLJe",
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/tutorial-cluster/tutorial-site-service",
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/tutorial-cluster",
                "createdAt": "2024-10-31T08:03:30.917000-04:00",
                "startedAt": "2024-10-31T08:03:32.510000-04:00",
                "finishedAt": "2024-10-31T08:05:04.527000-04:00",
                "updatedAt": "2024-10-31T08:05:04.527000-04:00",
                "sourceServiceRevisions": [],
                "targetServiceRevision": {
                    "arn": "arn:aws:ecs:us-east-1:123456789012:service-revision/tutorial-cluster/tutorial-site-service/1485800978477494678",
                    "requestedTaskCount": 1, "runningTaskCount": 1, "pendingTaskCount": 0
                },
                "status": "SUCCESSFUL",
                "deploymentConfiguration": {
                    "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                    "maximumPercent": 200, "minimumHealthyPercent": 100,
                    "alarms": {"alarmNames": [], "rollback": false, "enable": false}
                },
                "deploymentCircuitBreaker": {"status": "MONITORING_COMPLETE", "failureCount": 0, "threshold": 3},
                "alarms": {"status": "DISABLED"}
            }],
            "failures": []
        })
    }

    /// A canary at 10% with a pause hook waiting, as the wire sends it (epoch seconds).
    fn canary(status: &str, stage: &str, new_weight: f64, hook_status: &str) -> ServiceDeployment {
        let answer = json!({"serviceDeployments": [{
            "serviceDeploymentArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/tutorial-cluster/tutorial-site-service/Kz3c8E0wJm1",
            "status": status,
            "lifecycleStage": stage,
            "createdAt": 1.7302e9,
            "targetServiceRevision": {"arn": "arn:aws:ecs:us-east-1:123456789012:service-revision/tutorial-cluster/tutorial-site-service/2", "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0, "requestedTestTrafficWeight": 100.0, "requestedProductionTrafficWeight": new_weight},
            "sourceServiceRevisions": [{"arn": "arn:aws:ecs:us-east-1:123456789012:service-revision/tutorial-cluster/tutorial-site-service/1", "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0, "requestedTestTrafficWeight": 0.0, "requestedProductionTrafficWeight": 100.0 - new_weight}],
            "lifecycleHookDetails": [{"hookId": "hook-1", "targetType": "PAUSE", "status": hook_status, "expiresAt": 1730203600.0, "timeoutAction": "ROLLBACK"}],
            "deploymentConfiguration": {"strategy": "CANARY", "bakeTimeInMinutes": 5, "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 2}},
            "deploymentCircuitBreaker": {"status": "MONITORING", "failureCount": 0, "threshold": 3},
            "alarms": {"status": "MONITORING", "alarmNames": ["tutorial-5xx"], "triggeredAlarmNames": []}
        }]});
        parse_answer(&answer).unwrap().remove(0)
    }

    #[test]
    fn the_documented_rolling_answer_reads_and_succeeds() {
        let deployments = parse_answer(&rolling_successful()).unwrap();
        let deployment = &deployments[0];
        assert_eq!(deployment.id(), "ejGvqq2ilnbKT9qj0vLJe");
        assert_eq!(deployment.strategy(), "ROLLING");
        assert_eq!(deployment.counts(), Some((1, 1, 0)));
        assert_eq!(deployment.production_weights(), None);
        assert_eq!(assess(deployment, &WaitUntil::Stable), Verdict::Succeeded);
        assert_eq!(
            timestamp_seconds(deployment.created_at.as_ref().unwrap()),
            Some(1_730_376_210.917)
        );
    }

    #[test]
    fn every_rollback_and_stop_is_a_failure_with_the_reasons() {
        let mut deployment = canary("ROLLBACK_IN_PROGRESS", "BAKE_TIME", 100.0, "SUCCEEDED");
        deployment.rollback = Some(Rollback {
            reason: Some("Alarm tutorial-5xx went into ALARM".into()),
            service_revision_arn: None,
        });
        deployment.alarms.as_mut().unwrap().triggered_alarm_names = vec!["tutorial-5xx".into()];
        let Verdict::Undoing(message) = assess(&deployment, &WaitUntil::Stable) else {
            panic!("a rollback in progress is a failure whose end is not known yet");
        };
        assert_eq!(
            message,
            "ECS is rolling back deployment Kz3c8E0wJm1 (ROLLBACK_IN_PROGRESS): Alarm tutorial-5xx went into ALARM; alarms triggered: tutorial-5xx"
        );
        for status in ["ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED"] {
            let deployment = canary(status, "SCALE_UP", 0.0, "IN_PROGRESS");
            assert!(
                matches!(assess(&deployment, &WaitUntil::Paused), Verdict::Failed(_)),
                "{status}"
            );
        }
        for status in [
            "ROLLBACK_REQUESTED",
            "ROLLBACK_IN_PROGRESS",
            "STOP_REQUESTED",
        ] {
            let deployment = canary(status, "SCALE_UP", 0.0, "AWAITING_ACTION");
            assert!(
                matches!(assess(&deployment, &WaitUntil::Paused), Verdict::Undoing(_)),
                "{status}"
            );
        }
        let mut breaker = canary("ROLLBACK_SUCCESSFUL", "CLEAN_UP", 0.0, "SUCCEEDED");
        breaker.status_reason = Some("deployment failed: tasks failed to start".into());
        breaker.deployment_circuit_breaker = Some(Monitor {
            status: "TRIGGERED".into(),
            failure_count: 3,
            threshold: 3,
        });
        let Verdict::Failed(message) = assess(&breaker, &WaitUntil::Stable) else {
            panic!()
        };
        assert!(message.starts_with("ECS rolled back deployment Kz3c8E0wJm1 (ROLLBACK_SUCCESSFUL): deployment failed: tasks failed to start"), "{message}");
        assert!(message.ends_with("circuit breaker triggered: 3 of 3 tasks failed"));
        assert_eq!(
            breaker.rollback_revision(),
            Some("arn:aws:ecs:us-east-1:123456789012:service-revision/tutorial-cluster/tutorial-site-service/1")
        );
        assert!(breaker
            .failure_back_to(Some("tutorial-site-task:1"))
            .starts_with("ECS rolled back deployment Kz3c8E0wJm1 (ROLLBACK_SUCCESSFUL); it rolled the service back to tutorial-site-task:1: deployment failed"));
        let stopped = canary("STOPPED", "SCALE_UP", 0.0, "IN_PROGRESS");
        assert!(!stopped
            .failure_back_to(Some("tutorial-site-task:1"))
            .contains("back to"));
    }

    /// Issue 19, defect 10: what a finished rollback says names ECS's status as ECS wrote it
    /// (ServiceDeploymentStatus in the API reference), never "rolled back: SUCCESSFUL"; a
    /// failed rollback says a person is needed.
    #[test]
    fn a_finished_rollback_is_worded_with_ecs_status() {
        let rolled_back = canary("ROLLBACK_SUCCESSFUL", "CLEAN_UP", 0.0, "SUCCEEDED");
        assert_eq!(
            rolled_back.undone_outcome(Some("tutorial-site-task:1")),
            "ECS rolled back service deployment Kz3c8E0wJm1: ROLLBACK_SUCCESSFUL: the service runs tutorial-site-task:1 again"
        );
        let failed = canary("ROLLBACK_FAILED", "CLEAN_UP", 0.0, "FAILED");
        assert!(failed
            .undone_outcome(None)
            .starts_with("ECS failed to roll back service deployment Kz3c8E0wJm1: ROLLBACK_FAILED: the service needs a person now"));
        assert!(failed.failure().contains("the service needs a person now"));
        let succeeded = canary("SUCCESSFUL", "CLEAN_UP", 100.0, "SUCCEEDED");
        assert_eq!(
            succeeded.undone_outcome(None),
            "service deployment Kz3c8E0wJm1 finished SUCCESSFUL before ECS could roll it back"
        );
        for deployment in [rolled_back, failed, succeeded] {
            assert!(!deployment
                .undone_outcome(None)
                .contains("rolled back: SUCCESSFUL"));
        }
    }

    /// Statuses outside the enum (users report DRAINING on a failed rolling deployment) and a
    /// deployment with hook details but no status or stage are "keep waiting", never success.
    #[test]
    fn unknown_statuses_and_missing_fields_keep_the_wait_going() {
        let draining = canary("DRAINING", "SCALE_UP", 0.0, "IN_PROGRESS");
        for until in [WaitUntil::Stable, WaitUntil::Running, WaitUntil::BakeTime] {
            assert_eq!(assess(&draining, &until), Verdict::InProgress);
        }
        let answer = json!({"serviceDeployments": [{
            "serviceDeploymentArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/x",
            "lifecycleHookDetails": [{"hookId": "h", "targetType": "AWS_LAMBDA", "status": "IN_PROGRESS"}]
        }]});
        let bare = parse_answer(&answer).unwrap().remove(0);
        assert_eq!(assess(&bare, &WaitUntil::Stable), Verdict::InProgress);
        assert_eq!(assess(&bare, &WaitUntil::BakeTime), Verdict::InProgress);
    }

    /// Issue 19, defect 8: `--wait-until bake-time` is the final bake with all production
    /// traffic on ours, not a canary's or a linear step's bake at a share of it, whatever stage
    /// ECS names while it bakes.
    #[test]
    fn bake_time_is_the_final_bake_with_all_production_traffic() {
        let canary_bake = canary("IN_PROGRESS", "BAKE_TIME", 10.0, "SUCCEEDED");
        assert_eq!(
            assess(&canary_bake, &WaitUntil::BakeTime),
            Verdict::InProgress
        );
        let final_bake = canary("IN_PROGRESS", "BAKE_TIME", 100.0, "SUCCEEDED");
        assert_eq!(assess(&final_bake, &WaitUntil::BakeTime), Verdict::Baking);
        // Integer weights, as users' pasted answers have them.
        let answer = json!({"serviceDeployments": [{
            "serviceDeploymentArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/y",
            "status": "IN_PROGRESS", "lifecycleStage": "BAKE_TIME",
            "targetServiceRevision": {"arn": "r2", "requestedProductionTrafficWeight": 100},
            "sourceServiceRevisions": [{"arn": "r1", "requestedProductionTrafficWeight": 0}],
            "deploymentConfiguration": {"strategy": "LINEAR"}
        }]});
        let integer = parse_answer(&answer).unwrap().remove(0);
        assert_eq!(assess(&integer, &WaitUntil::BakeTime), Verdict::Baking);
        // A linear deployment that reports no weights cannot prove its traffic is all on ours.
        let mut unweighted = integer.clone();
        unweighted
            .target_service_revision
            .as_mut()
            .unwrap()
            .requested_production_traffic_weight = None;
        assert_eq!(
            assess(&unweighted, &WaitUntil::BakeTime),
            Verdict::InProgress
        );
    }

    /// Issue 19, defect 4: a re-run of the same revision must not take the previous, already
    /// SUCCESSFUL service deployment for ours. ECS writes `createdAt` and `finishedAt` of both;
    /// ours was created at 1730376300.
    #[test]
    fn only_a_deployment_created_around_ours_and_not_finished_before_it_is_ours() {
        let ours = Some(1_730_376_300.0);
        let mut previous = parse_answer(&rolling_successful()).unwrap().remove(0);
        // Created 90 s before ours: outside the slack.
        assert!(!previous.could_be_ours(ours));
        // Created 30 s before ours but finished 5 s before it: the previous one, done.
        previous.created_at = Some(json!(1_730_376_270.0));
        previous.finished_at = Some(json!(1_730_376_295.0));
        assert!(!previous.could_be_ours(ours));
        // Created 2 s before ours by ECS's other clock, still in progress: ours.
        previous.created_at = Some(json!("2024-10-31T12:04:58.123456789Z"));
        previous.finished_at = None;
        assert!(previous.could_be_ours(ours));
        // Long after ours: someone else's.
        previous.created_at = Some(json!(1_730_377_300.0));
        assert!(!previous.could_be_ours(ours));
        // A UTC offset and nine fractional digits, as users paste them.
        previous.created_at = Some(json!("2024-10-31T08:05:01.000000001-04:00"));
        assert!(previous.could_be_ours(ours));
        assert!(previous.could_be_ours(None));
    }

    /// AWS's examples show a singular `sourceServiceRevision` object at times.
    #[test]
    fn a_singular_source_revision_is_read_as_the_list() {
        let answer = json!({"serviceDeployments": [{
            "serviceDeploymentArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/z",
            "status": "ROLLBACK_IN_PROGRESS",
            "sourceServiceRevision": {"arn": "arn:aws:ecs:us-east-1:123456789012:service-revision/c/s/1", "requestedTaskCount": 1},
            "targetServiceRevision": {"arn": "arn:aws:ecs:us-east-1:123456789012:service-revision/c/s/2"}
        }]});
        let deployment = parse_answer(&answer).unwrap().remove(0);
        assert_eq!(
            deployment.rollback_revision(),
            Some("arn:aws:ecs:us-east-1:123456789012:service-revision/c/s/1")
        );
        let empty = json!({"serviceDeployments": [{"serviceDeploymentArn": "a", "sourceServiceRevisions": null}]});
        assert!(parse_answer(&empty).unwrap()[0]
            .source_service_revisions
            .is_empty());
    }

    #[test]
    fn the_wait_ends_where_it_was_asked_to() {
        let paused = canary(
            "IN_PROGRESS",
            "POST_TEST_TRAFFIC_SHIFT",
            0.0,
            "AWAITING_ACTION",
        );
        assert_eq!(
            assess(&paused, &WaitUntil::Paused),
            Verdict::Paused {
                hook_id: "hook-1".into()
            }
        );
        assert_eq!(assess(&paused, &WaitUntil::Stable), Verdict::InProgress);
        let baking = canary("IN_PROGRESS", "BAKE_TIME", 100.0, "SUCCEEDED");
        assert_eq!(assess(&baking, &WaitUntil::BakeTime), Verdict::Baking);
        assert_eq!(assess(&baking, &WaitUntil::Paused), Verdict::InProgress);
        assert_eq!(assess(&baking, &WaitUntil::Stable), Verdict::InProgress);
        let shifting = canary("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 10.0, "SUCCEEDED");
        assert_eq!(assess(&shifting, &WaitUntil::BakeTime), Verdict::InProgress);
    }

    #[test]
    fn the_log_has_one_line_per_change_and_nothing_when_nothing_changed() {
        let mut log = DeploymentLog::default();
        let first = canary(
            "IN_PROGRESS",
            "PRODUCTION_TRAFFIC_SHIFT",
            10.0,
            "IN_PROGRESS",
        );
        assert_eq!(
            log.observe(&first, 0.0),
            vec![
                "stage PRODUCTION_TRAFFIC_SHIFT: shifting production traffic to the new revision",
                "test traffic 100% new",
                "production 10% new / 90% old",
                "lifecycle hook hook-1 (PAUSE) in progress",
            ]
        );
        assert!(log.observe(&first, 5.0).is_empty());
        let paused = canary(
            "IN_PROGRESS",
            "PRODUCTION_TRAFFIC_SHIFT",
            10.0,
            "AWAITING_ACTION",
        );
        assert_eq!(
            log.observe(&paused, 6.0),
            vec!["lifecycle hook hook-1 (PAUSE) awaiting action until 2024-10-29T12:06:40Z, then rollback"]
        );
        let baking = canary("IN_PROGRESS", "BAKE_TIME", 100.0, "SUCCEEDED");
        assert_eq!(
            log.observe(&baking, 10.0),
            vec![
                "stage BAKE_TIME: baking: both revisions run while production traffic is on the new one for 5m00s",
                "production 100% new / 0% old",
                "lifecycle hook hook-1 (PAUSE) succeeded",
            ]
        );
        assert_eq!(
            log.summary(&baking, 70.0),
            "stage BAKE_TIME, 2 of 2 new tasks running, 0 pending, production 100% new / 0% old, 4m00s of bake time left"
        );
        let mut done = baking.clone();
        done.status = "SUCCESSFUL".into();
        done.lifecycle_stage = None;
        assert_eq!(
            log.observe(&done, 400.0),
            vec!["service deployment Kz3c8E0wJm1 is SUCCESSFUL"]
        );
    }

    #[test]
    fn circuit_breaker_counts_and_alarms_are_told_once() {
        let mut log = DeploymentLog::default();
        let mut deployment = canary("IN_PROGRESS", "SCALE_UP", 0.0, "IN_PROGRESS");
        log.observe(&deployment, 0.0);
        deployment
            .deployment_circuit_breaker
            .as_mut()
            .unwrap()
            .failure_count = 1;
        deployment.alarms.as_mut().unwrap().triggered_alarm_names = vec!["tutorial-5xx".into()];
        assert_eq!(
            log.observe(&deployment, 1.0),
            vec![
                "circuit breaker: 1 of 3 tasks failed",
                "alarm triggered: tutorial-5xx"
            ]
        );
        assert!(log.observe(&deployment, 2.0).is_empty());
    }
}
