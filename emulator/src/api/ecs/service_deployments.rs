//! Service deployments as the ServiceDeployment API reports them (List, Describe, Stop,
//! Continue) and DescribeServiceRevisions: where the engine's deployment is, in ECS's words.
use serde_json::{json, Value};

use super::shared::{existing_cluster, invalid};
use crate::config::Settings;
use crate::engine::deployments::is_ongoing;
use crate::protocol::{required, Answer, ApiError};
use crate::state::{now, strategy_of, Deployment, Service, State};

/// A ServiceRevisionSummary of the deployment that rolls out `revision` (counts from it while
/// it is one of the service's deployments, zero once it left).
fn revision_summary(service: &Service, revision: &str, weights: Option<(f64, f64)>) -> Value {
    let live = service
        .deployments
        .iter()
        .find(|d| d.revision_arn == revision);
    let (requested, running, pending) = live.map_or((0, 0, 0), |d| {
        (d.desired_count, d.running_count, d.pending_count)
    });
    let mut summary = json!({
        "arn": revision,
        "requestedTaskCount": requested,
        "runningTaskCount": running,
        "pendingTaskCount": pending,
    });
    if let Some((production, test)) = weights {
        summary["requestedProductionTrafficWeight"] = json!(production);
        summary["requestedTestTrafficWeight"] = json!(test);
    }
    summary
}

/// The ServiceDeployment DescribeServiceDeployments answers for `deployment` of `service`.
pub fn describe(
    settings: &Settings,
    state: &State,
    service: &Service,
    deployment: &Deployment,
) -> Value {
    let ongoing = is_ongoing(&deployment.listed_status);
    let native = strategy_of(&deployment.configuration) != "ROLLING";
    let weights = |new: bool| {
        native.then(|| {
            let (production, test) = (deployment.production_weight, deployment.test_weight);
            if new {
                (production, test)
            } else {
                (100.0 - production, 100.0 - test)
            }
        })
    };
    let configuration = &deployment.configuration;
    let breaker = &configuration["deploymentCircuitBreaker"];
    let breaker_status = if breaker["enable"].as_bool() != Some(true) {
        "DISABLED"
    } else if deployment.breaker_tripped {
        "TRIGGERED"
    } else if ongoing {
        "MONITORING"
    } else {
        "MONITORING_COMPLETE"
    };
    let alarms = &configuration["alarms"];
    let alarm_status = if alarms["enable"].as_bool() != Some(true) {
        "DISABLED"
    } else if !deployment.triggered_alarms.is_empty() {
        "TRIGGERED"
    } else if ongoing {
        "MONITORING"
    } else {
        "MONITORING_COMPLETE"
    };
    let mut answer = json!({
        "serviceDeploymentArn": deployment.arn,
        "serviceArn": service.arn,
        "clusterArn": state.clusters.get(&service.cluster),
        "createdAt": deployment.created_at,
        "startedAt": deployment.started_at,
        "updatedAt": deployment.updated_at,
        "sourceServiceRevisions": deployment.source_revisions.iter()
            .map(|revision| revision_summary(service, revision, weights(false)))
            .collect::<Vec<_>>(),
        "targetServiceRevision": revision_summary(service, &deployment.revision_arn, weights(true)),
        "status": deployment.listed_status,
        "deploymentConfiguration": configuration,
        "deploymentCircuitBreaker": {
            "status": breaker_status,
            "failureCount": deployment.failed_tasks,
            "threshold": crate::engine::runner::threshold(settings, deployment.desired_count),
        },
        "alarms": {
            "status": alarm_status,
            "alarmNames": alarms["alarmNames"].as_array().cloned().unwrap_or_default(),
            "triggeredAlarmNames": deployment.triggered_alarms,
        },
    });
    if let Some(reason) = &deployment.status_reason {
        answer["statusReason"] = json!(reason);
    }
    if let Some(finished) = deployment.finished_at {
        let key = if deployment.listed_status == "STOPPED" {
            "stoppedAt"
        } else {
            "finishedAt"
        };
        answer[key] = json!(finished);
    }
    if let Some(stage) = &deployment.lifecycle_stage {
        answer["lifecycleStage"] = json!(stage);
    }
    if native {
        answer["lifecycleHookDetails"] = deployment
            .hooks
            .iter()
            .map(|hook| {
                let mut detail = json!({
                    "hookId": hook.id,
                    "targetType": hook.target_type,
                    "status": hook.status,
                    "timeoutAction": hook.timeout_action,
                });
                if let Some(arn) = &hook.target_arn {
                    detail["targetArn"] = json!(arn);
                }
                if let Some(expires) = hook.expires_at {
                    detail["expiresAt"] = json!(expires);
                }
                detail
            })
            .collect();
    }
    if let Some(rollback) = &deployment.rollback {
        answer["rollback"] = json!({
            "reason": rollback.reason,
            "startedAt": rollback.started_at,
            "serviceRevisionArn": rollback.revision_arn,
        });
    }
    answer
}

