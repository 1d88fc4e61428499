//! The aws-ecs orb's update flags (`container=NAME,tag=TAG`, …), parsed exactly enough that
//! users can paste their orb config, and strictly enough that a typo is an error, not a no-op.
use std::fmt;

use super::reference::{validate_tag, ImageReference};

/// How a container's image changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageChange {
    /// `tag=`: keep registry and repository, set the tag (any digest is dropped).
    Tag(String),
    /// `image=`: replace registry and repository, keep the tag or digest.
    Name(String),
    /// `image-and-tag=`: replace the whole reference.
    Replace(String),
    /// `digest=`: keep registry and repository, pin by digest.
    Digest(String),
}

/// One change to one container of a task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerUpdate {
    Image {
        container: String,
        change: ImageChange,
    },
    EnvVar {
        container: String,
        name: String,
        value: String,
    },
    RemoveEnvVar {
        container: String,
        name: String,
    },
    Secret {
        container: String,
        name: String,
        value_from: String,
    },
    DockerLabel {
        container: String,
        key: String,
        value: String,
    },
}

impl ContainerUpdate {
    pub fn container(&self) -> &str {
        match self {
            ContainerUpdate::Image { container, .. }
            | ContainerUpdate::EnvVar { container, .. }
            | ContainerUpdate::RemoveEnvVar { container, .. }
            | ContainerUpdate::Secret { container, .. }
            | ContainerUpdate::DockerLabel { container, .. } => container,
        }
    }
}

/// A malformed spec: the flag, the whole value, and what is wrong with which part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub flag: &'static str,
    pub value: String,
    pub problem: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.flag, self.value, self.problem)
    }
}

impl std::error::Error for SpecError {}

/// One `container=NAME` entry of a spec and the `KEY=VALUE` pairs that follow it.
type Entry<'a> = (String, Vec<(&'a str, &'a str)>);

/// A parser of one update flag's value.
pub type SpecParser = fn(&str) -> Result<Vec<ContainerUpdate>, SpecError>;

/// Splits `container=a,k=v,container=b,k=v` into one list of pairs per container. Pairs split on
/// the first `=`, so values keep theirs.
fn entries<'a>(flag: &'static str, value: &'a str) -> Result<Vec<Entry<'a>>, SpecError> {
    let error = |problem: String| SpecError {
        flag,
        value: value.to_string(),
        problem,
    };
    let mut result: Vec<Entry> = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (key, val) = part
            .split_once('=')
            .ok_or_else(|| error(format!("{part:?} is not KEY=VALUE")))?;
        let (key, val) = (key.trim(), val.trim());
        if key == "container" {
            if val.is_empty() {
                return Err(error("container= names no container".into()));
            }
            result.push((val.to_string(), Vec::new()));
        } else {
            let Some((_, pairs)) = result.last_mut() else {
                return Err(error(format!("{part:?} comes before any container=NAME")));
            };
            pairs.push((key, val));
        }
    }
    if result.is_empty() {
        return Err(error("no container=NAME given".into()));
    }
    Ok(result)
}

/// `--container-image-name-updates`.
pub fn parse_image_updates(value: &str) -> Result<Vec<ContainerUpdate>, SpecError> {
    const FLAG: &str = "--container-image-name-updates";
    let error = |problem: String| SpecError {
        flag: FLAG,
        value: value.to_string(),
        problem,
    };
    let mut updates = Vec::new();
    for (container, pairs) in entries(FLAG, value)? {
        let mut change: Option<ImageChange> = None;
        for (key, val) in pairs {
            if val.is_empty() {
                return Err(error(format!("{key}= is empty for container {container}")));
            }
            let next = match key {
                "tag" => {
                    validate_tag(val).map_err(|e| error(e.to_string()))?;
                    ImageChange::Tag(val.to_string())
                }
                "image" => {
                    let parsed = ImageReference::parse(val).map_err(|e| error(e.to_string()))?;
                    if parsed.tag.is_some() || parsed.digest.is_some() {
                        return Err(error(format!(
                            "image={val} has a tag or digest: image= replaces the name only; use image-and-tag= for the whole reference"
                        )));
                    }
                    ImageChange::Name(val.to_string())
                }
                "image-and-tag" => {
                    ImageReference::parse(val).map_err(|e| error(e.to_string()))?;
                    ImageChange::Replace(val.to_string())
                }
                "digest" => {
                    ImageReference::parse(&format!("x@{val}")).map_err(|_| error(format!("digest {val:?} is not sha256: and 64 hex digits")))?;
                    ImageChange::Digest(val.to_string())
                }
                other => {
                    return Err(error(format!(
                        "unknown key {other:?}; expected container, tag, image, image-and-tag or digest"
                    )))
                }
            };
            if change.is_some() {
                return Err(error(format!(
                    "container {container} has more than one image change"
                )));
            }
            change = Some(next);
        }
        let change = change.ok_or_else(|| {
            error(format!(
                "container {container} has no tag=, image=, image-and-tag= or digest="
            ))
        })?;
        updates.push(ContainerUpdate::Image { container, change });
    }
    Ok(updates)
}

