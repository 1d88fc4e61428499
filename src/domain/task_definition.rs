//! Renders the next revision of a task definition: the DescribeTaskDefinition answer as AWS sent
//! it, minus read-only fields, plus the requested container updates. Working on JSON means every
//! field survives, including ones newer than the SDK deployer was built with.
use std::fmt;

use serde_json::{json, Map, Value};

use super::reference::ImageReference;
use super::update_spec::{ContainerUpdate, ImageChange};

/// Fields DescribeTaskDefinition answers that RegisterTaskDefinition does not take.
pub const READ_ONLY_FIELDS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// Why the new revision could not be rendered; nothing is registered then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenderError {
    NotATaskDefinition(String),
    UnknownContainer {
        container: String,
        known: Vec<String>,
    },
    MissingEnvVar {
        container: String,
        name: String,
    },
    BadImage {
        container: String,
        problem: String,
    },
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::NotATaskDefinition(why) => {
                write!(f, "not a DescribeTaskDefinition answer: {why}")
            }
            RenderError::UnknownContainer { container, known } => write!(
                f,
                "the task definition has no container {container:?} (it has: {})",
                known.join(", ")
            ),
            RenderError::MissingEnvVar { container, name } => write!(
                f,
                "container {container} has no environment variable {name} to remove"
            ),
            RenderError::BadImage { container, problem } => {
                write!(f, "container {container}: {problem}")
            }
        }
    }
}

impl std::error::Error for RenderError {}

