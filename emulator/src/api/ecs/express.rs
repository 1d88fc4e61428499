//! ECS Express Mode: CreateExpressGatewayService, DescribeExpressGatewayService and
//! UpdateExpressGatewayService. An Express service is an ordinary service (DescribeServices
//! answers it with `resourceManagementType` ECS) whose task definition ECS registers itself:
//! an update registers the next revision with the primary container as given and starts a
//! rolling deployment, with the circuit breaker rolling back on failure.
use serde_json::{json, Map, Value};

use super::services::{create_service, update_service};
use super::task_definitions::register_task_definition;
use crate::faults::Faults;
use crate::protocol::{required, Answer, ApiError};
use crate::state::{now, ExpressService, State};

/// The primary container's name in the task definitions ECS registers for an Express service
/// (UpdateExpressGatewayService's `taskDefinitionArn`: "must have a container named `Main`").
pub const PRIMARY_CONTAINER: &str = "Main";

const CONTAINER_MEMBERS: &[&str] = &[
    "image",
    "containerPort",
    "awsLogsConfiguration",
    "repositoryCredentials",
    "command",
    "environment",
    "secrets",
];

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterException", message)
}

/// `primaryContainer` as the API reference defines ExpressGatewayContainer: `image` required,
/// no other member than its own.
fn check_container(container: &Value) -> Result<(), ApiError> {
    let Some(members) = container.as_object() else {
        return Err(invalid("primaryContainer must be an object."));
    };
    if let Some(unknown) = members
        .keys()
        .find(|key| !CONTAINER_MEMBERS.contains(&key.as_str()))
    {
        return Err(ApiError::client(
            "SerializationException",
            format!("Unrecognized field \"{unknown}\" (class ExpressGatewayContainer)"),
        ));
    }
    match container.get("image").and_then(Value::as_str) {
        Some(image) if !image.trim().is_empty() => Ok(()),
        _ => Err(invalid("primaryContainer.image is required.")),
    }
}

/// The container definition ECS derives from an ExpressGatewayContainer.
fn container_definition(container: &Value) -> Value {
    let port = container
        .get("containerPort")
        .and_then(Value::as_i64)
        .unwrap_or(80);
    let mut definition = json!({
        "name": PRIMARY_CONTAINER,
        "image": container["image"],
        "essential": true,
        "portMappings": [{"containerPort": port, "protocol": "tcp", "name": format!("port-{port}")}],
    });
    for member in ["command", "environment", "secrets", "repositoryCredentials"] {
        if let Some(value) = container.get(member) {
            definition[member] = value.clone();
        }
    }
    if let Some(logs) = container.get("awsLogsConfiguration") {
        definition["logConfiguration"] = json!({
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": logs["logGroup"],
                "awslogs-stream-prefix": logs.get("logStreamPrefix").cloned().unwrap_or(json!("ecs")),
            }
        });
    }
    definition
}

fn task_definition_input(family: &str, express: &ExpressService, container: &Value) -> Value {
    let mut input = json!({
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": express.cpu,
        "memory": express.memory,
        "executionRoleArn": express.execution_role_arn,
        "containerDefinitions": [container_definition(container)],
    });
    if let Some(role) = &express.task_role_arn {
        input["taskRoleArn"] = json!(role);
    }
    input
}

