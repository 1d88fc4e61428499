//! `deployer update-service`: describe the family's latest revision, render the new one, register
//! it, roll the service to it with one UpdateService call, and wait until that very deployment
//! is done. `--dry-run` stops after showing the plan. Its settings, plan and outcome types are
//! in `types`, the deployment configuration it sends in `configuration`, the plan as shown
//! (`--dry-run`, `deployer diff`) in `shown`; none of them imports this file.
use serde_json::Value;

mod configuration;
mod express;
mod shown;
mod types;

use configuration::gated_configuration;
pub use configuration::planned_configuration;
use shown::base_name;
pub use shown::{diff, planned, show_diff};
pub use types::*;

use super::steps::codedeploy::{self, CodeDeployPlan};
use super::steps::deregistration;
use super::steps::failure_logs::with_stopped_tasks;
use super::steps::follow_rollout::{follow, FollowResult};
use super::steps::image_check::ImageCheck;
use super::steps::registration::{self};
use super::steps::scheduled_tasks::{self, ScheduledPlan};
use super::steps::service::{
    active_service, check_drivable, check_wait_until, uses_codedeploy, MISSING_HINT,
};
use super::steps::service_deployment::Followed;
use super::steps::smoke_test::{self, Pause, SmokeTest};
use super::steps::verify;
use crate::adapters::aws::{self};
use crate::adapters::ecs::{Ecs, ServiceCreation, ServiceState, ServiceUpdate};
use crate::domain::duration::format_duration;
use crate::domain::ecr_image::changed_images;
use crate::domain::express::is_express;
use crate::domain::rollout::{family_of, same_task_definition, short_task_definition, WaitUntil};
use crate::domain::rollout::{Deployment, ServiceSnapshot};
use crate::domain::smoke_test::{short_hook_warning, without_gate_pauses, GATE_STAGE};
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, ErrorKind, Result};
use crate::journal;
use crate::output;

pub async fn run(settings: UpdateServiceSettings) -> Result<UpdateServiceOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let plan = plan(&ecs, &ImageCheck::new(&config), &settings, |_| {
        Ok(Vec::new())
    })
    .await?;
    if settings.dry_run {
        let outcome = planned(&settings, &plan);
        show_diff(&ecs, &settings, &plan).await?;
        return Ok(outcome);
    }
    apply(&ecs, &settings, plan).await
}