/// Reads `name=` and one other key per container entry.
fn named_entries(
    flag: &'static str,
    value: &str,
    value_key: Option<&'static str>,
) -> Result<Vec<(String, String, Option<String>)>, SpecError> {
    let error = |problem: String| SpecError {
        flag,
        value: value.to_string(),
        problem,
    };
    let expected = match value_key {
        Some(key) => format!("expected container, name and {key}"),
        None => "expected container and name".to_string(),
    };
    let mut result = Vec::new();
    for (container, pairs) in entries(flag, value)? {
        let mut name = None;
        let mut found = None;
        for (key, val) in pairs {
            match key {
                "name" if name.is_none() => name = Some(val.to_string()),
                key if Some(key) == value_key && found.is_none() => found = Some(val.to_string()),
                "name" => return Err(error(format!("container {container} has name= twice; give each variable its own container= entry"))),
                other => return Err(error(format!("unknown key {other:?}; {expected}"))),
            }
        }
        let name = name
            .filter(|name| !name.is_empty())
            .ok_or_else(|| error(format!("container {container} has no name=")))?;
        if let Some(key) = value_key {
            if found.is_none() {
                return Err(error(format!("container {container}, {name}: no {key}=")));
            }
        }
        result.push((container, name, found));
    }
    Ok(result)
}

/// `--container-env-var-updates`.
pub fn parse_env_var_updates(value: &str) -> Result<Vec<ContainerUpdate>, SpecError> {
    Ok(
        named_entries("--container-env-var-updates", value, Some("value"))?
            .into_iter()
            .map(|(container, name, val)| ContainerUpdate::EnvVar {
                container,
                name,
                value: val.unwrap_or_default(),
            })
            .collect(),
    )
}

/// `--container-env-var-removals`.
pub fn parse_env_var_removals(value: &str) -> Result<Vec<ContainerUpdate>, SpecError> {
    Ok(named_entries("--container-env-var-removals", value, None)?
        .into_iter()
        .map(|(container, name, _)| ContainerUpdate::RemoveEnvVar { container, name })
        .collect())
}

/// `--container-secret-updates`.
pub fn parse_secret_updates(value: &str) -> Result<Vec<ContainerUpdate>, SpecError> {
    Ok(
        named_entries("--container-secret-updates", value, Some("valueFrom"))?
            .into_iter()
            .map(|(container, name, value_from)| ContainerUpdate::Secret {
                container,
                name,
                value_from: value_from.unwrap_or_default(),
            })
            .collect(),
    )
}

/// `--container-docker-label-updates`: every pair after `container=` is a label.
pub fn parse_docker_label_updates(value: &str) -> Result<Vec<ContainerUpdate>, SpecError> {
    const FLAG: &str = "--container-docker-label-updates";
    let mut updates = Vec::new();
    for (container, pairs) in entries(FLAG, value)? {
        if pairs.is_empty() {
            return Err(SpecError {
                flag: FLAG,
                value: value.to_string(),
                problem: format!("container {container} has no KEY=VALUE label"),
            });
        }
        for (key, val) in pairs {
            updates.push(ContainerUpdate::DockerLabel {
                container: container.clone(),
                key: key.to_string(),
                value: val.to_string(),
            });
        }
    }
    Ok(updates)
}

