//! ECS services: CreateService, UpdateService and DescribeServices, with ECS's checks of a
//! service's load balancers and deployment configuration; a new deployment is the engine's to
//! start.
use serde_json::{json, Value};

use super::shared::{existing_cluster, invalid};
use crate::engine::deployments::{new_deployment, start_deployment};
use crate::faults::Faults;
use crate::protocol::{required, Answer, ApiError};
use crate::state::{now, strategy_of, Service, State};

fn number_in(
    value: &Value,
    name: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<(), ApiError> {
    match value.get(name) {
        None | Some(Value::Null) => Ok(()),
        Some(number) => match number.as_f64() {
            Some(n) if range.contains(&n) => Ok(()),
            _ => Err(invalid(format!(
                "{name} must be between {} and {}.",
                range.start(),
                range.end()
            ))),
        },
    }
}

/// Checks a `deploymentConfiguration` against the service's `loadBalancers` as CreateService and
/// UpdateService do: a known strategy, values in their ranges, and for the strategies that shift
/// traffic, each target group's `advancedConfiguration` (the alternate target group, the
/// production listener rule and the role ECS shifts traffic with).
pub fn validate_configuration(
    configuration: &Value,
    load_balancers: &Value,
) -> Result<(), ApiError> {
    let strategy = strategy_of(configuration);
    if !["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"].contains(&strategy) {
        return Err(invalid(format!(
            "Invalid deployment strategy {strategy}. Valid values are ROLLING, BLUE_GREEN, LINEAR and CANARY."
        )));
    }
    number_in(configuration, "bakeTimeInMinutes", 0.0..=1440.0)?;
    let linear = &configuration["linearConfiguration"];
    number_in(linear, "stepPercent", 3.0..=100.0)?;
    number_in(linear, "stepBakeTimeInMinutes", 0.0..=1440.0)?;
    let canary = &configuration["canaryConfiguration"];
    number_in(canary, "canaryPercent", 0.1..=100.0)?;
    number_in(canary, "canaryBakeTimeInMinutes", 0.0..=1440.0)?;
    if !linear.is_null() && strategy != "LINEAR" {
        return Err(invalid(
            "linearConfiguration is only valid with the LINEAR deployment strategy.",
        ));
    }
    if !canary.is_null() && strategy != "CANARY" {
        return Err(invalid(
            "canaryConfiguration is only valid with the CANARY deployment strategy.",
        ));
    }
    for hook in configuration["lifecycleHooks"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let target = hook["targetType"].as_str().unwrap_or("AWS_LAMBDA");
        if !["AWS_LAMBDA", "PAUSE"].contains(&target) {
            return Err(invalid(format!(
                "Invalid lifecycle hook targetType {target}."
            )));
        }
        if target == "AWS_LAMBDA" && hook["hookTargetArn"].as_str().is_none_or(str::is_empty) {
            return Err(invalid(
                "hookTargetArn is required for an AWS_LAMBDA lifecycle hook.",
            ));
        }
        let stages = hook["lifecycleStages"].as_array().filter(|s| !s.is_empty());
        let Some(stages) = stages else {
            return Err(invalid("lifecycleStages must not be empty."));
        };
        if let Some(stage) = stages
            .iter()
            .filter_map(Value::as_str)
            .find(|stage| !HOOK_STAGES.contains(stage))
        {
            return Err(invalid(format!("Invalid lifecycle stage {stage}.")));
        }
        let action = hook["timeoutConfiguration"]["action"]
            .as_str()
            .unwrap_or("ROLLBACK");
        if !["CONTINUE", "ROLLBACK"].contains(&action) {
            return Err(invalid(format!("Invalid timeout action {action}.")));
        }
        // "Valid Range: Minimum value of 1. Maximum value of 20160."
        // (DeploymentLifecycleHookTimeoutConfiguration, ECS API reference)
        number_in(
            &hook["timeoutConfiguration"],
            "timeoutInMinutes",
            1.0..=20160.0,
        )?;
    }
    if strategy == "ROLLING" {
        return Ok(());
    }
    let entries: Vec<&Value> = load_balancers.as_array().into_iter().flatten().collect();
    if entries.is_empty() && strategy != "BLUE_GREEN" {
        return Err(invalid(format!(
            "The {strategy} deployment strategy requires a load balancer or Service Connect."
        )));
    }
    for entry in entries {
        if entry.get("targetGroupArn").is_none() {
            continue;
        }
        let advanced = &entry["advancedConfiguration"];
        for member in [
            "alternateTargetGroupArn",
            "productionListenerRule",
            "roleArn",
        ] {
            if advanced[member].as_str().is_none_or(str::is_empty) {
                return Err(invalid(format!(
                    "advancedConfiguration.{member} is required for the {strategy} deployment strategy."
                )));
            }
        }
    }
    Ok(())
}

/// The stages lifecycle hooks run at.
const HOOK_STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

fn grace_period(input: &Value) -> Option<i64> {
    input
        .get("healthCheckGracePeriodSeconds")
        .and_then(Value::as_i64)
}

/// Checks a service's `loadBalancers` against the task definition it runs, as ECS does: the
/// container must be one of the task definition's and the port one of its port mappings'
/// containerPort. The wording is ECS's as users quote it (pulumi/pulumi-awsx#1172,
/// aws/amazon-ecs-agent#1276, aws/amazon-ecs-cli#359); "Container Port can not be blank." is
/// written after the last of these.
fn validate_load_balancers(definition: &Value, load_balancers: &Value) -> Result<(), ApiError> {
    let invalid = |message: String| ApiError::client("InvalidParameterException", message);
    let Some(entries) = load_balancers.as_array() else {
        return Ok(());
    };
    for entry in entries {
        let name = entry
            .get("containerName")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| invalid("Container Name can not be blank.".into()))?;
        let port = entry
            .get("containerPort")
            .and_then(Value::as_i64)
            .ok_or_else(|| invalid("Container Port can not be blank.".into()))?;
        let container = definition["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|container| container["name"] == name)
            .ok_or_else(|| {
                invalid(format!(
                    "The container {name} does not exist in the task definition."
                ))
            })?;
        let mapped = container["portMappings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|mapping| mapping["containerPort"].as_i64() == Some(port));
        if !mapped {
            return Err(invalid(format!(
                "The container {name} did not have a container port {port} defined."
            )));
        }
    }
    Ok(())
}

pub(super) fn create_service(state: &mut State, input: &Value, faults: &Faults) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let name = required(input, "serviceName")?.to_string();
    if state
        .services
        .iter()
        .any(|s| s.cluster == cluster && s.name == name && s.status == "ACTIVE")
    {
        return Err(ApiError::client(
            "InvalidParameterException",
            "Creation of service was not idempotent.",
        ));
    }
    let reference = required(input, "taskDefinition")?;
    let revision = state
        .find_revision(reference)
        .ok_or_else(|| ApiError::client("ClientException", "TaskDefinition not found."))?;
    let load_balancers = input.get("loadBalancers").cloned().unwrap_or(json!([]));
    validate_load_balancers(&revision.definition, &load_balancers)?;
    let task_definition = revision.arn.clone();
    let desired = input
        .get("desiredCount")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let configuration = input
        .get("deploymentConfiguration")
        .cloned()
        .unwrap_or_else(|| json!({"maximumPercent": 200, "minimumHealthyPercent": 100}));
    validate_configuration(&configuration, &load_balancers)?;
    let controller = input
        .pointer("/deploymentController/type")
        .and_then(Value::as_str)
        .unwrap_or("ECS")
        .to_string();
    if !["ECS", "CODE_DEPLOY"].contains(&controller.as_str()) {
        return Err(ApiError::client(
            "InvalidParameterException",
            format!("the emulator does not implement the {controller} deployment controller"),
        ));
    }
    if controller == "CODE_DEPLOY" && load_balancers.as_array().is_none_or(Vec::is_empty) {
        return Err(ApiError::client(
            "InvalidParameterException",
            "A load balancer is required for services with a CODE_DEPLOY deployment controller.",
        ));
    }
    let mut deployment = new_deployment(
        state,
        (&cluster, &name),
        &task_definition,
        desired,
        &configuration,
        Vec::new(),
    );
    deployment.load_balancers = load_balancers.clone();
    let mut service = Service {
        arn: state.arn("service", &format!("{cluster}/{name}")),
        name,
        cluster,
        task_definition,
        desired_count: desired,
        deployment_configuration: configuration,
        current_service_deployment: deployment.arn.clone(),
        deployments: vec![deployment],
        history: Vec::new(),
        deployment_controller: controller,
        events: Vec::new(),
        status: "ACTIVE".into(),
        created_at: now(),
        steady_reported: false,
        health_check_grace_period: grace_period(input).unwrap_or(0),
        stale: None,
        load_balancers,
        placement_failures_left: 0,
        last_placement_failure: 0.0,
    };
    service.placement_failures_left = faults.placement_failures(&service.name);
    let answer = service.to_json();
    state.services.push(service);
    Ok(json!({"service": answer}))
}

pub(super) fn update_service(state: &mut State, input: &Value, faults: &Faults) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let name = required(input, "service")?;
    let index = state
        .service_index(&cluster, name)
        .ok_or_else(|| ApiError::client("ServiceNotFoundException", "Service not found."))?;
    let current = state.services[index].task_definition.clone();
    let task_definition = match input.get("taskDefinition").and_then(Value::as_str) {
        Some(reference) => state
            .find_revision(reference)
            .filter(|r| r.status == "ACTIVE")
            .map(|r| r.arn.clone())
            .ok_or_else(|| ApiError::client("ClientException", "TaskDefinition not found."))?,
        None => current.clone(),
    };
    if state.services[index].deployment_controller == "CODE_DEPLOY" && task_definition != current {
        return Err(ApiError::client(
            "InvalidParameterException",
            "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS CodeDeploy to trigger a new deployment.",
        ));
    }
    // "When you add, update, or remove a load balancer configuration, Amazon ECS starts a new
    // deployment" (the API reference's LoadBalancer); the load balancers (the new ones, or the
    // service's own) are checked against the task definition the service will run.
    let load_balancers = input
        .get("loadBalancers")
        .cloned()
        .unwrap_or_else(|| state.services[index].load_balancers.clone());
    let definition = &state
        .find_revision(&task_definition)
        .expect("found above")
        .definition;
    validate_load_balancers(definition, &load_balancers)?;
    let configuration = input
        .get("deploymentConfiguration")
        .cloned()
        .unwrap_or_else(|| state.services[index].deployment_configuration.clone());
    validate_configuration(&configuration, &load_balancers)?;
    let load_balancers_changed = load_balancers != state.services[index].load_balancers;
    let force = input
        .get("forceNewDeployment")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || load_balancers_changed;
    let service_name = state.services[index].name.clone();
    if faults.stale_describe_polls > 0 {
        let before = state.services[index].to_json();
        state.services[index].stale = Some((before, faults.stale_describe_polls));
    }
    if let Some(seconds) = grace_period(input) {
        state.services[index].health_check_grace_period = seconds;
    }
    state.services[index].load_balancers = load_balancers;
    if let Some(count) = input.get("desiredCount").and_then(Value::as_i64) {
        state.services[index].desired_count = count;
    }
    state.services[index].deployment_configuration = configuration.clone();
    let desired = state.services[index].desired_count;
    if task_definition != current || force {
        start_deployment(
            state,
            index,
            (&cluster, &service_name),
            &task_definition,
            &configuration,
        );
    } else if let Some(primary) = state.services[index]
        .deployments
        .iter_mut()
        .find(|d| d.status == "PRIMARY")
    {
        primary.desired_count = desired;
        state.services[index].steady_reported = false;
    }
    Ok(json!({"service": state.services[index].to_json()}))
}

