//! What a deploy would change, as a unified diff: the revision the service runs against the one
//! the plan renders (RegisterTaskDefinition's shape, keys in ECS's order), and the service
//! settings deployer would change. Environment values and secrets' sources are never shown:
//! they read `<set>`, and `<set, changed>` on the new side when the value changes.
use serde_json::{Map, Value};
use similar::TextDiff;

use super::hidden_values::{HIDDEN_LISTS, SHOWN_AS};

/// What a changed hidden value reads on the new side.
pub const SHOWN_CHANGED: &str = "<set, changed>";

/// The unified diff of `before` and `after` (pretty JSON), with these headers; empty when they
/// are equal.
pub fn unified(before: &Value, after: &Value, from: &str, to: &str) -> String {
    let (before, after) = masked(before, after);
    let left = pretty(&before);
    let right = pretty(&after);
    if left == right {
        return String::new();
    }
    TextDiff::from_lines(&left, &right)
        .unified_diff()
        .context_radius(3)
        .header(from, to)
        .to_string()
}

fn pretty(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Both documents with their hidden values replaced; a value that differs between them by its
/// entry's name reads [`SHOWN_CHANGED`] on the new side.
fn masked(before: &Value, after: &Value) -> (Value, Value) {
    let mut left = before.clone();
    let mut right = after.clone();
    mask_pair(&mut left, &mut right);
    (left, right)
}

fn mask_pair(left: &mut Value, right: &mut Value) {
    match (left, right) {
        (Value::Object(l), Value::Object(r)) => {
            let keys: Vec<String> = l.keys().chain(r.keys()).cloned().collect();
            for key in keys {
                let field = HIDDEN_LISTS
                    .iter()
                    .find(|(list, _)| *list == key)
                    .map(|(_, field)| *field);
                match (l.get_mut(&key), r.get_mut(&key), field) {
                    (Some(lv), Some(rv), Some(field)) => mask_lists(lv, rv, field),
                    (Some(lv), None, Some(field)) => mask_list(lv, field),
                    (None, Some(rv), Some(field)) => mask_list(rv, field),
                    (Some(lv), Some(rv), None) => mask_pair(lv, rv),
                    (Some(lv), None, None) => mask_alone(lv),
                    (None, Some(rv), None) => mask_alone(rv),
                    (None, None, _) => {}
                }
            }
        }
        (Value::Array(l), Value::Array(r)) => {
            // Containers and other named entries pair by name, the rest by position.
            let name = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_string);
            let mut paired = vec![false; r.len()];
            for lv in l.iter_mut() {
                let found = match name(lv) {
                    Some(n) => r.iter().position(|rv| name(rv).as_deref() == Some(&n)),
                    None => None,
                };
                match found {
                    Some(index) => {
                        paired[index] = true;
                        mask_pair(lv, &mut r[index]);
                    }
                    None => mask_alone(lv),
                }
            }
            for (index, rv) in r.iter_mut().enumerate() {
                if !paired[index] {
                    mask_alone(rv);
                }
            }
        }
        (l, r) => {
            mask_alone(l);
            mask_alone(r);
        }
    }
}

/// A document with no counterpart: every hidden value reads `<set>`.
fn mask_alone(value: &mut Value) {
    super::hidden_values::hide_values(value);
}

fn mask_list(list: &mut Value, field: &str) {
    if let Some(entries) = list.as_array_mut() {
        for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(value) = entry.get_mut(field) {
                *value = Value::String(SHOWN_AS.to_string());
            }
        }
    }
}

/// Two lists of `{name, value}`: `<set>` on both sides, `<set, changed>` on the new side where
/// the same name's value differs.
fn mask_lists(left: &mut Value, right: &mut Value, field: &str) {
    let old: Map<String, Value> = left
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            Some((
                entry.get("name")?.as_str()?.to_string(),
                entry.get(field)?.clone(),
            ))
        })
        .collect();
    if let Some(entries) = right.as_array_mut() {
        for entry in entries.iter_mut().filter_map(Value::as_object_mut) {
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(value) = entry.get_mut(field) {
                let changed = match name.and_then(|n| old.get(&n)) {
                    Some(before) => before != value,
                    None => false,
                };
                *value = Value::String(if changed { SHOWN_CHANGED } else { SHOWN_AS }.to_string());
            }
        }
    }
    mask_list(left, field);
}

/// The service settings deployer may change, as one document: its desired count and deployment
/// configuration.
pub fn service_settings(desired_count: Option<i64>, configuration: Option<&Value>) -> Value {
    let mut settings = Map::new();
    if let Some(count) = desired_count {
        settings.insert("desiredCount".into(), Value::from(count));
    }
    if let Some(configuration) = configuration {
        settings.insert("deploymentConfiguration".into(), configuration.clone());
    }
    Value::Object(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn running() -> Value {
        json!({
            "family": "tutorial-site-task",
            "containerDefinitions": [{
                "name": "tutorial-site-app",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v1",
                "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
                "environment": [
                    {"name": "NODE_ENV", "value": "production"},
                    {"name": "DB_PASSWORD", "value": "hunter2-old"}
                ],
                "secrets": [{"name": "API_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/api"}]
            }],
            "cpu": "256",
            "memory": "512"
        })
    }

    #[test]
    fn an_image_change_is_one_hunk_and_hidden_values_never_show() {
        let mut rendered = running();
        rendered["containerDefinitions"][0]["image"] =
            json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2");
        rendered["containerDefinitions"][0]["environment"][1]["value"] = json!("hunter2-new");
        let diff = unified(
            &running(),
            &rendered,
            "tutorial-site-task:7 (running)",
            "tutorial-site-task:8 (planned)",
        );
        assert!(diff.starts_with(
            "--- tutorial-site-task:7 (running)\n+++ tutorial-site-task:8 (planned)\n@@"
        ));
        assert!(diff.contains("-      \"image\": \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v1\",\n"), "{diff}");
        assert!(diff.contains("+      \"image\": \"123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2\",\n"), "{diff}");
        assert!(
            diff.contains("+          \"value\": \"<set, changed>\"\n"),
            "{diff}"
        );
        assert!(!diff.contains("hunter2"), "{diff}");
        assert!(!diff.contains("parameter/api"), "{diff}");
        // NODE_ENV did not change: it is no line of the diff's own.
        assert!(!diff.contains("+          \"value\": \"<set>\""), "{diff}");
    }

    #[test]
    fn nothing_changed_is_an_empty_diff() {
        assert_eq!(unified(&running(), &running(), "a", "b"), "");
    }

    #[test]
    fn service_settings_show_the_strategy_change() {
        let before = service_settings(
            Some(2),
            Some(
                &json!({"maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "ROLLING"}),
            ),
        );
        let after = service_settings(
            Some(2),
            Some(
                &json!({"maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5}),
            ),
        );
        let diff = unified(
            &before,
            &after,
            "tutorial-site-service (now)",
            "tutorial-site-service (planned)",
        );
        assert!(diff.contains("-    \"strategy\": \"ROLLING\"\n"), "{diff}");
        assert!(
            diff.contains("+    \"strategy\": \"BLUE_GREEN\",\n"),
            "{diff}"
        );
        assert!(diff.contains("+    \"bakeTimeInMinutes\": 5\n"), "{diff}");
    }
}
