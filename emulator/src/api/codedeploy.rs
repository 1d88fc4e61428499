//! CodeDeploy for ECS services with the CODE_DEPLOY controller: applications, deployment groups
//! and deployments. A deployment drives the same blue/green machinery as ECS's native strategy
//! (`deployments`: green tasks, test then production traffic, bake, blue cleanup), and is
//! reported in CodeDeploy's words: its status and the ECS target's lifecycle events.
use serde_json::{json, Value};

use crate::api::Context;
use crate::engine::deployments::{is_ongoing, phases, start_deployment};
use crate::protocol::{required, Answer, ApiError};
use crate::state::codedeploy::CodeDeployment;
use crate::state::{now, rand_id, Deployment, State};

pub async fn handle(context: &Context, operation: &str, input: &Value) -> Answer {
    let mut state = context.state.lock().await;
    match operation {
        "CreateApplication" => create_application(&mut state, input),
        "GetApplication" => get_application(&state, input),
        "CreateDeploymentGroup" => create_deployment_group(&mut state, input),
        "GetDeploymentGroup" => get_deployment_group(&state, input),
        "GetDeploymentConfig" => get_deployment_config(input),
        "ContinueDeployment" => continue_deployment(&mut state, input),
        "ListDeployments" => list_deployments(&state, input),
        "CreateDeployment" => create_deployment(&mut state, input),
        "GetDeployment" => get_deployment(&state, input),
        "StopDeployment" => stop_deployment(&mut state, input),
        "ListDeploymentTargets" => list_deployment_targets(&state, input),
        "GetDeploymentTarget" => get_deployment_target(&state, input),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("the emulator does not implement CodeDeploy {other}"),
        )),
    }
}

fn client(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::client(code, message)
}

fn application_missing(name: &str) -> ApiError {
    client(
        "ApplicationDoesNotExistException",
        format!("The application {name} does not exist with the user or AWS account."),
    )
}

fn create_application(state: &mut State, input: &Value) -> Answer {
    let name = required(input, "applicationName")?.to_string();
    let platform = input
        .get("computePlatform")
        .and_then(Value::as_str)
        .unwrap_or("Server");
    if state.codedeploy.applications.contains_key(&name) {
        return Err(client(
            "ApplicationAlreadyExistsException",
            format!("The application {name} already exists with the user or AWS account."),
        ));
    }
    let id = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        rand_id() as u32,
        rand_id() as u64 & 0xffff_ffff_ffff
    );
    state.codedeploy.applications.insert(
        name.clone(),
        json!({"applicationId": id, "applicationName": name, "createTime": now(), "linkedToGitHub": false, "computePlatform": platform}),
    );
    Ok(json!({"applicationId": id}))
}

fn get_application(state: &State, input: &Value) -> Answer {
    let name = required(input, "applicationName")?;
    let application = state
        .codedeploy
        .applications
        .get(name)
        .ok_or_else(|| application_missing(name))?;
    Ok(json!({"application": application}))
}

