//! `deployer deploy`: push, then update-service with the image just pushed, in one process with
//! one set of credentials. Both plans are made before anything is created, built or pushed:
//! the repository, the service and its controller, the containers that get the image, the
//! rendered revision. `--dry-run` shows them and stops.
use serde::Serialize;
use serde_json::Value;

use super::push::{self, PushOutcome, PushSettings};
use super::release::{self, ReleaseSettings};
use super::steps::image_check::ImageCheck;
use super::steps::registration;
use super::update_service::{self, ServicePlan, UpdateServiceOutcome, UpdateServiceSettings};
use crate::adapters::aws;
use crate::adapters::ecs::Ecs;
use crate::domain::reference::ImageReference;
use crate::domain::update_spec::{ContainerUpdate, ImageChange};
use crate::error::{Error, Result};
use crate::output;

#[derive(Debug, Clone)]
pub struct DeploySettings {
    pub push: PushSettings,
    /// The service's settings; with several services, the first one's (see [`run_release`]).
    pub update: UpdateServiceSettings,
    /// The container that runs the image (default: every container whose image is this repository).
    pub container: Option<String>,
    /// Register the image by the digest just pushed instead of its first tag.
    pub pin_digest: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    /// `None` with `--dry-run`.
    pub push: Option<PushOutcome>,
    pub update: UpdateServiceOutcome,
}

/// What `deploy` of several services did: the image pushed once, then each service.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseOutcome {
    /// `None` with `--dry-run`.
    pub push: Option<PushOutcome>,
    pub services: Vec<UpdateServiceOutcome>,
}

/// The push side of the plan: the registry, the image's name and the reference planned with
/// the first tag. A problem is added to `problems` (reported with the service's).
struct PushSide {
    registry: Option<push::RegistryPlan>,
    name: Option<String>,
    planned_reference: Option<String>,
}

async fn plan_push_side(
    config: &aws::AwsConfig,
    settings: &DeploySettings,
    problems: &mut Vec<Error>,
) -> Result<PushSide> {
    if settings.update.skip_registration {
        return Err(Error::usage(
            "deploy --skip-task-definition-registration would push the image and deploy the old revision, which does not run it",
        )
        .with_hint("deploy registers a revision with the pushed image; to redeploy the latest revision as it is, run update-service --skip-task-definition-registration"));
    }
    let registry = push::plan_registry(config, &settings.push)
        .await
        .map_err(|error| problems.push(error))
        .ok();
    let name = match &registry {
        Some(registry) => Some(registry.image_name(&settings.push).ok_or_else(|| {
            Error::usage("deploy to a new ECR Public repository needs --public-registry-alias: its image name must be known before the push")
        })?),
        None => None,
    };
    // Planned with the first tag; `--pin-digest` swaps in the digest once it is known.
    let planned_reference = name
        .as_ref()
        .map(|name| format!("{name}:{}", settings.push.tags[0]));
    Ok(PushSide {
        registry,
        name,
        planned_reference,
    })
}

/// The Docker side of the push plan, once the registry is planned (a problem joins the others).
async fn plan_docker_side(
    side: &mut PushSide,
    settings: &DeploySettings,
    problems: &mut Vec<Error>,
) -> Option<push::PushPlan> {
    let registry = side.registry.take()?;
    push::plan_docker(registry, &settings.push)
        .await
        .map_err(|error| problems.push(error))
        .ok()
}

/// The containers of a described revision that get the image, and their updates.
fn image_plan(
    described: &Value,
    container: Option<&str>,
    side: &PushSide,
) -> Result<(Vec<String>, Vec<ContainerUpdate>)> {
    let containers = match (container, &side.name) {
        (Some(container), _) => vec![named_container(described, container)?],
        (None, Some(name)) => containers_running(described, name)?,
        // The repository could not be planned: the containers cannot be told yet.
        (None, None) => Vec::new(),
    };
    let updates = side
        .planned_reference
        .as_deref()
        .map(|reference| image_updates(&containers, reference))
        .unwrap_or_default();
    Ok((containers, updates))
}