/// Where a service deployment ARN leads: the service's index, and whether the deployment is one
/// of its `deployments` (at this position) or in its history.
enum Found {
    Live(usize, usize),
    History(usize, usize),
}

fn find(state: &State, arn: &str) -> Option<Found> {
    state
        .services
        .iter()
        .enumerate()
        .find_map(|(index, service)| {
            if let Some(position) = service.deployments.iter().position(|d| d.arn == arn) {
                return Some(Found::Live(index, position));
            }
            service
                .history
                .iter()
                .position(|(d, _)| d.arn == arn)
                .map(|position| Found::History(index, position))
        })
}

fn deployment<'a>(state: &'a State, found: &Found) -> (&'a Service, &'a Deployment) {
    match *found {
        Found::Live(service, position) => {
            let service = &state.services[service];
            (service, &service.deployments[position])
        }
        Found::History(service, position) => {
            let service = &state.services[service];
            (service, &service.history[position].0)
        }
    }
}

fn deployment_mut<'a>(state: &'a mut State, found: &Found) -> &'a mut Deployment {
    match *found {
        Found::Live(service, position) => &mut state.services[service].deployments[position],
        Found::History(service, position) => &mut state.services[service].history[position].0,
    }
}

fn not_found(arn: &str) -> ApiError {
    ApiError::client(
        "ServiceDeploymentNotFoundException",
        format!("The service deployment {arn} does not exist."),
    )
}

