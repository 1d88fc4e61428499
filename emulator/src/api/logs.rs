//! The CloudWatch Logs API (JSON 1.1, `Logs_20140328.*`) over what the task containers wrote:
//! every container whose task definition logs with `awslogs` and a stream prefix has the stream
//! `prefix/container/task-id` in its `awslogs-group` from the moment it starts. Tokens work as
//! CloudWatch's do: a forward token read again with nothing new comes back unchanged.
use serde_json::{json, Value};

use crate::api::Context;
use crate::protocol::{required, Answer, ApiError};
use crate::state::{State, Task, TaskContainer};

pub async fn handle(context: &Context, operation: &str, input: &Value) -> Answer {
    let state = context.state.lock().await;
    match operation {
        "GetLogEvents" => get_log_events(&state, input),
        "FilterLogEvents" => filter_log_events(&state, input),
        "DescribeLogStreams" => describe_log_streams(&state, input),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("the emulator does not implement CloudWatch Logs {other}"),
        )),
    }
}

fn not_found(message: &str) -> ApiError {
    ApiError::client("ResourceNotFoundException", message)
}

/// Every stream of `group` that exists: its name, its task and its container.
fn streams<'a>(state: &'a State, group: &str) -> Vec<(&'a str, &'a Task, &'a TaskContainer)> {
    state
        .tasks
        .iter()
        .flat_map(|task| task.containers.iter().map(move |c| (task, c)))
        .filter(|(_, container)| container.id.is_some())
        .filter_map(|(task, container)| match &container.log_stream {
            Some((in_group, stream)) if in_group == group => {
                Some((stream.as_str(), task, container))
            }
            _ => None,
        })
        .collect()
}

/// Whether any task definition names this group (the emulator's log groups exist as soon as a
/// task definition writes to them).
fn group_exists(state: &State, group: &str) -> bool {
    state.revisions.values().flatten().any(|revision| {
        revision.definition["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|container| {
                container["logConfiguration"]["options"]["awslogs-group"].as_str() == Some(group)
            })
    })
}

fn existing_group<'a>(state: &State, input: &'a Value) -> Result<&'a str, ApiError> {
    let group = required(input, "logGroupName")?;
    if group_exists(state, group) {
        Ok(group)
    } else {
        Err(not_found("The specified log group does not exist."))
    }
}

/// A token `f/N` or `b/N`: the direction and the index of the next event.
fn token(value: &str) -> Result<(char, usize), ApiError> {
    let invalid = || {
        ApiError::client(
            "InvalidParameterException",
            "The specified nextToken is invalid.",
        )
    };
    let (direction, index) = value.split_once('/').ok_or_else(invalid)?;
    let index = index.parse::<usize>().map_err(|_| invalid())?;
    match direction {
        "f" => Ok(('f', index)),
        "b" => Ok(('b', index)),
        _ => Err(invalid()),
    }
}

fn event(line: &(i64, String), ingestion: i64) -> Value {
    json!({"timestamp": line.0, "message": line.1, "ingestionTime": ingestion})
}

fn get_log_events(state: &State, input: &Value) -> Answer {
    let group = existing_group(state, input)?;
    let name = required(input, "logStreamName")?;
    let (_, _, container) = streams(state, group)
        .into_iter()
        .find(|(stream, _, _)| *stream == name)
        .ok_or_else(|| not_found("The specified log stream does not exist."))?;
    let lines = &container.log_lines;
    let limit = input
        .get("limit")
        .and_then(Value::as_u64)
        .unwrap_or(10_000)
        .clamp(1, 10_000) as usize;
    let from_head = input
        .get("startFromHead")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (start, end) = match input.get("nextToken").and_then(Value::as_str) {
        Some(value) => match token(value)? {
            ('f', index) => {
                let start = index.min(lines.len());
                (start, (start + limit).min(lines.len()))
            }
            (_, index) => {
                let end = index.min(lines.len());
                (end.saturating_sub(limit), end)
            }
        },
        None if from_head => (0, limit.min(lines.len())),
        None => (lines.len().saturating_sub(limit), lines.len()),
    };
    let ingestion = (crate::state::now() * 1000.0) as i64;
    Ok(json!({
        "events": lines[start..end].iter().map(|line| event(line, ingestion)).collect::<Vec<_>>(),
        "nextForwardToken": format!("f/{end:056}"),
        "nextBackwardToken": format!("b/{start:056}"),
    }))
}

