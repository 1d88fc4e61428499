//! Plans and answers shown to people keep environment values and secrets' sources out of sight:
//! a dry run's RegisterTaskDefinition or RunTask input is printed with `<set>` in their place.
use serde_json::Value;

/// What a hidden value is shown as.
pub const SHOWN_AS: &str = "<set>";

/// The lists of `{name, …}` entries whose values must never be shown, with the member holding
/// the value: environment variables (often credentials in plain text), secrets' and log
/// configurations' secret sources.
pub const HIDDEN_LISTS: [(&str, &str); 3] = [
    ("environment", "value"),
    ("secrets", "valueFrom"),
    ("secretOptions", "valueFrom"),
];

/// Whether a list under this key holds hidden values.
pub fn is_hidden_list(key: &str) -> bool {
    HIDDEN_LISTS.iter().any(|(list, _)| *list == key)
}

/// Replaces, anywhere in `document`, each value of the [`HIDDEN_LISTS`] (the shapes of container
/// definitions, log configurations and container overrides) with [`SHOWN_AS`]; names stay.
pub fn hide_values(document: &mut Value) {
    match document {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                let hidden = HIDDEN_LISTS
                    .iter()
                    .find(|(list, _)| *list == key.as_str())
                    .map(|(_, field)| *field);
                match (hidden, member.as_array_mut()) {
                    (Some(field), Some(list)) => {
                        for entry in list.iter_mut().filter_map(Value::as_object_mut) {
                            if let Some(value) = entry.get_mut(field) {
                                *value = Value::String(SHOWN_AS.to_string());
                            }
                        }
                    }
                    _ => hide_values(member),
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(hide_values),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn container_definitions_and_overrides_show_names_only() {
        let mut plan = json!({
            "family": "tutorial-site-task",
            "containerDefinitions": [{
                "name": "tutorial-site-app",
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2",
                "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "EMPTY", "value": ""}],
                "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/token"}],
                "dockerLabels": {"environment": "production"},
                "logConfiguration": {"logDriver": "splunk", "secretOptions": [{"name": "splunk-token", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/splunk"}]}
            }],
            "overrides": {"containerOverrides": [{"name": "migrate", "environment": [{"name": "DRY", "value": "1"}]}]}
        });
        hide_values(&mut plan);
        assert_eq!(
            plan["containerDefinitions"][0]["environment"],
            json!([{"name": "DB_PASSWORD", "value": "<set>"}, {"name": "EMPTY", "value": "<set>"}])
        );
        assert_eq!(
            plan["containerDefinitions"][0]["secrets"],
            json!([{"name": "TOKEN", "valueFrom": "<set>"}])
        );
        assert_eq!(
            plan["overrides"]["containerOverrides"][0]["environment"][0],
            json!({"name": "DRY", "value": "<set>"})
        );
        assert_eq!(
            plan["containerDefinitions"][0]["logConfiguration"]["secretOptions"][0],
            json!({"name": "splunk-token", "valueFrom": "<set>"})
        );
        // Not an environment list: kept.
        assert_eq!(
            plan["containerDefinitions"][0]["dockerLabels"]["environment"],
            "production"
        );
        assert_eq!(
            plan["containerDefinitions"][0]["image"],
            json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2")
        );
    }
}
