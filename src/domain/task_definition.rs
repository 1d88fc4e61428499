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

/// The image of a container in a task-definition template (`render --template`): the pipeline
/// gives it (`--container-image-name-updates …,image-and-tag=`, or deploy's pushed image).
pub const IMAGE_PLACEHOLDER: &str = "{{ image }}";

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
    /// The rendered revision still has a container without an image.
    MissingImage {
        container: String,
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
            RenderError::MissingImage { container } => write!(
                f,
                "container {container} has no image in the rendered revision (or still {IMAGE_PLACEHOLDER}): \
                 give it one with --container-image-name-updates \
                 container={container},image-and-tag=REGISTRY/REPOSITORY:TAG (deploy: --container {container})"
            ),
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
    // The revision as it will be registered is what must be whole: a file may leave a
    // container's image to the pipeline's image update.
    check_images(&input)?;
    Ok(input)
}

/// Every container of a RegisterTaskDefinition input has an image, as ECS requires.
pub fn check_images(input: &Value) -> Result<(), RenderError> {
    for container in input["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let image = container
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if image.trim().is_empty() || image.trim() == IMAGE_PLACEHOLDER {
            return Err(RenderError::MissingImage {
                container: container
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("(unnamed)")
                    .to_string(),
            });
        }
    }
    Ok(())
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
pub fn register_input(described: &Value) -> Result<Value, RenderError> {
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

pub(crate) fn new_image(current: &str, change: &ImageChange) -> Result<String, String> {
    // A template's placeholder is no image yet: only a whole reference replaces it.
    let current = if current.trim() == IMAGE_PLACEHOLDER {
        ""
    } else {
        current
    };
    if current.trim().is_empty() && !matches!(change, ImageChange::Replace(_)) {
        return Err(
            "has no image yet, so there is nothing to change the tag, name or digest of: give \
             the whole reference with image-and-tag=REGISTRY/REPOSITORY:TAG"
                .to_string(),
        );
    }
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

/// Fixtures the task definition modules' tests share.
#[cfg(test)]
pub mod fixtures {
    use serde_json::Value;

    /// A DescribeTaskDefinition answer from `tests/fixtures/task-definitions/`.
    pub fn described(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/task-definitions/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::described;
    use super::*;
    use crate::domain::task_definition_check::validate_for_registration;
    use crate::domain::task_definition_diff::diff;

    /// Issue 19: a file as users keep it, whose only container gets its image from the
    /// pipeline: the rendered revision is what is checked, not the file.
    #[test]
    fn a_container_without_an_image_gets_one_from_the_pipeline() {
        let described = json!({"taskDefinition": {
            "family": "tutorial-site-task",
            "containerDefinitions": [{"name": "tutorial-site-app", "portMappings": [{"containerPort": 3000}]}]
        }});
        let given = crate::domain::update_spec::parse_image_updates(
            "container=tutorial-site-app,image-and-tag=123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2",
        )
        .unwrap();
        let rendered = render(&described, &given).unwrap();
        assert_eq!(
            rendered["containerDefinitions"][0]["image"],
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2"
        );
        let error = render(&described, &[]).unwrap_err();
        assert!(
            matches!(&error, RenderError::MissingImage { container } if container == "tutorial-site-app"),
            "{error}"
        );
        assert!(error.to_string().contains("image-and-tag="), "{error}");
        let tag_only =
            crate::domain::update_spec::parse_image_updates("container=tutorial-site-app,tag=v2")
                .unwrap();
        let error = render(&described, &tag_only).unwrap_err();
        assert!(error.to_string().contains("has no image yet"), "{error}");
    }
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

    /// A DescribeTaskDefinition answer as `aws ecs describe-task-definition --include TAGS`
    /// prints it, from `tests/fixtures/task-definitions/`.
    /// The revision rendered with the app container's image at `tag`.
    fn with_app_tag(described: &Value, tag: &str) -> Value {
        let updates =
            parse_image_updates(&format!("container=tutorial-site-app,tag={tag}")).unwrap();
        render(described, &updates).unwrap()
    }

    const REGISTRY: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry";
    const EXECUTION_ROLE: &str =
        "arn:aws:iam::123456789012:role/tutorial-site-EcsTaskExecutionRole";
    const TASK_ROLE: &str = "arn:aws:iam::123456789012:role/tutorial-site-task-role";

    #[test]
    fn fargate_revision_renders_the_register_input_with_its_runtime_platform() {
        let described = described("fargate");
        let mut updates = parse_image_updates("container=tutorial-site-app,tag=0d4e5f6").unwrap();
        updates.extend(
            parse_env_var_updates("container=tutorial-site-app,name=VERSION,value=0d4e5f6")
                .unwrap(),
        );
        let rendered = render(&described, &updates).unwrap();
        assert_eq!(
            rendered,
            json!({
                "containerDefinitions": [{
                    "name": "tutorial-site-app",
                    "image": format!("{REGISTRY}:0d4e5f6"),
                    "cpu": 0,
                    "portMappings": [{
                        "name": "tutorial-site-app-3000-tcp",
                        "containerPort": 3000,
                        "hostPort": 3000,
                        "protocol": "tcp",
                        "appProtocol": "http"
                    }],
                    "essential": true,
                    "environment": [{"name": "VERSION", "value": "0d4e5f6"}],
                    "environmentFiles": [],
                    "mountPoints": [],
                    "volumesFrom": [],
                    "ulimits": [],
                    "healthCheck": {
                        "command": ["CMD-SHELL", "wget -q -O /dev/null http://localhost:3000/ || exit 1"],
                        "interval": 30,
                        "timeout": 5,
                        "retries": 3
                    },
                    "systemControls": []
                }],
                "family": "tutorial-site-task",
                "executionRoleArn": EXECUTION_ROLE,
                "networkMode": "awsvpc",
                "volumes": [],
                "placementConstraints": [],
                "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "256",
                "memory": "512"
            })
        );
        assert_eq!(
            diff(&described, &rendered),
            [
                "tutorial-site-app: environment VERSION changed".to_string(),
                format!("tutorial-site-app: image {REGISTRY}:0c1d2e3 -> {REGISTRY}:0d4e5f6"),
            ]
        );
        assert_eq!(validate_for_registration(&rendered), Ok(()));
    }

    #[test]
    fn ec2_bridge_revision_keeps_its_volumes_constraints_and_task_role() {
        let described = described("ec2-bridge");
        let rendered = with_app_tag(&described, "v12");
        assert_eq!(
            rendered,
            json!({
                "containerDefinitions": [{
                    "name": "tutorial-site-app",
                    "image": format!("{REGISTRY}:v12"),
                    "cpu": 128,
                    "memoryReservation": 256,
                    "links": [],
                    "portMappings": [{"containerPort": 3000, "hostPort": 0, "protocol": "tcp"}],
                    "essential": true,
                    "entryPoint": [],
                    "command": [],
                    "environment": [],
                    "mountPoints": [{
                        "sourceVolume": "site-cache",
                        "containerPath": "/var/cache/site",
                        "readOnly": false
                    }],
                    "volumesFrom": [],
                    "dockerLabels": {"team": "web"},
                    "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}
                }],
                "family": "tutorial-site-task",
                "taskRoleArn": TASK_ROLE,
                "networkMode": "bridge",
                "volumes": [{"name": "site-cache", "host": {"sourcePath": "/var/cache/tutorial-site"}}],
                "placementConstraints": [{
                    "type": "memberOf",
                    "expression": "attribute:ecs.instance-type =~ t3.*"
                }],
                "requiresCompatibilities": ["EC2"]
            })
        );
        assert_eq!(validate_for_registration(&rendered), Ok(()));
    }

    #[test]
    fn secrets_and_log_configuration_are_carried_and_a_digest_pins_the_image() {
        let described = described("secrets-and-logging");
        let digest = format!("sha256:{}", "c".repeat(64));
        let mut updates =
            parse_image_updates(&format!("container=tutorial-site-app,digest={digest}")).unwrap();
        updates.extend(
            parse_secret_updates(
                "container=tutorial-site-app,name=DB_PASSWORD,valueFrom=arn:aws:secretsmanager:eu-west-1:123456789012:secret:tutorial-site/db-v2-GhIjKl:password::",
            )
            .unwrap(),
        );
        let rendered = render(&described, &updates).unwrap();
        assert_eq!(
            rendered,
            json!({
                "containerDefinitions": [
                    {
                        "name": "tutorial-site-app",
                        "image": format!("{REGISTRY}@{digest}"),
                        "cpu": 0,
                        "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
                        "essential": true,
                        "environment": [
                            {"name": "NODE_ENV", "value": "production"},
                            {"name": "DB_HOST", "value": "tutorial-site.cluster-c1x2y3z4.eu-west-1.rds.amazonaws.com"}
                        ],
                        "mountPoints": [],
                        "volumesFrom": [],
                        "secrets": [
                            {
                                "name": "DB_PASSWORD",
                                "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tutorial-site/db-v2-GhIjKl:password::"
                            },
                            {
                                "name": "SESSION_KEY",
                                "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/tutorial-site/session-key"
                            }
                        ],
                        "logConfiguration": {
                            "logDriver": "awsfirelens",
                            "options": {"Name": "datadog", "dd_service": "tutorial-site-app", "provider": "ecs"},
                            "secretOptions": [{
                                "name": "apikey",
                                "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/datadog/api-key"
                            }]
                        },
                        "systemControls": []
                    },
                    {
                        "name": "log-router",
                        "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
                        "cpu": 0,
                        "memoryReservation": 50,
                        "portMappings": [],
                        "essential": true,
                        "environment": [],
                        "mountPoints": [],
                        "volumesFrom": [],
                        "user": "0",
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": "/ecs/tutorial-site-firelens",
                                "awslogs-region": "eu-west-1",
                                "awslogs-stream-prefix": "firelens"
                            }
                        },
                        "systemControls": [],
                        "firelensConfiguration": {"type": "fluentbit", "options": {}}
                    }
                ],
                "family": "tutorial-site-task",
                "taskRoleArn": TASK_ROLE,
                "executionRoleArn": EXECUTION_ROLE,
                "networkMode": "awsvpc",
                "volumes": [],
                "placementConstraints": [],
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "512",
                "memory": "1024",
                "ephemeralStorage": {"sizeInGiB": 30}
            })
        );
        let changes = diff(&described, &rendered);
        assert!(
            changes[0].starts_with("tutorial-site-app: image "),
            "{changes:?}"
        );
        assert_eq!(changes[1], "tutorial-site-app: secrets DB_PASSWORD changed");
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(validate_for_registration(&rendered), Ok(()));
    }

    #[test]
    fn a_deregistered_revisions_tags_are_kept_and_its_status_dropped() {
        let described = described("tagged-inactive");
        let rendered = with_app_tag(&described, "v3-hotfix");
        assert_eq!(
            rendered,
            json!({
                "containerDefinitions": [{
                    "name": "tutorial-site-app",
                    "image": format!("{REGISTRY}:v3-hotfix"),
                    "cpu": 0,
                    "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
                    "essential": true,
                    "environment": [{"name": "VERSION", "value": "v3"}],
                    "mountPoints": [],
                    "volumesFrom": [],
                    "systemControls": []
                }],
                "family": "tutorial-site-task",
                "executionRoleArn": EXECUTION_ROLE,
                "networkMode": "awsvpc",
                "volumes": [],
                "placementConstraints": [],
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "256",
                "memory": "512",
                "tags": [{"key": "team", "value": "web"}, {"key": "app", "value": "tutorial-site"}]
            })
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
            changes.contains(&"app: environment NEW added".to_string()),
            "{changes:?}"
        );
        assert!(
            changes.contains(&"app: environment REMOVE_ME removed".to_string()),
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
