//! update-service and deploy on an ECS Express Mode service: the primary container's image
//! changed through UpdateExpressGatewayService (ECS registers the revision itself), then the
//! deployment it starts waited for like any other. Flags that only make sense for a revision
//! deployer registers, or for settings Express Mode manages, are refused before anything changes.
use serde_json::Value;

use super::types::{given, ExpressPlan, ServicePlan, UpdateServiceOutcome, UpdateServiceSettings};
use crate::adapters::ecs::{Ecs, ServiceState};
use crate::commands::steps::image_check::ImageCheck;
use crate::commands::steps::registration::Plan;
use crate::commands::steps::scheduled_tasks::ScheduledPlan;
use crate::commands::steps::verify;
use crate::domain::express::{
    expected_revision, image_update_input, new_primary_image, primary_container_name,
    running_configuration, ExpressError,
};
use crate::domain::rollout::{same_task_definition, short_task_definition, ServiceSnapshot};
use crate::domain::task_definition::register_input;
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, Result};
use crate::{journal, output};

const ACTION: &str = "UpdateExpressGatewayService";

/// Refuses what an Express service cannot take, naming every such flag at once.
fn check_flags(settings: &UpdateServiceSettings) -> Result<()> {
    let refused = given(&[
        ("--task-definition-file", settings.file.is_some()),
        (
            "--skip-task-definition-registration",
            settings.skip_registration,
        ),
        ("--task-definition-tags", !settings.tags.is_empty()),
        ("--allow-family-change", settings.allow_family_change),
        ("--force-new-deployment", settings.force_new_deployment),
        ("--desired-count", settings.desired_count.is_some()),
        ("--strategy and its settings", !settings.strategy.is_empty()),
        ("--smoke-test", settings.smoke_test.is_some()),
        ("--codedeploy-*", !settings.codedeploy.is_empty()),
        (
            "--update-scheduled-task and --update-schedule",
            !settings.scheduled.is_empty(),
        ),
        ("--keep-revisions", settings.keep_revisions.is_some()),
    ]);
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "service {} is an ECS Express Mode service: ECS registers its revisions and manages its scaling and deployments, so {} cannot apply (nothing was changed)",
        settings.service,
        refused.join(", ")
    ))
    .with_hint("leave them out: deployer changes the primary container's image through UpdateExpressGatewayService; change other settings with aws ecs update-express-gateway-service"))
}

fn refused(settings: &UpdateServiceSettings, error: ExpressError) -> Error {
    Error::usage(format!("service {}: {error}", settings.service)).with_hint(
        "give the primary container's image only (--container-image-name-updates container=NAME,tag=… or deploy --container NAME)",
    )
}

/// The Express plan: the configuration the service runs, its primary container, and the image
/// it will run; nothing has changed yet.
pub(super) async fn plan(
    ecs: &Ecs,
    images: &ImageCheck<'_>,
    settings: &UpdateServiceSettings,
    state: ServiceState,
    more_updates: impl FnOnce(&Value) -> Result<Vec<ContainerUpdate>>,
) -> Result<ServicePlan> {
    check_flags(settings)?;
    let service_arn = state.raw["serviceArn"].as_str().unwrap_or_default();
    let described = ecs.describe_express_gateway_service(service_arn).await?;
    let running = running_configuration(&described, &state.snapshot.task_definition)
        .map_err(|error| Error::environment(error.to_string()))?;
    let task_definition = ecs
        .describe_task_definition(&running.task_definition_arn)
        .await?;
    let container = primary_container_name(&task_definition, &running.image).ok_or_else(|| {
        Error::environment(format!(
            "service {}: no container of {} is the Express service's primary container (none is named Main or alone runs {})",
            settings.service,
            short_task_definition(&running.task_definition_arn),
            running.image
        ))
    })?;
    let mut updates = settings.updates.clone();
    updates.extend(more_updates(&task_definition)?);
    let new_image = new_primary_image(&container, &running.image, &updates)
        .map_err(|error| refused(settings, error))?
        .ok_or_else(|| {
            Error::usage(format!(
                "service {} already runs {} in its primary container {container}: nothing to deploy",
                settings.service, running.image
            ))
            .with_hint(format!(
                "give the new image with --container-image-name-updates container={container},tag=TAG"
            ))
        })?;
    // As for a revision deployer registers: a new ECR image must exist before anything changes.
    images
        .verify(&[(container.clone(), new_image.clone())])
        .await?;
    // What else the revision ECS will register needs, as for a revision deployer registers.
    if let (true, Some(config)) = (settings.verify, ecs.config()) {
        let running_input = register_input(&task_definition).unwrap_or(Value::Null);
        let revision = expected_revision(&running_input, &container, &new_image);
        verify::in_plan(config, images, &revision, std::slice::from_ref(&new_image)).await?;
    }
    let family = crate::domain::rollout::family_of(&running.task_definition_arn);
    if family != settings.family {
        output::step(format!(
            "ECS Express Mode registers the revisions of service {} (family {family}): --family {} is not used",
            settings.service, settings.family
        ));
    }
    output::step(format!(
        "service {} is an ECS Express Mode service: {ACTION} will change its primary container {container} from {} to {new_image}, and ECS registers the revision",
        settings.service, running.image
    ));
    let input = image_update_input(&running, &new_image);
    Ok(ServicePlan {
        creation: None,
        latest: Some(task_definition.clone()),
        base_arn: running.task_definition_arn.clone(),
        described: task_definition,
        registration: None,
        scheduled: ScheduledPlan::default(),
        codedeploy: None,
        state: Some(state),
        express: Some(ExpressPlan {
            container,
            old_image: running.image,
            new_image,
            input,
        }),
    })
}

