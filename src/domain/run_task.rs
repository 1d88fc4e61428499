//! A one-off task (a migration before a deploy): the RunTask input built from the flags and the
//! task definition it runs, checked before anything starts, and the stopped tasks read back as
//! the exit code the pipeline gets.
use std::fmt;

pub use super::task_outcome::{
    describe_stopped, failures, outcome, task_id, task_states, ContainerState, TaskOutcome,
    TaskState,
};
use serde_json::{json, Map, Value};

use super::shell_words;

/// Why the task cannot be run as asked; nothing was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunTaskError {
    /// A flag's value cannot be read.
    BadValue { flag: &'static str, problem: String },
    /// A container named by a flag or the overrides is not in the task definition.
    UnknownContainer {
        flag: &'static str,
        container: String,
        known: Vec<String>,
    },
    /// No single essential container to default to.
    NoDefaultContainer {
        flag: &'static str,
        essential: Vec<String>,
    },
}

impl fmt::Display for RunTaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunTaskError::BadValue { flag, problem } => write!(f, "{flag}: {problem}"),
            RunTaskError::UnknownContainer {
                flag,
                container,
                known,
            } => write!(
                f,
                "{flag}: the task definition has no container {container:?} (it has: {})",
                known.join(", ")
            ),
            RunTaskError::NoDefaultContainer { flag, essential } if essential.is_empty() => {
                write!(
                    f,
                    "the task definition has no essential container: name one with {flag}"
                )
            }
            RunTaskError::NoDefaultContainer { flag, essential } => write!(
                f,
                "the task definition has several essential containers ({}): name one with {flag}",
                essential.join(", ")
            ),
        }
    }
}

impl std::error::Error for RunTaskError {}

fn bad(flag: &'static str, problem: impl Into<String>) -> RunTaskError {
    RunTaskError::BadValue {
        flag,
        problem: problem.into(),
    }
}

/// Where a container's `awslogs` driver writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLogs {
    pub group: String,
    /// Without a prefix ECS names the stream after the Docker container ID, which DescribeTasks
    /// does not tell: such containers are not followed.
    pub stream_prefix: Option<String>,
}

/// A container of the task definition, as run-task needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub name: String,
    pub essential: bool,
    pub awslogs: Option<AwsLogs>,
}

/// The containers of a DescribeTaskDefinition answer (or of its `taskDefinition` object).
pub fn containers(described: &Value) -> Vec<ContainerInfo> {
    let definition = described.get("taskDefinition").unwrap_or(described);
    definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|container| {
            let name = container["name"].as_str()?.to_string();
            let log = &container["logConfiguration"];
            let awslogs = (log["logDriver"].as_str() == Some("awslogs"))
                .then(|| {
                    let options = &log["options"];
                    Some(AwsLogs {
                        group: options["awslogs-group"].as_str()?.to_string(),
                        stream_prefix: options["awslogs-stream-prefix"]
                            .as_str()
                            .filter(|prefix| !prefix.is_empty())
                            .map(str::to_string),
                    })
                })
                .flatten();
            Some(ContainerInfo {
                name,
                // ECS's default: a container is essential unless it says otherwise.
                essential: container["essential"].as_bool().unwrap_or(true),
                awslogs,
            })
        })
        .collect()
}

/// The container `named`, or the task definition's single essential container.
pub fn pick_container(
    containers: &[ContainerInfo],
    named: Option<&str>,
    flag: &'static str,
) -> Result<String, RunTaskError> {
    if let Some(name) = named {
        return match containers.iter().find(|c| c.name == name) {
            Some(container) => Ok(container.name.clone()),
            None => Err(RunTaskError::UnknownContainer {
                flag,
                container: name.to_string(),
                known: containers.iter().map(|c| c.name.clone()).collect(),
            }),
        };
    }
    let essential: Vec<String> = containers
        .iter()
        .filter(|c| c.essential)
        .map(|c| c.name.clone())
        .collect();
    match essential.as_slice() {
        [single] => Ok(single.clone()),
        _ => Err(RunTaskError::NoDefaultContainer { flag, essential }),
    }
}

