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

pub(super) fn list_task_definitions(state: &State, input: &Value) -> Answer {
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

pub(super) fn deregister_task_definition(state: &mut State, input: &Value) -> Answer {
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
}
