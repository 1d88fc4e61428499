//! ECS Express Mode services: telling one from DescribeServices, reading the configuration it
//! runs from DescribeExpressGatewayService, and the UpdateExpressGatewayService input that
//! changes only its primary container's image.
use std::fmt;

use serde_json::Value;

use crate::domain::task_definition::new_image;
use crate::domain::update_spec::ContainerUpdate;

/// The name ECS requires of the primary container in a task definition given to an Express
/// service (UpdateExpressGatewayService's `taskDefinitionArn`).
pub const MAIN_CONTAINER: &str = "Main";

/// Whether DescribeServices' `service` is managed by ECS Express Mode: its
/// `resourceManagementType` is `ECS` (`CUSTOMER` or absent for every other service).
pub fn is_express(service: &Value) -> bool {
    service
        .get("resourceManagementType")
        .and_then(Value::as_str)
        == Some("ECS")
}

/// The Express service among DescribeServices' `services` whose revision is of `family`.
pub fn express_service_of_family<'a>(services: &'a [Value], family: &str) -> Option<&'a str> {
    services
        .iter()
        .filter(|service| is_express(service))
        .find(|service| {
            let running = service["taskDefinition"].as_str().unwrap_or_default();
            crate::domain::rollout::family_of(running) == family
        })
        .and_then(|service| service["serviceName"].as_str())
}

/// The configuration an Express service runs, from DescribeExpressGatewayService.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressConfiguration {
    pub service_arn: String,
    pub task_definition_arn: String,
    /// `primaryContainer` exactly as ECS answered it: sent back whole, image changed.
    pub primary_container: Value,
    pub image: String,
}

/// What deployer cannot do with an Express service; `Display` is the user's sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpressError {
    /// The answer has no active configuration with a primary container and an image.
    NoConfiguration(String),
    /// An update names another container than the primary one.
    OtherContainer {
        container: String,
        primary: String,
    },
    /// An update other than the image's (environment, secrets, labels).
    NotAnImage {
        container: String,
    },
    BadImage(String),
}

impl fmt::Display for ExpressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpressError::NoConfiguration(service) => write!(
                f,
                "DescribeExpressGatewayService answered no active configuration with a primary container image for {service}"
            ),
            ExpressError::OtherContainer { container, primary } => write!(
                f,
                "container {container} is not the Express service's primary container ({primary}): Express Mode updates only its primary container"
            ),
            ExpressError::NotAnImage { container } => write!(
                f,
                "container {container}: deployer changes only the image of an Express service's primary container"
            ),
            ExpressError::BadImage(problem) => write!(f, "the primary container's image {problem}"),
        }
    }
}

impl std::error::Error for ExpressError {}