/// One of the AWS CLI's list values in either form it takes: JSON (a list, or one object), or
/// shorthand `k=v,k=v` items separated by spaces (`type=spread,field=… type=binpack,field=…`),
/// a value with spaces quoted (`expression="attribute:ecs.instance-type =~ t3.*"`).
/// Only `keys` are accepted; `integers` among them must be whole numbers.
pub fn parse_list(
    flag: &'static str,
    value: &str,
    keys: &[&str],
    integers: &[&str],
) -> Result<Vec<Value>, RunTaskError> {
    let value = value.trim();
    if value.starts_with('[') || value.starts_with('{') {
        let parsed: Value =
            serde_json::from_str(value).map_err(|e| bad(flag, format!("not valid JSON: {e}")))?;
        let items = match parsed {
            Value::Array(items) => items,
            object => vec![object],
        };
        for item in &items {
            let Some(object) = item.as_object() else {
                return Err(bad(flag, format!("{item} is not an object")));
            };
            if let Some(unknown) = object.keys().find(|key| !keys.contains(&key.as_str())) {
                return Err(bad(
                    flag,
                    format!("unknown key {unknown:?} (known: {})", keys.join(", ")),
                ));
            }
        }
        return Ok(items);
    }
    let mut items = Vec::new();
    for item in split_words(flag, value)? {
        let mut object = Map::new();
        for pair in item.split(',').filter(|pair| !pair.is_empty()) {
            let (key, raw) = pair
                .split_once('=')
                .ok_or_else(|| bad(flag, format!("{pair:?} is not key=value")))?;
            if !keys.contains(&key) {
                return Err(bad(
                    flag,
                    format!("unknown key {key:?} (known: {})", keys.join(", ")),
                ));
            }
            let parsed = if integers.contains(&key) {
                json!(raw
                    .parse::<i64>()
                    .map_err(|_| bad(flag, format!("{key}={raw}: not a whole number")))?)
            } else {
                json!(raw)
            };
            object.insert(key.to_string(), parsed);
        }
        items.push(Value::Object(object));
    }
    Ok(items)
}

/// Resource tags as `K=V,K2=V2`, the AWS CLI's `key=K,value=V key=K2,value=V2`, or its JSON
/// list of `{"key": …, "value": …}`.
pub fn parse_tags(value: &str) -> Result<Vec<(String, String)>, RunTaskError> {
    const FLAG: &str = "--tags";
    let value = value.trim();
    if value.is_empty() {
        return Ok(Vec::new());
    }
    if value.starts_with('[') || value.starts_with('{') {
        return parse_list(FLAG, value, &["key", "value"], &[])?
            .into_iter()
            .map(|tag| match (tag["key"].as_str(), tag["value"].as_str()) {
                (Some(key), value) if !key.is_empty() => {
                    Ok((key.to_string(), value.unwrap_or_default().to_string()))
                }
                _ => Err(bad(FLAG, format!("{tag} has no key"))),
            })
            .collect();
    }
    if value.starts_with("key=") {
        return parse_list(FLAG, value, &["key", "value"], &[])?
            .into_iter()
            .map(|tag| match (tag["key"].as_str(), tag["value"].as_str()) {
                (Some(key), value) if !key.is_empty() => {
                    Ok((key.to_string(), value.unwrap_or_default().to_string()))
                }
                _ => Err(bad(FLAG, "each tag needs key=K")),
            })
            .collect();
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
            _ => Err(bad(FLAG, format!("{pair:?} is not KEY=VALUE"))),
        })
        .collect()
}

/// `--env K=V` values, in order; a later one for the same name wins.
pub fn parse_env(values: &[String]) -> Result<Vec<(String, String)>, RunTaskError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for value in values {
        let (name, val) = value
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
            // Not shown: a value given without its name is still a value.
            .ok_or_else(|| bad("--env", "a value has no NAME= before it: write NAME=VALUE"))?;
        pairs.retain(|(existing, _)| existing != name);
        pairs.push((name.to_string(), val.to_string()));
    }
    Ok(pairs)
}

/// `--command`'s words, split as a shell splits them (`shell_words::split_words`).
pub fn split_command(line: &str) -> Result<Vec<String>, RunTaskError> {
    let words = split_words("--command", line)?;
    if words.is_empty() {
        return Err(bad("--command", "it is empty"));
    }
    Ok(words)
}

/// [`shell_words::split_words`], an error naming the flag.
fn split_words(flag: &'static str, line: &str) -> Result<Vec<String>, RunTaskError> {
    shell_words::split_words(line).map_err(|error| bad(flag, error.to_string()))
}

