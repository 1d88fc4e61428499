//! What a new revision changes against the family's latest one, one readable line per changed
//! path, in a stable order. Values of environment variables and secrets are never shown: only
//! their names and what happened to them.
use serde_json::Value;

use super::hidden_values::{hide_values, is_hidden_list};
use super::task_definition::register_input;

/// What the new revision changes, one readable line per changed path, in a stable order. Values
/// of environment variables and secrets are never shown: only their names and what happened.
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
                let (old, new) = (
                    left.get(key).unwrap_or(&Value::Null),
                    right.get(key).unwrap_or(&Value::Null),
                );
                if is_hidden_list(key) {
                    diff_hidden_values(&child, old, new, lines);
                } else {
                    diff_values(&child, old, new, lines);
                }
            }
        }
        (Value::Array(left), Value::Array(right))
            if is_named_list(left) && is_named_list(right) =>
        {
            for name in entry_names(left, right) {
                let (old, new) = (find_entry(left, name), find_entry(right, name));
                diff_values(&format!("{path}[{name}]"), old, new, lines);
            }
        }
        _ => lines.push(format!(
            "{}{} -> {}",
            readable(path),
            show(before),
            show(after)
        )),
    }
}

/// A list of `{name, value}` or `{name, valueFrom}`: which names were added, changed or removed.
fn diff_hidden_values(path: &str, before: &Value, after: &Value, lines: &mut Vec<String>) {
    let empty = Vec::new();
    let left = before.as_array().unwrap_or(&empty);
    let right = after.as_array().unwrap_or(&empty);
    for name in entry_names(left, right) {
        let what = match (find_entry(left, name), find_entry(right, name)) {
            (old, new) if old == new => continue,
            (Value::Null, _) => "added",
            (_, Value::Null) => "removed",
            _ => "changed",
        };
        lines.push(format!("{}{name} {what}", readable(path)));
    }
    let unnamed = |list: &[Value]| -> Vec<Value> {
        list.iter()
            .filter(|entry| entry_name(entry).is_none())
            .cloned()
            .collect()
    };
    if unnamed(left) != unnamed(right) {
        lines.push(format!("{}entries without a name changed", readable(path)));
    }
}

/// `containerDefinitions[app].image` reads `app: image `; a top-level `cpu` reads `cpu: `.
fn readable(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("containerDefinitions[") {
        if let Some((container, field)) = rest.split_once("].") {
            return format!("{container}: {field} ");
        }
    }
    if path.is_empty() {
        return "task definition: ".to_string();
    }
    format!("{path}: ")
}

/// Entry names of both lists, each once, in order of first appearance.
fn entry_names<'a>(left: &'a [Value], right: &'a [Value]) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for name in left.iter().chain(right.iter()).filter_map(entry_name) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn find_entry<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|entry| entry_name(entry) == Some(name))
        .unwrap_or(&Value::Null)
}

fn is_named_list(list: &[Value]) -> bool {
    list.iter().all(|entry| entry_name(entry).is_some())
}

fn entry_name(entry: &Value) -> Option<&str> {
    entry.get("name").and_then(Value::as_str)
}

/// A value for a change line, with every environment value and secret source inside it hidden.
fn show(value: &Value) -> String {
    let mut value = value.clone();
    hide_values(&mut value);
    match value {
        Value::Null => "(none)".to_string(),
        Value::String(text) => text,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::task_definition::fixtures::described;
    use crate::domain::task_definition::render;
    use crate::domain::update_spec::{
        parse_env_var_removals, parse_env_var_updates, parse_secret_updates,
    };
    use serde_json::json;

    #[test]
    fn the_change_summary_names_variables_and_secrets_but_never_their_values() {
        let described = described("secrets-and-logging");
        let mut updates = parse_env_var_updates(
            "container=tutorial-site-app,name=DB_HOST,value=db-v2.internal,container=tutorial-site-app,name=API_TOKEN,value=s3cr3t-v4lue,container=log-router,name=FLB_LOG_LEVEL,value=debug",
        )
        .unwrap();
        updates
            .extend(parse_env_var_removals("container=tutorial-site-app,name=NODE_ENV").unwrap());
        updates.extend(
            parse_secret_updates(
                "container=tutorial-site-app,name=NEW_KEY,valueFrom=arn:aws:ssm:eu-west-1:123456789012:parameter/new-key",
            )
            .unwrap(),
        );
        let rendered = render(&described, &updates).unwrap();
        let changes = diff(&described, &rendered);
        assert_eq!(
            changes,
            [
                "tutorial-site-app: environment NODE_ENV removed",
                "tutorial-site-app: environment DB_HOST changed",
                "tutorial-site-app: environment API_TOKEN added",
                "tutorial-site-app: secrets NEW_KEY added",
                "log-router: environment FLB_LOG_LEVEL added",
            ]
        );
        let printed = changes.join("\n");
        for value in [
            "s3cr3t-v4lue",
            "db-v2.internal",
            "production",
            "debug",
            "parameter/new-key",
        ] {
            assert!(!printed.contains(value), "{value} printed: {printed}");
        }

        // A container that had no environment list at all, and a whole container printed.
        let bare = json!({"taskDefinition": {"family": "tutorial-site-task", "containerDefinitions": [
            {"name": "tutorial-site-app", "image": "app:v1"}
        ]}});
        let rendered = render(
            &bare,
            &parse_env_var_updates(
                "container=tutorial-site-app,name=DB_PASSWORD,value=s3cr3t-v4lue",
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            diff(&bare, &rendered),
            ["tutorial-site-app: environment DB_PASSWORD added"]
        );
        let mut grown = rendered.clone();
        grown["containerDefinitions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "worker", "image": "app:v1", "environment": [{"name": "DB_PASSWORD", "value": "s3cr3t-v4lue"}], "secrets": [{"name": "K", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/k"}]}));
        let changes = diff(&bare, &grown);
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(
            changes[1].starts_with("containerDefinitions[worker]: (none) -> "),
            "{changes:?}"
        );
        assert!(changes[1].contains("DB_PASSWORD"), "{changes:?}");
        assert!(!changes.join("\n").contains("s3cr3t-v4lue"), "{changes:?}");
        assert!(!changes.join("\n").contains("parameter/k"), "{changes:?}");
    }
}