fn create_deployment_group(state: &mut State, input: &Value) -> Answer {
    let application = required(input, "applicationName")?.to_string();
    let name = required(input, "deploymentGroupName")?.to_string();
    required(input, "serviceRoleArn")?;
    let platform = state
        .codedeploy
        .applications
        .get(&application)
        .ok_or_else(|| application_missing(&application))?["computePlatform"]
        .clone();
    let key = (application.clone(), name.clone());
    if state.codedeploy.groups.contains_key(&key) {
        return Err(client(
            "DeploymentGroupAlreadyExistsException",
            format!("The deployment group {name} already exists."),
        ));
    }
    let services = input.get("ecsServices").cloned().unwrap_or(json!([]));
    if platform == "ECS" {
        let listed = services.as_array().map_or(0, Vec::len);
        if listed != 1 {
            return Err(client(
                "InvalidECSServiceException",
                "An ECS deployment group deploys exactly one ECS service.",
            ));
        }
        let cluster = services[0]["clusterName"].as_str().unwrap_or_default();
        let service = services[0]["serviceName"].as_str().unwrap_or_default();
        let found = state
            .service_index(cluster, service)
            .map(|index| &state.services[index]);
        match found {
            None => {
                return Err(client(
                    "InvalidECSServiceException",
                    format!("The ECS service {service} of cluster {cluster} does not exist."),
                ))
            }
            Some(found) if found.deployment_controller != "CODE_DEPLOY" => {
                return Err(client(
                    "InvalidECSServiceException",
                    format!(
                    "The ECS service {service} does not use the CODE_DEPLOY deployment controller."
                ),
                ))
            }
            Some(_) => {}
        }
    }
    let id = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        rand_id() as u32,
        rand_id() as u64 & 0xffff_ffff_ffff
    );
    let group = json!({
        "applicationName": application,
        "deploymentGroupId": id,
        "deploymentGroupName": name,
        "deploymentConfigName": input.get("deploymentConfigName").and_then(Value::as_str).unwrap_or("CodeDeployDefault.ECSAllAtOnce"),
        "serviceRoleArn": input["serviceRoleArn"],
        "autoRollbackConfiguration": input.get("autoRollbackConfiguration").cloned().unwrap_or(json!({"enabled": false})),
        "deploymentStyle": input.get("deploymentStyle").cloned().unwrap_or(json!({"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"})),
        "blueGreenDeploymentConfiguration": input.get("blueGreenDeploymentConfiguration").cloned().unwrap_or(json!({})),
        "loadBalancerInfo": input.get("loadBalancerInfo").cloned().unwrap_or(json!({})),
        "ecsServices": services,
        "computePlatform": platform,
    });
    state.codedeploy.groups.insert(key, group);
    Ok(json!({"deploymentGroupId": id}))
}

fn get_deployment_group(state: &State, input: &Value) -> Answer {
    let application = required(input, "applicationName")?;
    let name = required(input, "deploymentGroupName")?;
    if !state.codedeploy.applications.contains_key(application) {
        return Err(application_missing(application));
    }
    let group = state
        .codedeploy
        .groups
        .get(&(application.to_string(), name.to_string()))
        .ok_or_else(|| {
            client(
                "DeploymentGroupDoesNotExistException",
                format!("No Deployment Group found for name: {name}"),
            )
        })?;
    Ok(json!({"deploymentGroupInfo": group}))
}

/// GetDeploymentConfig of a predefined ECS configuration, as CodeDeploy answers it: the
/// traffic routing (`AllAtOnce`, `TimeBasedCanary` or `TimeBasedLinear` with the percent and the
/// interval in minutes) on the ECS compute platform.
fn get_deployment_config(input: &Value) -> Answer {
    let name = required(input, "deploymentConfigName")?;
    let configuration = ecs_configuration(name, &json!({}))?;
    let routing = match configuration["strategy"].as_str() {
        Some("CANARY") => json!({"type": "TimeBasedCanary", "timeBasedCanary": {
            "canaryPercentage": configuration["canaryConfiguration"]["canaryPercent"],
            "canaryInterval": configuration["canaryConfiguration"]["canaryBakeTimeInMinutes"]}}),
        Some("LINEAR") => json!({"type": "TimeBasedLinear", "timeBasedLinear": {
            "linearPercentage": configuration["linearConfiguration"]["stepPercent"],
            "linearInterval": configuration["linearConfiguration"]["stepBakeTimeInMinutes"]}}),
        _ => json!({"type": "AllAtOnce"}),
    };
    Ok(json!({"deploymentConfigInfo": {
        "deploymentConfigName": name,
        "computePlatform": "ECS",
        "trafficRoutingConfig": routing
    }}))
}