/// Everything that can be known and checked before anything changes: the service, its
/// deployment controller and strategy, the task definition, the rendered revision, and that
/// its new images exist. `more_updates` adds updates that depend on the described revision
/// (`deploy`'s image for the containers of its repository).
pub async fn plan(
    ecs: &Ecs,
    images: &ImageCheck<'_>,
    settings: &UpdateServiceSettings,
    more_updates: impl FnOnce(&Value) -> Result<Vec<ContainerUpdate>>,
) -> Result<ServicePlan> {
    let state = service_to_update(ecs, settings).await?;
    if let Some(state) = state.clone().filter(|state| is_express(&state.raw)) {
        return express::plan(ecs, images, settings, state, more_updates).await;
    }
    let through_codedeploy = state.as_ref().is_some_and(uses_codedeploy);
    if through_codedeploy {
        check_codedeploy_flags(settings)?;
    } else if !settings.codedeploy.is_empty() {
        return Err(Error::usage(format!(
            "the --codedeploy-* flags deploy a service with the CODE_DEPLOY deployment controller, and service {} {}",
            settings.service,
            if state.is_some() { "uses the ECS controller" } else { "does not exist yet" }
        ))
        .with_hint("leave them out: deployer updates the service itself"));
    }
    if let Some(smoke) = &settings.smoke_test {
        check_smoke_test(settings, smoke, state.as_ref(), through_codedeploy)?;
    }
    let configuration = match &state {
        Some(_) if through_codedeploy => None,
        Some(state) => planned_configuration(settings, state)?,
        None if !settings.strategy.is_empty() => {
            return Err(Error::usage(
                "--strategy changes an existing service's deployment configuration, and --create-service would create the service",
            )
            .with_hint("create the service first (with its load balancer's alternate target group), then deploy with --strategy"))
        }
        None => None,
    };
    if let (Some((_, until)), Some(state), false) = (&settings.wait, &state, through_codedeploy) {
        let configuration = configuration.as_ref().or(state.deployment_configuration());
        // The gate answers its own pause: only other pauses are worth a warning.
        let others = configuration
            .filter(|_| settings.smoke_test.is_some())
            .map(without_gate_pauses);
        check_wait_until(until, others.as_ref().or(configuration), &settings.service)?;
    }
    let (described, latest) = match &settings.file {
        None => {
            let latest = ecs
                .describe_task_definition(&settings.family)
                .await
                .map_err(|error| match error.kind {
                    crate::error::ErrorKind::Usage => error.with_hint(
                        "check --family (the task definition family, e.g. tutorial-site-task) and the region",
                    ),
                    _ => error,
                })?;
            (latest.clone(), Some(latest))
        }
        Some(file) => {
            registration::show_file(file);
            (
                file.as_described(),
                ecs.latest_task_definition(&settings.family).await?,
            )
        }
    };
    // After the family is found: a misspelled --family is named as such first.
    if let Some(state) = &state {
        check_family(settings, state)?;
    }
    let base_arn = latest
        .as_ref()
        .unwrap_or(&Value::Null)
        .pointer("/taskDefinition/taskDefinitionArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let creation = match (&state, &settings.create) {
        (None, Some(creation)) => Some(creation_for(creation, &described, settings)?),
        _ => None,
    };
    let mut updates = settings.updates.clone();
    updates.extend(more_updates(&described)?);
    let registration = if settings.skip_registration {
        if let (true, Some(config)) = (settings.verify, ecs.config()) {
            verify::in_plan(config, images, &described["taskDefinition"], &[]).await?;
        }
        None
    } else {
        let registration =
            registration::render(&described, &updates, &settings.tags, latest.as_ref())?;
        let changed = changed_images(
            latest.as_ref().unwrap_or(&Value::Null),
            &registration.register_task_definition_input,
        );
        images.verify(&changed).await?;
        if let (true, Some(config)) = (settings.verify, ecs.config()) {
            let checked: Vec<String> = changed.into_iter().map(|(_, image)| image).collect();
            verify::in_plan(
                config,
                images,
                &registration.register_task_definition_input,
                &checked,
            )
            .await?;
        }
        // A file that is the latest revision as it is (e.g. from render --from-service).
        Some(registration).filter(|registration| {
            settings.file.is_none() || !registration::unchanged(registration, latest.as_ref())
        })
    };
    let scheduled = if settings.scheduled.is_empty() {
        ScheduledPlan::default()
    } else {
        let config = ecs
            .config()
            .ok_or_else(|| Error::environment("no AWS configuration to reach EventBridge with"))?;
        scheduled_tasks::plan_scheduled(config, &settings.family, &settings.scheduled).await?
    };
    let codedeploy = match (&state, through_codedeploy) {
        (Some(state), true) => {
            let config = ecs.config().ok_or_else(|| {
                Error::environment("no AWS configuration to reach CodeDeploy with")
            })?;
            let definition = match &registration {
                Some(registration) => &registration.register_task_definition_input,
                None => &described["taskDefinition"],
            };
            Some(
                codedeploy::plan(
                    config,
                    &settings.codedeploy,
                    (&settings.cluster, &settings.service),
                    &state.raw,
                    definition,
                )
                .await?,
            )
        }
        _ => None,
    };
    if let (Some(smoke), Some(codedeploy)) = (&settings.smoke_test, &codedeploy) {
        check_codedeploy_gate(settings, smoke, codedeploy)?;
    }
    Ok(ServicePlan {
        state,
        creation,
        described,
        latest,
        base_arn,
        registration,
        scheduled,
        codedeploy,
        express: None,
    })
}

/// Carries the plan out: registers the revision, then updates (or creates) the service and
/// waits as asked. Every change is recorded, so a failure says what was already done.
pub async fn apply(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    plan: ServicePlan,
) -> Result<UpdateServiceOutcome> {
    if let (Some(state), Some(express)) = (&plan.state, &plan.express) {
        let started = express::update(ecs, settings, state, express).await?;
        return track(
            ecs,
            settings,
            &state.snapshot,
            started.now,
            state.deployment_configuration().cloned(),
            Some(&state.raw),
            &started.task_definition_arn,
            true,
            "UpdateExpressGatewayService",
        )
        .await;
    }
    let (task_definition_arn, registered) = register(ecs, settings, &plan).await?;
    apply_registered(ecs, settings, plan, &task_definition_arn, registered).await
}

