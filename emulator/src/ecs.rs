//! The ECS API: clusters, task definitions, services and their deployments, tasks. Rollouts
//! themselves are driven by `runner`; these handlers only record what was asked.
use serde_json::{json, Value};

use crate::faults::Faults;
use crate::protocol::{rand_id, required, Answer, ApiError, Context};
use crate::state::{now, with_default_strategy, Deployment, Revision, Service, State};

pub async fn handle(context: &Context, operation: &str, input: &Value) -> Answer {
    let mut state = context.state.lock().await;
    match operation {
        "CreateCluster" => create_cluster(&mut state, input),
        "DescribeClusters" => describe_clusters(&state, input),
        "RegisterTaskDefinition" => register_task_definition(&mut state, input),
        "DescribeTaskDefinition" => describe_task_definition(&state, input),
        "ListTaskDefinitions" => list_task_definitions(&state, input),
        "DeregisterTaskDefinition" => deregister_task_definition(&mut state, input),
        "CreateService" => create_service(&mut state, input, &context.settings.faults),
        "UpdateService" => update_service(&mut state, input, &context.settings.faults),
        "DescribeServices" => describe_services(&mut state, input),
        "ListTasks" => list_tasks(&state, input),
        "DescribeTasks" => describe_tasks(&state, input),
        "StopTask" => stop_task(&mut state, input),
        "RunTask" => run_task(&mut state, input),
        "ListServiceDeployments" => list_service_deployments(&state, input),
        "DescribeServiceRevisions" => describe_service_revisions(&state, input),
        "DescribeServiceDeployments" => {
            crate::deployments::describe_service_deployments(&context.settings, &state, input)
        }
        "StopServiceDeployment" => crate::deployments::stop_service_deployment(&mut state, input),
        "ContinueServiceDeployment" => {
            crate::deployments::continue_service_deployment(&mut state, input)
        }
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("the emulator does not implement ECS {other}"),
        )),
    }
}

fn cluster_missing() -> ApiError {
    ApiError::client("ClusterNotFoundException", "Cluster not found.")
}

fn existing_cluster(state: &State, input: &Value) -> Result<String, ApiError> {
    let name = State::cluster_name(input.get("cluster").and_then(Value::as_str));
    if state.clusters.contains_key(&name) {
        Ok(name)
    } else {
        Err(cluster_missing())
    }
}

fn create_cluster(state: &mut State, input: &Value) -> Answer {
    let name = input
        .get("clusterName")
        .and_then(Value::as_str)
        .unwrap_or("default")
        .to_string();
    let arn = state.arn("cluster", &name);
    state.clusters.insert(name.clone(), arn.clone());
    Ok(json!({"cluster": {"clusterArn": arn, "clusterName": name, "status": "ACTIVE"}}))
}

fn describe_clusters(state: &State, input: &Value) -> Answer {
    let names: Vec<String> = input
        .get("clusters")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(|c| State::cluster_name(Some(c)))
                .collect()
        })
        .unwrap_or_else(|| vec!["default".into()]);
    let (found, missing): (Vec<_>, Vec<_>) = names
        .iter()
        .partition(|name| state.clusters.contains_key(*name));
    Ok(json!({
        "clusters": found.iter().map(|name| json!({"clusterArn": state.clusters[*name], "clusterName": name, "status": "ACTIVE"})).collect::<Vec<_>>(),
        "failures": missing.iter().map(|name| json!({"arn": state.arn("cluster", name), "reason": "MISSING"})).collect::<Vec<_>>(),
    }))
}