/// `--task-definition-tags`, in the aws-ecs orb's syntaxes: the AWS CLI's shorthand
/// (`key=team,value=web key=tier,value=front`; a value may contain `=`, not blanks or commas) or
/// its JSON (`[{"key": "team", "value": "web"}]`). Tags of the same key: the last one wins.
pub fn parse_task_definition_tags(value: &str) -> Result<Vec<(String, String)>, SpecError> {
    let error = |problem: String| SpecError {
        flag: "--task-definition-tags",
        value: value.to_string(),
        problem,
    };
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut add = |key: String, val: String| -> Result<(), SpecError> {
        if key.is_empty() || key.len() > 128 {
            return Err(error(format!(
                "tag key {key:?} must be 1 to 128 characters"
            )));
        }
        if val.len() > 256 {
            return Err(error(format!(
                "the value of tag {key} is over 256 characters"
            )));
        }
        tags.retain(|(existing, _)| *existing != key);
        tags.push((key, val));
        Ok(())
    };
    let trimmed = value.trim();
    if trimmed.starts_with('[') {
        let list: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(trimmed)
            .map_err(|e| {
            error(format!(
                "not a JSON list of {{\"key\", \"value\"}} objects: {e}"
            ))
        })?;
        for tag in list {
            let field = |name: &str| {
                tag.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_string)
            };
            let key = field("key").ok_or_else(|| error("a tag has no \"key\" string".into()))?;
            add(key, field("value").unwrap_or_default())?;
        }
        return Ok(tags);
    }
    for entry in trimmed.split_whitespace() {
        let (mut key, mut val) = (None, None);
        for part in entry.split(',').filter(|part| !part.is_empty()) {
            match part.split_once('=') {
                Some((k, v)) if k.eq_ignore_ascii_case("key") => key = Some(v.to_string()),
                Some((k, v)) if k.eq_ignore_ascii_case("value") => val = Some(v.to_string()),
                _ => {
                    return Err(error(format!(
                        "{part:?} is not key=KEY or value=VALUE (write each tag as key=KEY,value=VALUE, tags separated by blanks)"
                    )))
                }
            }
        }
        let key = key.ok_or_else(|| error(format!("{entry:?} has no key=KEY")))?;
        add(key, val.unwrap_or_default())?;
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_tags_in_shorthand_and_json() {
        let tags = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            parse_task_definition_tags("key=team,value=web key=release,value=a=b").unwrap(),
            tags(&[("team", "web"), ("release", "a=b")])
        );
        assert_eq!(
            parse_task_definition_tags(
                r#"[{"key": "team", "value": "web site"}, {"Key": "empty"}]"#
            )
            .unwrap(),
            tags(&[("team", "web site"), ("empty", "")])
        );
        assert_eq!(
            parse_task_definition_tags("key=team,value=a key=team,value=b").unwrap(),
            tags(&[("team", "b")])
        );
        assert_eq!(parse_task_definition_tags("  ").unwrap(), tags(&[]));
        let error = parse_task_definition_tags("key=team,val=web").unwrap_err();
        assert!(error.problem.contains("\"val=web\""), "{error}");
        let error = parse_task_definition_tags("value=web").unwrap_err();
        assert!(error.problem.contains("no key=KEY"), "{error}");
        assert!(parse_task_definition_tags(r#"[{"value": "x"}]"#).is_err());
        assert!(parse_task_definition_tags("[not json").is_err());
        assert!(parse_task_definition_tags("key=,value=x").is_err());
    }

    fn image(container: &str, change: ImageChange) -> ContainerUpdate {
        ContainerUpdate::Image {
            container: container.into(),
            change,
        }
    }

    #[test]
    fn image_updates_in_the_orbs_syntax_several_containers_per_value() {
        assert_eq!(
            parse_image_updates("container=tutorial-site-app,tag=v2,container=sidecar,image-and-tag=127.0.0.1:5000/proxy:1.2").unwrap(),
            [
                image("tutorial-site-app", ImageChange::Tag("v2".into())),
                image("sidecar", ImageChange::Replace("127.0.0.1:5000/proxy:1.2".into())),
            ]
        );
        assert_eq!(
            parse_image_updates(
                "container=app,image=123456789012.dkr.ecr.eu-west-1.amazonaws.com/other"
            )
            .unwrap(),
            [image(
                "app",
                ImageChange::Name("123456789012.dkr.ecr.eu-west-1.amazonaws.com/other".into())
            )]
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parse_image_updates(&format!("container=app,digest={digest}")).unwrap(),
            [image("app", ImageChange::Digest(digest))]
        );
    }

    #[test]
    fn image_update_errors_name_the_offending_part() {
        let error = parse_image_updates("container=app,tga=1").unwrap_err();
        assert!(error.to_string().contains("unknown key \"tga\""), "{error}");
        assert!(
            error
                .to_string()
                .contains("--container-image-name-updates \"container=app,tga=1\""),
            "{error}"
        );
        assert!(parse_image_updates("tag=1")
            .unwrap_err()
            .problem
            .contains("before any container"));
        assert!(parse_image_updates("container=app")
            .unwrap_err()
            .problem
            .contains("no tag="));
        assert!(parse_image_updates("container=app,tag=-bad")
            .unwrap_err()
            .problem
            .contains("\"-bad\""));
        assert!(parse_image_updates("container=app,tag")
            .unwrap_err()
            .problem
            .contains("not KEY=VALUE"));
        assert!(parse_image_updates("container=app,image=x:1")
            .unwrap_err()
            .problem
            .contains("image-and-tag"));
        assert!(parse_image_updates("container=app,tag=1,tag=2")
            .unwrap_err()
            .problem
            .contains("more than one"));
        assert!(parse_image_updates("container=app,digest=sha256:xyz").is_err());
    }

    #[test]
    fn env_vars_and_secrets_keep_equals_signs_in_values() {
        assert_eq!(
            parse_env_var_updates(
                "container=app,name=DATABASE_URL,value=postgres://h/db?sslmode=require"
            )
            .unwrap(),
            [ContainerUpdate::EnvVar {
                container: "app".into(),
                name: "DATABASE_URL".into(),
                value: "postgres://h/db?sslmode=require".into()
            }]
        );
        assert_eq!(
            parse_secret_updates("container=app,name=TOKEN,valueFrom=arn:aws:ssm:eu-west-1:123456789012:parameter/token").unwrap(),
            [ContainerUpdate::Secret {
                container: "app".into(),
                name: "TOKEN".into(),
                value_from: "arn:aws:ssm:eu-west-1:123456789012:parameter/token".into()
            }]
        );
        assert_eq!(
            parse_env_var_removals("container=app,name=OLD,container=worker,name=OLD")
                .unwrap()
                .len(),
            2
        );
        assert!(parse_env_var_updates("container=app,name=ONLY")
            .unwrap_err()
            .problem
            .contains("no value="));
        assert!(parse_env_var_updates("container=app,value=1")
            .unwrap_err()
            .problem
            .contains("no name="));
        assert!(parse_secret_updates("container=app,name=X,value=1")
            .unwrap_err()
            .problem
            .contains("unknown key \"value\""));
        assert!(parse_env_var_removals("container=app,name=X,value=1")
            .unwrap_err()
            .problem
            .contains("unknown key"));
    }

    #[test]
    fn labels_split_on_the_first_equals_only() {
        assert_eq!(
            parse_docker_label_updates(
                "container=app,traefik.rule=Host(`a`) && Query(`x=1`),team=web"
            )
            .unwrap(),
            [
                ContainerUpdate::DockerLabel {
                    container: "app".into(),
                    key: "traefik.rule".into(),
                    value: "Host(`a`) && Query(`x=1`)".into()
                },
                ContainerUpdate::DockerLabel {
                    container: "app".into(),
                    key: "team".into(),
                    value: "web".into()
                },
            ]
        );
        assert!(parse_docker_label_updates("container=app").is_err());
    }
}