/// The plan's first change: registers its revision (or says the latest one is deployed as it
/// is). The revision to deploy, and whether it was registered now.
pub async fn register(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    plan: &ServicePlan,
) -> Result<(String, bool)> {
    match &plan.registration {
        None => {
            output::step(format!(
                "deploying the latest revision {} as it is",
                short_task_definition(&plan.base_arn)
            ));
            Ok((plan.base_arn.clone(), false))
        }
        Some(registration) => {
            let from = base_name(settings, plan);
            let arn = registration::register(ecs, &settings.family, &from, registration).await?;
            Ok((arn, true))
        }
    }
}

/// The rest of [`apply`] once the revision is registered: updates (or creates) the service and
/// waits as asked, then points the scheduled tasks at it.
pub async fn apply_registered(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    plan: ServicePlan,
    task_definition_arn: &str,
    registered: bool,
) -> Result<UpdateServiceOutcome> {
    let task_definition_arn = task_definition_arn.to_string();
    let outcome = match (&plan.state, plan.creation, &plan.codedeploy) {
        (Some(state), _, Some(codedeploy)) => {
            deploy_through_codedeploy(
                ecs,
                settings,
                state,
                codedeploy,
                &task_definition_arn,
                registered,
            )
            .await?
        }
        (Some(state), _, None) => {
            roll(ecs, settings, state, &task_definition_arn, registered).await?
        }
        (None, creation, _) => {
            let creation = creation.unwrap_or_default();
            create(ecs, settings, &creation, &task_definition_arn, registered).await?
        }
    };
    if let Some(config) = ecs.config().filter(|_| !settings.scheduled.is_empty()) {
        scheduled_tasks::apply_scheduled(config, plan.scheduled, &task_definition_arn).await?;
    }
    if let (Some(keep), Some(config)) = (settings.keep_revisions, ecs.config()) {
        deregistration::after_deploy(config, family_of(&task_definition_arn), keep).await;
    }
    Ok(outcome)
}

/// The service to update, or `None` when `--create-service` is to create it.
pub async fn service_to_update(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
) -> Result<Option<ServiceState>> {
    if settings.create.is_none() {
        let state = active_service(ecs, &settings.cluster, &settings.service, MISSING_HINT).await?;
        check_deployable(&state, &settings.service)?;
        return Ok(Some(state));
    }
    match ecs.describe_service(&settings.cluster, &settings.service).await? {
        Some(state) if state.snapshot.status == "ACTIVE" => {
            check_deployable(&state, &settings.service)?;
            Ok(Some(state))
        }
        Some(state) if state.snapshot.status != "INACTIVE" => Err(Error::usage(format!(
            "service {} in cluster {} is {}: it cannot be updated or created again until it is INACTIVE",
            settings.service, settings.cluster, state.snapshot.status
        ))),
        _ => Ok(None),
    }
}

/// Refuses to roll a service onto another family than the one it runs, unless
/// `--allow-family-change` says it is meant.
fn check_family(settings: &UpdateServiceSettings, state: &ServiceState) -> Result<()> {
    let running = &state.snapshot.task_definition;
    let family = family_of(running);
    if running.is_empty() || family == settings.family || settings.allow_family_change {
        return Ok(());
    }
    Err(Error::usage(format!(
        "service {} runs {} (family {family}), and the new revision would be of family {}: that would move the service to another family",
        settings.service,
        short_task_definition(running),
        settings.family
    ))
    .with_hint(format!(
        "pass --family {family} to deploy a new revision of what the service runs, or --allow-family-change if it is meant to run {}",
        settings.family
    )))
}

/// Refuses a service update-service and deploy cannot deploy: ECS-controlled services of a
/// strategy deployer follows, and CODE_DEPLOY services (through CodeDeploy).
fn check_deployable(state: &ServiceState, service: &str) -> Result<()> {
    if uses_codedeploy(state) {
        return Ok(());
    }
    check_drivable(state, service, "deploy")
}