/// CreateExpressGatewayService: `executionRoleArn`, `infrastructureRoleArn` and
/// `primaryContainer` (with its `image`) are required, as the API reference says.
pub(super) fn create_express_gateway_service(
    state: &mut State,
    input: &Value,
    faults: &Faults,
) -> Answer {
    let execution_role_arn = required(input, "executionRoleArn")?.to_string();
    let infrastructure_role_arn = required(input, "infrastructureRoleArn")?.to_string();
    let container = input
        .get("primaryContainer")
        .ok_or_else(|| invalid("primaryContainer is required."))?;
    check_container(container)?;
    let cluster = State::cluster_name(input.get("cluster").and_then(Value::as_str));
    if !state.clusters.contains_key(&cluster) {
        // Express Mode creates the default cluster it needs; others must exist.
        if cluster != "default" {
            return Err(ApiError::client(
                "ClusterNotFoundException",
                "Cluster not found.",
            ));
        }
        let arn = state.arn("cluster", &cluster);
        state.clusters.insert(cluster.clone(), arn);
    }
    let name = match input.get("serviceName").and_then(Value::as_str) {
        Some(name) => name.to_string(),
        None => format!("express-{}", state.next_id()),
    };
    let express = ExpressService {
        infrastructure_role_arn,
        execution_role_arn,
        task_role_arn: input
            .get("taskRoleArn")
            .and_then(Value::as_str)
            .map(str::to_string),
        cpu: input
            .get("cpu")
            .and_then(Value::as_str)
            .unwrap_or("1024")
            .to_string(),
        memory: input
            .get("memory")
            .and_then(Value::as_str)
            .unwrap_or("2048")
            .to_string(),
        health_check_path: input
            .get("healthCheckPath")
            .and_then(Value::as_str)
            .unwrap_or("/ping")
            .to_string(),
        configurations: Vec::new(),
        created_at: now(),
        updated_at: now(),
    };
    let registered =
        register_task_definition(state, &task_definition_input(&name, &express, container))?;
    let task_definition = registered["taskDefinition"]["taskDefinitionArn"].clone();
    let desired = input
        .pointer("/scalingTarget/minTaskCount")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let created = create_service(
        state,
        &json!({
            "cluster": cluster,
            "serviceName": name,
            "taskDefinition": task_definition,
            "desiredCount": desired,
            "deploymentConfiguration": {
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "deploymentCircuitBreaker": {"enable": true, "rollback": true}
            }
        }),
        faults,
    )?;
    let arn = created["service"]["serviceArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut express = express;
    express
        .configurations
        .push(configuration(&express, &task_definition, container));
    state.express.insert(arn.clone(), express);
    let service = express_json(state, &arn).expect("just created");
    Ok(json!({"service": service}))
}

/// One ExpressGatewayServiceConfiguration: what a revision of the service was made from.
fn configuration(express: &ExpressService, task_definition: &Value, container: &Value) -> Value {
    json!({
        "serviceRevisionArn": Value::Null,
        "executionRoleArn": express.execution_role_arn,
        "taskRoleArn": express.task_role_arn,
        "taskDefinitionArn": task_definition,
        "cpu": express.cpu,
        "memory": express.memory,
        "healthCheckPath": express.health_check_path,
        "primaryContainer": container,
        "createdAt": now(),
    })
}

/// The Express service at `arn` as DescribeExpressGatewayService answers it: its active
/// configurations are those of the revisions its deployments run (two while one replaces
/// another, one once it is done).
fn express_json(state: &State, arn: &str) -> Option<Value> {
    let express = state.express.get(arn)?;
    let service = state.services.iter().rev().find(|s| s.arn == arn)?;
    let mut active: Vec<Value> = Vec::new();
    for deployment in &service.deployments {
        if let Some(found) = express
            .configurations
            .iter()
            .rev()
            .find(|c| c["taskDefinitionArn"] == deployment.task_definition.as_str())
        {
            let mut found = found.clone();
            found["serviceRevisionArn"] = json!(deployment.revision_arn);
            if !active
                .iter()
                .any(|a| a["taskDefinitionArn"] == found["taskDefinitionArn"])
            {
                active.push(found);
            }
        }
    }
    let code = match service.status.as_str() {
        "ACTIVE" => "ACTIVE",
        "DRAINING" => "DRAINING",
        _ => "INACTIVE",
    };
    Some(json!({
        "cluster": state.clusters.get(&service.cluster).cloned().unwrap_or_default(),
        "serviceName": service.name,
        "serviceArn": service.arn,
        "infrastructureRoleArn": express.infrastructure_role_arn,
        "status": {"statusCode": code},
        "currentDeployment": service.current_service_deployment,
        "activeConfigurations": active,
        "createdAt": express.created_at,
        "updatedAt": express.updated_at,
    }))
}

/// DescribeExpressGatewayService: `serviceArn` required; a service that is not an Express one
/// is not found.
pub(super) fn describe_express_gateway_service(state: &State, input: &Value) -> Answer {
    let arn = required(input, "serviceArn")?;
    let service = express_json(state, arn)
        .ok_or_else(|| ApiError::client("ServiceNotFoundException", "Service not found."))?;
    Ok(json!({"service": service}))
}

/// UpdateExpressGatewayService: registers the next revision of the service's task definition
/// with the primary container as given (a whole ExpressGatewayContainer: fields left out are
/// not kept) and starts a deployment of it. `taskDefinitionArn` and the members that configure
/// the task itself are refused together, as the API reference says.
pub(super) fn update_express_gateway_service(
    state: &mut State,
    input: &Value,
    faults: &Faults,
) -> Answer {
    let arn = required(input, "serviceArn")?.to_string();
    if input.get("taskDefinitionArn").is_some() {
        let conflicting = [
            "primaryContainer",
            "executionRoleArn",
            "taskRoleArn",
            "cpu",
            "memory",
            "cpuArchitecture",
        ]
        .into_iter()
        .find(|member| input.get(member).is_some());
        if let Some(member) = conflicting {
            return Err(invalid(format!(
                "taskDefinitionArn cannot be specified together with {member}."
            )));
        }
        return Err(invalid(
            "the emulator does not implement taskDefinitionArn on UpdateExpressGatewayService",
        ));
    }
    let Some(index) = state.services.iter().rposition(|s| s.arn == arn) else {
        return Err(ApiError::client(
            "ServiceNotFoundException",
            "Service not found.",
        ));
    };
    let Some(mut express) = state.express.get(&arn).cloned() else {
        return Err(invalid(
            "The service is not an Express service: update it with UpdateService.",
        ));
    };
    if state.services[index].status != "ACTIVE" {
        return Err(ApiError::client(
            "ServiceNotActiveException",
            "Service was not ACTIVE.",
        ));
    }
    let current = express
        .configurations
        .last()
        .cloned()
        .unwrap_or(Value::Null);
    let container = match input.get("primaryContainer") {
        Some(container) => {
            check_container(container)?;
            container.clone()
        }
        None => current["primaryContainer"].clone(),
    };
    for (member, field) in [
        ("executionRoleArn", &mut express.execution_role_arn),
        ("cpu", &mut express.cpu),
        ("memory", &mut express.memory),
        ("healthCheckPath", &mut express.health_check_path),
    ] {
        if let Some(value) = input.get(member).and_then(Value::as_str) {
            *field = value.to_string();
        }
    }
    if let Some(role) = input.get("taskRoleArn").and_then(Value::as_str) {
        express.task_role_arn = Some(role.to_string());
    }
    let family = state.services[index]
        .task_definition
        .rsplit_once(":task-definition/")
        .and_then(|(_, short)| short.rsplit_once(':'))
        .map(|(family, _)| family.to_string())
        .unwrap_or_else(|| state.services[index].name.clone());
    let registered =
        register_task_definition(state, &task_definition_input(&family, &express, &container))?;
    let task_definition = registered["taskDefinition"]["taskDefinitionArn"].clone();
    let (cluster, name) = (
        state.services[index].cluster.clone(),
        state.services[index].name.clone(),
    );
    update_service(
        state,
        &json!({"cluster": cluster, "service": name, "taskDefinition": task_definition}),
        faults,
    )?;
    express.updated_at = now();
    let target = configuration(&express, &task_definition, &container);
    express.configurations.push(target.clone());
    state.express.insert(arn.clone(), express);
    let service = express_json(state, &arn).expect("updated above");
    let mut target = target;
    if let Some(revision) = state.services[index]
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
    {
        target["serviceRevisionArn"] = json!(revision.revision_arn);
    }
    let mut answer = Map::new();
    for member in [
        "serviceArn",
        "cluster",
        "serviceName",
        "status",
        "createdAt",
        "updatedAt",
    ] {
        answer.insert(member.to_string(), service[member].clone());
    }
    answer.insert("targetConfiguration".into(), target);
    Ok(json!({"service": answer}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ecs::create_cluster;
    use crate::api::ecs::services::describe_services;

    const ROLE: &str = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole";
    const INFRASTRUCTURE: &str =
        "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices";

    fn state() -> State {
        let mut state = State::new(&crate::config::Settings::for_tests());
        create_cluster(&mut state, &json!({"clusterName": "tutorial-site-cluster"})).unwrap();
        state
    }

    fn created(state: &mut State) -> String {
        let answer = create_express_gateway_service(
            state,
            &json!({
                "cluster": "tutorial-site-cluster",
                "serviceName": "tutorial-site-service",
                "executionRoleArn": ROLE,
                "infrastructureRoleArn": INFRASTRUCTURE,
                "primaryContainer": {"image": "registry.example/app:v1", "containerPort": 3000,
                                     "environment": [{"name": "NODE_ENV", "value": "production"}]}
            }),
            &Faults::default(),
        )
        .unwrap();
        answer["service"]["serviceArn"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The API reference's required members: executionRoleArn, infrastructureRoleArn,
    /// primaryContainer and its image.
    #[test]
    fn create_refuses_a_request_without_what_the_api_reference_requires() {
        let mut state = state();
        let container = json!({"image": "registry.example/app:v1"});
        for (input, code) in [
            (
                json!({"infrastructureRoleArn": INFRASTRUCTURE, "primaryContainer": container}),
                "InvalidParameterException",
            ),
            (
                json!({"executionRoleArn": ROLE, "primaryContainer": container}),
                "InvalidParameterException",
            ),
            (
                json!({"executionRoleArn": ROLE, "infrastructureRoleArn": INFRASTRUCTURE}),
                "InvalidParameterException",
            ),
            (
                json!({"executionRoleArn": ROLE, "infrastructureRoleArn": INFRASTRUCTURE, "primaryContainer": {"containerPort": 80}}),
                "InvalidParameterException",
            ),
            (
                json!({"executionRoleArn": ROLE, "infrastructureRoleArn": INFRASTRUCTURE, "primaryContainer": {"image": "a", "name": "Main"}}),
                "SerializationException",
            ),
            (
                json!({"cluster": "missing", "executionRoleArn": ROLE, "infrastructureRoleArn": INFRASTRUCTURE, "primaryContainer": container}),
                "ClusterNotFoundException",
            ),
        ] {
            let error =
                create_express_gateway_service(&mut state, &input, &Faults::default()).unwrap_err();
            assert_eq!(error.code, code, "{input}");
        }
        assert!(state.services.is_empty() && state.revisions.is_empty());
    }

    #[test]
    fn an_express_service_is_managed_by_ecs_and_its_update_registers_the_next_revision() {
        let mut state = state();
        let arn = created(&mut state);
        let described = describe_services(
            &mut state,
            &json!({"cluster": "tutorial-site-cluster", "services": ["tutorial-site-service"]}),
        )
        .unwrap();
        assert_eq!(described["services"][0]["resourceManagementType"], "ECS");
        assert!(described["services"][0]["taskDefinition"]
            .as_str()
            .unwrap()
            .ends_with("task-definition/tutorial-site-service:1"));

        let updated = update_express_gateway_service(
            &mut state,
            &json!({"serviceArn": arn, "primaryContainer": {"image": "registry.example/app:v2", "containerPort": 3000}}),
            &Faults::default(),
        )
        .unwrap();
        let target = &updated["service"]["targetConfiguration"];
        assert!(target["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .ends_with("task-definition/tutorial-site-service:2"));
        let revision = state
            .find_revision("tutorial-site-service:2")
            .unwrap()
            .definition
            .clone();
        let main = &revision["containerDefinitions"][0];
        assert_eq!(main["name"], PRIMARY_CONTAINER);
        assert_eq!(main["image"], "registry.example/app:v2");
        // A whole container replaces the one before: the environment left out is gone.
        assert!(main.get("environment").is_none(), "{main}");

        // While the deployment runs, both configurations are active.
        let express =
            describe_express_gateway_service(&state, &json!({"serviceArn": arn})).unwrap();
        assert_eq!(
            express["service"]["activeConfigurations"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn update_refuses_what_the_api_reference_refuses_and_changes_nothing() {
        let mut state = state();
        let arn = created(&mut state);
        for (input, code) in [
            (
                json!({"primaryContainer": {"image": "a:2"}}),
                "InvalidParameterException",
            ),
            (
                json!({"serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/tutorial-site-cluster/nope", "primaryContainer": {"image": "a:2"}}),
                "ServiceNotFoundException",
            ),
            (
                json!({"serviceArn": arn, "primaryContainer": {"containerPort": 80}}),
                "InvalidParameterException",
            ),
            (
                json!({"serviceArn": arn, "taskDefinitionArn": "x:1", "cpu": "512"}),
                "InvalidParameterException",
            ),
        ] {
            let error =
                update_express_gateway_service(&mut state, &input, &Faults::default()).unwrap_err();
            assert_eq!(error.code, code, "{input}");
        }
        assert!(state.find_revision("tutorial-site-service:2").is_none());
        assert_eq!(state.services[0].deployments.len(), 1);
    }
}