/// Fargate's CPU and memory pairs (MiB), as ECS validates them.
fn fargate_memory_allowed(cpu: u64, memory: u64) -> bool {
    match cpu {
        256 => [512, 1024, 2048].contains(&memory),
        512 => (1024..=4096).contains(&memory) && memory.is_multiple_of(1024),
        1024 => (2048..=8192).contains(&memory) && memory.is_multiple_of(1024),
        2048 => (4096..=16384).contains(&memory) && memory.is_multiple_of(1024),
        4096 => (8192..=30720).contains(&memory) && memory.is_multiple_of(1024),
        8192 => (16384..=61440).contains(&memory) && memory.is_multiple_of(4096),
        16384 => (32768..=122880).contains(&memory) && memory.is_multiple_of(8192),
        _ => false,
    }
}

/// The members of RegisterTaskDefinition's input (the API reference's request parameters). What
/// DescribeTaskDefinition adds (`taskDefinitionArn`, `revision`, `status`, `requiresAttributes`,
/// `compatibilities`, `registeredAt`, `registeredBy`, `deregisteredAt`) is not among them.
const REGISTER_INPUT_MEMBERS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

fn validate_definition(input: &Value) -> Result<(), ApiError> {
    let client = |message: String| ApiError::client("ClientException", message);
    // ECS's frontend deserializes the request strictly (Jackson): a member the input shape does
    // not have is refused before anything else is looked at.
    if let Some(unknown) = input
        .as_object()
        .into_iter()
        .flat_map(|map| map.keys())
        .find(|key| !REGISTER_INPUT_MEMBERS.contains(&key.as_str()))
    {
        return Err(ApiError::client(
            "SerializationException",
            format!(
                "Unrecognized field \"{unknown}\" (class com.amazonaws.madison.frontend.RegisterTaskDefinitionRequest), not marked as ignorable"
            ),
        ));
    }
    required(input, "family")?;
    let containers = input
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty())
        .ok_or_else(|| client("Container list cannot be empty.".into()))?;
    let task_memory = input.get("memory").and_then(Value::as_str);
    let mut names = Vec::new();
    for container in containers {
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name.is_empty() {
            return Err(client("Container.name should not be null or empty.".into()));
        }
        if names.contains(&name) {
            return Err(client(
                "Container names must be unique within a Task Definition.".into(),
            ));
        }
        names.push(name);
        let variable_names = |member: &str| -> Vec<&str> {
            container[member]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|pair| pair["name"].as_str())
                .collect()
        };
        let environment = variable_names("environment");
        if let Some(shared) = variable_names("secrets")
            .into_iter()
            .find(|secret| environment.contains(secret))
        {
            return Err(client(format!(
                "The secret name must be unique and not shared with any new or existing environment variables set on the container, such as '{shared}'."
            )));
        }
        if container
            .get("image")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(client(
                "Container.image should not be null or empty.".into(),
            ));
        }
        if task_memory.is_none()
            && container.get("memory").is_none()
            && container.get("memoryReservation").is_none()
        {
            return Err(client(format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            )));
        }
    }
    // Compatibility in the ECS API reference: EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.
    if let Some(unknown) = input
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| {
            !matches!(
                c.as_str(),
                Some("EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES")
            )
        })
    {
        return Err(client(format!(
            "1 validation error detected: Value '{}' at 'requiresCompatibilities' failed to satisfy constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]",
            unknown.as_str().unwrap_or_default()
        )));
    }
    let fargate = input
        .get("requiresCompatibilities")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|c| c == "FARGATE"));
    if fargate {
        if input.get("networkMode").and_then(Value::as_str) != Some("awsvpc") {
            return Err(client(
                "Fargate only supports network mode 'awsvpc'.".into(),
            ));
        }
        let cpu = input
            .get("cpu")
            .and_then(Value::as_str)
            .and_then(|v| v.parse::<u64>().ok());
        let memory = task_memory.and_then(|v| v.parse::<u64>().ok());
        match (cpu, memory) {
            (Some(cpu), Some(memory)) if fargate_memory_allowed(cpu, memory) => {}
            (Some(cpu), Some(memory)) => {
                return Err(client(format!(
                    "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."
                )))
            }
            _ => return Err(client("Fargate requires that 'cpu' and 'memory' be defined at the task level.".into())),
        }
    }
    Ok(())
}