/// The RegisterTaskDefinition input for the next revision.
pub fn render(described: &Value, updates: &[ContainerUpdate]) -> Result<Value, RenderError> {
    let mut input = register_input(described)?;
    let containers = input
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| RenderError::NotATaskDefinition("no containerDefinitions".into()))?;
    let known: Vec<String> = containers
        .iter()
        .filter_map(|container| {
            container
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    for update in updates {
        let container = containers
            .iter_mut()
            .find(|container| {
                container.get("name").and_then(Value::as_str) == Some(update.container())
            })
            .ok_or_else(|| RenderError::UnknownContainer {
                container: update.container().to_string(),
                known: known.clone(),
            })?;
        apply(container, update)?;
    }
    Ok(input)
}

/// Sets tags on a rendered RegisterTaskDefinition input: a tag of an existing key gets the new
/// value, others are added after the revision's own tags.
pub fn set_tags(input: &mut Value, tags: &[(String, String)]) {
    if tags.is_empty() {
        return;
    }
    let Some(object) = input.as_object_mut() else {
        return;
    };
    let list = object
        .entry("tags")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    let Value::Array(list) = list else { return };
    for (key, value) in tags {
        match list
            .iter_mut()
            .find(|tag| tag.get("key").and_then(Value::as_str) == Some(key))
        {
            Some(tag) => tag["value"] = Value::String(value.clone()),
            None => list.push(json!({ "key": key, "value": value })),
        }
    }
}

/// The described revision as a RegisterTaskDefinition input, before any update.
fn register_input(described: &Value) -> Result<Value, RenderError> {
    let definition = described
        .get("taskDefinition")
        .and_then(Value::as_object)
        .ok_or_else(|| RenderError::NotATaskDefinition("no \"taskDefinition\" object".into()))?;
    let mut input: Map<String, Value> = definition
        .iter()
        .filter(|(key, _)| !READ_ONLY_FIELDS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if let Some(tags) = described
        .get("tags")
        .and_then(Value::as_array)
        .filter(|tags| !tags.is_empty())
    {
        input.insert("tags".into(), Value::Array(tags.clone()));
    }
    Ok(Value::Object(input))
}

fn apply(container: &mut Value, update: &ContainerUpdate) -> Result<(), RenderError> {
    let name = update.container().to_string();
    match update {
        ContainerUpdate::Image { change, .. } => {
            let current = container
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let image = new_image(current, change).map_err(|problem| RenderError::BadImage {
                container: name,
                problem,
            })?;
            container["image"] = Value::String(image);
        }
        ContainerUpdate::EnvVar {
            name: key, value, ..
        } => {
            upsert(container, "environment", key, "value", value);
        }
        ContainerUpdate::Secret {
            name: key,
            value_from,
            ..
        } => {
            upsert(container, "secrets", key, "valueFrom", value_from);
        }
        ContainerUpdate::RemoveEnvVar { name: key, .. } => {
            let list = container
                .get_mut("environment")
                .and_then(Value::as_array_mut);
            let removed = list.is_some_and(|list| {
                let before = list.len();
                list.retain(|entry| entry.get("name").and_then(Value::as_str) != Some(key));
                list.len() != before
            });
            if !removed {
                return Err(RenderError::MissingEnvVar {
                    container: name,
                    name: key.clone(),
                });
            }
        }
        ContainerUpdate::DockerLabel { key, value, .. } => {
            if !container.get("dockerLabels").is_some_and(Value::is_object) {
                container["dockerLabels"] = json!({});
            }
            container["dockerLabels"][key] = Value::String(value.clone());
        }
    }
    Ok(())
}

/// Sets `{name, <field>}` in a list of name/value objects, in place or at the end.
fn upsert(container: &mut Value, list: &str, name: &str, field: &str, value: &str) {
    if !container.get(list).is_some_and(Value::is_array) {
        container[list] = json!([]);
    }
    let entries = container[list].as_array_mut().expect("just made an array");
    match entries
        .iter_mut()
        .find(|entry| entry.get("name").and_then(Value::as_str) == Some(name))
    {
        Some(entry) => entry[field] = Value::String(value.to_string()),
        None => entries.push(json!({ "name": name, field: value })),
    }
}

fn new_image(current: &str, change: &ImageChange) -> Result<String, String> {
    let parse = |text: &str| ImageReference::parse(text).map_err(|e| e.to_string());
    Ok(match change {
        ImageChange::Replace(reference) => reference.clone(),
        ImageChange::Tag(tag) => {
            let mut reference = parse(current)?;
            reference.tag = Some(tag.clone());
            reference.digest = None;
            reference.to_string()
        }
        ImageChange::Digest(digest) => {
            let mut reference = parse(current)?;
            reference.tag = None;
            reference.digest = Some(digest.clone());
            reference.to_string()
        }
        ImageChange::Name(name) => {
            let current = parse(current)?;
            let mut reference = parse(name)?;
            reference.tag = current.tag;
            reference.digest = current.digest;
            reference.to_string()
        }
    })
}

/// What the new revision changes, one readable line per changed path, in a stable order.
pub fn diff(described: &Value, rendered: &Value) -> Vec<String> {
    let before = register_input(described).unwrap_or(Value::Null);
    let mut lines = Vec::new();
    diff_values("", &before, rendered, &mut lines);
    lines
}

fn diff_values(path: &str, before: &Value, after: &Value, lines: &mut Vec<String>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(left), Value::Object(right)) => {
            let mut keys: Vec<&String> = left.keys().chain(right.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                diff_values(
                    &child,
                    left.get(key).unwrap_or(&Value::Null),
                    right.get(key).unwrap_or(&Value::Null),
                    lines,
                );
            }
        }
        (Value::Array(left), Value::Array(right))
            if is_named_list(left) && is_named_list(right) =>
        {
            let mut names: Vec<&str> = left
                .iter()
                .chain(right.iter())
                .filter_map(entry_name)
                .collect();
            names.dedup();
            let mut seen = Vec::new();
            for name in names {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                let find = |list: &Vec<Value>| {
                    list.iter()
                        .find(|entry| entry_name(entry) == Some(name))
                        .cloned()
                };
                let (old, new) = (
                    find(left).unwrap_or(Value::Null),
                    find(right).unwrap_or(Value::Null),
                );
                let child = format!("{path}[{name}]");
                match (
                    old.get("value").or(old.get("valueFrom")),
                    new.get("value").or(new.get("valueFrom")),
                ) {
                    (old_value, new_value) if old_value.is_some() || new_value.is_some() => {
                        if old != new {
                            lines.push(format!(
                                "{child}: {} -> {}",
                                show(old_value),
                                show(new_value)
                            ));
                        }
                    }
                    _ => diff_values(&child, &old, &new, lines),
                }
            }
        }
        _ => lines.push(format!(
            "{path}: {} -> {}",
            show(Some(before)),
            show(Some(after))
        )),
    }
}

fn is_named_list(list: &[Value]) -> bool {
    list.iter().all(|entry| entry_name(entry).is_some())
}

fn entry_name(entry: &Value) -> Option<&str> {
    entry.get("name").and_then(Value::as_str)
}

fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".to_string(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::update_spec::{
        parse_docker_label_updates, parse_env_var_removals, parse_env_var_updates,
        parse_image_updates, parse_secret_updates,
    };

    const SEED: &str =
        include_str!("../../tests/fixtures/describe-task-definition-tutorial-site.json");
    const MULTI: &str =
        include_str!("../../tests/fixtures/describe-task-definition-multi-container.json");

    fn seed() -> Value {
        serde_json::from_str(SEED).unwrap()
    }

    fn multi() -> Value {
        serde_json::from_str(MULTI).unwrap()
    }

    #[test]
    fn tags_are_upserted_by_key_after_the_revisions_own() {
        let described = json!({
            "taskDefinition": {"family": "tutorial-site-task", "containerDefinitions": [{"name": "tutorial-site-app", "image": "app:v1"}]},
            "tags": [{"key": "team", "value": "web"}, {"key": "release", "value": "1"}]
        });
        let mut rendered = render(&described, &[]).unwrap();
        set_tags(
            &mut rendered,
            &[
                ("release".into(), "2".into()),
                ("commit".into(), "0a1b2c3".into()),
            ],
        );
        assert_eq!(
            rendered["tags"],
            json!([{"key": "team", "value": "web"}, {"key": "release", "value": "2"}, {"key": "commit", "value": "0a1b2c3"}])
        );
        assert!(diff(&described, &rendered)
            .iter()
            .any(|line| line.contains("tags")));

        let mut untagged = render(
            &json!({"taskDefinition": {"containerDefinitions": []}}),
            &[],
        )
        .unwrap();
        set_tags(&mut untagged, &[("team".into(), "web".into())]);
        assert_eq!(untagged["tags"], json!([{"key": "team", "value": "web"}]));
    }

    #[test]
    fn only_the_image_changes_read_only_fields_go_tags_stay() {
        let described = seed();
        let rendered = render(
            &described,
            &parse_image_updates("container=tutorial-site-app,tag=v2").unwrap(),
        )
        .unwrap();
        assert_eq!(
            rendered["containerDefinitions"][0]["image"],
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2"
        );
        for field in READ_ONLY_FIELDS {
            assert!(rendered.get(*field).is_none(), "{field} must be dropped");
        }
        assert_eq!(rendered["tags"], described["tags"]);
        let mut expected = register_input(&described).unwrap();
        expected["containerDefinitions"][0]["image"] =
            rendered["containerDefinitions"][0]["image"].clone();
        assert_eq!(rendered, expected, "nothing else changed");
        for kept in [
            "runtimePlatform",
            "ephemeralStorage",
            "ipcMode",
            "pidMode",
            "executionRoleArn",
            "cpu",
            "memory",
        ] {
            assert_eq!(rendered[kept], described["taskDefinition"][kept], "{kept}");
        }
        assert_eq!(
            diff(&described, &rendered),
            ["containerDefinitions[tutorial-site-app].image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:latest -> 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2"]
        );
    }

    #[test]
    fn unknown_future_fields_are_carried_over() {
        let rendered = render(&multi(), &[]).unwrap();
        assert_eq!(rendered["someFutureField"], json!({"x": 1}));
        assert_eq!(
            rendered["containerDefinitions"][1]["someFutureContainerField"],
            true
        );
    }

    #[test]
    fn multi_container_env_secret_and_label_upserts() {
        let mut updates = parse_env_var_updates(
            "container=app,name=LOG_LEVEL,value=debug,container=app,name=NEW,value=a=b",
        )
        .unwrap();
        updates.extend(parse_env_var_removals("container=app,name=REMOVE_ME").unwrap());
        updates.extend(parse_secret_updates("container=sidecar,name=TOKEN,valueFrom=arn:aws:ssm:eu-west-1:123456789012:parameter/new").unwrap());
        updates.extend(
            parse_docker_label_updates("container=sidecar,traefik.rule=Host(`a`)&&Query(`x=1`)")
                .unwrap(),
        );
        updates.extend(parse_image_updates("container=sidecar,tag=2.0").unwrap());
        let described = multi();
        let rendered = render(&described, &updates).unwrap();
        let app = &rendered["containerDefinitions"][0];
        assert_eq!(
            app["environment"],
            json!([{"name": "LOG_LEVEL", "value": "debug"}, {"name": "NEW", "value": "a=b"}])
        );
        let sidecar = &rendered["containerDefinitions"][1];
        assert_eq!(
            sidecar["secrets"][0]["valueFrom"],
            "arn:aws:ssm:eu-west-1:123456789012:parameter/new"
        );
        assert_eq!(
            sidecar["dockerLabels"]["traefik.rule"],
            "Host(`a`)&&Query(`x=1`)"
        );
        assert_eq!(sidecar["dockerLabels"]["team"], "web");
        assert_eq!(sidecar["image"], "127.0.0.1:5000/proxy:2.0");
        let changes = diff(&described, &rendered);
        assert!(
            changes
                .contains(&"containerDefinitions[app].environment[NEW]: (none) -> a=b".to_string()),
            "{changes:?}"
        );
        assert!(
            changes.contains(
                &"containerDefinitions[app].environment[REMOVE_ME]: gone -> (none)".to_string()
            ),
            "{changes:?}"
        );
    }

    #[test]
    fn images_with_ports_and_digests() {
        let digest = format!("sha256:{}", "b".repeat(64));
        let cases = [
            (
                "127.0.0.1:5000/app:v1",
                ImageChange::Tag("v2".into()),
                "127.0.0.1:5000/app:v2".to_string(),
            ),
            (
                &*format!("app@{digest}"),
                ImageChange::Tag("v2".into()),
                "app:v2".to_string(),
            ),
            (
                "127.0.0.1:5000/app:v1",
                ImageChange::Digest(digest.clone()),
                format!("127.0.0.1:5000/app@{digest}"),
            ),
            (
                "127.0.0.1:5000/app:v1",
                ImageChange::Name("registry.example:443/team/app".into()),
                "registry.example:443/team/app:v1".to_string(),
            ),
            (
                "app:v1",
                ImageChange::Replace("other:v9".into()),
                "other:v9".to_string(),
            ),
        ];
        for (current, change, expected) in cases {
            assert_eq!(
                new_image(current, &change).unwrap(),
                expected,
                "{current} {change:?}"
            );
        }
    }

    #[test]
    fn mistakes_are_errors_naming_the_part() {
        let error = render(
            &seed(),
            &parse_image_updates("container=nope,tag=1").unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the task definition has no container \"nope\" (it has: tutorial-site-app)"
        );
        let error = render(
            &seed(),
            &parse_env_var_removals("container=tutorial-site-app,name=NOT_THERE").unwrap(),
        )
        .unwrap_err();
        assert!(error.to_string().contains("NOT_THERE"), "{error}");
        assert!(render(&json!({"nope": 1}), &[]).is_err());
    }

    /// Field names of an SDK type, from its derived Debug (`Type { field_name: …, … }`).
    fn debug_field_names(debug: &str) -> Vec<String> {
        let inner = &debug[debug.find('{').unwrap() + 1..debug.rfind('}').unwrap()];
        inner
            .split(", ")
            .filter_map(|part| {
                part.split_once(':')
                    .map(|(name, _)| name.trim().to_string())
            })
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect()
    }

    fn camel_case(snake: &str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in snake.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn every_register_task_definition_input_field_is_carried() {
        let input =
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder(
            )
            .build()
            .unwrap();
        let fields = debug_field_names(&format!("{input:?}"));
        assert!(fields.len() >= 18, "{fields:?}");
        let mut described = seed();
        for field in &fields {
            let name = camel_case(field);
            assert!(
                !READ_ONLY_FIELDS.contains(&name.as_str()),
                "{name} is an input but dropped"
            );
            if name != "tags" && described["taskDefinition"].get(&name).is_none() {
                described["taskDefinition"][&name] = json!(format!("value of {name}"));
            }
        }
        let rendered = render(&described, &[]).unwrap();
        for field in &fields {
            let name = camel_case(field);
            assert!(rendered.get(&name).is_some(), "{name} is not carried");
        }
    }

    #[test]
    fn every_described_field_is_an_input_or_known_read_only() {
        let described = aws_sdk_ecs::types::TaskDefinition::builder().build();
        let input =
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder(
            )
            .build()
            .unwrap();
        let inputs: Vec<String> = debug_field_names(&format!("{input:?}"))
            .iter()
            .map(|f| camel_case(f))
            .collect();
        for field in debug_field_names(&format!("{described:?}")) {
            let name = camel_case(&field);
            assert!(
                inputs.contains(&name) || READ_ONLY_FIELDS.contains(&name.as_str()),
                "{name} is new in the SDK: is it a RegisterTaskDefinition input or read-only?"
            );
        }
    }
}