/// Refuses `--smoke-test` where there is no test traffic to gate on, before anything changes,
/// and shows the gate in the plan.
fn check_smoke_test(
    settings: &UpdateServiceSettings,
    smoke: &SmokeTest,
    state: Option<&ServiceState>,
    through_codedeploy: bool,
) -> Result<()> {
    let Some(state) = state else {
        return Err(Error::usage(format!(
            "--smoke-test gates a deployment of an existing service, and service {} does not exist yet",
            settings.service
        ))
        .with_hint("create the service first (with its load balancer's alternate target group and test listener rule), then deploy with --smoke-test"));
    };
    if through_codedeploy {
        // The deployment group decides: checked with the CodeDeploy plan.
        return Ok(());
    }
    let (_, gate) = gated_configuration(settings, state)?;
    if let Some(gate) = gate {
        output::step(format!(
            "smoke test gate: {}; there deployer runs `{}` against the test traffic, then continues, or rolls back when it fails",
            gate.describe(),
            smoke.command
        ));
        if let Some(warning) = short_hook_warning(&gate, smoke.timeout) {
            output::warn(format!("service {}: {warning}", settings.service));
        }
    }
    Ok(())
}

/// For a CODE_DEPLOY service, the gate is the deployment group's ready wait: refused (exit 2)
/// when the group reroutes traffic on its own, shown in the plan otherwise.
fn check_codedeploy_gate(
    settings: &UpdateServiceSettings,
    smoke: &SmokeTest,
    plan: &CodeDeployPlan,
) -> Result<()> {
    let Some(minutes) = plan.ready_wait else {
        return Err(Error::usage(format!(
            "--smoke-test runs while a CodeDeploy deployment waits in Ready, and deployment group {} of {} reroutes production traffic without waiting",
            plan.deployment_group, plan.application
        ))
        .with_hint(format!(
            "set the group's blueGreenDeploymentConfiguration.deploymentReadyOption to actionOnTimeout STOP_DEPLOYMENT with waitTimeInMinutes of at least the smoke test's timeout ({}), or leave out --smoke-test",
            format_duration(smoke.timeout)
        )));
    };
    output::step(format!(
        "smoke test gate: deployment group {}'s ready wait (STOP_DEPLOYMENT after {minutes}m); there deployer runs `{}` against the test traffic, then continues (ContinueDeployment), or stops the deployment with automatic rollback when it fails",
        plan.deployment_group, smoke.command
    ));
    if std::time::Duration::from_secs(minutes * 60) < smoke.timeout {
        output::warn(format!(
            "service {}: deployment group {}'s ready wait of {minutes}m ends before the --smoke-test-timeout of {}: CodeDeploy stops the deployment if the smoke test runs that long",
            settings.service,
            plan.deployment_group,
            format_duration(smoke.timeout)
        ));
    }
    Ok(())
}

/// Refuses the flags that change what ECS does itself: CodeDeploy deploys a CODE_DEPLOY
/// service, following its deployment group's configuration.
fn check_codedeploy_flags(settings: &UpdateServiceSettings) -> Result<()> {
    let refused = given(&[
        ("--strategy and its settings", !settings.strategy.is_empty()),
        ("--force-new-deployment", settings.force_new_deployment),
        ("--desired-count", settings.desired_count.is_some()),
        (
            "--wait-until other than stable",
            settings
                .wait
                .as_ref()
                .is_some_and(|(_, until)| *until != WaitUntil::Stable),
        ),
    ]);
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::usage(format!(
        "service {} uses the CODE_DEPLOY deployment controller, so CodeDeploy deploys it: {} cannot apply",
        settings.service,
        refused.join(", ")
    ))
    .with_hint("the deployment group's configuration decides how traffic shifts (--codedeploy-deployment-config picks another)"))
}