/// The `overrides` of RunTask: `--overrides` (the AWS CLI's JSON, `{"containerOverrides": […]}`)
/// with `--command` and `--env` applied to `container`'s entry (added when missing). Every
/// container the overrides name must be in the task definition, as RunTask would refuse it
/// only after the plan.
pub fn overrides(
    given: Option<&str>,
    container: &str,
    command: Option<Vec<String>>,
    environment: &[(String, String)],
    known: &[ContainerInfo],
) -> Result<Option<Value>, RunTaskError> {
    const FLAG: &str = "--overrides";
    let mut overrides = match given.map(str::trim).filter(|value| !value.is_empty()) {
        Some(text) => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| bad(FLAG, format!("not valid JSON: {e}")))?;
            if !value.is_object() {
                return Err(bad(
                    FLAG,
                    "expected an object such as {\"containerOverrides\": [{\"name\": …, \"command\": […]}]}",
                ));
            }
            value
        }
        None if command.is_none() && environment.is_empty() => return Ok(None),
        None => json!({}),
    };
    if overrides
        .get("containerOverrides")
        .is_some_and(|list| !list.is_array())
    {
        return Err(bad(FLAG, "containerOverrides must be a list"));
    }
    let names: Vec<String> = known.iter().map(|c| c.name.clone()).collect();
    for entry in overrides["containerOverrides"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = entry["name"]
            .as_str()
            .ok_or_else(|| {
                // The entry is not shown: its environment may hold secrets.
                bad(
                    FLAG,
                    "an entry of containerOverrides has no \"name\": each names the container it overrides",
                )
            })?;
        if !names.iter().any(|known| known == name) {
            return Err(RunTaskError::UnknownContainer {
                flag: FLAG,
                container: name.to_string(),
                known: names,
            });
        }
    }
    if command.is_none() && environment.is_empty() {
        return Ok(Some(overrides));
    }
    let list = overrides
        .as_object_mut()
        .expect("checked above")
        .entry("containerOverrides")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .expect("checked above");
    let index = match list.iter().position(|entry| entry["name"] == container) {
        Some(index) => index,
        None => {
            list.push(json!({"name": container}));
            list.len() - 1
        }
    };
    let entry = &mut list[index];
    if let Some(command) = command {
        entry["command"] = json!(command);
    }
    if !environment.is_empty() {
        let mut variables: Vec<Value> =
            entry["environment"].as_array().cloned().unwrap_or_default();
        for (name, value) in environment {
            variables.retain(|variable| variable["name"] != name.as_str());
            variables.push(json!({"name": name, "value": value}));
        }
        entry["environment"] = json!(variables);
    }
    Ok(Some(overrides))
}

/// What RunTask is asked beyond the task definition.
#[derive(Debug, Clone, Default)]
pub struct RunTaskRequest {
    pub cluster: String,
    pub count: i32,
    pub started_by: Option<String>,
    pub group: Option<String>,
    pub placement_constraints: Vec<Value>,
    pub placement_strategy: Vec<Value>,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<Value>,
    pub platform_version: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<String>,
    pub overrides: Option<Value>,
    pub tags: Vec<(String, String)>,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: Option<String>,
    pub enable_execute_command: bool,
}

impl RunTaskRequest {
    /// The RunTask input as the API takes it (and `--dry-run` prints it).
    pub fn input(&self, task_definition: &str) -> Value {
        let mut input = json!({
            "cluster": self.cluster,
            "taskDefinition": task_definition,
            "count": self.count,
        });
        let mut set = |key: &str, value: Value| {
            input[key] = value;
        };
        if let Some(started_by) = &self.started_by {
            set("startedBy", json!(started_by));
        }
        if let Some(group) = &self.group {
            set("group", json!(group));
        }
        if !self.placement_constraints.is_empty() {
            set("placementConstraints", json!(self.placement_constraints));
        }
        if !self.placement_strategy.is_empty() {
            set("placementStrategy", json!(self.placement_strategy));
        }
        if let Some(launch_type) = &self.launch_type {
            set("launchType", json!(launch_type));
        }
        if !self.capacity_provider_strategy.is_empty() {
            set(
                "capacityProviderStrategy",
                json!(self.capacity_provider_strategy),
            );
        }
        if let Some(version) = &self.platform_version {
            set("platformVersion", json!(version));
        }
        if !self.subnets.is_empty() {
            let mut vpc = json!({"subnets": self.subnets});
            if !self.security_groups.is_empty() {
                vpc["securityGroups"] = json!(self.security_groups);
            }
            if let Some(ip) = &self.assign_public_ip {
                vpc["assignPublicIp"] = json!(ip);
            }
            set("networkConfiguration", json!({"awsvpcConfiguration": vpc}));
        }
        if let Some(overrides) = &self.overrides {
            set("overrides", overrides.clone());
        }
        if !self.tags.is_empty() {
            let tags: Vec<Value> = self
                .tags
                .iter()
                .map(|(key, value)| json!({"key": key, "value": value}))
                .collect();
            set("tags", json!(tags));
        }
        if self.enable_ecs_managed_tags {
            set("enableECSManagedTags", json!(true));
        }
        if let Some(propagate) = &self.propagate_tags {
            set("propagateTags", json!(propagate));
        }
        if self.enable_execute_command {
            set("enableExecuteCommand", json!(true));
        }
        input
    }
}