fn register_task_definition(state: &mut State, input: &Value) -> Answer {
    validate_definition(input)?;
    let family = required(input, "family")?.to_string();
    let mut definition = input.clone();
    let tags = definition
        .as_object_mut()
        .and_then(|map| map.remove("tags"))
        .unwrap_or(json!([]));
    let revision = state
        .revisions
        .get(&family)
        .map_or(0, |list| list.len() as u32)
        + 1;
    let arn = state.arn("task-definition", &format!("{family}:{revision}"));
    let record = Revision {
        revision,
        arn,
        definition,
        tags: tags.clone(),
        status: "ACTIVE".into(),
        registered_at: now(),
    };
    let described = record.described();
    state.revisions.entry(family).or_default().push(record);
    Ok(json!({"taskDefinition": described, "tags": tags}))
}

fn describe_task_definition(state: &State, input: &Value) -> Answer {
    let reference = required(input, "taskDefinition")?;
    let revision = state.find_revision(reference).ok_or_else(|| {
        ApiError::client("ClientException", "Unable to describe task definition.")
    })?;
    let with_tags = input
        .get("include")
        .and_then(Value::as_array)
        .is_some_and(|list| list.iter().any(|v| v == "TAGS"));
    let mut answer = json!({"taskDefinition": revision.described()});
    if with_tags {
        answer["tags"] = revision.tags.clone();
    }
    Ok(answer)
}

fn list_task_definitions(state: &State, input: &Value) -> Answer {
    let prefix = input
        .get("familyPrefix")
        .and_then(Value::as_str)
        .unwrap_or("");
    let arns: Vec<&str> = state
        .revisions
        .iter()
        .filter(|(family, _)| family.starts_with(prefix))
        .flat_map(|(_, revisions)| {
            revisions
                .iter()
                .filter(|r| r.status == "ACTIVE")
                .map(|r| r.arn.as_str())
        })
        .collect();
    Ok(json!({"taskDefinitionArns": arns}))
}

fn deregister_task_definition(state: &mut State, input: &Value) -> Answer {
    let reference = required(input, "taskDefinition")?.to_string();
    let arn = state
        .find_revision(&reference)
        .map(|r| r.arn.clone())
        .ok_or_else(|| {
            ApiError::client(
                "ClientException",
                "The specified task definition does not exist.",
            )
        })?;
    let revision = state
        .revisions
        .values_mut()
        .flat_map(|list| list.iter_mut())
        .find(|r| r.arn == arn)
        .expect("found above");
    revision.status = "INACTIVE".into();
    Ok(json!({"taskDefinition": revision.described()}))
}

/// A new PRIMARY deployment of `task_definition` for the service (`configuration` is its
/// deploymentConfiguration; `sources` the revisions of the deployments running before it).
fn new_deployment(
    state: &mut State,
    (cluster, service): (&str, &str),
    task_definition: &str,
    desired: i64,
    configuration: &Value,
    sources: Vec<String>,
) -> Deployment {
    let number = rand_id() % 10u128.pow(19);
    let id = format!("ecs-svc/{number}");
    let revision_arn = format!(
        "arn:aws:ecs:{}:{}:service-revision/{cluster}/{service}/{}",
        state.region,
        state.account,
        rand_id() % 10u128.pow(19)
    );
    Deployment {
        arn: state.arn(
            "service-deployment",
            &format!("{cluster}/{service}/{number}"),
        ),
        id: id.clone(),
        status: "PRIMARY".into(),
        task_definition: task_definition.to_string(),
        desired_count: desired,
        rollout_state: "IN_PROGRESS".into(),
        rollout_state_reason: format!("ECS deployment {id} in progress."),
        created_at: now(),
        updated_at: now(),
        revision_arn,
        listed_status: "IN_PROGRESS".into(),
        configuration: with_default_strategy(configuration),
        source_revisions: sources,
        started_at: now(),
        phase_started_at: now(),
        ..Default::default()
    }
}

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