/// The image as pushed: by digest with `--pin-digest`, else by the first tag under the name
/// ECR gave (the one planned, unless the repository was created just now under another).
fn pushed_reference(pushed: &PushOutcome, settings: &DeploySettings) -> String {
    let pushed_name = pushed
        .image
        .split_once('@')
        .map_or(pushed.image.as_str(), |(name, _)| name);
    if settings.pin_digest {
        pushed.image.clone()
    } else {
        format!("{pushed_name}:{}", settings.push.tags[0])
    }
}

/// Renders the revision again with the image as pushed, when it is not the one planned.
fn with_pushed_image(
    plan: &mut ServicePlan,
    update: &UpdateServiceSettings,
    containers: &[String],
    reference: &str,
    planned_reference: &str,
) -> Result<()> {
    if reference != planned_reference {
        let mut updates = update.updates.clone();
        updates.extend(image_updates(containers, reference));
        plan.registration = Some(registration::render(
            &plan.described,
            &updates,
            &update.tags,
            plan.latest.as_ref(),
        )?);
    }
    Ok(())
}

fn show_dry_run(settings: &DeploySettings, push_plan: &push::PushPlan, name: &str, planned: &str) {
    push_plan.show(&settings.push);
    if settings.pin_digest {
        output::step(format!(
            "dry run: --pin-digest would register {name}@<the pushed digest> instead of {planned}"
        ));
    }
}

pub async fn run(settings: DeploySettings) -> Result<DeployOutcome> {
    let config = aws::load(&settings.push.aws).await?;
    let ecs = Ecs::new(&config);

    // Everything that needs no Docker daemon is planned first, and every problem found is
    // reported together: a daemon that is down does not hide a misspelled --service.
    let mut problems: Vec<Error> = Vec::new();
    let mut side = plan_push_side(&config, &settings, &mut problems).await?;
    let mut containers = Vec::new();
    let images = match &side.name {
        Some(name) => ImageCheck::new(&config).pushing(name.clone()),
        None => ImageCheck::new(&config),
    };
    let update = &settings.update;
    let plan = update_service::plan(&ecs, &images, update, |described| {
        let (found, updates) = image_plan(described, settings.container.as_deref(), &side)?;
        containers = found;
        Ok(updates)
    })
    .await
    .map_err(|error| problems.push(error))
    .ok();
    let push_plan = plan_docker_side(&mut side, &settings, &mut problems).await;
    let (Some(push_plan), Some(mut plan), Some(name), Some(planned_reference)) =
        (push_plan, plan, side.name, side.planned_reference)
    else {
        return Err(Error::all_of(problems));
    };

    if settings.update.dry_run {
        show_dry_run(&settings, &push_plan, &name, &planned_reference);
        let planned = update_service::planned(update, &plan);
        update_service::show_diff(&ecs, update, &plan).await?;
        return Ok(DeployOutcome {
            push: None,
            update: planned,
        });
    }

    let pushed = push::apply(push_plan, &settings.push).await?;
    let reference = pushed_reference(&pushed, &settings);
    with_pushed_image(
        &mut plan,
        update,
        &containers,
        &reference,
        &planned_reference,
    )?;
    let updated = update_service::apply(&ecs, update, plan).await?;
    Ok(DeployOutcome {
        push: Some(pushed),
        update: updated,
    })
}

/// `deploy` of several services: the image is planned and pushed once, every service planned
/// before anything is built (by default each gets it in every container whose image is the
/// repository), then released together.
pub async fn run_release(
    settings: DeploySettings,
    release: ReleaseSettings,
) -> Result<ReleaseOutcome> {
    let config = aws::load(&settings.push.aws).await?;
    let ecs = Ecs::new(&config);
    let mut problems: Vec<Error> = Vec::new();
    let mut side = plan_push_side(&config, &settings, &mut problems).await?;
    let images = match &side.name {
        Some(name) => ImageCheck::new(&config).pushing(name.clone()),
        None => ImageCheck::new(&config),
    };
    let mut containers: std::collections::HashMap<String, Vec<String>> = Default::default();
    let lanes = release::plan(&ecs, &images, &release, &mut |service, described| {
        let (found, updates) = image_plan(described, settings.container.as_deref(), &side)
            .map_err(|error| error.with_detail(format!("(service {service})")))?;
        containers.insert(service.to_string(), found);
        Ok(updates)
    })
    .await
    .map_err(|error| problems.push(error))
    .ok();
    let push_plan = plan_docker_side(&mut side, &settings, &mut problems).await;
    let (Some(push_plan), Some(mut lanes), Some(name), Some(planned_reference)) =
        (push_plan, lanes, side.name, side.planned_reference)
    else {
        return Err(Error::all_of(problems));
    };
    if release.base.dry_run {
        show_dry_run(&settings, &push_plan, &name, &planned_reference);
        return Ok(ReleaseOutcome {
            push: None,
            services: release::planned(&lanes),
        });
    }
    let pushed = push::apply(push_plan, &settings.push).await?;
    let reference = pushed_reference(&pushed, &settings);
    for lane in &mut lanes {
        let found = containers
            .get(&lane.settings.service)
            .cloned()
            .unwrap_or_default();
        with_pushed_image(
            &mut lane.plan,
            &lane.settings,
            &found,
            &reference,
            &planned_reference,
        )?;
    }
    let services = release::outcomes(release::apply(&ecs, &release, lanes).await?)?;
    Ok(ReleaseOutcome {
        push: Some(pushed),
        services,
    })
}