pub(super) fn describe_services(state: &mut State, input: &Value) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for name in input
        .get("services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let short = name.rsplit('/').next().unwrap_or(name);
        match state.services.iter_mut().rev().find(|s| s.cluster == cluster && s.name == short) {
            Some(service) => match service.stale.as_mut() {
                // The stale-describe fault: the service as it was before the last update.
                Some((before, polls)) => {
                    services.push(before.clone());
                    *polls -= 1;
                    if *polls == 0 {
                        service.stale = None;
                    }
                }
                None => services.push(service.to_json()),
            },
            None => failures.push(json!({"arn": state.arn("service", &format!("{cluster}/{short}")), "reason": "MISSING"})),
        }
    }
    // Express Mode's services are managed by ECS (DescribeServices' resourceManagementType).
    for service in &mut services {
        let arn = service["serviceArn"].as_str().unwrap_or_default();
        if state.express.contains_key(arn) {
            service["resourceManagementType"] = json!("ECS");
        }
    }
    Ok(json!({"services": services, "failures": failures}))
}

/// ListServices: the cluster's services that are not deleted, in pages of `maxResults` (1 to
/// 100, default 10, as the API reference says).
pub(super) fn list_services(state: &State, input: &Value) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let page_size = match input.get("maxResults").and_then(Value::as_i64) {
        None => 10,
        Some(size @ 1..=100) => size as usize,
        Some(_) => return Err(invalid("maxResults must be between 1 and 100.")),
    };
    let start = match input.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| invalid("Invalid nextToken."))?,
    };
    let arns: Vec<&str> = state
        .services
        .iter()
        .filter(|s| s.cluster == cluster && s.status != "INACTIVE")
        .map(|s| s.arn.as_str())
        .collect();
    let mut answer =
        json!({"serviceArns": arns.iter().skip(start).take(page_size).collect::<Vec<_>>()});
    if start + page_size < arns.len() {
        answer["nextToken"] = json!((start + page_size).to_string());
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ecs::shared::minimal;
    use crate::api::ecs::*;

    fn registered_service(faults: &Faults) -> State {
        let settings = crate::config::Settings {
            faults: faults.clone(),
            ..crate::config::Settings::for_tests()
        };
        let mut state = State::new(&settings);
        create_cluster(&mut state, &json!({"clusterName": "c"})).unwrap();
        for image in ["app:1", "app:2"] {
            register_task_definition(&mut state, &minimal(json!({"name": "app", "image": image})))
                .unwrap();
        }
        create_service(
            &mut state,
            &json!({"cluster": "c", "serviceName": "web", "taskDefinition": "f:1", "desiredCount": 1}),
            faults,
        )
        .unwrap();
        state
    }

    #[test]
    fn load_balancers_are_kept_as_given_and_checked_against_the_task_definition() {
        let faults = Faults::default();
        let mut state = registered_service(&faults);
        register_task_definition(
            &mut state,
            &minimal(
                json!({"name": "app", "image": "app:3", "portMappings": [{"containerPort": 3000}]}),
            ),
        )
        .unwrap();
        let group = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/site/1";
        let create = |state: &mut State, name: &str, load_balancers: Value| {
            create_service(
                state,
                &json!({"cluster": "c", "serviceName": name, "taskDefinition": "f:3", "loadBalancers": load_balancers}),
                &faults,
            )
        };
        let error = create(
            &mut state,
            "a",
            json!([{"targetGroupArn": group, "containerName": "app", "containerPort": 80}]),
        )
        .unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (
                "InvalidParameterException",
                "The container app did not have a container port 80 defined."
            )
        );
        let error = create(
            &mut state,
            "a",
            json!([{"targetGroupArn": group, "containerName": "web", "containerPort": 3000}]),
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "The container web does not exist in the task definition."
        );
        let given =
            json!([{"targetGroupArn": group, "containerName": "app", "containerPort": 3000}]);
        create(&mut state, "a", given.clone()).unwrap();
        let described =
            describe_services(&mut state, &json!({"cluster": "c", "services": ["a"]})).unwrap();
        assert_eq!(described["services"][0]["loadBalancers"], given);
        // A task definition without that port is refused for the service that routes to it.
        let error = update_service(
            &mut state,
            &json!({"cluster": "c", "service": "a", "taskDefinition": "f:2"}),
            &faults,
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "The container app did not have a container port 3000 defined."
        );
        // New load balancers are kept and start a deployment, as ECS does.
        let classic =
            json!([{"loadBalancerName": "site", "containerName": "app", "containerPort": 3000}]);
        let updated = update_service(
            &mut state,
            &json!({"cluster": "c", "service": "a", "loadBalancers": classic}),
            &faults,
        )
        .unwrap();
        assert_eq!(updated["service"]["loadBalancers"], classic);
        assert_eq!(
            updated["service"]["deployments"].as_array().unwrap().len(),
            2
        );
    }

    #[test]
    fn every_deployment_is_a_service_deployment_and_a_replaced_one_is_stopped() {
        let faults = Faults::default();
        let settings = crate::config::Settings::for_tests();
        let mut state = registered_service(&faults);
        let described =
            describe_services(&mut state, &json!({"cluster": "c", "services": ["web"]})).unwrap();
        let first = described["services"][0]["currentServiceDeployment"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(first.starts_with("arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/web/"));
        assert_eq!(
            described["services"][0]["deploymentConfiguration"]["strategy"],
            "ROLLING"
        );
        let updated = update_service(
            &mut state,
            &json!({"cluster": "c", "service": "web", "taskDefinition": "f:2"}),
            &faults,
        )
        .unwrap();
        let second = updated["service"]["currentServiceDeployment"]
            .as_str()
            .unwrap()
            .to_string();
        assert_ne!(first, second);
        let answer = crate::api::ecs::service_deployments::describe_service_deployments(
            &settings,
            &state,
            &json!({"serviceDeploymentArns": [first, second, "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/web/1"]}),
        )
        .unwrap();
        let [replaced, current] = [
            &answer["serviceDeployments"][0],
            &answer["serviceDeployments"][1],
        ];
        assert_eq!(replaced["status"], "STOPPED");
        let new_id = updated["service"]["deployments"][0]["id"].as_str().unwrap();
        assert_eq!(
            replaced["statusReason"],
            format!("Stopped by deployment {new_id}.")
        );
        assert!(replaced["stoppedAt"].is_f64());
        assert_eq!(current["status"], "IN_PROGRESS");
        assert_eq!(
            current["sourceServiceRevisions"][0]["arn"],
            replaced["targetServiceRevision"]["arn"]
        );
        assert_eq!(current["targetServiceRevision"]["requestedTaskCount"], 1);
        assert!(
            current.get("lifecycleStage").is_none(),
            "a rolling deployment"
        );
        assert_eq!(current["deploymentCircuitBreaker"]["status"], "DISABLED");
        assert_eq!(
            answer["failures"],
            json!([{"arn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/web/1", "reason": "MISSING"}])
        );
        // ListServiceDeployments names the same deployments.
        let listed =
            list_service_deployments(&state, &json!({"cluster": "c", "service": "web"})).unwrap();
        let arns: Vec<&str> = listed["serviceDeployments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["serviceDeploymentArn"].as_str().unwrap())
            .collect();
        assert_eq!(arns, [first.as_str(), second.as_str()]);
        // DescribeServiceRevisions knows both revisions, and says which it does not.
        let target = current["targetServiceRevision"]["arn"].as_str().unwrap();
        let revisions = describe_service_revisions(
            &state,
            &json!({"serviceRevisionArns": [target, "arn:aws:ecs:eu-west-1:123456789012:service-revision/c/web/1"]}),
        )
        .unwrap();
        assert!(revisions["serviceRevisions"][0]["taskDefinition"]
            .as_str()
            .unwrap()
            .ends_with("f:2"));
        assert_eq!(revisions["serviceRevisions"][0]["loadBalancers"], json!([]));
        assert_eq!(revisions["failures"][0]["reason"], "MISSING");
    }

    #[test]
    fn a_native_strategy_is_refused_without_what_it_needs_and_nothing_changes() {
        let faults = Faults::default();
        let mut state = registered_service(&faults);
        let error = update_service(
            &mut state,
            &json!({"cluster": "c", "service": "web", "taskDefinition": "f:2",
                "deploymentConfiguration": {"strategy": "CANARY"}}),
            &faults,
        )
        .unwrap_err();
        assert_eq!(error.code, "InvalidParameterException");
        let service = &state.services[0];
        assert_eq!(service.deployments.len(), 1);
        assert!(service.task_definition.ends_with("f:1"));
    }

    #[test]
    fn the_stale_fault_answers_the_service_as_it_was_for_a_few_polls() {
        let faults = Faults {
            stale_describe_polls: 2,
            ..Default::default()
        };
        let mut state = registered_service(&faults);
        let updated = update_service(
            &mut state,
            &json!({"cluster": "c", "service": "web", "taskDefinition": "f:2"}),
            &faults,
        )
        .unwrap();
        let new_id = updated["service"]["deployments"][0]["id"].clone();
        let describe = |state: &mut State| {
            describe_services(state, &json!({"cluster": "c", "services": ["web"]})).unwrap()
                ["services"][0]
                .clone()
        };
        for _ in 0..2 {
            let stale = describe(&mut state);
            assert!(stale["taskDefinition"].as_str().unwrap().ends_with("f:1"));
            assert!(stale["deployments"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["id"] != new_id));
        }
        let fresh = describe(&mut state);
        assert!(fresh["taskDefinition"].as_str().unwrap().ends_with("f:2"));
        assert_eq!(fresh["deployments"][0]["id"], new_id);
    }

    #[test]
    fn native_strategies_are_validated_as_ecs_does() {
        let group = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/1";
        let plain =
            json!([{"targetGroupArn": group, "containerName": "app", "containerPort": 3000}]);
        let advanced = json!([{"targetGroupArn": group, "containerName": "app", "containerPort": 3000,
            "advancedConfiguration": {"alternateTargetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/2",
                "productionListenerRule": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/2/3",
                "roleArn": "arn:aws:iam::123456789012:role/ecs-infrastructure"}}]);
        assert!(validate_configuration(&json!({}), &json!([])).is_ok());
        assert!(validate_configuration(&json!({"strategy": "CANARY"}), &advanced).is_ok());
        let refused = |configuration: Value, load_balancers: &Value| {
            validate_configuration(&configuration, load_balancers)
                .unwrap_err()
                .message
        };
        assert!(refused(json!({"strategy": "FAST"}), &advanced)
            .contains("Invalid deployment strategy FAST"));
        assert!(refused(json!({"strategy": "CANARY"}), &plain)
            .contains("advancedConfiguration.alternateTargetGroupArn"));
        assert!(
            refused(json!({"strategy": "LINEAR"}), &json!([])).contains("requires a load balancer")
        );
        assert!(refused(
            json!({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 1.0}}),
            &advanced
        )
        .contains("stepPercent"));
        assert!(refused(
            json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2000}),
            &advanced
        )
        .contains("bakeTimeInMinutes"));
        assert!(refused(
            json!({"strategy": "BLUE_GREEN", "canaryConfiguration": {}}),
            &advanced
        )
        .contains("CANARY"));
        assert!(refused(json!({"strategy": "BLUE_GREEN", "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["SCALE_UP"]}]}), &advanced).contains("SCALE_UP"));
    }
}