/// The ECS deployment configuration a CodeDeploy deployment configuration drives: all at once
/// is BLUE_GREEN, `ECSCanaryNPercentMMinutes` CANARY, `ECSLinearNPercentEveryMMinutes` LINEAR;
/// the blue tasks are kept for the group's termination wait (the bake time).
pub fn ecs_configuration(config_name: &str, group: &Value) -> Result<Value, ApiError> {
    let bake = group
        .pointer("/blueGreenDeploymentConfiguration/terminateBlueInstancesOnDeploymentSuccess/terminationWaitTimeInMinutes")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let name = config_name
        .strip_prefix("CodeDeployDefault.")
        .unwrap_or(config_name);
    let numbers = |rest: &str| -> Option<(f64, f64)> {
        let (percent, rest) = rest.split_once("Percent")?;
        let minutes = rest
            .trim_start_matches("Every")
            .trim_end_matches("Minutes")
            .trim_end_matches("Minute");
        Some((percent.parse().ok()?, minutes.parse().ok()?))
    };
    let mut configuration = if name == "ECSAllAtOnce" {
        json!({"strategy": "BLUE_GREEN"})
    } else if let Some((percent, minutes)) = name.strip_prefix("ECSCanary").and_then(numbers) {
        json!({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": percent, "canaryBakeTimeInMinutes": minutes}})
    } else if let Some((percent, minutes)) = name.strip_prefix("ECSLinear").and_then(numbers) {
        json!({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": percent, "stepBakeTimeInMinutes": minutes}})
    } else {
        return Err(client(
            "DeploymentConfigDoesNotExistException",
            format!("No deployment configuration found for name: {config_name}"),
        ));
    };
    configuration["bakeTimeInMinutes"] = json!(bake);
    configuration["maximumPercent"] = json!(200);
    configuration["minimumHealthyPercent"] = json!(100);
    // The group's ready wait: with STOP_DEPLOYMENT, the green tasks wait (status Ready) until
    // someone calls ContinueDeployment, or the wait time passes and the deployment stops.
    let ready = group.pointer("/blueGreenDeploymentConfiguration/deploymentReadyOption");
    if ready.and_then(|r| r["actionOnTimeout"].as_str()) == Some("STOP_DEPLOYMENT") {
        let wait = ready
            .and_then(|r| r["waitTimeInMinutes"].as_f64())
            .unwrap_or(0.0)
            .max(1.0);
        configuration["lifecycleHooks"] = json!([{
            "targetType": "PAUSE",
            "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"],
            "timeoutConfiguration": {"timeoutInMinutes": wait, "action": "ROLLBACK"}
        }]);
    }
    Ok(configuration)
}

/// ContinueDeployment of a deployment waiting in Ready (`deploymentWaitType` READY_WAIT, the
/// default): traffic is rerouted and the deployment goes on.
fn continue_deployment(state: &mut State, input: &Value) -> Answer {
    let id = required(input, "deploymentId")?.to_string();
    let wait_type = input["deploymentWaitType"].as_str().unwrap_or("READY_WAIT");
    if wait_type != "READY_WAIT" {
        return Err(client(
            "DeploymentIsNotInReadyStateException",
            format!("Deployment {id} is not waiting in {wait_type}."),
        ));
    }
    let deployment = find(state, input)?.clone();
    let waiting = ecs_deployment(state, &deployment).and_then(|ecs| {
        ecs.hooks
            .iter()
            .find(|hook| hook.status == "AWAITING_ACTION")
            .map(|hook| (ecs.arn.clone(), hook.id.clone()))
    });
    let Some((arn, hook_id)) = waiting else {
        return Err(client(
            "DeploymentIsNotInReadyStateException",
            format!("Deployment {id} is not in a Ready state."),
        ));
    };
    crate::api::ecs::service_deployments::continue_service_deployment(
        state,
        &json!({"serviceDeploymentArn": arn, "hookId": hook_id, "action": "CONTINUE"}),
    )?;
    Ok(json!({}))
}

fn create_deployment(state: &mut State, input: &Value) -> Answer {
    let application = required(input, "applicationName")?.to_string();
    let group_name = required(input, "deploymentGroupName")?.to_string();
    let group = get_deployment_group(
        state,
        &json!({"applicationName": application, "deploymentGroupName": group_name}),
    )?["deploymentGroupInfo"]
        .clone();
    let revision = input.get("revision").cloned().unwrap_or(Value::Null);
    if revision["revisionType"] != "AppSpecContent" {
        return Err(client(
            "InvalidRevisionException",
            "The emulator deploys ECS services from an AppSpecContent revision.",
        ));
    }
    let content = revision["appSpecContent"]["content"]
        .as_str()
        .unwrap_or_default();
    if let Some(sha256) = revision["appSpecContent"]["sha256"].as_str() {
        if sha256 != hex_sha256(content) {
            return Err(client(
                "InvalidRevisionException",
                "The AppSpec content does not match its SHA-256.",
            ));
        }
    }
    let appspec: Value = serde_json::from_str(content).map_err(|e| {
        client(
            "InvalidRevisionException",
            format!("The AppSpec content is not JSON: {e}"),
        )
    })?;
    let properties = &appspec["Resources"][0]["TargetService"]["Properties"];
    if appspec["Resources"][0]["TargetService"]["Type"] != "AWS::ECS::Service" {
        return Err(client(
            "InvalidRevisionException",
            "The AppSpec has no TargetService of type AWS::ECS::Service.",
        ));
    }
    let reference = properties["TaskDefinition"].as_str().unwrap_or_default();
    let task_definition = state
        .find_revision(reference)
        .filter(|r| r.status == "ACTIVE")
        .map(|r| r.arn.clone())
        .ok_or_else(|| {
            client(
                "InvalidRevisionException",
                format!("The task definition {reference} does not exist."),
            )
        })?;
    let cluster = group["ecsServices"][0]["clusterName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let service = group["ecsServices"][0]["serviceName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let index = state.service_index(&cluster, &service).ok_or_else(|| {
        client(
            "InvalidECSServiceException",
            format!("The ECS service {service} of cluster {cluster} does not exist."),
        )
    })?;
    let balanced = &state.services[index].load_balancers[0];
    let (container, port) = (
        properties["LoadBalancerInfo"]["ContainerName"].as_str(),
        properties["LoadBalancerInfo"]["ContainerPort"].as_i64(),
    );
    if container != balanced["containerName"].as_str() || port != balanced["containerPort"].as_i64()
    {
        return Err(client(
            "InvalidRevisionException",
            format!(
                "The AppSpec's LoadBalancerInfo ({}:{}) is not the service's load balanced container ({}:{}).",
                container.unwrap_or("none"),
                port.unwrap_or_default(),
                balanced["containerName"].as_str().unwrap_or("none"),
                balanced["containerPort"].as_i64().unwrap_or_default()
            ),
        ));
    }
    if state
        .codedeploy
        .deployments
        .iter()
        .any(|d| d.application == application && d.group == group_name && in_progress(state, d))
    {
        return Err(client(
            "DeploymentLimitExceededException",
            format!("The Deployment Group '{group_name}' already has an active Deployment."),
        ));
    }
    let config_name = input
        .get("deploymentConfigName")
        .and_then(Value::as_str)
        .or(group["deploymentConfigName"].as_str())
        .unwrap_or("CodeDeployDefault.ECSAllAtOnce")
        .to_string();
    let configuration = ecs_configuration(&config_name, &group)?;
    let ecs_deployment = start_deployment(
        state,
        index,
        (&cluster, &service),
        &task_definition,
        &configuration,
    );
    let id = format!("d-{:09X}", rand_id() as u64 % 0x10_0000_0000);
    state.add_event(
        index,
        format!("(deployment {ecs_deployment}) started by CodeDeploy deployment {id}."),
    );
    state.codedeploy.deployments.push(CodeDeployment {
        id: id.clone(),
        application,
        group: group_name,
        config_name,
        revision,
        description: input["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        created_at: now(),
        cluster,
        service,
        ecs_deployment,
        stopped: None,
    });
    Ok(json!({"deploymentId": id}))
}

fn hex_sha256(content: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(content.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The ECS deployment behind a CodeDeploy deployment: live, or finished (in the history).
fn ecs_deployment<'a>(state: &'a State, deployment: &CodeDeployment) -> Option<&'a Deployment> {
    let service = state
        .services
        .iter()
        .find(|s| s.cluster == deployment.cluster && s.name == deployment.service)?;
    service
        .deployments
        .iter()
        .chain(service.history.iter().map(|(d, _)| d))
        .find(|d| d.id == deployment.ecs_deployment)
}

fn in_progress(state: &State, deployment: &CodeDeployment) -> bool {
    ecs_deployment(state, deployment).is_some_and(|d| is_ongoing(&d.listed_status))
}

/// CodeDeploy's status for the deployment, and its error information when it failed.
fn status(state: &State, deployment: &CodeDeployment) -> (&'static str, Option<Value>) {
    let Some(ecs) = ecs_deployment(state, deployment) else {
        return (
            "Failed",
            Some(json!({"code": "ECS_UPDATE_ERROR", "message": "The ECS deployment disappeared."})),
        );
    };
    let reason = ecs.status_reason.clone().unwrap_or_default();
    match ecs.listed_status.as_str() {
        "SUCCESSFUL" => ("Succeeded", None),
        "PENDING" => ("Created", None),
        // The group's ready wait: green is up, production traffic waits for ContinueDeployment.
        "IN_PROGRESS"
            if ecs
                .hooks
                .iter()
                .any(|hook| hook.status == "AWAITING_ACTION") =>
        {
            ("Ready", None)
        }
        // Production traffic is on green; the blue tasks wait out the termination wait.
        "IN_PROGRESS"
            if matches!(
                ecs.lifecycle_stage.as_deref(),
                Some("BAKE_TIME" | "CLEAN_UP")
            ) =>
        {
            ("Baking", None)
        }
        "IN_PROGRESS" | "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "STOP_REQUESTED" => {
            ("InProgress", None)
        }
        _ if deployment.stopped.is_some() => (
            "Stopped",
            Some(
                json!({"code": "MANUAL_STOP", "message": "The deployment was stopped by a StopDeployment request."}),
            ),
        ),
        _ => (
            "Failed",
            Some(
                json!({"code": "ECS_UPDATE_ERROR", "message": format!("The ECS deployment failed: {reason}")}),
            ),
        ),
    }
}

/// ListDeployments of an application's deployment group, oldest first.
fn list_deployments(state: &State, input: &Value) -> Answer {
    let application = input["applicationName"].as_str();
    let group = input["deploymentGroupName"].as_str();
    let ids: Vec<&str> = state
        .codedeploy
        .deployments
        .iter()
        .filter(|d| application.is_none_or(|a| d.application == a))
        .filter(|d| group.is_none_or(|g| d.group == g))
        .map(|d| d.id.as_str())
        .collect();
    Ok(json!({"deployments": ids}))
}

fn find<'a>(state: &'a State, input: &Value) -> Result<&'a CodeDeployment, ApiError> {
    let id = required(input, "deploymentId")?;
    state
        .codedeploy
        .deployments
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| {
            client(
                "DeploymentDoesNotExistException",
                format!("The deployment {id} could not be found."),
            )
        })
}

fn get_deployment(state: &State, input: &Value) -> Answer {
    let deployment = find(state, input)?;
    let (status, error) = status(state, deployment);
    let ecs = ecs_deployment(state, deployment);
    let mut info = json!({
        "applicationName": deployment.application,
        "deploymentGroupName": deployment.group,
        "deploymentConfigName": deployment.config_name,
        "deploymentId": deployment.id,
        "revision": deployment.revision,
        "status": status,
        "createTime": deployment.created_at,
        "creator": "user",
        "description": deployment.description,
        "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        "deploymentStatusMessages": [],
        "computePlatform": "ECS",
    });
    if let Some(ecs) = ecs {
        info["startTime"] = json!(ecs.started_at);
        if let Some(finished) = ecs.finished_at {
            info["completeTime"] = json!(finished);
        }
    }
    if let Some(error) = error {
        info["errorInformation"] = error;
        if ecs.is_some_and(|d| d.rollback.is_some()) && deployment.stopped != Some(false) {
            info["rollbackInfo"] = json!({
                "rollbackDeploymentId": format!("d-{}", deployment.id.trim_start_matches("d-").chars().rev().collect::<String>()),
                "rollbackMessage": "Automatic rollback: traffic was rerouted to the original task set, whose tasks kept running.",
            });
        }
    }
    Ok(json!({"deploymentInfo": info}))
}

fn stop_deployment(state: &mut State, input: &Value) -> Answer {
    let deployment = find(state, input)?.clone();
    if !in_progress(state, &deployment) {
        return Err(client(
            "DeploymentAlreadyCompletedException",
            format!("The deployment {} has already completed.", deployment.id),
        ));
    }
    let rollback = input
        .get("autoRollbackEnabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let service = state
        .services
        .iter_mut()
        .find(|s| s.cluster == deployment.cluster && s.name == deployment.service)
        .expect("in progress");
    if let Some(ecs) = service
        .deployments
        .iter_mut()
        .find(|d| d.id == deployment.ecs_deployment)
        .filter(|d| matches!(d.listed_status.as_str(), "PENDING" | "IN_PROGRESS"))
    {
        // Without rollback CodeDeploy still reroutes traffic to the original task set for an
        // ECS deployment; either way the green tasks go.
        ecs.listed_status = "ROLLBACK_REQUESTED".into();
        ecs.status_reason =
            Some("CodeDeploy deployment stopped by a StopDeployment request.".into());
        ecs.updated_at = now();
    }
    if let Some(stored) = state
        .codedeploy
        .deployments
        .iter_mut()
        .find(|d| d.id == deployment.id)
    {
        stored.stopped = Some(rollback);
    }
    Ok(json!({"status": "Pending", "statusMessage": "Stop request is pending."}))
}

fn list_deployment_targets(state: &State, input: &Value) -> Answer {
    let deployment = find(state, input)?;
    Ok(json!({"targetIds": [format!("{}:{}", deployment.cluster, deployment.service)]}))
}

/// The lifecycle events of an ECS deployment, each with the range of native phases it covers.
fn event_phases(configuration: &Value) -> Vec<(&'static str, usize, usize)> {
    let list = phases(configuration);
    let first = |stage: &str| list.iter().position(|p| p.stage == stage).unwrap_or(0);
    let last = |stage: &str| list.iter().rposition(|p| p.stage == stage).unwrap_or(0);
    let production = first("PRODUCTION_TRAFFIC_SHIFT");
    vec![
        (
            "BeforeInstall",
            first("PRE_SCALE_UP"),
            first("PRE_SCALE_UP"),
        ),
        ("Install", first("SCALE_UP"), first("SCALE_UP")),
        (
            "AfterInstall",
            first("POST_SCALE_UP"),
            first("POST_SCALE_UP"),
        ),
        (
            "AllowTestTraffic",
            first("TEST_TRAFFIC_SHIFT"),
            first("TEST_TRAFFIC_SHIFT"),
        ),
        (
            "AfterAllowTestTraffic",
            first("POST_TEST_TRAFFIC_SHIFT"),
            first("POST_TEST_TRAFFIC_SHIFT"),
        ),
        ("BeforeAllowTraffic", production, production),
        (
            "AllowTraffic",
            production + 1,
            last("PRODUCTION_TRAFFIC_SHIFT"),
        ),
        (
            "AfterAllowTraffic",
            first("POST_PRODUCTION_TRAFFIC_SHIFT"),
            first("POST_PRODUCTION_TRAFFIC_SHIFT"),
        ),
    ]
}

fn get_deployment_target(state: &State, input: &Value) -> Answer {
    let deployment = find(state, input)?;
    let target_id = required(input, "targetId")?;
    if target_id != format!("{}:{}", deployment.cluster, deployment.service) {
        return Err(client(
            "DeploymentTargetDoesNotExistException",
            format!(
                "The target {target_id} is not a target of deployment {}.",
                deployment.id
            ),
        ));
    }
    let (status, _) = status(state, deployment);
    let ecs = ecs_deployment(state, deployment);
    let (phase, listed) = ecs.map_or((0, "PENDING"), |d| (d.phase, d.listed_status.as_str()));
    let configuration = ecs.map_or(json!({}), |d| d.configuration.clone());
    let events: Vec<Value> = event_phases(&configuration)
        .into_iter()
        .map(|(name, start, end)| {
            let event_status = match (status, listed) {
                ("Succeeded", _) => "Succeeded",
                ("Failed" | "Stopped", _) | (_, "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS")
                    if phase > end =>
                {
                    "Succeeded"
                }
                ("Failed" | "Stopped", _) | (_, "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS")
                    if phase >= start =>
                {
                    "Failed"
                }
                ("Failed" | "Stopped", _) | (_, "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS") => {
                    "Skipped"
                }
                _ if phase > end => "Succeeded",
                _ if phase >= start => "InProgress",
                _ => "Pending",
            };
            json!({"lifecycleEventName": name, "status": event_status})
        })
        .collect();
    let service = state
        .services
        .iter()
        .find(|s| s.cluster == deployment.cluster && s.name == deployment.service);
    let mut sets = Vec::new();
    if let (Some(ecs), Some(service)) = (ecs, service) {
        let green_weight = if listed == "SUCCESSFUL" {
            100.0
        } else {
            ecs.production_weight
        };
        let count = |id: &str| {
            state
                .tasks
                .iter()
                .filter(|t| {
                    t.service == service.name && t.deployment_id == id && t.last_status == "RUNNING"
                })
                .count()
        };
        let blue = service.deployments.iter().find(|d| d.id != ecs.id);
        if let Some(blue) = blue {
            sets.push(json!({"identifer": blue.id, "desiredCount": blue.desired_count, "pendingCount": 0, "runningCount": count(&blue.id), "status": "ACTIVE", "trafficWeight": 100.0 - green_weight, "taskSetLabel": "Blue"}));
        }
        sets.push(json!({"identifer": ecs.id, "desiredCount": ecs.desired_count, "pendingCount": ecs.pending_count, "runningCount": count(&ecs.id), "status": if listed == "SUCCESSFUL" { "PRIMARY" } else { "ACTIVE" }, "trafficWeight": green_weight, "taskSetLabel": "Green"}));
    }
    let target_status = match status {
        "Succeeded" => "Succeeded",
        "Failed" | "Stopped" => "Failed",
        "Created" => "Pending",
        _ => "InProgress",
    };
    Ok(json!({"deploymentTarget": {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {
            "deploymentId": deployment.id,
            "targetId": target_id,
            "targetArn": service.map(|s| s.arn.clone()).unwrap_or_default(),
            "lastUpdatedAt": ecs.map_or(now(), |d| d.updated_at),
            "lifecycleEvents": events,
            "status": target_status,
            "taskSetsInfo": sets,
        }
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_configurations_drive_the_native_strategies() {
        let group = json!({"blueGreenDeploymentConfiguration": {"terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5}}});
        let all = ecs_configuration("CodeDeployDefault.ECSAllAtOnce", &group).unwrap();
        assert_eq!(all["strategy"], "BLUE_GREEN");
        assert_eq!(all["bakeTimeInMinutes"], 5.0);
        let canary =
            ecs_configuration("CodeDeployDefault.ECSCanary10Percent5Minutes", &json!({})).unwrap();
        assert_eq!(canary["canaryConfiguration"]["canaryPercent"], 10.0);
        assert_eq!(
            canary["canaryConfiguration"]["canaryBakeTimeInMinutes"],
            5.0
        );
        let linear = ecs_configuration(
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            &json!({}),
        )
        .unwrap();
        assert_eq!(linear["linearConfiguration"]["stepPercent"], 10.0);
        assert_eq!(
            ecs_configuration("CodeDeployDefault.OneAtATime", &json!({}))
                .unwrap_err()
                .code,
            "DeploymentConfigDoesNotExistException"
        );
    }

    /// GetDeploymentConfig answers the predefined ECS configurations' traffic routing, and
    /// CodeDeploy's exception for a name it does not know.
    #[test]
    fn deployment_configs_answer_their_traffic_routing() {
        let answer = get_deployment_config(
            &json!({"deploymentConfigName": "CodeDeployDefault.ECSLinear10PercentEvery3Minutes"}),
        )
        .unwrap();
        let routing = &answer["deploymentConfigInfo"]["trafficRoutingConfig"];
        assert_eq!(routing["type"], "TimeBasedLinear");
        assert_eq!(routing["timeBasedLinear"]["linearInterval"], 3.0);
        let all = get_deployment_config(
            &json!({"deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce"}),
        )
        .unwrap();
        assert_eq!(
            all["deploymentConfigInfo"]["trafficRoutingConfig"]["type"],
            "AllAtOnce"
        );
        let missing =
            get_deployment_config(&json!({"deploymentConfigName": "Custom.Slow"})).unwrap_err();
        assert_eq!(missing.code, "DeploymentConfigDoesNotExistException");
    }

    /// The group's ready wait is a state the deployment holds, not a moment: with
    /// STOP_DEPLOYMENT it is Ready on every tick until ContinueDeployment (production traffic
    /// stays on blue), then it goes on.
    #[test]
    fn a_deployment_waiting_in_ready_stays_ready_on_every_tick_until_continued() {
        use crate::engine::deployments::advance;
        use crate::engine::deployments::fixtures::{native, service_with, settings, SCALED};
        let settings = settings();
        let group = json!({"blueGreenDeploymentConfiguration": {"deploymentReadyOption":
            {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60}}});
        let configuration = ecs_configuration("CodeDeployDefault.ECSAllAtOnce", &group).unwrap();
        let mut state = State::new(&settings);
        state.services.push(service_with(native(configuration)));
        state.codedeploy.deployments.push(CodeDeployment {
            id: "d-1".into(),
            application: "app".into(),
            group: "group".into(),
            config_name: "CodeDeployDefault.ECSAllAtOnce".into(),
            revision: Value::Null,
            description: String::new(),
            created_at: 0.0,
            cluster: "c".into(),
            service: "web".into(),
            ecs_deployment: "ecs-svc/2".into(),
            stopped: None,
        });
        let tick = |state: &mut State, at: f64| {
            advance(&settings, &mut state.services[0].deployments[0], SCALED, at);
        };
        let status_of = |state: &State| {
            get_deployment(state, &json!({"deploymentId": "d-1"})).unwrap()["deploymentInfo"]
                ["status"]
                .clone()
        };
        tick(&mut state, 0.0);
        assert_eq!(status_of(&state), "Ready");
        // Any number of ticks before the wait's end (60 minutes of 1 s here): still Ready.
        for at in 1..60 {
            tick(&mut state, f64::from(at));
            assert_eq!(status_of(&state), "Ready", "at {at} s");
            assert_eq!(state.services[0].deployments[0].production_weight, 0.0);
        }
        continue_deployment(&mut state, &json!({"deploymentId": "d-1"})).unwrap();
        tick(&mut state, 59.5);
        assert_eq!(state.services[0].deployments[0].production_weight, 100.0);
        assert_eq!(status_of(&state), "Baking");
        let again = continue_deployment(&mut state, &json!({"deploymentId": "d-1"})).unwrap_err();
        assert_eq!(again.code, "DeploymentIsNotInReadyStateException");
    }

    #[test]
    fn every_lifecycle_event_covers_its_phases_in_order() {
        let events = event_phases(&json!({"strategy": "BLUE_GREEN"}));
        let names: Vec<&str> = events.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(
            names,
            [
                "BeforeInstall",
                "Install",
                "AfterInstall",
                "AllowTestTraffic",
                "AfterAllowTestTraffic",
                "BeforeAllowTraffic",
                "AllowTraffic",
                "AfterAllowTraffic"
            ]
        );
        for pair in events.windows(2) {
            assert!(pair[0].2 < pair[1].1, "{events:?}");
        }
        let canary = event_phases(&json!({"strategy": "CANARY"}));
        let allow = canary
            .iter()
            .find(|(n, _, _)| *n == "AllowTraffic")
            .unwrap();
        assert!(allow.2 > allow.1, "{canary:?}");
    }
}