fn create_service(state: &mut State, input: &Value, faults: &Faults) -> Answer {
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
    crate::deployments::validate_configuration(&configuration, &load_balancers)?;
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

pub fn service_index(state: &State, cluster: &str, name: &str) -> Option<usize> {
    let name = name.rsplit('/').next().unwrap_or(name);
    state
        .services
        .iter()
        .position(|s| s.cluster == cluster && s.name == name && s.status != "INACTIVE")
}

fn update_service(state: &mut State, input: &Value, faults: &Faults) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let name = required(input, "service")?;
    let index = service_index(state, &cluster, name)
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
    crate::deployments::validate_configuration(&configuration, &load_balancers)?;
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

/// Starts a new PRIMARY deployment of `task_definition` for the service at `index`, driven by
/// `configuration` (the one that ran before is stopped if it was still going); returns its id.
/// UpdateService's, and CodeDeploy's CreateDeployment's.
pub fn start_deployment(
    state: &mut State,
    index: usize,
    (cluster, service_name): (&str, &str),
    task_definition: &str,
    configuration: &Value,
) -> String {
    let desired = state.services[index].desired_count;
    {
        let sources = state.services[index]
            .deployments
            .iter()
            .map(|d| d.revision_arn.clone())
            .collect();
        let mut deployment = new_deployment(
            state,
            (cluster, service_name),
            task_definition,
            desired,
            configuration,
            sources,
        );
        let id = deployment.id.clone();
        let service = &mut state.services[index];
        deployment.load_balancers = service.load_balancers.clone();
        service.current_service_deployment = deployment.arn.clone();
        for old in service
            .deployments
            .iter_mut()
            .filter(|d| d.status == "PRIMARY")
        {
            old.status = "ACTIVE".into();
            old.updated_at = now();
            // A rollout still going when a newer one starts is stopped by it.
            if matches!(old.listed_status.as_str(), "PENDING" | "IN_PROGRESS") {
                old.listed_status = "STOPPED".into();
                old.status_reason = Some(format!("Stopped by deployment {}.", deployment.id));
                old.finished_at = Some(now());
            }
        }
        service.deployments.insert(0, deployment);
        service.task_definition = task_definition.to_string();
        service.steady_reported = false;
        id
    }
}

fn describe_services(state: &mut State, input: &Value) -> Answer {
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
    Ok(json!({"services": services, "failures": failures}))
}

fn list_tasks(state: &State, input: &Value) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let service = input.get("serviceName").and_then(Value::as_str);
    let desired = input
        .get("desiredStatus")
        .and_then(Value::as_str)
        .unwrap_or("RUNNING");
    let arns: Vec<&str> = state
        .tasks
        .iter()
        .rev()
        .filter(|t| {
            t.cluster == cluster
                && service.is_none_or(|s| t.service == s)
                && t.desired_status == desired
        })
        .map(|t| t.arn.as_str())
        .collect();
    Ok(json!({"taskArns": arns}))
}

fn describe_tasks(state: &State, input: &Value) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let wanted: Vec<&str> = input
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let tasks: Vec<Value> = state
        .tasks
        .iter()
        .filter(|t| t.cluster == cluster && wanted.iter().any(|w| *w == t.arn || *w == t.id))
        .map(|t| t.to_json())
        .collect();
    Ok(json!({"tasks": tasks, "failures": []}))
}