/// `--create-service`'s settings checked against the task definition before anything is
/// registered: awsvpc tasks need subnets, and Fargate-only definitions launch on Fargate.
pub fn creation_for(
    creation: &ServiceCreation,
    described: &Value,
    settings: &UpdateServiceSettings,
) -> Result<ServiceCreation> {
    let definition = &described["taskDefinition"];
    if definition["networkMode"] == "awsvpc" && creation.subnets.is_empty() {
        return Err(Error::usage(format!(
            "service {} does not exist and {} uses the awsvpc network mode: creating it needs --subnets (and usually --security-groups)",
            settings.service, settings.family
        )));
    }
    if let Some((_, container, _)) = &creation.load_balancer {
        let known = definition["containerDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["name"] == container.as_str());
        if !known {
            return Err(Error::usage(format!(
                "--container-name {container}: {} has no such container",
                settings.family
            )));
        }
    }
    let mut creation = creation.clone();
    if creation.launch_type.is_none() {
        let compatibilities: Vec<&str> = definition["requiresCompatibilities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if compatibilities == ["FARGATE"] {
            creation.launch_type = Some("FARGATE".into());
        }
    }
    Ok(creation)
}

/// CreateDeployment of `task_definition_arn` through the plan's deployment group, then wait as
/// asked. With `--enable-circuit-breaker`, as with the orb, a deployment that does not finish is
/// stopped with rollback (as `--rollback-on-cancel` does).
async fn deploy_through_codedeploy(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    state: &ServiceState,
    plan: &CodeDeployPlan,
    task_definition_arn: &str,
    registered: bool,
) -> Result<UpdateServiceOutcome> {
    let config = ecs
        .config()
        .ok_or_else(|| Error::environment("no AWS configuration to reach CodeDeploy with"))?;
    let id = codedeploy::start(config, plan, &settings.service, task_definition_arn).await?;
    let mut outcome = UpdateServiceOutcome {
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        task_definition_arn: task_definition_arn.to_string(),
        previous_task_definition_arn: state.snapshot.task_definition.clone(),
        registered,
        deployment_id: None,
        result: "started".to_string(),
        service_deployment_arn: None,
        hook_id: None,
        plan: None,
        codedeploy_deployment_id: Some(id.clone()),
        codedeploy_appspec: None,
        express_update: None,
    };
    let Some((wait, _)) = &settings.wait else {
        return Ok(outcome);
    };
    let mut wait = wait.clone();
    if !wait.timeout_explicit {
        let (extra, how) = &plan.time;
        let base = wait.timeout;
        wait.timeout += *extra;
        output::step(format!(
            "waiting up to {}: {} for the rollout + {how}; --timeout overrides",
            format_duration(wait.timeout),
            format_duration(base),
        ));
    }
    if let Some(smoke) = &settings.smoke_test {
        let ended =
            codedeploy::follow_until(config, &id, &wait, settings.enable_circuit_breaker, true)
                .await?;
        if ended == codedeploy::Ended::Succeeded {
            return Err(Error::failed(format!(
                "CodeDeploy deployment {id} succeeded without waiting in Ready: the smoke test did not run"
            ))
            .with_hint(format!(
                "look at deployment group {}'s deploymentReadyOption: the gate needs actionOnTimeout STOP_DEPLOYMENT",
                plan.deployment_group
            )));
        }
        smoke_test::gate_codedeploy(
            ecs,
            &settings.service,
            &state.raw,
            task_definition_arn,
            smoke,
            &id,
            plan.test_listener.as_deref(),
            &wait,
        )
        .await?;
    }
    if let Err(error) =
        codedeploy::follow(config, &id, &wait, settings.enable_circuit_breaker).await
    {
        if error.kind != ErrorKind::Failed {
            return Err(error);
        }
        // Why the replacement tasks stopped, in their own words.
        return Err(with_stopped_tasks(
            ecs,
            wait.failure_log_lines,
            &settings.cluster,
            &settings.service,
            task_definition_arn,
            error,
        )
        .await);
    }
    output::step(format!(
        "{} runs {} (CodeDeploy deployment {id} completed)",
        settings.service,
        short_task_definition(task_definition_arn)
    ));
    outcome.result = "completed".to_string();
    Ok(outcome)
}

/// CreateService running `task_definition_arn`, then wait as asked.
async fn create(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    creation: &ServiceCreation,
    task_definition_arn: &str,
    registered: bool,
) -> Result<UpdateServiceOutcome> {
    let answered = ecs
        .create_service(
            &settings.cluster,
            &settings.service,
            task_definition_arn,
            settings.desired_count.unwrap_or(1),
            creation,
            settings.enable_circuit_breaker,
        )
        .await?;
    journal::record(format!(
        "created service {} in cluster {} running {}",
        settings.service,
        settings.cluster,
        short_task_definition(task_definition_arn)
    ));
    output::step(format!(
        "created service {} in cluster {}",
        settings.service, settings.cluster
    ));
    let initial = answered.clone();
    track(
        ecs,
        settings,
        &initial,
        answered,
        None,
        None,
        task_definition_arn,
        registered,
        "CreateService",
    )
    .await
}

/// UpdateService to `task_definition_arn`, then wait as asked. Shared with `rollback`.
pub async fn roll(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    state: &ServiceState,
    task_definition_arn: &str,
    registered: bool,
) -> Result<UpdateServiceOutcome> {
    let previous = state.snapshot.task_definition.clone();
    let deployment_configuration = planned_configuration(settings, state)?;
    let update = ServiceUpdate {
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        task_definition_arn: task_definition_arn.to_string(),
        force_new_deployment: settings.force_new_deployment,
        desired_count: settings.desired_count,
        deployment_configuration,
    };
    let answered = ecs.update_service(&update).await.map_err(|error| {
        error.with_detail(format!(
            "the service was not updated: it still runs {}",
            short_task_definition(&previous)
        ))
    })?;
    journal::record(format!(
        "updated service {} to {}",
        settings.service,
        short_task_definition(task_definition_arn)
    ));
    let configuration = update
        .deployment_configuration
        .clone()
        .or_else(|| state.deployment_configuration().cloned());
    track(
        ecs,
        settings,
        &state.snapshot,
        answered,
        configuration,
        Some(&state.raw),
        task_definition_arn,
        registered,
        "UpdateService",
    )
    .await
}

/// Finds the PRIMARY deployment of `task_definition_arn` in ECS's answer to `action` and waits
/// for it as asked.
#[allow(clippy::too_many_arguments)]
async fn track(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    initial: &ServiceSnapshot,
    answered: ServiceSnapshot,
    configuration: Option<Value>,
    service_raw: Option<&Value>,
    task_definition_arn: &str,
    registered: bool,
    action: &str,
) -> Result<UpdateServiceOutcome> {
    let previous = initial.task_definition.clone();
    // ECS's answer lists ours PRIMARY for a rolling update. The API reference does not promise
    // that for blue/green, linear and canary deployments right after UpdateService, so a
    // deployment of our revision that is not (yet) PRIMARY is ours too, the newest first.
    let ours = |deployment: &&Deployment| {
        same_task_definition(&deployment.task_definition, task_definition_arn)
            && !initial
                .deployments
                .iter()
                .any(|old| old.id == deployment.id)
    };
    let primary_of_ours = |deployment: &&Deployment| {
        deployment.status == "PRIMARY"
            && same_task_definition(&deployment.task_definition, task_definition_arn)
    };
    let deployment = answered
        .deployments
        .iter()
        .find(|deployment| primary_of_ours(deployment) && ours(deployment))
        .or_else(|| answered.deployments.iter().find(primary_of_ours))
        .or_else(|| {
            answered
                .deployments
                .iter()
                .filter(ours)
                .max_by(|a, b| a.created_at.cmp(&b.created_at))
        });
    let mut outcome = UpdateServiceOutcome {
        cluster: settings.cluster.clone(),
        service: settings.service.clone(),
        task_definition_arn: task_definition_arn.to_string(),
        previous_task_definition_arn: previous.clone(),
        registered,
        deployment_id: deployment.map(|deployment| deployment.id.clone()),
        result: "started".to_string(),
        service_deployment_arn: None,
        hook_id: None,
        plan: None,
        codedeploy_deployment_id: None,
        codedeploy_appspec: None,
        express_update: None,
    };
    let Some(deployment) = deployment else {
        let primary = answered
            .deployments
            .iter()
            .find(|deployment| deployment.status == "PRIMARY")
            .map(|deployment| {
                format!(
                    "{} runs {}",
                    deployment.id,
                    short_task_definition(&deployment.task_definition)
                )
            })
            .unwrap_or_else(|| "there is none".to_string());
        let message = format!(
            "ECS answered {action} without a PRIMARY deployment of {} (the PRIMARY deployment: {primary})",
            short_task_definition(task_definition_arn)
        );
        if settings.wait.is_some() {
            return Err(Error::failed(message).with_hint(
                "the service was updated, but there is no deployment of ours to wait for",
            ));
        }
        output::warn(message);
        return Ok(outcome);
    };
    output::step(format!(
        "{} {} to {}: deployment {} started",
        if action == "CreateService" {
            "started"
        } else {
            "updated"
        },
        settings.service,
        short_task_definition(task_definition_arn),
        deployment.id
    ));
    let Some((wait, until)) = &settings.wait else {
        return Ok(outcome);
    };
    let first_stop = if settings.smoke_test.is_some() {
        &WaitUntil::Paused
    } else {
        until
    };
    let mut followed = follow(
        ecs,
        &settings.cluster,
        &settings.service,
        deployment,
        first_stop,
        wait,
        initial,
        configuration.as_ref(),
        gated(
            Followed::new(None, None).excluding(initial.current_service_deployment.clone()),
            settings.smoke_test.is_some(),
        ),
    )
    .await?;
    if let (Some(smoke), Some(state_raw)) = (&settings.smoke_test, service_raw) {
        followed = gate_then_follow(
            ecs,
            settings,
            state_raw,
            smoke,
            followed,
            deployment,
            initial,
            configuration.as_ref(),
        )
        .await?;
    }
    outcome.result = followed.result;
    outcome.service_deployment_arn = followed.service_deployment_arn;
    outcome.hook_id = followed.hook_id;
    Ok(outcome)
}

fn gated(followed: Followed, gated: bool) -> Followed {
    if gated {
        followed.gated()
    } else {
        followed
    }
}

/// The `--smoke-test` gate at the pause the first wait stopped at, then the rest of the wait as
/// asked.
#[allow(clippy::too_many_arguments)]
async fn gate_then_follow(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    service_raw: &Value,
    smoke: &SmokeTest,
    paused: FollowResult,
    deployment: &Deployment,
    initial: &ServiceSnapshot,
    configuration: Option<&Value>,
) -> Result<FollowResult> {
    let short = short_task_definition(&deployment.task_definition).to_string();
    let (Some(arn), Some(hook)) = (
        paused.service_deployment_arn.clone(),
        paused.hook_id.clone(),
    ) else {
        return Err(Error::failed(format!(
            "the deployment of {short} to {} ended ({}) without pausing once test traffic reached it: the smoke test did not run",
            settings.service, paused.result
        ))
        .with_hint(format!(
            "look at the service's lifecycle hooks (deploymentConfiguration.lifecycleHooks): the gate needs a PAUSE hook at {GATE_STAGE}"
        )));
    };
    if paused.stage.as_deref() != Some(GATE_STAGE) {
        // The plan refuses pauses before test traffic; one there now came from a change since.
        return Err(Error::failed(format!(
            "deployment {} of {short} paused at lifecycle hook {hook}, at stage {}, not at {GATE_STAGE}: the smoke test did not run",
            deployment.id,
            paused.stage.as_deref().unwrap_or("unknown")
        ))
        .with_hint(format!(
            "it waits there: approve it with deployer continue --cluster {} --service {}, or reject it with --rollback",
            settings.cluster, settings.service
        )));
    }
    let Some((wait, until)) = &settings.wait else {
        return Ok(paused);
    };
    smoke_test::gate(
        ecs,
        &settings.service,
        service_raw,
        &deployment.task_definition,
        smoke,
        &Pause {
            service_deployment_arn: arn.clone(),
            hook_id: hook.clone(),
        },
        wait.rollback_on_cancel,
        wait.poll_interval,
    )
    .await?;
    // Events already printed are not printed again.
    let now = ecs
        .poll_service(&settings.cluster, &settings.service)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| initial.clone());
    follow(
        ecs,
        &settings.cluster,
        &settings.service,
        deployment,
        until,
        wait,
        &now,
        configuration,
        Followed::new(Some(arn), Some((hook, paused.stage.clone()))),
    )
    .await
}