pub fn describe_service_deployments(settings: &Settings, state: &State, input: &Value) -> Answer {
    let arns: Vec<&str> = input
        .get("serviceDeploymentArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if arns.is_empty() {
        return Err(invalid("serviceDeploymentArns must not be empty."));
    }
    let mut described = Vec::new();
    let mut failures = Vec::new();
    for arn in arns {
        match find(state, arn) {
            Some(found) => {
                let (service, deployment) = deployment(state, &found);
                described.push(describe(settings, state, service, deployment));
            }
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceDeployments": described, "failures": failures}))
}

/// StopServiceDeployment: ROLLBACK (the only stop type ECS accepts) of an ongoing deployment;
/// the runner rolls it back on its next step.
pub fn stop_service_deployment(state: &mut State, input: &Value) -> Answer {
    let arn = required(input, "serviceDeploymentArn")?.to_string();
    let stop_type = input
        .get("stopType")
        .and_then(Value::as_str)
        .unwrap_or("ROLLBACK");
    if stop_type != "ROLLBACK" {
        return Err(invalid(format!(
            "The stop type {stop_type} is not supported. The valid value is ROLLBACK."
        )));
    }
    let found = find(state, &arn).ok_or_else(|| not_found(&arn))?;
    let (_, current) = deployment(state, &found);
    let status = current.listed_status.clone();
    if !is_ongoing(&status) {
        return Err(ApiError::client(
            "ConflictException",
            format!("The service deployment is {status} and can no longer be stopped."),
        ));
    }
    if current.source_revisions.is_empty() {
        return Err(ApiError::client(
            "ConflictException",
            "The service deployment has no previous service revision to roll back to.",
        ));
    }
    if matches!(status.as_str(), "PENDING" | "IN_PROGRESS") {
        let deployment = deployment_mut(state, &found);
        deployment.listed_status = "ROLLBACK_REQUESTED".into();
        deployment.status_reason =
            Some("Service deployment rolled back because of a stop request.".into());
        deployment.updated_at = now();
    }
    Ok(json!({"serviceDeploymentArn": arn}))
}

/// ContinueServiceDeployment: acts on a PAUSE hook waiting for it.
pub fn continue_service_deployment(state: &mut State, input: &Value) -> Answer {
    let arn = required(input, "serviceDeploymentArn")?.to_string();
    let hook_id = required(input, "hookId")?.to_string();
    let action = required(input, "action")?.to_string();
    if !["CONTINUE", "ROLLBACK"].contains(&action.as_str()) {
        return Err(invalid(format!(
            "The action {action} is not valid. Valid values are CONTINUE and ROLLBACK."
        )));
    }
    let found = find(state, &arn).ok_or_else(|| not_found(&arn))?;
    let deployment = deployment_mut(state, &found);
    let Some(hook) = deployment.hooks.iter_mut().find(|h| h.id == hook_id) else {
        return Err(invalid(format!(
            "The lifecycle hook {hook_id} was not found in the service deployment."
        )));
    };
    if hook.status != "AWAITING_ACTION" || deployment.listed_status != "IN_PROGRESS" {
        return Err(ApiError::client(
            "ClientException",
            format!(
                "The lifecycle hook {hook_id} is {}, not AWAITING_ACTION.",
                hook.status
            ),
        ));
    }
    hook.status = "SUCCEEDED".into();
    let stage = hook.stage.clone();
    deployment.updated_at = now();
    if action == "ROLLBACK" {
        deployment.listed_status = "ROLLBACK_REQUESTED".into();
        deployment.status_reason = Some(format!(
            "Rolled back by ContinueServiceDeployment at the lifecycle hook {hook_id} ({stage})."
        ));
    }
    Ok(json!({"serviceDeploymentArn": arn}))
}

pub(super) fn list_service_deployments(state: &State, input: &Value) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let name = required(input, "service")?;
    let index = state
        .service_index(&cluster, name)
        .ok_or_else(|| ApiError::client("ServiceNotFoundException", "Service not found."))?;
    let service = &state.services[index];
    let mut all: Vec<&Deployment> = service.deployments.iter().collect();
    all.extend(service.history.iter().map(|(deployment, _)| deployment));
    // The API promises no order: oldest first here, so a client that takes the first entry
    // for the newest fails its tests.
    all.sort_by(|a, b| a.created_at.total_cmp(&b.created_at));
    let statuses: Vec<&str> = input
        .get("status")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    all.retain(|deployment| {
        statuses.is_empty() || statuses.contains(&deployment.listed_status.as_str())
    });
    // Pages of maxResults (1 to 100, default 20); nextToken is the index of the next entry.
    let page_size = input
        .get("maxResults")
        .and_then(Value::as_u64)
        .unwrap_or(20);
    if !(1..=100).contains(&page_size) {
        return Err(ApiError::client(
            "InvalidParameterException",
            "maxResults must be between 1 and 100.",
        ));
    }
    let start = match input.get("nextToken").and_then(Value::as_str) {
        Some(token) => token.parse::<usize>().map_err(|_| {
            ApiError::client("InvalidParameterException", "The nextToken is not valid.")
        })?,
        None => 0,
    };
    let end = (start + page_size as usize).min(all.len());
    let next_token = (end < all.len()).then(|| end.to_string());
    let listed: Vec<Value> = all
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|deployment| {
            let mut brief = json!({
                "serviceDeploymentArn": deployment.arn,
                "serviceArn": service.arn,
                "clusterArn": state.clusters[&cluster],
                "targetServiceRevisionArn": deployment.revision_arn,
                "status": deployment.listed_status,
                "createdAt": deployment.created_at,
                "startedAt": deployment.started_at,
            });
            if let Some(reason) = &deployment.status_reason {
                brief["statusReason"] = json!(reason);
            }
            if let Some(finished) = deployment.finished_at {
                brief["finishedAt"] = json!(finished);
            }
            brief
        })
        .collect();
    let mut answer = json!({"serviceDeployments": listed});
    if let Some(token) = next_token {
        answer["nextToken"] = json!(token);
    }
    Ok(answer)
}