/// RunTask: standalone tasks, validated as strictly as ECS validates them, recorded PROVISIONING;
/// the runner starts their containers. The messages are ECS's.
fn run_task(state: &mut State, input: &Value) -> Answer {
    let invalid = |message: &str| ApiError::client("InvalidParameterException", message);
    let cluster = existing_cluster(state, input)?;
    let reference = required(input, "taskDefinition")?;
    let revision = state
        .find_revision(reference)
        .filter(|revision| revision.status == "ACTIVE")
        .cloned()
        .ok_or_else(|| ApiError::client("ClientException", "TaskDefinition not found."))?;
    let count = input.get("count").and_then(Value::as_i64).unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(invalid("count must be between 1 and 10."));
    }
    let launch_type = input.get("launchType").and_then(Value::as_str);
    let providers = input
        .get("capacityProviderStrategy")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty());
    if launch_type.is_some() && providers.is_some() {
        return Err(invalid("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."));
    }
    if let Some(launch) = launch_type {
        if !["EC2", "FARGATE", "EXTERNAL"].contains(&launch) {
            return Err(invalid(&format!("launchType {launch} is not valid.")));
        }
    }
    let definition = &revision.definition;
    let compatible_with_fargate = definition["requiresCompatibilities"]
        .as_array()
        .is_some_and(|list| list.iter().any(|c| c == "FARGATE"));
    let fargate = launch_type == Some("FARGATE")
        || providers.is_some_and(|list| {
            list.iter().any(|p| {
                p["capacityProvider"]
                    .as_str()
                    .is_some_and(|name| name.starts_with("FARGATE"))
            })
        });
    if fargate && !compatible_with_fargate {
        return Err(invalid(
            "Task definition does not support launch_type FARGATE.",
        ));
    }
    let awsvpc = definition["networkMode"].as_str() == Some("awsvpc");
    let vpc = &input["networkConfiguration"]["awsvpcConfiguration"];
    match (awsvpc, vpc.is_object()) {
        (true, false) => {
            return Err(invalid(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ))
        }
        (false, true) => return Err(invalid(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        )),
        _ => {}
    }
    if awsvpc
        && vpc["subnets"]
            .as_array()
            .is_none_or(|subnets| subnets.is_empty())
    {
        return Err(invalid("subnets can not be empty."));
    }
    if let Some(ip) = vpc["assignPublicIp"].as_str() {
        if !["ENABLED", "DISABLED"].contains(&ip) {
            return Err(invalid(&format!("assignPublicIp {ip} is not valid.")));
        }
    }
    let overrides = input.get("overrides").cloned().unwrap_or(json!({}));
    let names: Vec<&str> = definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|container| container["name"].as_str())
        .collect();
    for entry in overrides["containerOverrides"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = entry["name"].as_str().unwrap_or_default();
        if !names.contains(&name) {
            return Err(invalid(&format!(
                "Override for container named {name} is not a container in the TaskDefinition."
            )));
        }
    }
    let family = definition["family"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let text = |key: &str| input.get(key).and_then(Value::as_str).map(str::to_string);
    let mut tasks = Vec::new();
    for _ in 0..count {
        let mut task = crate::runner::new_task(state, &cluster, &revision);
        task.started_by = text("startedBy");
        task.group = text("group").unwrap_or_else(|| format!("family:{family}"));
        task.launch_type = launch_type.map(str::to_string).unwrap_or_else(|| {
            if compatible_with_fargate {
                "FARGATE"
            } else {
                "EC2"
            }
            .into()
        });
        task.overrides = json!({
            "containerOverrides": overrides.get("containerOverrides").cloned().unwrap_or(json!([])),
            "inferenceAcceleratorOverrides": [],
        });
        if let Some(extra) = overrides.as_object() {
            for (key, value) in extra.iter().filter(|(key, _)| *key != "containerOverrides") {
                task.overrides[key] = value.clone();
            }
        }
        task.tags = input.get("tags").cloned().unwrap_or(json!([]));
        task.awaiting_launch = true;
        tasks.push(task.to_json());
        state.tasks.push(task);
    }
    Ok(json!({"tasks": tasks, "failures": []}))
}