/// The CloudWatch Logs stream of `container` in task `task_arn`: `prefix/container/task-id`.
pub fn log_stream(logs: &AwsLogs, container: &str, task_arn: &str) -> Option<String> {
    let prefix = logs.stream_prefix.as_deref()?;
    Some(format!("{prefix}/{container}/{}", task_id(task_arn)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration_definition() -> Value {
        json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-migrate:4",
            "family": "tutorial-site-migrate",
            "containerDefinitions": [
                {
                    "name": "migrate",
                    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2",
                    "essential": true,
                    "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/tutorial-site-migrate",
                        "awslogs-region": "eu-west-1",
                        "awslogs-stream-prefix": "ecs"
                    }}
                },
                {"name": "log-router", "image": "amazon/aws-for-fluent-bit:stable", "essential": false}
            ]
        }})
    }

    #[test]
    fn containers_are_read_with_their_awslogs_settings() {
        let found = containers(&migration_definition());
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].awslogs,
            Some(AwsLogs {
                group: "/ecs/tutorial-site-migrate".into(),
                stream_prefix: Some("ecs".into())
            })
        );
        assert!(found[0].essential);
        assert!(!found[1].essential);
        assert_eq!(found[1].awslogs, None);
        assert_eq!(
            log_stream(
                found[0].awslogs.as_ref().unwrap(),
                "migrate",
                "arn:aws:ecs:eu-west-1:123456789012:task/tutorial-site-cluster/0a1b2c3d4e5f"
            ),
            Some("ecs/migrate/0a1b2c3d4e5f".into())
        );
    }

    #[test]
    fn the_default_container_is_the_single_essential_one() {
        let found = containers(&migration_definition());
        assert_eq!(
            pick_container(&found, None, "--container").unwrap(),
            "migrate"
        );
        assert_eq!(
            pick_container(&found, Some("log-router"), "--container").unwrap(),
            "log-router"
        );
        let error = pick_container(&found, Some("web"), "--exit-code-from").unwrap_err();
        assert_eq!(
            error.to_string(),
            "--exit-code-from: the task definition has no container \"web\" (it has: migrate, log-router)"
        );
        let mut both = found.clone();
        both[1].essential = true;
        let error = pick_container(&both, None, "--container").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the task definition has several essential containers (migrate, log-router): name one with --container"
        );
    }

    #[test]
    fn lists_are_read_as_json_or_as_the_cli_shorthand() {
        let keys = ["type", "field"];
        let shorthand = parse_list(
            "--placement-strategy",
            "type=spread,field=attribute:ecs.availability-zone type=binpack,field=memory",
            &keys,
            &[],
        )
        .unwrap();
        assert_eq!(
            shorthand,
            [
                json!({"type": "spread", "field": "attribute:ecs.availability-zone"}),
                json!({"type": "binpack", "field": "memory"})
            ]
        );
        let from_json = parse_list(
            "--placement-strategy",
            r#"[{"type":"spread","field":"attribute:ecs.availability-zone"},{"type":"binpack","field":"memory"}]"#,
            &keys,
            &[],
        )
        .unwrap();
        assert_eq!(shorthand, from_json);
        let constraint = parse_list(
            "--placement-constraints",
            r#"{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}"#,
            &["type", "expression"],
            &[],
        )
        .unwrap();
        assert_eq!(
            constraint[0]["expression"],
            "attribute:ecs.instance-type =~ t3.*"
        );
        let providers = parse_list(
            "--capacity-provider-strategy",
            "capacityProvider=FARGATE_SPOT,weight=3 capacityProvider=FARGATE,weight=1,base=1",
            &["capacityProvider", "weight", "base"],
            &["weight", "base"],
        )
        .unwrap();
        assert_eq!(
            providers[1],
            json!({"capacityProvider": "FARGATE", "weight": 1, "base": 1})
        );
        let error = parse_list(
            "--capacity-provider-strategy",
            "capacityProvider=FARGATE,weight=heavy",
            &["capacityProvider", "weight", "base"],
            &["weight", "base"],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "--capacity-provider-strategy: weight=heavy: not a whole number"
        );
        let error = parse_list("--placement-strategy", "kind=spread", &keys, &[]).unwrap_err();
        assert!(
            error.to_string().contains("unknown key \"kind\""),
            "{error}"
        );
    }

    #[test]
    fn tags_are_read_in_every_form_people_write() {
        let expected = vec![
            ("team".to_string(), "web".to_string()),
            ("job".to_string(), "migrate".to_string()),
        ];
        assert_eq!(parse_tags("team=web,job=migrate").unwrap(), expected);
        assert_eq!(
            parse_tags("key=team,value=web key=job,value=migrate").unwrap(),
            expected
        );
        assert_eq!(
            parse_tags(r#"[{"key":"team","value":"web"},{"key":"job","value":"migrate"}]"#)
                .unwrap(),
            expected
        );
        assert!(parse_tags("team").is_err());
        assert!(parse_tags("").unwrap().is_empty());
    }

    #[test]
    fn commands_are_split_as_a_shell_splits_words() {
        assert_eq!(
            split_command(r#"sh -c 'echo "migrated $VERSION" && exit 3'"#).unwrap(),
            ["sh", "-c", "echo \"migrated $VERSION\" && exit 3"]
        );
        assert_eq!(
            split_command(r#"./migrate --to "v 2" a\ b "q\"uote""#).unwrap(),
            ["./migrate", "--to", "v 2", "a b", "q\"uote"]
        );
        assert_eq!(split_command("''").unwrap(), [""]);
        assert!(split_command("echo 'open").is_err());
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn command_and_env_flags_merge_into_the_overrides() {
        let known = containers(&migration_definition());
        let env = parse_env(&["VERSION=2".into(), "DRY=1".into(), "VERSION=3".into()]).unwrap();
        let merged = overrides(
            Some(r#"{"containerOverrides":[{"name":"migrate","environment":[{"name":"DRY","value":"0"},{"name":"KEEP","value":"x"}]}],"cpu":"512"}"#),
            "migrate",
            Some(vec!["./migrate".into(), "up".into()]),
            &env,
            &known,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            merged,
            json!({"containerOverrides": [{
                "name": "migrate",
                "environment": [
                    {"name": "KEEP", "value": "x"},
                    {"name": "DRY", "value": "1"},
                    {"name": "VERSION", "value": "3"}
                ],
                "command": ["./migrate", "up"]
            }], "cpu": "512"})
        );
        let added = overrides(None, "migrate", Some(vec!["true".into()]), &[], &known)
            .unwrap()
            .unwrap();
        assert_eq!(
            added,
            json!({"containerOverrides": [{"name": "migrate", "command": ["true"]}]})
        );
        assert_eq!(overrides(None, "migrate", None, &[], &known).unwrap(), None);
        let error = overrides(
            Some(r#"{"containerOverrides":[{"name":"web","command":["x"]}]}"#),
            "migrate",
            None,
            &[],
            &known,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("--overrides: the task definition has no container \"web\""),
            "{error}"
        );
        assert!(overrides(Some("[1]"), "migrate", None, &[], &known).is_err());
        assert!(parse_env(&["NOVALUE".into()]).is_err());
    }

    #[test]
    fn the_input_names_every_setting_as_run_task_takes_it() {
        let request = RunTaskRequest {
            cluster: "tutorial-site-cluster".into(),
            count: 2,
            started_by: Some("circleci-1234".into()),
            group: Some("migrations".into()),
            placement_strategy: vec![json!({"type": "random"})],
            launch_type: Some("FARGATE".into()),
            platform_version: Some("LATEST".into()),
            subnets: vec!["subnet-1".into(), "subnet-2".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: Some("DISABLED".into()),
            tags: vec![("team".into(), "web".into())],
            enable_ecs_managed_tags: true,
            propagate_tags: Some("TASK_DEFINITION".into()),
            enable_execute_command: true,
            ..Default::default()
        };
        assert_eq!(
            request.input("tutorial-site-migrate:4"),
            json!({
                "cluster": "tutorial-site-cluster",
                "taskDefinition": "tutorial-site-migrate:4",
                "count": 2,
                "startedBy": "circleci-1234",
                "group": "migrations",
                "placementStrategy": [{"type": "random"}],
                "launchType": "FARGATE",
                "platformVersion": "LATEST",
                "networkConfiguration": {"awsvpcConfiguration": {
                    "subnets": ["subnet-1", "subnet-2"],
                    "securityGroups": ["sg-1"],
                    "assignPublicIp": "DISABLED"
                }},
                "tags": [{"key": "team", "value": "web"}],
                "enableECSManagedTags": true,
                "propagateTags": "TASK_DEFINITION",
                "enableExecuteCommand": true
            })
        );
    }
}
