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

/// A malformed spec: the flag, the whole value unless it may hold secrets, and what is wrong with
/// which part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub flag: &'static str,
    /// `None` for flags whose values are environment values or secrets' sources: their errors
    /// name the container, the variable and the key, never a value.
    pub value: Option<String>,
    pub problem: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} {:?}: {}", self.flag, value, self.problem),
            None => write!(f, "{}: {}", self.flag, self.problem),
        }
    }
}

impl std::error::Error for SpecError {}

/// One `container=NAME` entry of a spec and the `KEY=VALUE` pairs that follow it.
type Entry = (String, Vec<(String, String)>);

/// A parser of one update flag's value.
pub type SpecParser = fn(&str) -> Result<Vec<ContainerUpdate>, SpecError>;

/// Keys whose values never hold a blank, so a blank inside one is a separator typed for a comma.
const BLANKLESS_KEYS: [&str; 7] = [
    "container",
    "name",
    "tag",
    "image",
    "image-and-tag",
    "digest",
    "valueFrom",
];

/// How a flag's values may be shown in its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    Shown,
    /// Environment values and secrets' sources: never in an error.
    Hidden,
}

/// One comma-separated part: `KEY=VALUE`, the value unquoted when it was `KEY="…"`.
#[derive(Debug)]
enum Part<'a> {
    Pair(&'a str, String),
    /// Text with no `=`.
    Bare(&'a str),
}

/// Splits a spec on its commas. A value written in double quotes (`value="a, b"`, with `\"` and
/// `\\` inside) keeps its commas: the aws-ecs orb splits on every comma, which leaves no way to
/// put one in a value.
fn split_parts(text: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        let offset = rest.len() - trimmed.len();
        rest = &rest[offset..];
        let quoted = rest
            .find(['=', ','])
            .filter(|&at| rest[at..].starts_with("=\""));
        if let Some(at) = quoted {
            let key = rest[..at].trim();
            let mut value = String::new();
            let mut chars = rest[at + 2..].char_indices();
            let mut end = None;
            while let Some((index, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => break,
                    },
                    '"' => {
                        end = Some(at + 2 + index + 1);
                        break;
                    }
                    c => value.push(c),
                }
            }
            let Some(end) = end else {
                return Err(format!("the double quote after {key}= is never closed"));
            };
            parts.push(Part::Pair(key, value));
            let after = rest[end..].trim_start();
            if after.is_empty() {
                return Ok(parts);
            }
            let Some(next) = after.strip_prefix(',') else {
                return Err(format!(
                    "the quoted value of {key}= is followed by more text before the next comma"
                ));
            };
            rest = next;
            continue;
        }
        let (part, next) = match rest.find(',') {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let part = part.trim();
        if !part.is_empty() {
            parts.push(match part.split_once('=') {
                Some((key, value)) => Part::Pair(key.trim(), value.trim().to_string()),
                None => Part::Bare(part),
            });
        }
        match next {
            Some(next) => rest = next,
            None => return Ok(parts),
        }
    }
}

/// Where a blank stands for a comma (`container=app tag=v2`): the spec as it was meant, with
/// values shown as `…` when they are hidden; `None` when no blank is out of place.
fn blank_for_comma(text: &str, values: Values) -> Option<String> {
    let parts = split_parts(text).ok()?;
    let mut fixed = Vec::new();
    let mut found = false;
    for part in &parts {
        let Part::Pair(key, value) = part else {
            return None;
        };
        let mut pieces: Vec<(&str, &str)> = vec![(key, value.as_str())];
        if BLANKLESS_KEYS.contains(key) {
            // `app tag=v2 image=x`: each blank-separated word after the first holds its own key.
            let mut words = value.split_whitespace();
            let first = words.next().unwrap_or_default();
            let rest: Vec<(&str, &str)> = words.filter_map(|word| word.split_once('=')).collect();
            if !rest.is_empty() && rest.len() == value.split_whitespace().count() - 1 {
                found = true;
                pieces = vec![(key, first)];
                pieces.extend(rest);
            }
        }
        for (key, value) in pieces {
            let shown = match (values, key) {
                (Values::Hidden, "value" | "valueFrom") => "…",
                _ => value,
            };
            fixed.push(format!("{key}={shown}"));
        }
    }
    found.then(|| fixed.join(","))
}

