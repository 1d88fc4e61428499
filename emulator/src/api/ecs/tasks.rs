//! Tasks: ListTasks, DescribeTasks, StopTask, and RunTask's standalone tasks (recorded here,
//! started by the engine's runner).
use serde_json::{json, Value};

use super::shared::existing_cluster;
use crate::protocol::{required, Answer, ApiError};
use crate::state::State;

pub(super) fn list_tasks(state: &State, input: &Value) -> Answer {
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

pub(super) fn describe_tasks(state: &State, input: &Value) -> Answer {
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
pub(super) fn run_task(state: &mut State, input: &Value) -> Answer {
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
        let mut task = crate::engine::runner::new_task(state, &cluster, &revision);
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

pub(super) fn stop_task(state: &mut State, input: &Value) -> Answer {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ecs::*;

    /// A cluster with a bridge-mode migration and a Fargate (awsvpc) one.
    fn migrations() -> State {
        let mut state = State::new(&crate::config::Settings::for_tests());
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
            crate::engine::runner::container_definitions(&revision, &state.tasks[0].overrides);
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
}