/// Updates that set `containers` to run `image`.
fn image_updates(containers: &[String], image: &str) -> Vec<ContainerUpdate> {
    containers
        .iter()
        .map(|container| ContainerUpdate::Image {
            container: container.clone(),
            change: ImageChange::Replace(image.to_string()),
        })
        .collect()
}

fn container_names(described: &Value) -> Vec<&str> {
    described
        .pointer("/taskDefinition/containerDefinitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|container| container.get("name").and_then(Value::as_str))
        .collect()
}

/// `--container NAME`, which the task definition must have.
fn named_container(described: &Value, container: &str) -> Result<String> {
    let names = container_names(described);
    if names.contains(&container) {
        return Ok(container.to_string());
    }
    Err(Error::usage(format!(
        "--container {container}: the task definition has no such container (containers: {})",
        names.join(", ")
    ))
    .with_hint("name one of its containers; nothing was built or pushed"))
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
                .is_some_and(|image| {
                    // A template's placeholder is the pushed image's place (render --template).
                    image == crate::domain::task_definition::IMAGE_PLACEHOLDER
                        || ImageReference::parse(image).is_ok_and(|image| image.name() == name)
                })
        })
        .filter_map(|container| {
            container
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    if matching.is_empty() {
        return Err(Error::usage(format!(
            "no container of the task definition runs an image of {name} (containers: {})",
            container_names(described).join(", ")
        ))
        .with_hint("pass --container NAME to say which container gets the new image"));
    }
    Ok(matching)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described() -> Value {
        serde_json::json!({"taskDefinition": {"containerDefinitions": [
            {"name": "tutorial-site-app", "image": "127.0.0.1:15000/tutorial-site-registry:latest"},
            {"name": "log-router", "image": "amazon/aws-for-fluent-bit:stable"}
        ]}})
    }

    #[test]
    fn finds_containers_by_repository_whatever_their_tag() {
        assert_eq!(
            containers_running(&described(), "127.0.0.1:15000/tutorial-site-registry").unwrap(),
            ["tutorial-site-app"]
        );
        // A template's placeholder gets the pushed image (render --template).
        let template = serde_json::json!({"taskDefinition": {"containerDefinitions": [
            {"name": "tutorial-site-app", "image": "{{ image }}"},
            {"name": "log-router", "image": "amazon/aws-for-fluent-bit:stable"}
        ]}});
        assert_eq!(
            containers_running(&template, "127.0.0.1:15000/tutorial-site-registry").unwrap(),
            ["tutorial-site-app"]
        );
        let error = containers_running(&described(), "127.0.0.1:15000/other").unwrap_err();
        assert!(
            error
                .message
                .contains("containers: tutorial-site-app, log-router"),
            "{error}"
        );
    }

    #[test]
    fn a_named_container_must_exist() {
        assert_eq!(
            named_container(&described(), "log-router").unwrap(),
            "log-router"
        );
        let error = named_container(&described(), "typo").unwrap_err();
        assert_eq!(error.kind, crate::error::ErrorKind::Usage);
        assert!(
            error.message.contains("tutorial-site-app, log-router"),
            "{error}"
        );
    }
}