/// Splits `container=a,k=v,container=b,k=v` into one list of pairs per container. Pairs split on
/// the first `=`, so values keep theirs.
fn entries(flag: &'static str, text: &str, values: Values) -> Result<Vec<Entry>, SpecError> {
    let error = |problem: String| SpecError {
        flag,
        value: (values == Values::Shown).then(|| text.to_string()),
        problem,
    };
    if let Some(fixed) = blank_for_comma(text, values) {
        return Err(error(format!(
            "a blank stands where a comma belongs: a comma separates the keys of a container and \
             container= starts the next one; write {fixed}"
        )));
    }
    let parts = split_parts(text).map_err(&error)?;
    let mut result: Vec<Entry> = Vec::new();
    for part in parts {
        let (key, val) = match part {
            Part::Pair(key, val) => (key, val),
            Part::Bare(bare) => {
                let after_value = result.last().and_then(|(container, pairs)| {
                    pairs
                        .iter()
                        .rev()
                        .find(|(key, _)| key == "value")
                        .map(|_| container.clone())
                });
                return Err(error(match (values, after_value) {
                    (Values::Hidden, Some(container)) => format!(
                        "container {container}: a comma ends value= and the text after it is not \
                         KEY=VALUE; a value that holds a comma is written in double quotes, \
                         value=\"…,…\""
                    ),
                    (Values::Hidden, None) => "a part between commas is not KEY=VALUE".to_string(),
                    (Values::Shown, _) => format!(
                        "{bare:?} is not KEY=VALUE (a value that holds a comma is written in \
                         double quotes, KEY=\"…,…\")"
                    ),
                }));
            }
        };
        if key == "container" {
            if val.is_empty() {
                return Err(error("container= names no container".into()));
            }
            result.push((val, Vec::new()));
        } else {
            let Some((_, pairs)) = result.last_mut() else {
                return Err(error(format!("{key}= comes before any container=NAME")));
            };
            pairs.push((key.to_string(), val));
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
        value: Some(value.to_string()),
        problem,
    };
    let mut updates = Vec::new();
    for (container, pairs) in entries(FLAG, value, Values::Shown)? {
        let mut change: Option<ImageChange> = None;
        for (key, val) in pairs {
            let (key, val) = (key.as_str(), val.as_str());
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
        value: None,
        problem,
    };
    let expected = match value_key {
        Some(key) => format!("expected container, name and {key}"),
        None => "expected container and name".to_string(),
    };
    let mut result = Vec::new();
    for (container, pairs) in entries(flag, value, Values::Hidden)? {
        let mut name: Option<String> = None;
        let mut found = None;
        for (key, val) in pairs {
            let variable = || match &name {
                Some(name) => format!("container {container}, variable {name}"),
                None => format!("container {container}"),
            };
            match key.as_str() {
                "name" if name.is_none() => name = Some(val),
                key if Some(key) == value_key && found.is_none() => found = Some(val),
                "name" => return Err(error(format!("container {container} has name= twice; give each variable its own container= entry"))),
                key if Some(key) == value_key => {
                    return Err(error(format!("{}: {key}= is given twice", variable())))
                }
                // After the value, an unknown key is most likely the rest of a value that holds
                // a comma: it is not named, as it may be part of the value.
                _ if found.is_some() => {
                    return Err(error(format!(
                        "{}: a comma ends {}= and the text after it has no known key ({expected}); \
                         a value that holds a comma is written in double quotes, {}=\"…,…\"",
                        variable(),
                        value_key.unwrap_or("value"),
                        value_key.unwrap_or("value"),
                    )))
                }
                other => {
                    return Err(error(format!(
                        "{}: unknown key {other:?}; {expected}",
                        variable()
                    )))
                }
            }
        }
        let name = name
            .filter(|name| !name.is_empty())
            .ok_or_else(|| error(format!("container {container} has no name=")))?;
        if let Some(key) = value_key {
            if found.is_none() {
                return Err(error(format!(
                    "container {container}, variable {name}: no {key}="
                )));
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
    for (container, pairs) in entries(FLAG, value, Values::Shown)? {
        if pairs.is_empty() {
            return Err(SpecError {
                flag: FLAG,
                value: Some(value.to_string()),
                problem: format!("container {container} has no KEY=VALUE label"),
            });
        }
        for (key, val) in pairs {
            updates.push(ContainerUpdate::DockerLabel {
                container: container.clone(),
                key,
                value: val,
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
        value: Some(value.to_string()),
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

    /// Issue 20: an error about an environment value or a secret's source names the container,
    /// the variable and the key, never a value, whatever is wrong with the spec.
    #[test]
    fn env_and_secret_errors_never_show_a_value() {
        let secret = "hunter2-s3cr3t";
        let cases = [
            format!("container=app,name=DB_PASSWORD,value={secret},rest-of-it"),
            format!("container=app,name=DB_PASSWORD,valeu={secret}"),
            format!("container=app,name=DB_PASSWORD,value={secret},colour=red"),
            format!("container=app,name=DB_PASSWORD,value={secret},value={secret}"),
            format!("container=app name=DB_PASSWORD,value={secret}"),
            secret.to_string(),
            format!("container=app,name=DB_PASSWORD,value=\"{secret}"),
            format!("container=app,name=DB_PASSWORD,value=\"{secret}\"x,y"),
        ];
        for case in &cases {
            for parse in [parse_env_var_updates, parse_secret_updates] {
                let error = parse(case).unwrap_err().to_string();
                assert!(!error.contains(secret), "{case}: {error}");
                assert!(
                    !error.contains("rest-of-it") && !error.contains("red"),
                    "{error}"
                );
            }
        }
        let error = parse_env_var_updates(&cases[0]).unwrap_err().to_string();
        assert_eq!(
            error,
            "--container-env-var-updates: container app: a comma ends value= and the text after it \
             is not KEY=VALUE; a value that holds a comma is written in double quotes, value=\"…,…\""
        );
        let error = parse_env_var_updates(&cases[1]).unwrap_err().to_string();
        assert!(
            error.contains("container app, variable DB_PASSWORD: unknown key \"valeu\""),
            "{error}"
        );
        let error = parse_env_var_updates(&cases[2]).unwrap_err().to_string();
        assert!(
            error.contains("variable DB_PASSWORD: a comma ends value="),
            "{error}"
        );
        let error = parse_env_var_updates(&cases[4]).unwrap_err().to_string();
        assert!(
            error.contains("write container=app,name=DB_PASSWORD,value=…"),
            "{error}"
        );
    }

    /// A value in double quotes keeps its commas (the aws-ecs orb splits on every comma, so it
    /// had no way to write one); quotes inside a value that does not start with one are kept.
    #[test]
    fn quoted_values_keep_their_commas() {
        assert_eq!(
            parse_env_var_updates(
                r#"container=app,name=GREETING,value="hello, world",container=app,name=QUOTE,value="say \"hi\", \\o/""#
            )
            .unwrap(),
            [
                ContainerUpdate::EnvVar {
                    container: "app".into(),
                    name: "GREETING".into(),
                    value: "hello, world".into()
                },
                ContainerUpdate::EnvVar {
                    container: "app".into(),
                    name: "QUOTE".into(),
                    value: r#"say "hi", \o/"#.into()
                },
            ]
        );
        assert_eq!(
            parse_docker_label_updates(r#"container=app,note=say "hi" twice"#).unwrap(),
            [ContainerUpdate::DockerLabel {
                container: "app".into(),
                key: "note".into(),
                value: r#"say "hi" twice"#.into()
            }]
        );
        assert!(parse_env_var_updates(r#"container=app,name=A,value="open"#)
            .unwrap_err()
            .problem
            .contains("never closed"));
    }

    /// Issue 24: a blank typed for a comma is named as such, with the spec as it was meant.
    #[test]
    fn a_blank_for_a_comma_is_named_with_the_corrected_spec() {
        let error = parse_image_updates("container=tutorial-site-app tag=v2").unwrap_err();
        assert!(
            error
                .problem
                .contains("a blank stands where a comma belongs")
                && error
                    .problem
                    .ends_with("write container=tutorial-site-app,tag=v2"),
            "{error}"
        );
        let error =
            parse_image_updates("container=web,tag=v2 container=worker,tag=v2").unwrap_err();
        assert!(
            error
                .problem
                .ends_with("write container=web,tag=v2,container=worker,tag=v2"),
            "{error}"
        );
        // A blank inside an environment value is the value's own.
        assert_eq!(
            parse_env_var_updates("container=app,name=OPTS,value=-Xmx1g -Dx=1").unwrap(),
            [ContainerUpdate::EnvVar {
                container: "app".into(),
                name: "OPTS".into(),
                value: "-Xmx1g -Dx=1".into()
            }]
        );
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