fn filter_log_events(state: &State, input: &Value) -> Answer {
    let group = existing_group(state, input)?;
    let names: Vec<&str> = input["logStreamNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let prefix = input["logStreamNamePrefix"].as_str().unwrap_or("");
    let pattern = input["filterPattern"]
        .as_str()
        .unwrap_or("")
        .trim_matches('"');
    let start_time = input["startTime"].as_i64().unwrap_or(i64::MIN);
    let end_time = input["endTime"].as_i64().unwrap_or(i64::MAX);
    let ingestion = (crate::state::now() * 1000.0) as i64;
    let mut searched = Vec::new();
    let mut events = Vec::new();
    for (stream, _, container) in streams(state, group) {
        if !(names.is_empty() || names.contains(&stream)) || !stream.starts_with(prefix) {
            continue;
        }
        searched.push(json!({"logStreamName": stream, "searchedCompletely": true}));
        for (index, line) in container.log_lines.iter().enumerate() {
            if line.0 < start_time || line.0 > end_time || !line.1.contains(pattern) {
                continue;
            }
            let mut found = event(line, ingestion);
            found["logStreamName"] = json!(stream);
            found["eventId"] = json!(format!("{stream}/{index:020}"));
            events.push(found);
        }
    }
    events.sort_by_key(|event| event["timestamp"].as_i64());
    // One page: nextToken is the index of the next event.
    let skip = match input.get("nextToken").and_then(Value::as_str) {
        Some(value) => value.parse::<usize>().map_err(|_| {
            ApiError::client(
                "InvalidParameterException",
                "The specified nextToken is invalid.",
            )
        })?,
        None => 0,
    };
    let limit = input["limit"].as_u64().unwrap_or(10_000).clamp(1, 10_000) as usize;
    let page: Vec<Value> = events.iter().skip(skip).take(limit).cloned().collect();
    let mut answer = json!({"events": page, "searchedLogStreams": searched});
    if skip + limit < events.len() {
        answer["nextToken"] = json!((skip + limit).to_string());
    }
    Ok(answer)
}

fn describe_log_streams(state: &State, input: &Value) -> Answer {
    let group = existing_group(state, input)?;
    let prefix = input["logStreamNamePrefix"].as_str().unwrap_or("");
    let arn = format!(
        "arn:aws:logs:{}:{}:log-group:{group}",
        state.region, state.account
    );
    let mut found: Vec<Value> = streams(state, group)
        .into_iter()
        .filter(|(stream, _, _)| stream.starts_with(prefix))
        .map(|(stream, task, container)| {
            let mut described = json!({
                "logStreamName": stream,
                "creationTime": (task.started_at * 1000.0) as i64,
                "arn": format!("{arn}:log-stream:{stream}"),
                "storedBytes": 0,
            });
            if let (Some(first), Some(last)) =
                (container.log_lines.first(), container.log_lines.last())
            {
                described["firstEventTimestamp"] = json!(first.0);
                described["lastEventTimestamp"] = json!(last.0);
                described["lastIngestionTime"] = json!(last.0);
            }
            described
        })
        .collect();
    let by_time = input["orderBy"].as_str() == Some("LastEventTime");
    if by_time {
        found.sort_by_key(|stream| stream["lastEventTimestamp"].as_i64().unwrap_or(0));
    } else {
        found.sort_by(|a, b| {
            a["logStreamName"]
                .as_str()
                .cmp(&b["logStreamName"].as_str())
        });
    }
    if input["descending"].as_bool() == Some(true) {
        found.reverse();
    }
    Ok(json!({"logStreams": found}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Revision;

    fn state_with_logs(lines: &[&str]) -> State {
        let mut state = State::new(&crate::config::Settings::for_tests());
        state.revisions.insert(
            "migrate".into(),
            vec![Revision {
                revision: 1,
                arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/migrate:1".into(),
                definition: json!({"family": "migrate", "containerDefinitions": [{
                    "name": "migrate", "image": "busybox",
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/migrate", "awslogs-stream-prefix": "ecs"}}
                }]}),
                tags: json!([]),
                status: "ACTIVE".into(),
                registered_at: 0.0,
            }],
        );
        state.tasks.push(Task {
            arn: "arn:aws:ecs:eu-west-1:123456789012:task/c/0a1b".into(),
            id: "0a1b".into(),
            containers: vec![TaskContainer {
                name: "migrate".into(),
                id: Some("container-id".into()),
                log_stream: Some(("/ecs/migrate".into(), "ecs/migrate/0a1b".into())),
                log_lines: lines
                    .iter()
                    .enumerate()
                    .map(|(index, line)| (1_000 + index as i64, line.to_string()))
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        });
        state
    }

    #[test]
    fn get_log_events_reads_forward_and_an_unchanged_token_means_nothing_new() {
        let mut state = state_with_logs(&["migrating", "step 1"]);
        let ask = |state: &State, token: Option<&str>| {
            let mut input = json!({"logGroupName": "/ecs/migrate", "logStreamName": "ecs/migrate/0a1b", "startFromHead": true});
            if let Some(token) = token {
                input["nextToken"] = json!(token);
            }
            get_log_events(state, &input).unwrap()
        };
        let first = ask(&state, None);
        let messages: Vec<&str> = first["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["migrating", "step 1"]);
        assert_eq!(first["events"][0]["timestamp"], 1_000);
        let token = first["nextForwardToken"].as_str().unwrap().to_string();
        let again = ask(&state, Some(&token));
        assert!(again["events"].as_array().unwrap().is_empty());
        assert_eq!(again["nextForwardToken"], token.as_str());
        state.tasks[0].containers[0]
            .log_lines
            .push((1_002, "done".into()));
        let newer = ask(&state, Some(&token));
        assert_eq!(newer["events"][0]["message"], "done");
        assert_ne!(newer["nextForwardToken"], token.as_str());
        // Without startFromHead, the newest events.
        let tail = get_log_events(
            &state,
            &json!({"logGroupName": "/ecs/migrate", "logStreamName": "ecs/migrate/0a1b", "limit": 1}),
        )
        .unwrap();
        assert_eq!(tail["events"][0]["message"], "done");
    }

    #[test]
    fn missing_groups_and_streams_are_not_found_as_cloudwatch_says() {
        let mut state = state_with_logs(&[]);
        let error = get_log_events(
            &state,
            &json!({"logGroupName": "/ecs/other", "logStreamName": "ecs/migrate/0a1b"}),
        )
        .unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (
                "ResourceNotFoundException",
                "The specified log group does not exist."
            )
        );
        let error = get_log_events(
            &state,
            &json!({"logGroupName": "/ecs/migrate", "logStreamName": "ecs/migrate/ffff"}),
        )
        .unwrap_err();
        assert_eq!(error.message, "The specified log stream does not exist.");
        // A container not started yet has no stream.
        state.tasks[0].containers[0].id = None;
        assert!(get_log_events(
            &state,
            &json!({"logGroupName": "/ecs/migrate", "logStreamName": "ecs/migrate/0a1b"}),
        )
        .is_err());
    }

    #[test]
    fn filter_and_describe_find_the_streams_of_a_group() {
        let state = state_with_logs(&["migrating", "step 1 done", "step 2 done"]);
        let filtered = filter_log_events(
            &state,
            &json!({"logGroupName": "/ecs/migrate", "logStreamNamePrefix": "ecs/migrate/", "filterPattern": "done"}),
        )
        .unwrap();
        let events = filtered["events"].as_array().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["logStreamName"], "ecs/migrate/0a1b");
        assert_eq!(events[1]["message"], "step 2 done");
        let described =
            describe_log_streams(&state, &json!({"logGroupName": "/ecs/migrate"})).unwrap();
        assert_eq!(
            described["logStreams"][0]["logStreamName"],
            "ecs/migrate/0a1b"
        );
        assert_eq!(described["logStreams"][0]["lastEventTimestamp"], 1_002);
    }
}
