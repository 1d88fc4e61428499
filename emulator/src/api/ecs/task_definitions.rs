//! Task definitions: RegisterTaskDefinition validated as strictly as ECS validates it, and
//! Describe, List and Deregister.
use serde_json::{json, Value};

use crate::protocol::{required, Answer, ApiError};
use crate::state::{now, Revision, State};

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

pub(super) fn register_task_definition(state: &mut State, input: &Value) -> Answer {
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

pub(super) fn describe_task_definition(state: &State, input: &Value) -> Answer {
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

/// ListTaskDefinitions as the API reference describes it: `familyPrefix` is "the full family
/// name" (not a prefix), `status` ACTIVE (the default), INACTIVE or DELETE_IN_PROGRESS, `sort`
/// ASC (the default) or DESC by family then revision, `maxResults` 1 to 100 (default 100) and
/// `nextToken` pages.
pub(super) fn list_task_definitions(state: &State, input: &Value) -> Answer {
    let family = input.get("familyPrefix").and_then(Value::as_str);
    let status = input
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("ACTIVE");
    if !matches!(status, "ACTIVE" | "INACTIVE" | "DELETE_IN_PROGRESS") {
        return Err(ApiError::client(
            "InvalidParameterException",
            format!("1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [ACTIVE, INACTIVE, DELETE_IN_PROGRESS]"),
        ));
    }
    let descending = match input.get("sort").and_then(Value::as_str) {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => {
            return Err(ApiError::client(
                "InvalidParameterException",
                format!("1 validation error detected: Value '{other}' at 'sort' failed to satisfy constraint: Member must satisfy enum value set: [ASC, DESC]"),
            ))
        }
    };
    let page_size = match input.get("maxResults").and_then(Value::as_i64) {
        None => 100,
        Some(size @ 1..=100) => size as usize,
        Some(_) => {
            return Err(ApiError::client(
                "InvalidParameterException",
                "maxResults must be between 1 and 100.",
            ))
        }
    };
    let start = match input.get("nextToken").and_then(Value::as_str) {
        None => 0,
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| ApiError::client("InvalidParameterException", "Invalid nextToken."))?,
    };
    // `revisions` is a BTreeMap by family and each family's list is in revision order.
    let mut arns: Vec<&str> = state
        .revisions
        .iter()
        .filter(|(name, _)| family.is_none_or(|family| family == name.as_str()))
        .flat_map(|(_, revisions)| {
            revisions
                .iter()
                .filter(|r| r.status == status)
                .map(|r| r.arn.as_str())
        })
        .collect();
    if descending {
        arns.reverse();
    }
    let page: Vec<&str> = arns.iter().skip(start).take(page_size).copied().collect();
    let mut answer = json!({"taskDefinitionArns": page});
    if start + page_size < arns.len() {
        answer["nextToken"] = json!((start + page_size).to_string());
    }
    Ok(answer)
}

/// DeregisterTaskDefinition: the reference must name a revision ("You must specify a
/// revision"); a revision already INACTIVE is answered as it is.
pub(super) fn deregister_task_definition(state: &mut State, input: &Value) -> Answer {
    let reference = required(input, "taskDefinition")?.to_string();
    let short = reference
        .rsplit_once(":task-definition/")
        .map_or(reference.as_str(), |(_, short)| short);
    if short
        .rsplit_once(':')
        .is_none_or(|(_, number)| number.parse::<u32>().is_err())
    {
        return Err(ApiError::client(
            "ClientException",
            "Revision must be specified as part of the task definition.",
        ));
    }
    let arn = state
        .find_revision(&reference)
        .filter(|r| r.status != "DELETE_IN_PROGRESS")
        .map(|r| r.arn.clone())
        .ok_or_else(|| {
            ApiError::client(
                "ClientException",
                "The specified task definition does not exist.",
            )
        })?;
    let revision = state.revision_mut(&arn).expect("found above");
    revision.status = "INACTIVE".into();
    Ok(json!({"taskDefinition": revision.described()}))
}

/// DeleteTaskDefinitions: at most 10 revisions a call, each INACTIVE; the others are answered
/// among `failures`, as ECS does, and stay as they are.
pub(super) fn delete_task_definitions(state: &mut State, input: &Value) -> Answer {
    let references: Vec<String> = input
        .get("taskDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if references.is_empty() {
        return Err(ApiError::client(
            "InvalidParameterException",
            "taskDefinitions must not be null or empty.",
        ));
    }
    if references.len() > 10 {
        return Err(ApiError::client(
            "InvalidParameterException",
            "You can specify up to 10 task definitions in a single request.",
        ));
    }
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for reference in &references {
        let found = state
            .find_revision(reference)
            .filter(|_| {
                reference
                    .rsplit_once(':')
                    .is_some_and(|(_, n)| n.parse::<u32>().is_ok())
            })
            .map(|r| (r.arn.clone(), r.status.clone()));
        match found {
            Some((arn, status)) if status == "INACTIVE" => {
                let revision = state.revision_mut(&arn).expect("found above");
                revision.status = "DELETE_IN_PROGRESS".into();
                deleted.push(revision.described());
            }
            Some((arn, status)) => failures.push(json!({
                "arn": arn,
                "reason": format!("The specified task definition is in {status} status. Only INACTIVE task definitions can be deleted."),
            })),
            None => failures.push(json!({
                "arn": reference,
                "reason": "The specified task definition does not exist.",
            })),
        }
    }
    Ok(json!({"taskDefinitions": deleted, "failures": failures}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ecs::shared::minimal;

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

    fn state_with_revisions(count: usize) -> State {
        let mut state = State::new(&crate::config::Settings::for_tests());
        for _ in 0..count {
            register_task_definition(&mut state, &minimal(json!({"name": "a", "image": "b"})))
                .unwrap();
        }
        register_task_definition(
            &mut state,
            &json!({"family": "f-worker", "memory": "512", "containerDefinitions": [{"name": "a", "image": "b"}]}),
        )
        .unwrap();
        state
    }

    fn listed(state: &State, input: Value) -> Value {
        list_task_definitions(state, &input).unwrap()
    }

    /// familyPrefix is "the full family name" (ECS API reference, ListTaskDefinitions); sort,
    /// status and pages as it describes them.
    #[test]
    fn list_task_definitions_filters_the_family_sorts_and_pages() {
        let mut state = state_with_revisions(3);
        let arn = |n: u32| format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/f:{n}");
        let all = listed(&state, json!({"familyPrefix": "f"}));
        assert_eq!(all["taskDefinitionArns"], json!([arn(1), arn(2), arn(3)]));
        assert!(all.get("nextToken").is_none());
        let first = listed(
            &state,
            json!({"familyPrefix": "f", "sort": "DESC", "maxResults": 2}),
        );
        assert_eq!(first["taskDefinitionArns"], json!([arn(3), arn(2)]));
        let token = first["nextToken"].as_str().unwrap();
        let second = listed(
            &state,
            json!({"familyPrefix": "f", "sort": "DESC", "maxResults": 2, "nextToken": token}),
        );
        assert_eq!(second["taskDefinitionArns"], json!([arn(1)]));
        deregister_task_definition(&mut state, &json!({"taskDefinition": "f:2"})).unwrap();
        assert_eq!(
            listed(&state, json!({"familyPrefix": "f"}))["taskDefinitionArns"],
            json!([arn(1), arn(3)])
        );
        assert_eq!(
            listed(&state, json!({"familyPrefix": "f", "status": "INACTIVE"}))
                ["taskDefinitionArns"],
            json!([arn(2)])
        );
        for bad in [
            json!({"status": "GONE"}),
            json!({"sort": "UP"}),
            json!({"maxResults": 101}),
        ] {
            let error = list_task_definitions(&state, &bad).unwrap_err();
            assert_eq!(error.code, "InvalidParameterException", "{bad}");
        }
    }

    /// DeregisterTaskDefinition needs a revision; DeleteTaskDefinitions takes up to 10, INACTIVE
    /// ones only, the others among its failures (ECS API reference).
    #[test]
    fn deregister_needs_a_revision_and_delete_only_inactive_ones() {
        let mut state = state_with_revisions(2);
        let error =
            deregister_task_definition(&mut state, &json!({"taskDefinition": "f"})).unwrap_err();
        assert_eq!(error.code, "ClientException");
        deregister_task_definition(&mut state, &json!({"taskDefinition": "f:1"})).unwrap();
        let answer = delete_task_definitions(
            &mut state,
            &json!({"taskDefinitions": ["f:1", "f:2", "f:9"]}),
        )
        .unwrap();
        assert_eq!(answer["taskDefinitions"][0]["status"], "DELETE_IN_PROGRESS");
        assert_eq!(answer["failures"].as_array().unwrap().len(), 2);
        assert_eq!(state.find_revision("f:2").unwrap().status, "ACTIVE");
        let eleven: Vec<String> = (0..11).map(|n| format!("f:{n}")).collect();
        let error =
            delete_task_definitions(&mut state, &json!({"taskDefinitions": eleven})).unwrap_err();
        assert_eq!(error.code, "InvalidParameterException");
        // A deleted revision is neither listed nor deregistered again.
        assert_eq!(
            listed(
                &state,
                json!({"familyPrefix": "f", "status": "DELETE_IN_PROGRESS"})
            )["taskDefinitionArns"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(deregister_task_definition(&mut state, &json!({"taskDefinition": "f:1"})).is_err());
    }
}
