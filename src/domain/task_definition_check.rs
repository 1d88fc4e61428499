//! What ECS would refuse in a RegisterTaskDefinition input, found before it is sent, so nothing
//! is registered when it would fail: the family, unique named containers with valid images, and
//! no name both an environment variable and a secret of one container.
use std::fmt;

use serde_json::Value;

use super::reference::ImageReference;

/// A problem ECS would reject a RegisterTaskDefinition input for, found before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationError {
    NotAnObject,
    MissingFamily,
    InvalidFamily { family: String },
    NoContainers,
    UnnamedContainer { position: usize },
    DuplicateContainer { container: String },
    MissingImage { container: String },
    InvalidImage { container: String, problem: String },
    EnvironmentAndSecret { container: String, name: String },
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistrationError::NotAnObject => {
                f.write_str("the task definition to register is not a JSON object")
            }
            RegistrationError::MissingFamily => {
                f.write_str("the task definition to register has no family")
            }
            RegistrationError::InvalidFamily { family } => write!(
                f,
                "family {family:?} is invalid: a family is 1 to 255 letters, digits, '_' and '-'"
            ),
            RegistrationError::NoContainers => {
                f.write_str("the task definition to register has no container definitions")
            }
            RegistrationError::UnnamedContainer { position } => {
                write!(f, "container definition {position} has no name")
            }
            RegistrationError::DuplicateContainer { container } => write!(
                f,
                "two container definitions are named {container:?}; ECS needs unique names"
            ),
            RegistrationError::MissingImage { container } => {
                write!(f, "container {container} has no image")
            }
            RegistrationError::InvalidImage { container, problem } => {
                write!(f, "container {container}: {problem}")
            }
            RegistrationError::EnvironmentAndSecret { container, name } => write!(
                f,
                "container {container} sets {name} both as an environment variable and as a secret; ECS refuses a name in both"
            ),
        }
    }
}

impl std::error::Error for RegistrationError {}

/// Checks a rendered RegisterTaskDefinition input for what ECS would refuse, so nothing is
/// registered when it would fail: the family, unique named containers with valid images, and
/// no name that is both an environment variable and a secret in one container.
pub fn validate_for_registration(input: &Value) -> Result<(), RegistrationError> {
    let input = input.as_object().ok_or(RegistrationError::NotAnObject)?;
    let family = input
        .get("family")
        .and_then(Value::as_str)
        .ok_or(RegistrationError::MissingFamily)?;
    let family_is_valid = (1..=255).contains(&family.len())
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !family_is_valid {
        return Err(RegistrationError::InvalidFamily {
            family: family.to_string(),
        });
    }
    let containers = input
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .filter(|containers| !containers.is_empty())
        .ok_or(RegistrationError::NoContainers)?;
    let mut names: Vec<&str> = Vec::new();
    for (index, container) in containers.iter().enumerate() {
        let name = container
            .get("name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or(RegistrationError::UnnamedContainer {
                position: index + 1,
            })?;
        if names.contains(&name) {
            return Err(RegistrationError::DuplicateContainer {
                container: name.to_string(),
            });
        }
        names.push(name);
        let image = container
            .get("image")
            .and_then(Value::as_str)
            .filter(|image| !image.is_empty())
            .ok_or_else(|| RegistrationError::MissingImage {
                container: name.to_string(),
            })?;
        ImageReference::parse(image).map_err(|e| RegistrationError::InvalidImage {
            container: name.to_string(),
            problem: e.to_string(),
        })?;
        let secrets = entry_names_of(container, "secrets");
        if let Some(both) = entry_names_of(container, "environment")
            .into_iter()
            .find(|variable| secrets.contains(variable))
        {
            return Err(RegistrationError::EnvironmentAndSecret {
                container: name.to_string(),
                name: both.to_string(),
            });
        }
    }
    Ok(())
}

/// The `name`s in a container's list of `{name, …}` entries.
fn entry_names_of<'a>(container: &'a Value, list: &str) -> Vec<&'a str> {
    container
        .get(list)
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|entry| entry.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::task_definition::fixtures::described;
    use crate::domain::task_definition::render;
    use serde_json::json;

    #[test]
    fn registration_checks_name_what_ecs_would_refuse() {
        let valid = render(&described("secrets-and-logging"), &[]).unwrap();
        assert_eq!(validate_for_registration(&valid), Ok(()));
        let broken = |change: &dyn Fn(&mut Value)| {
            let mut input = valid.clone();
            change(&mut input);
            validate_for_registration(&input).unwrap_err().to_string()
        };
        assert_eq!(
            broken(&|input| {
                input["containerDefinitions"][0]["environment"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"name": "DB_PASSWORD", "value": "x"}));
            }),
            "container tutorial-site-app sets DB_PASSWORD both as an environment variable and as a secret; ECS refuses a name in both"
        );
        assert_eq!(
            broken(&|input| input["containerDefinitions"][1]["name"] = json!("tutorial-site-app")),
            "two container definitions are named \"tutorial-site-app\"; ECS needs unique names"
        );
        assert_eq!(
            broken(&|input| {
                input["containerDefinitions"][0]["image"] = json!("tutorial-site-registry:-v1")
            }),
            "container tutorial-site-app: in image \"tutorial-site-registry:-v1\": tag \"-v1\" is invalid: a tag is 1 to 128 characters of letters, digits, '_', '.' and '-', and may not start with '.' or '-'"
        );
        assert!(broken(&|input| {
            input["containerDefinitions"][0]["image"] = json!("Tutorial-Site:v1")
        })
        .contains("component \"Tutorial-Site\""));
        assert_eq!(
            broken(&|input| {
                input["containerDefinitions"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("image");
            }),
            "container log-router has no image"
        );
        assert_eq!(
            broken(&|input| {
                input["containerDefinitions"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("name");
            }),
            "container definition 2 has no name"
        );
        assert_eq!(
            broken(&|input| input["containerDefinitions"] = json!([])),
            "the task definition to register has no container definitions"
        );
        assert_eq!(
            broken(&|input| {
                input
                    .as_object_mut()
                    .unwrap()
                    .remove("containerDefinitions");
            }),
            "the task definition to register has no container definitions"
        );
        assert_eq!(
            broken(&|input| {
                input.as_object_mut().unwrap().remove("family");
            }),
            "the task definition to register has no family"
        );
        assert_eq!(
            broken(&|input| input["family"] = json!("tutorial site")),
            "family \"tutorial site\" is invalid: a family is 1 to 255 letters, digits, '_' and '-'"
        );
        assert_eq!(
            validate_for_registration(&json!([])).unwrap_err(),
            RegistrationError::NotAnObject
        );
    }
}
