//! `deployer deploy`: push, then update-service with the image just pushed, in one process with
//! one set of credentials. The service and container are checked before anything is built.
use serde::Serialize;
use serde_json::Value;

use super::push::{self, PushOutcome, PushSettings};
use super::update_service::{self, service_to_update, UpdateServiceOutcome, UpdateServiceSettings};
use crate::adapters::aws;
use crate::adapters::ecs::Ecs;
use crate::domain::reference::ImageReference;
use crate::domain::update_spec::{ContainerUpdate, ImageChange};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct DeploySettings {
    pub push: PushSettings,
    pub update: UpdateServiceSettings,
    /// The container that runs the image (default: every container whose image is this repository).
    pub container: Option<String>,
    /// Register the image by the digest just pushed instead of its first tag.
    pub pin_digest: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    pub push: PushOutcome,
    pub update: UpdateServiceOutcome,
}

pub async fn run(settings: DeploySettings) -> Result<DeployOutcome> {
    let config = aws::load(&settings.push.aws).await?;
    let ecs = Ecs::new(&config);
    // The service must exist (or be creatable) before anything is built.
    let state = service_to_update(&ecs, &settings.update).await?;
    let described = ecs
        .describe_task_definition(&settings.update.family)
        .await?;
    if let (None, Some(creation)) = (&state, &settings.update.create) {
        update_service::creation_for(creation, &described, &settings.update)?;
    }

    let pushed = push::run_with(&config, settings.push.clone()).await?;
    let name = pushed
        .image
        .split_once('@')
        .map_or(pushed.image.as_str(), |(name, _)| name)
        .to_string();
    let containers = match &settings.container {
        Some(container) => vec![container.clone()],
        None => containers_running(&described, &name)?,
    };
    let reference = if settings.pin_digest {
        pushed.image.clone()
    } else {
        format!("{name}:{}", pushed.tags[0])
    };
    let mut update = settings.update.clone();
    for container in containers {
        update.updates.push(ContainerUpdate::Image {
            container,
            change: ImageChange::Replace(reference.clone()),
        });
    }
    let updated = update_service::run_with(&ecs, update).await?;
    Ok(DeployOutcome {
        push: pushed,
        update: updated,
    })
}

/// The containers of the task definition whose image lives in repository `name`.
fn containers_running(described: &Value, name: &str) -> Result<Vec<String>> {
    let containers: Vec<&Value> = described
        .pointer("/taskDefinition/containerDefinitions")
        .and_then(Value::as_array)
        .map(|list| list.iter().collect())
        .unwrap_or_default();
    let matching: Vec<String> = containers
        .iter()
        .filter(|container| {
            container
                .get("image")
                .and_then(Value::as_str)
                .and_then(|image| ImageReference::parse(image).ok())
                .is_some_and(|image| image.name() == name)
        })
        .filter_map(|container| {
            container
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    if matching.is_empty() {
        let names: Vec<&str> = containers
            .iter()
            .filter_map(|container| container.get("name").and_then(Value::as_str))
            .collect();
        return Err(Error::usage(format!(
            "no container of the task definition runs an image of {name} (containers: {})",
            names.join(", ")
        ))
        .with_hint("pass --container NAME to say which container gets the new image"));
    }
    Ok(matching)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_containers_by_repository_whatever_their_tag() {
        let described = serde_json::json!({"taskDefinition": {"containerDefinitions": [
            {"name": "tutorial-site-app", "image": "127.0.0.1:15000/tutorial-site-registry:latest"},
            {"name": "log-router", "image": "amazon/aws-for-fluent-bit:stable"}
        ]}});
        assert_eq!(
            containers_running(&described, "127.0.0.1:15000/tutorial-site-registry").unwrap(),
            ["tutorial-site-app"]
        );
        let error = containers_running(&described, "127.0.0.1:15000/other").unwrap_err();
        assert!(
            error
                .message
                .contains("containers: tutorial-site-app, log-router"),
            "{error}"
        );
    }
}