pub(super) fn describe_service_revisions(state: &State, input: &Value) -> Answer {
    let wanted: Vec<&str> = input
        .get("serviceRevisionArns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut revisions = Vec::new();
    for service in &state.services {
        let deployments = service
            .deployments
            .iter()
            .chain(service.history.iter().map(|(d, _)| d));
        for deployment in deployments.filter(|d| wanted.contains(&d.revision_arn.as_str())) {
            revisions.push(json!({
                "serviceRevisionArn": deployment.revision_arn,
                "serviceArn": service.arn,
                "clusterArn": state.clusters.get(&service.cluster),
                "taskDefinition": deployment.task_definition,
                "launchType": "FARGATE",
                "loadBalancers": deployment.load_balancers,
                "createdAt": deployment.created_at,
            }));
        }
    }
    let failures: Vec<Value> = wanted
        .iter()
        .filter(|arn| !revisions.iter().any(|r| r["serviceRevisionArn"] == **arn))
        .map(|arn| json!({"arn": arn, "reason": "MISSING"}))
        .collect();
    Ok(json!({"serviceRevisions": revisions, "failures": failures}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::deployments::fixtures::*;
    use crate::engine::deployments::{advance, roll_back};

    #[test]
    fn a_pause_hook_waits_for_continue_and_times_out_with_its_action() {
        let settings = settings();
        let configuration = json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
            "targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "timeoutConfiguration": {"timeoutInMinutes": 5, "action": "ROLLBACK"}
        }]});
        let mut deployment = native(configuration.clone());
        advance(&settings, &mut deployment, SCALED, 10.0);
        assert_eq!(
            deployment.lifecycle_stage.as_deref(),
            Some("POST_TEST_TRAFFIC_SHIFT")
        );
        assert_eq!(deployment.hooks.len(), 1);
        let hook = deployment.hooks[0].clone();
        assert_eq!(
            (hook.status.as_str(), hook.target_type.as_str()),
            ("AWAITING_ACTION", "PAUSE")
        );
        assert_eq!(hook.expires_at, Some(15.0));
        assert_eq!(deployment.test_weight, 100.0);
        assert_eq!(
            deployment.production_weight, 0.0,
            "production waits for the hook"
        );
        advance(&settings, &mut deployment, SCALED, 12.0);
        assert_eq!(
            deployment.lifecycle_stage.as_deref(),
            Some("POST_TEST_TRAFFIC_SHIFT")
        );

        // CONTINUE through the API moves it on.
        let mut state = State::new(&settings);
        let mut service = service_with(deployment.clone());
        state.services.push(service.clone());
        let input = json!({"serviceDeploymentArn": deployment.arn, "hookId": hook.id, "action": "CONTINUE"});
        continue_service_deployment(&mut state, &input).unwrap();
        let error = continue_service_deployment(&mut state, &input).unwrap_err();
        assert_eq!(error.code, "ClientException", "the hook no longer waits");
        let mut continued = state.services[0].deployments[0].clone();
        assert_eq!(continued.hooks[0].status, "SUCCEEDED");
        advance(&settings, &mut continued, SCALED, 13.0);
        assert_eq!(continued.production_weight, 100.0);

        // Left alone, the timeout's ROLLBACK applies.
        let step = advance(&settings, &mut deployment, SCALED, 15.0);
        assert_eq!(deployment.hooks[0].status, "TIMED_OUT");
        assert!(step.roll_back.unwrap().contains("timed out"));

        // ROLLBACK through the API asks for a rollback.
        service.deployments[0].hooks[0].status = "AWAITING_ACTION".into();
        state.services[0] = service;
        let input = json!({"serviceDeploymentArn": deployment.arn, "hookId": hook.id, "action": "ROLLBACK"});
        continue_service_deployment(&mut state, &input).unwrap();
        assert_eq!(
            state.services[0].deployments[0].listed_status,
            "ROLLBACK_REQUESTED"
        );
    }

    #[test]
    fn continue_is_refused_for_unknown_deployments_hooks_and_actions() {
        let settings = settings();
        let mut state = State::new(&settings);
        state
            .services
            .push(service_with(native(json!({"strategy": "BLUE_GREEN"}))));
        let arn = state.services[0].deployments[0].arn.clone();
        let cases = [
            (
                json!({"serviceDeploymentArn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/web/9", "hookId": "h", "action": "CONTINUE"}),
                "ServiceDeploymentNotFoundException",
            ),
            (
                json!({"serviceDeploymentArn": arn, "hookId": "nothing", "action": "CONTINUE"}),
                "InvalidParameterException",
            ),
            (
                json!({"serviceDeploymentArn": arn, "hookId": "h", "action": "LATER"}),
                "InvalidParameterException",
            ),
            (
                json!({"serviceDeploymentArn": arn, "action": "CONTINUE"}),
                "InvalidParameterException",
            ),
        ];
        for (input, code) in cases {
            let error = continue_service_deployment(&mut state, &input).unwrap_err();
            assert_eq!(error.code, code, "{input}");
        }
    }

    #[test]
    fn a_failing_lambda_hook_and_a_bake_time_alarm_roll_back() {
        let mut settings = settings();
        settings.faults.failing_hook_stages = vec!["POST_SCALE_UP".into()];
        let mut deployment = native(json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [{
            "targetType": "AWS_LAMBDA", "hookTargetArn": "arn:aws:lambda:eu-west-1:123456789012:function:check",
            "lifecycleStages": ["POST_SCALE_UP"]
        }]}));
        let step = advance(&settings, &mut deployment, SCALED, 0.0);
        assert_eq!(step.roll_back, None);
        assert_eq!(deployment.hooks[0].status, "IN_PROGRESS");
        let step = advance(&settings, &mut deployment, SCALED, 0.5);
        assert_eq!(deployment.hooks[0].status, "FAILED");
        assert!(step.roll_back.unwrap().contains("failed at POST_SCALE_UP"));

        let mut settings = self::settings();
        settings.faults.bake_alarms = vec!["latency".into()];
        let alarms = json!({"alarmNames": ["latency", "errors"], "enable": true, "rollback": true});
        let mut deployment =
            native(json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 10, "alarms": alarms}));
        advance(&settings, &mut deployment, SCALED, 0.0);
        assert_eq!(deployment.lifecycle_stage.as_deref(), Some("BAKE_TIME"));
        let step = advance(&settings, &mut deployment, SCALED, 1.0);
        assert!(step.roll_back.unwrap().contains("latency"));
        assert_eq!(deployment.triggered_alarms, ["latency"]);
        let service = service_with(deployment.clone());
        let state = State::new(&settings);
        let described = describe(&settings, &state, &service, &deployment);
        assert_eq!(described["alarms"]["status"], "TRIGGERED");
        assert_eq!(
            described["alarms"]["triggeredAlarmNames"],
            json!(["latency"])
        );
        assert_eq!(
            described["alarms"]["alarmNames"],
            json!(["latency", "errors"])
        );
    }

    #[test]
    fn a_described_deployment_has_the_api_shape() {
        let settings = settings();
        let mut deployment = native(
            json!({"strategy": "CANARY", "deploymentCircuitBreaker": {"enable": true, "rollback": true}}),
        );
        advance(&settings, &mut deployment, SCALED, 0.0);
        let service = service_with(deployment.clone());
        let mut state = State::new(&settings);
        state.clusters.insert(
            "c".into(),
            "arn:aws:ecs:eu-west-1:123456789012:cluster/c".into(),
        );
        let described = describe(&settings, &state, &service, &deployment);
        assert_eq!(described["status"], "IN_PROGRESS");
        assert_eq!(described["lifecycleStage"], "PRODUCTION_TRAFFIC_SHIFT");
        assert_eq!(
            described["clusterArn"],
            "arn:aws:ecs:eu-west-1:123456789012:cluster/c"
        );
        assert_eq!(
            described["targetServiceRevision"]["requestedProductionTrafficWeight"],
            5.0
        );
        assert_eq!(
            described["targetServiceRevision"]["requestedTestTrafficWeight"],
            100.0
        );
        assert_eq!(
            described["sourceServiceRevisions"][0]["requestedProductionTrafficWeight"],
            95.0
        );
        assert_eq!(
            described["sourceServiceRevisions"][0]["runningTaskCount"],
            2
        );
        assert_eq!(
            described["deploymentCircuitBreaker"],
            json!({"status": "MONITORING", "failureCount": 0, "threshold": 3})
        );
        assert_eq!(described["alarms"]["status"], "DISABLED");
        assert_eq!(described["lifecycleHookDetails"], json!([]));
        assert!(described.get("finishedAt").is_none());
    }

    #[test]
    fn stop_takes_rollback_only_for_an_ongoing_deployment() {
        let settings = settings();
        let mut state = State::new(&settings);
        state
            .services
            .push(service_with(native(json!({"strategy": "BLUE_GREEN"}))));
        let arn = state.services[0].deployments[0].arn.clone();
        let error = stop_service_deployment(
            &mut state,
            &json!({"serviceDeploymentArn": arn, "stopType": "ABORT"}),
        )
        .unwrap_err();
        assert_eq!(error.code, "InvalidParameterException");
        let error = stop_service_deployment(
            &mut state,
            &json!({"serviceDeploymentArn": "nothing", "stopType": "ROLLBACK"}),
        )
        .unwrap_err();
        assert_eq!(error.code, "ServiceDeploymentNotFoundException");
        stop_service_deployment(
            &mut state,
            &json!({"serviceDeploymentArn": arn, "stopType": "ROLLBACK"}),
        )
        .unwrap();
        assert_eq!(
            state.services[0].deployments[0].listed_status,
            "ROLLBACK_REQUESTED"
        );
        // Asked again while it rolls back: it goes on.
        stop_service_deployment(&mut state, &json!({"serviceDeploymentArn": arn})).unwrap();
        assert!(roll_back(&mut state, 0, "stop", "rolling back"));
        let (failed, _) = &state.services[0].history[0];
        assert_eq!(failed.listed_status, "ROLLBACK_IN_PROGRESS");
        assert_eq!(
            failed.rollback.as_ref().unwrap().revision_arn,
            state.services[0].deployments[0].revision_arn
        );
        state.services[0].history[0].0.listed_status = "ROLLBACK_SUCCESSFUL".into();
        let error =
            stop_service_deployment(&mut state, &json!({"serviceDeploymentArn": arn})).unwrap_err();
        assert_eq!(error.code, "ConflictException");
    }
}