/// `--dry-run`: the plan on stderr, the outcome (with the call's input) on stdout.
pub(super) fn planned(
    settings: &UpdateServiceSettings,
    plan: &ServicePlan,
    express: &ExpressPlan,
) -> UpdateServiceOutcome {
    output::step(format!(
        "dry run, nothing changed: would call {ACTION} on {} (primary container {}: {} -> {}), then wait for the deployment ECS starts",
        settings.service, express.container, express.old_image, express.new_image
    ));
    let revision = expected(plan, express);
    UpdateServiceOutcome {
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        task_definition_arn: String::new(),
        previous_task_definition_arn: plan.base_arn.clone(),
        registered: false,
        deployment_id: None,
        result: "planned".to_string(),
        service_deployment_arn: None,
        hook_id: None,
        plan: Some(Plan {
            register_task_definition_input: revision,
            changes: vec![format!(
                "container {}: image {} -> {}",
                express.container, express.old_image, express.new_image
            )],
        }),
        codedeploy_deployment_id: None,
        codedeploy_appspec: None,
        express_update: Some(express.input.clone()),
    }
}

/// The revision ECS will register, in RegisterTaskDefinition's shape.
pub(super) fn expected(plan: &ServicePlan, express: &ExpressPlan) -> Value {
    let running = register_input(&plan.described).unwrap_or(Value::Null);
    expected_revision(&running, &express.container, &express.new_image)
}

/// What UpdateExpressGatewayService started: the revision ECS registered, and the service as
/// it is right after, for the waiter.
pub(super) struct Started {
    pub task_definition_arn: String,
    pub now: ServiceSnapshot,
}

/// UpdateExpressGatewayService, then the revision it made found; update-service's `track`
/// waits for its deployment as for any other.
pub(super) async fn update(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    state: &ServiceState,
    express: &ExpressPlan,
) -> Result<Started> {
    let answered = ecs
        .update_express_gateway_service(&express.input)
        .await
        .map_err(|error| {
            error.with_detail(format!(
                "the service was not updated: it still runs {} ({})",
                short_task_definition(&state.snapshot.task_definition),
                express.old_image
            ))
        })?;
    journal::record(format!(
        "updated Express service {} to image {} ({ACTION})",
        settings.service, express.new_image
    ));
    let named = answered
        .pointer("/service/targetConfiguration/taskDefinitionArn")
        .and_then(Value::as_str)
        .map(str::to_string);
    // The revision ECS registered: its answer names it; otherwise the newest deployment that
    // was not there before (the API reference does not promise targetConfiguration's ARN).
    // DescribeServices is eventually consistent: up to 30 s for the new deployment to show.
    let mut polls = 0;
    let (task_definition_arn, now) = loop {
        let now = ecs
            .poll_service(&settings.cluster, &settings.service)
            .await?
            .ok_or_else(|| {
                Error::environment(format!(
                    "service {} is gone after {ACTION}",
                    settings.service
                ))
            })?;
        let found = named.clone().or_else(|| {
            now.deployments
                .iter()
                .filter(|d| !state.snapshot.deployments.iter().any(|old| old.id == d.id))
                .filter(|d| {
                    !same_task_definition(&d.task_definition, &state.snapshot.task_definition)
                })
                .max_by(|a, b| a.created_at.cmp(&b.created_at))
                .map(|d| d.task_definition.clone())
        });
        match found {
            Some(arn) => break (arn, now),
            None if polls < 10 => {
                polls += 1;
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            }
            None => {
                return Err(Error::failed(format!(
                    "ECS answered {ACTION} for {} without a new revision, and no new deployment was listed within 30 s",
                    settings.service
                ))
                .with_hint("look at the service's events: the update was sent"))
            }
        }
    };
    output::step(format!(
        "ECS registered {} for {}",
        short_task_definition(&task_definition_arn),
        settings.service
    ));
    Ok(Started {
        task_definition_arn,
        now,
    })
}