/// The active configuration of DescribeExpressGatewayService's answer that runs
/// `running_task_definition` (the service's, from DescribeServices); the newest one when none
/// does. While a deployment runs there are several: the one the service runs is the base.
pub fn running_configuration(
    described: &Value,
    running_task_definition: &str,
) -> Result<ExpressConfiguration, ExpressError> {
    let service = &described["service"];
    let service_arn = service["serviceArn"].as_str().unwrap_or_default();
    let configurations: Vec<&Value> = service["activeConfigurations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|configuration| {
            configuration
                .pointer("/primaryContainer/image")
                .and_then(Value::as_str)
                .is_some()
        })
        .collect();
    let newest = configurations.iter().max_by(|a, b| {
        let time = |c: &Value| c["createdAt"].as_f64().unwrap_or_default();
        time(a).total_cmp(&time(b))
    });
    let chosen = configurations
        .iter()
        .find(|c| c["taskDefinitionArn"].as_str() == Some(running_task_definition))
        .or(newest)
        .ok_or_else(|| ExpressError::NoConfiguration(service_arn.to_string()))?;
    Ok(ExpressConfiguration {
        service_arn: service_arn.to_string(),
        task_definition_arn: chosen["taskDefinitionArn"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        primary_container: chosen["primaryContainer"].clone(),
        image: chosen["primaryContainer"]["image"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    })
}

/// The primary container's name in the task definition the service runs (DescribeTaskDefinition's
/// answer): `Main` when there is one, else the only container running the primary image, else
/// the only container.
pub fn primary_container_name(task_definition: &Value, image: &str) -> Option<String> {
    let containers: Vec<&Value> = task_definition
        .pointer("/taskDefinition/containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let name = |container: &&Value| container["name"].as_str().map(str::to_string);
    if let Some(main) = containers.iter().find(|c| c["name"] == MAIN_CONTAINER) {
        return name(main);
    }
    match containers
        .iter()
        .filter(|c| c["image"] == image)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [only] => name(only),
        _ => match containers.as_slice() {
            [only] => name(only),
            _ => None,
        },
    }
}

/// The primary container's new image after `updates` (`None` when they change nothing). Every
/// update must be an image update of the primary container: Express Mode registers the revision
/// itself from the primary container alone.
pub fn new_primary_image(
    primary: &str,
    current: &str,
    updates: &[ContainerUpdate],
) -> Result<Option<String>, ExpressError> {
    let mut image = current.to_string();
    for update in updates {
        if update.container() != primary {
            return Err(ExpressError::OtherContainer {
                container: update.container().to_string(),
                primary: primary.to_string(),
            });
        }
        let ContainerUpdate::Image { change, .. } = update else {
            return Err(ExpressError::NotAnImage {
                container: primary.to_string(),
            });
        };
        image = new_image(&image, change).map_err(ExpressError::BadImage)?;
    }
    Ok(Some(image).filter(|image| image != current))
}

/// UpdateExpressGatewayService's input: the service, and its whole primary container with only
/// the image changed. The API reference does not say whether a `primaryContainer` given merges
/// into the current one or replaces it: sent whole, it is right either way.
pub fn image_update_input(configuration: &ExpressConfiguration, image: &str) -> Value {
    let mut container = configuration.primary_container.clone();
    container["image"] = Value::String(image.to_string());
    serde_json::json!({
        "serviceArn": configuration.service_arn,
        "primaryContainer": container,
    })
}

/// The RegisterTaskDefinition-shaped revision ECS will register: `register_input` of the running
/// one with the primary container's image changed (for `--dry-run` and `deployer diff`).
pub fn expected_revision(register_input: &Value, primary: &str, image: &str) -> Value {
    let mut revision = register_input.clone();
    if let Some(containers) = revision
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    {
        for container in containers.iter_mut().filter(|c| c["name"] == primary) {
            container["image"] = Value::String(image.to_string());
        }
    }
    revision
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::update_spec::ImageChange;
    use serde_json::json;

    /// DescribeExpressGatewayService's answer (the API reference's response shape) mid-deployment:
    /// the revision being replaced and the one replacing it.
    fn described() -> Value {
        json!({"service": {
            "cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial-site-cluster",
            "serviceName": "tutorial-site-service",
            "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/tutorial-site-cluster/tutorial-site-service",
            "infrastructureRoleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices",
            "status": {"statusCode": "ACTIVE"},
            "currentDeployment": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/tutorial-site-cluster/tutorial-site-service/2",
            "activeConfigurations": [
                {
                    "serviceRevisionArn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/tutorial-site-cluster/tutorial-site-service/1",
                    "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
                    "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/default-tutorial-site-service:1",
                    "cpu": "1024", "memory": "2048", "healthCheckPath": "/ping",
                    "primaryContainer": {
                        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v1",
                        "containerPort": 3000,
                        "environment": [{"name": "NODE_ENV", "value": "production"}],
                        "awsLogsConfiguration": {"logGroup": "/aws/ecs/default/tutorial-site-service", "logStreamPrefix": "ecs"}
                    },
                    "createdAt": 1765100000.0
                },
                {
                    "serviceRevisionArn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/tutorial-site-cluster/tutorial-site-service/2",
                    "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/default-tutorial-site-service:2",
                    "primaryContainer": {
                        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2",
                        "containerPort": 3000
                    },
                    "createdAt": 1765100100.0
                }
            ]
        }})
    }

    /// The API reference's Service: `resourceManagementType` "Identifies whether an ECS Service
    /// is an Express Service managed by ECS, or managed by the customer. The valid values are
    /// ECS and CUSTOMER" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html).
    #[test]
    fn only_a_service_managed_by_ecs_is_express() {
        assert!(is_express(&json!({"resourceManagementType": "ECS"})));
        assert!(!is_express(&json!({"resourceManagementType": "CUSTOMER"})));
        assert!(!is_express(
            &json!({"serviceName": "tutorial-site-service"})
        ));
    }

    #[test]
    fn the_express_service_of_a_family_is_found_among_the_cluster_services() {
        let services = [
            json!({"serviceName": "worker", "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:4"}),
            json!({"serviceName": "tutorial-site-service", "resourceManagementType": "ECS",
                   "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/default-tutorial-site-service:2"}),
        ];
        assert_eq!(
            express_service_of_family(&services, "default-tutorial-site-service"),
            Some("tutorial-site-service")
        );
        assert_eq!(
            express_service_of_family(&services, "tutorial-site-task"),
            None
        );
    }

    /// DescribeExpressGatewayService's `activeConfigurations`: "The list of active service
    /// configurations for the Express service", each with its `taskDefinitionArn`
    /// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ECSExpressGatewayService.html).
    #[test]
    fn the_configuration_the_service_runs_is_the_base_and_the_newest_without_it() {
        let running = running_configuration(
            &described(),
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/default-tutorial-site-service:1",
        )
        .unwrap();
        assert!(running.image.ends_with(":v1"));
        assert_eq!(running.primary_container["containerPort"], 3000);
        let newest = running_configuration(&described(), "elsewhere").unwrap();
        assert!(newest.image.ends_with(":v2"));
        assert_eq!(
            running_configuration(&json!({"service": {"serviceArn": "s"}}), "x"),
            Err(ExpressError::NoConfiguration("s".into()))
        );
    }

    /// UpdateExpressGatewayService's `primaryContainer` is "the primary container configuration
    /// for the Express service"; the API reference does not say whether it merges or replaces
    /// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateExpressGatewayService.html),
    /// so every member ECS answered goes back.
    #[test]
    fn the_update_sends_the_whole_primary_container_with_only_the_image_changed() {
        let running = running_configuration(
            &described(),
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/default-tutorial-site-service:1",
        )
        .unwrap();
        let input = image_update_input(&running, "registry.example/app:v3");
        assert_eq!(input["serviceArn"], running.service_arn.as_str());
        assert_eq!(
            input["primaryContainer"]["image"],
            "registry.example/app:v3"
        );
        assert_eq!(
            input["primaryContainer"]["environment"],
            json!([{"name": "NODE_ENV", "value": "production"}])
        );
        assert_eq!(
            input["primaryContainer"]["awsLogsConfiguration"]["logGroup"],
            "/aws/ecs/default/tutorial-site-service"
        );
    }

    /// UpdateExpressGatewayService's `taskDefinitionArn`: "The task definition must have a
    /// container named Main" (the API reference, as above).
    #[test]
    fn the_primary_container_is_main_or_the_only_one_with_the_image() {
        let with =
            |containers: Value| json!({"taskDefinition": {"containerDefinitions": containers}});
        assert_eq!(
            primary_container_name(
                &with(json!([{"name": "sidecar", "image": "a"}, {"name": "Main", "image": "b"}])),
                "a"
            ),
            Some("Main".into())
        );
        assert_eq!(
            primary_container_name(
                &with(json!([{"name": "tutorial-site-app", "image": "a"}])),
                "a"
            ),
            Some("tutorial-site-app".into())
        );
        assert_eq!(
            primary_container_name(
                &with(json!([{"name": "x", "image": "a"}, {"name": "y", "image": "a"}])),
                "a"
            ),
            None
        );
    }

    #[test]
    fn only_image_updates_of_the_primary_container_are_taken() {
        let image = |container: &str, tag: &str| ContainerUpdate::Image {
            container: container.into(),
            change: ImageChange::Tag(tag.into()),
        };
        assert_eq!(
            new_primary_image("Main", "registry.example/app:v1", &[image("Main", "v2")]),
            Ok(Some("registry.example/app:v2".into()))
        );
        assert_eq!(
            new_primary_image("Main", "registry.example/app:v1", &[image("Main", "v1")]),
            Ok(None)
        );
        assert_eq!(
            new_primary_image("Main", "registry.example/app:v1", &[image("sidecar", "v2")]),
            Err(ExpressError::OtherContainer {
                container: "sidecar".into(),
                primary: "Main".into()
            })
        );
        let environment = ContainerUpdate::EnvVar {
            container: "Main".into(),
            name: "A".into(),
            value: "secret-value".into(),
        };
        let refused = new_primary_image("Main", "a:v1", &[environment]).unwrap_err();
        assert!(!refused.to_string().contains("secret-value"));
    }

    #[test]
    fn the_expected_revision_differs_only_by_the_primary_image() {
        let input = json!({"family": "f", "containerDefinitions": [
            {"name": "Main", "image": "a:v1"}, {"name": "log", "image": "fluent:1"}]});
        let expected = expected_revision(&input, "Main", "a:v2");
        assert_eq!(expected["containerDefinitions"][0]["image"], "a:v2");
        assert_eq!(expected["containerDefinitions"][1]["image"], "fluent:1");
    }
}