fn stop_task(state: &mut State, input: &Value) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let wanted = required(input, "task")?.to_string();
    let reason = input
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("Task stopped by user")
        .to_string();
    let task = state
        .tasks
        .iter_mut()
        .find(|t| t.cluster == cluster && (t.arn == wanted || t.id == wanted))
        .ok_or_else(|| {
            ApiError::client(
                "InvalidParameterException",
                "The referenced task was not found.",
            )
        })?;
    task.desired_status = "STOPPED".into();
    task.stopped_reason.get_or_insert(reason);
    task.stop_code.get_or_insert("UserInitiated".into());
    Ok(json!({"task": task.to_json()}))
}

fn list_service_deployments(state: &State, input: &Value) -> Answer {
    let cluster = existing_cluster(state, input)?;
    let name = required(input, "service")?;
    let index = service_index(state, &cluster, name)
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

fn describe_service_revisions(state: &State, input: &Value) -> Answer {
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

    #[test]
    fn fargate_sizes_follow_the_table() {
        assert!(fargate_memory_allowed(1024, 2048));
        assert!(!fargate_memory_allowed(1024, 512));
        assert!(fargate_memory_allowed(256, 512));
        assert!(!fargate_memory_allowed(300, 512));
    }

    /// ECS Managed Instances revisions are accepted; a compatibility outside the API's enum is
    /// refused.
    #[test]
    fn managed_instances_is_a_compatibility() {
        let definition = |compatibility: &str| {
            json!({"family": "tutorial-site-task", "requiresCompatibilities": [compatibility],
                "containerDefinitions": [{"name": "tutorial-site-app", "image": "app:1", "memory": 128}]})
        };
        assert!(validate_definition(&definition("MANAGED_INSTANCES")).is_ok());
        let error = validate_definition(&definition("LAMBDA")).unwrap_err();
        assert!(
            error.message.contains("Member must satisfy enum value set"),
            "{}",
            error.message
        );
    }

    #[test]
    fn validation_uses_ecs_wording() {
        let error = validate_definition(&json!({
            "family": "tutorial-site-task",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "1024",
            "memory": "512",
            "containerDefinitions": [{"name": "tutorial-site-app", "image": "app:1"}]
        }))
        .unwrap_err();
        assert_eq!(error.code, "ClientException");
        assert!(error
            .message
            .contains("No Fargate configuration exists for given values: 1024 CPU, 512 memory"));
        let error = validate_definition(
            &json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "b"}]}),
        )
        .unwrap_err();
        assert!(error
            .message
            .contains("At least one of 'memory' or 'memoryReservation'"));
    }

    fn minimal(container: Value) -> Value {
        json!({"family": "f", "memory": "512", "containerDefinitions": [container]})
    }

    #[test]
    fn described_fields_are_not_input() {
        for field in [
            "taskDefinitionArn",
            "revision",
            "status",
            "requiresAttributes",
            "compatibilities",
            "registeredAt",
            "registeredBy",
            "deregisteredAt",
        ] {
            let mut input = minimal(json!({"name": "a", "image": "b"}));
            input[field] = json!("x");
            let error = validate_definition(&input).unwrap_err();
            assert_eq!(error.code, "SerializationException", "{field}");
            assert!(
                error
                    .message
                    .starts_with(&format!("Unrecognized field \"{field}\"")),
                "{}",
                error.message
            );
        }
        let mut input = minimal(json!({"name": "a", "image": "b"}));
        for member in REGISTER_INPUT_MEMBERS {
            if input.get(*member).is_none() {
                input[*member] = Value::Null;
            }
        }
        assert!(
            validate_definition(&input).is_ok(),
            "every input member is accepted"
        );
    }

    #[test]
    fn a_secret_may_not_share_an_environment_variable_name() {
        let error = validate_definition(&minimal(json!({
            "name": "app",
            "image": "app:1",
            "environment": [{"name": "NODE_ENV", "value": "production"}, {"name": "DB_PASSWORD", "value": "x"}],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"}]
        })))
        .unwrap_err();
        assert_eq!(error.code, "ClientException");
        assert!(error.message.contains("The secret name must be unique"));
        assert!(error.message.contains("'DB_PASSWORD'"));
        assert!(validate_definition(&minimal(json!({
            "name": "app",
            "image": "app:1",
            "environment": [{"name": "NODE_ENV", "value": "production"}],
            "secrets": [{"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/db"}]
        })))
        .is_ok());
    }

    #[test]
    fn container_names_are_unique_and_required_fields_present() {
        let mut input = minimal(json!({"name": "app", "image": "a:1"}));
        input["containerDefinitions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "app", "image": "b:1"}));
        let error = validate_definition(&input).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (
                "ClientException",
                "Container names must be unique within a Task Definition."
            )
        );
        let error = validate_definition(
            &json!({"containerDefinitions": [{"name": "a", "image": "b", "memory": 64}]}),
        )
        .unwrap_err();
        assert_eq!(error.message, "family must not be null or empty.");
        let error = validate_definition(&json!({"family": "f"})).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            ("ClientException", "Container list cannot be empty.")
        );
        let error = validate_definition(&minimal(json!({"image": "b"}))).unwrap_err();
        assert_eq!(error.message, "Container.name should not be null or empty.");
        let error = validate_definition(&minimal(json!({"name": "a"}))).unwrap_err();
        assert_eq!(
            error.message,
            "Container.image should not be null or empty."
        );
    }

    fn registered_service(faults: &Faults) -> State {
        let settings = crate::Settings {
            faults: faults.clone(),
            ..crate::Settings::for_tests()
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

    /// A cluster with a bridge-mode migration and a Fargate (awsvpc) one.
    fn migrations() -> State {
        let mut state = State::new(&crate::Settings::for_tests());
        create_cluster(&mut state, &json!({"clusterName": "c"})).unwrap();
        register_task_definition(
            &mut state,
            &json!({"family": "migrate", "memory": "512", "containerDefinitions": [
                {"name": "migrate", "image": "busybox", "command": ["sh", "-c", "echo up"]},
                {"name": "sidecar", "image": "busybox", "essential": false}
            ]}),
        )
        .unwrap();
        register_task_definition(
            &mut state,
            &json!({"family": "migrate-fargate", "requiresCompatibilities": ["FARGATE"],
                "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                "containerDefinitions": [{"name": "migrate", "image": "busybox"}]}),
        )
        .unwrap();
        state
    }

    #[test]
    fn run_task_records_what_was_asked_and_the_runner_starts_it() {
        let mut state = migrations();
        let answer = run_task(
            &mut state,
            &json!({
                "cluster": "c", "taskDefinition": "migrate", "count": 2,
                "startedBy": "circleci-42", "group": "migrations",
                "overrides": {"containerOverrides": [{"name": "migrate", "command": ["sh", "-c", "echo $V"],
                    "environment": [{"name": "V", "value": "2"}]}]},
                "tags": [{"key": "team", "value": "web"}]
            }),
        )
        .unwrap();
        let tasks = answer["tasks"].as_array().unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(answer["failures"], json!([]));
        let task = &tasks[0];
        assert_eq!(task["lastStatus"], "PROVISIONING");
        assert_eq!(task["desiredStatus"], "RUNNING");
        assert_eq!(task["startedBy"], "circleci-42");
        assert_eq!(task["group"], "migrations");
        assert_eq!(task["launchType"], "EC2");
        assert_eq!(task["tags"], json!([{"key": "team", "value": "web"}]));
        assert_eq!(
            task["overrides"]["containerOverrides"][0]["command"],
            json!(["sh", "-c", "echo $V"])
        );
        assert!(task["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .ends_with("migrate:1"));
        assert!(state
            .tasks
            .iter()
            .all(|t| t.awaiting_launch && t.service.is_empty()));
        // What the runner starts: the command replaced, the environment merged.
        let revision = state.find_revision("migrate").unwrap().clone();
        let definitions =
            crate::runner::container_definitions(&revision, &state.tasks[0].overrides);
        assert_eq!(definitions[0]["command"], json!(["sh", "-c", "echo $V"]));
        assert_eq!(
            definitions[0]["environment"],
            json!([{"name": "V", "value": "2"}])
        );
        assert_eq!(definitions[1]["image"], "busybox");
        // Without a group, ECS groups a standalone task by its family.
        let answer = run_task(
            &mut state,
            &json!({"cluster": "c", "taskDefinition": "migrate:1"}),
        )
        .unwrap();
        assert_eq!(answer["tasks"][0]["group"], "family:migrate");
        // StopTask of a standalone task records ECS's user-initiated stop.
        let arn = answer["tasks"][0]["taskArn"].as_str().unwrap().to_string();
        let stopped = stop_task(
            &mut state,
            &json!({"cluster": "c", "task": arn, "reason": "Stopped by deployer"}),
        )
        .unwrap();
        assert_eq!(stopped["task"]["desiredStatus"], "STOPPED");
        assert_eq!(stopped["task"]["stoppedReason"], "Stopped by deployer");
        assert_eq!(stopped["task"]["stopCode"], "UserInitiated");
    }

    #[test]
    fn run_task_is_as_strict_as_ecs() {
        let mut state = migrations();
        let refused = |state: &mut State, input: Value| run_task(state, &input).unwrap_err();
        let vpc = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}});
        let cases = [
            (json!({"cluster": "c", "taskDefinition": "nothing"}), "ClientException", "TaskDefinition not found."),
            (json!({"cluster": "c", "taskDefinition": "migrate", "count": 11}), "InvalidParameterException", "count must be between 1 and 10."),
            (json!({"cluster": "c", "taskDefinition": "migrate-fargate", "launchType": "FARGATE"}), "InvalidParameterException", "Network Configuration must be provided when networkMode 'awsvpc' is specified."),
            (json!({"cluster": "c", "taskDefinition": "migrate", "networkConfiguration": vpc}), "InvalidParameterException", "Network Configuration is not valid for the given networkMode of this task definition."),
            (json!({"cluster": "c", "taskDefinition": "migrate", "launchType": "FARGATE"}), "InvalidParameterException", "Task definition does not support launch_type FARGATE."),
            (json!({"cluster": "c", "taskDefinition": "migrate-fargate", "launchType": "FARGATE",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": []}}}), "InvalidParameterException", "subnets can not be empty."),
            (json!({"cluster": "c", "taskDefinition": "migrate-fargate", "launchType": "FARGATE", "networkConfiguration": vpc,
                "capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}), "InvalidParameterException",
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."),
            (json!({"cluster": "c", "taskDefinition": "migrate", "overrides": {"containerOverrides": [{"name": "web"}]}}),
                "InvalidParameterException", "Override for container named web is not a container in the TaskDefinition."),
            (json!({"cluster": "other", "taskDefinition": "migrate"}), "ClusterNotFoundException", "Cluster not found."),
        ];
        for (input, code, message) in cases {
            let error = refused(&mut state, input.clone());
            assert_eq!(
                (error.code, error.message.as_str()),
                (code, message),
                "{input}"
            );
        }
        assert!(state.tasks.is_empty(), "nothing refused was recorded");
        let answer = run_task(
            &mut state,
            &json!({"cluster": "c", "taskDefinition": "migrate-fargate", "launchType": "FARGATE", "networkConfiguration": vpc}),
        )
        .unwrap();
        assert_eq!(answer["tasks"][0]["launchType"], "FARGATE");
    }

    #[test]
    fn every_deployment_is_a_service_deployment_and_a_replaced_one_is_stopped() {
        let faults = Faults::default();
        let settings = crate::Settings::for_tests();
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
        let answer = crate::deployments::describe_service_deployments(
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
}
