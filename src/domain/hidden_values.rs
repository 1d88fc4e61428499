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

/// What a masked value is shown as, in log lines and anything else written.
pub const MASKED: &str = "[redacted]";

/// The shortest value masked. Shorter ones (`on`, `200`, `yes`) stand in ordinary log text so
/// often that masking them would garble every line, and hiding them protects nothing: a secret of
/// three characters is guessed faster than it is read. From four characters up (a PIN, a short
/// password) they are masked. CircleCI draws the same line for its own secrets masking.
pub const SHORTEST_MASKED: usize = 4;

/// `text` with every one of `values` (longest first) replaced by [`MASKED`].
pub fn mask_values(text: &str, values: &[String]) -> String {
    let mut text = text.to_string();
    for value in values {
        if text.contains(value.as_str()) {
            text = text.replace(value.as_str(), MASKED);
        }
    }
    text
}

/// Adds `value` to `values` (kept longest first, so a value containing another is masked whole)
/// when it is long enough to be masked and not there yet.
pub fn remember(values: &mut Vec<String>, value: &str) {
    if value.chars().count() >= SHORTEST_MASKED && !values.iter().any(|known| known == value) {
        values.push(value.to_string());
        values.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
}

/// Hides the environment values of a task definition (and of a run's overrides) wherever they
/// appear in its tasks' log lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Masker {
    values: Vec<String>,
}

impl Masker {
    /// The `environment` values of every container of `task_definition` (a task definition, a
    /// RegisterTaskDefinition input or a DescribeTaskDefinition answer) and of the
    /// `containerOverrides` of `overrides` (a RunTask `overrides` object).
    pub fn new(task_definition: &Value, overrides: Option<&Value>) -> Self {
        let definition = task_definition
            .get("taskDefinition")
            .unwrap_or(task_definition);
        let mut values = Vec::new();
        let containers = definition["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                overrides
                    .and_then(|o| o["containerOverrides"].as_array())
                    .into_iter()
                    .flatten(),
            );
        for entry in containers
            .filter_map(|container| container["environment"].as_array())
            .flatten()
        {
            if let Some(value) = entry["value"].as_str() {
                remember(&mut values, value);
            }
        }
        Masker { values }
    }

    /// `line` with every known value replaced by [`MASKED`].
    pub fn mask(&self, line: &str) -> String {
        mask_values(line, &self.values)
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

    #[test]
    fn environment_values_are_masked_wherever_they_appear() {
        let definition = json!({"taskDefinition": {"containerDefinitions": [{
            "name": "tutorial-site-app",
            "environment": [
                {"name": "DATABASE_URL", "value": "postgres://site:hunter22@db.internal/site"},
                {"name": "PASSWORD", "value": "hunter22"},
                {"name": "API_TOKEN", "value": "tok-5f2a9"},
                {"name": "DEBUG", "value": "on"}
            ]
        }]}});
        let masker = Masker::new(&definition, None);
        assert_eq!(
            masker.mask(
                "connecting to postgres://site:hunter22@db.internal/site with tok-5f2a9 (DEBUG on)"
            ),
            "connecting to [redacted] with [redacted] (DEBUG on)",
            "a value inside a longer one is masked with it; short values stay"
        );
        assert_eq!(masker.mask("pw hunter22"), "pw [redacted]");
        let overrides = json!({"containerOverrides": [{"name": "tutorial-site-app", "environment": [{"name": "ONE_OFF", "value": "s3cr3t-run"}]}]});
        let masker = Masker::new(&definition, Some(&overrides));
        assert_eq!(masker.mask("got s3cr3t-run"), "got [redacted]");
    }
}
