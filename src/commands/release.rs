//! Several services in one release (`update-service` and `deploy` with `--service` more than
//! once): every service is planned before anything changes (one bad service is exit 2 with
//! nothing registered), then each revision is registered and each service updated and followed
//! at once, `--max-parallel` at a time, their lines prefixed by service. When one fails, the
//! others are put back on the revision they ran before (StopServiceDeployment ROLLBACK while
//! their deployment runs, UpdateService to the previous revision once it is done), unless
//! `--no-rollback-others`; the release ends with a table of every service.
use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;

use super::steps::codedeploy::{self, CodeDeployPlan};
use super::steps::deadline::HEARTBEAT;
use super::steps::image_check::ImageCheck;
use super::steps::service::{active_service, uses_codedeploy, MISSING_HINT};
use super::steps::service_deployment::Followed;
use super::update_service::{self, ServicePlan, UpdateServiceOutcome, UpdateServiceSettings};
use crate::adapters::ecs::Ecs;
use crate::domain::duration::format_duration;
use crate::domain::release::{self, ServiceResult};
use crate::domain::rollout::{family_of, same_task_definition, short_task_definition};
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, ErrorKind, Result};
use crate::output;

/// The services of a release and how they go together.
#[derive(Debug, Clone)]
pub struct ReleaseSettings {
    /// What every service gets (its `service` and, without `--family`, its `family` are set
    /// per service: the family each one runs).
    pub base: UpdateServiceSettings,
    pub services: Vec<String>,
    /// `--max-parallel`: how many services are updated and followed at once.
    pub max_parallel: usize,
    /// Not `--no-rollback-others`.
    pub rollback_others: bool,
}

/// `update-service` with several services: plans them all, then releases them.
pub async fn run(settings: ReleaseSettings) -> Result<Vec<UpdateServiceOutcome>> {
    let config = crate::adapters::aws::load(&settings.base.aws).await?;
    let ecs = Ecs::new(&config);
    let lanes = plan(&ecs, &ImageCheck::new(&config), &settings, &mut |_, _| {
        Ok(Vec::new())
    })
    .await?;
    if settings.base.dry_run {
        return Ok(planned(&lanes));
    }
    outcomes(apply(&ecs, &settings, lanes).await?)
}

/// The outcomes of a release that completed, in the order the services were named.
pub fn outcomes(
    results: Vec<(ServiceResult, Option<UpdateServiceOutcome>)>,
) -> Result<Vec<UpdateServiceOutcome>> {
    results
        .into_iter()
        .map(|(result, outcome)| {
            outcome
                .ok_or_else(|| Error::failed(format!("service {} has no outcome", result.service)))
        })
        .collect()
}

/// The `--export-env` lines of a release: the services and their revisions, space-separated
/// in the same order.
pub fn export_env(outcomes: &[UpdateServiceOutcome]) -> Vec<(&'static str, String)> {
    let joined = |field: fn(&UpdateServiceOutcome) -> &str| {
        outcomes.iter().map(field).collect::<Vec<_>>().join(" ")
    };
    vec![
        (
            "DEPLOYER_CLUSTER",
            outcomes
                .first()
                .map(|o| o.cluster.clone())
                .unwrap_or_default(),
        ),
        ("DEPLOYER_SERVICES", joined(|o| &o.service)),
        (
            "DEPLOYER_TASK_DEFINITION_ARNS",
            joined(|o| &o.task_definition_arn),
        ),
        (
            "DEPLOYER_PREVIOUS_TASK_DEFINITION_ARNS",
            joined(|o| &o.previous_task_definition_arn),
        ),
    ]
}

/// One service's settings and its checked plan.
pub struct Lane {
    pub settings: UpdateServiceSettings,
    pub plan: ServicePlan,
}

impl Lane {
    fn previous(&self) -> String {
        self.plan
            .state
            .as_ref()
            .map(|state| state.snapshot.task_definition.clone())
            .unwrap_or_default()
    }
}

/// Refusals of flags that name one service's things, before anything is looked up.
pub fn check_settings(settings: &ReleaseSettings) -> Result<()> {
    let base = &settings.base;
    let refuse = |flag: &str, why: &str| {
        Err(Error::usage(format!(
            "{flag} cannot go with several services ({}): {why}",
            settings.services.join(", ")
        ))
        .with_hint("release the services one at a time, or leave the flag out"))
    };
    if base.file.is_some() {
        return refuse(
            "--task-definition-file",
            "a file is one family's revision, and each service runs its own",
        );
    }
    if base.create.is_some() {
        return refuse(
            "--create-service",
            "a release updates services that exist; create each with its own command",
        );
    }
    if base.smoke_test.is_some() {
        return refuse(
            "--smoke-test",
            "the gate runs for one service's test traffic; several services in one release do not take it yet",
        );
    }
    if !base.scheduled.is_empty() {
        return refuse(
            "--update-scheduled-task and --update-schedule",
            "they follow one family to its new revision",
        );
    }
    Ok(())
}

/// Plans every service, reporting every problem found together: each service is found (and
/// its family, without `--family`), and update-service's plan made for it. `more_updates` adds
/// a service's updates that depend on its described revision (deploy's image).
pub async fn plan(
    ecs: &Ecs,
    images: &ImageCheck<'_>,
    settings: &ReleaseSettings,
    more_updates: &mut dyn FnMut(&str, &Value) -> Result<Vec<ContainerUpdate>>,
) -> Result<Vec<Lane>> {
    check_settings(settings)?;
    let mut lanes = Vec::new();
    let mut problems = Vec::new();
    for service in &settings.services {
        let mut lane_settings = settings.base.clone();
        lane_settings.service = service.clone();
        // Found and ACTIVE; whether deployer can deploy it, update-service's plan checks.
        let state = match active_service(ecs, &lane_settings.cluster, service, MISSING_HINT).await {
            Ok(state) => state,
            Err(error) => {
                problems.push(error);
                continue;
            }
        };
        if lane_settings.family.is_empty() {
            lane_settings.family = family_of(&state.snapshot.task_definition).to_string();
        }
        // The --codedeploy-* flags name the deployment group of the release's CODE_DEPLOY
        // service; the services ECS deploys itself go without them.
        if !uses_codedeploy(&state) {
            lane_settings.codedeploy = Default::default();
        }
        // Deployer follows each lane's wait, and on an interruption the release decides.
        if let Some((wait, _)) = lane_settings.wait.as_mut() {
            wait.rollback_on_cancel = false;
        }
        let planned = update_service::plan(ecs, images, &lane_settings, |described| {
            more_updates(service, described)
        })
        .await;
        match planned {
            // A release puts every service back when one fails: an Express service's revisions
            // are ECS's to register, so it is deployed on its own.
            Ok(plan) if plan.express.is_some() => problems.push(Error::usage(format!(
                "service {service} is an ECS Express Mode service: deployer deploys it alone (update-service or deploy with one --service), not in a release of several services"
            ))),
            Ok(plan) => lanes.push(Lane {
                settings: lane_settings,
                plan,
            }),
            Err(error) => problems.push(error.with_detail(format!("(service {service})"))),
        }
    }
    if !problems.is_empty() {
        return Err(Error::all_of(problems).with_hint(
            "nothing was registered or updated: fix the services named, then run the release again",
        ));
    }
    Ok(lanes)
}

/// `--dry-run`: each service's plan, shown; nothing changes.
pub fn planned(lanes: &[Lane]) -> Vec<UpdateServiceOutcome> {
    lanes
        .iter()
        .map(|lane| {
            output::in_lane_sync(&lane.settings.service, || {
                update_service::planned(&lane.settings, &lane.plan)
            })
        })
        .collect()
}

/// How a lane's future ended.
type Ended = (usize, Result<UpdateServiceOutcome>);

/// Registers, updates and follows every service, `max_parallel` at a time; puts the others
/// back when one fails. Ok only when every service completed.
pub async fn apply(
    ecs: &Ecs,
    settings: &ReleaseSettings,
    lanes: Vec<Lane>,
) -> Result<Vec<(ServiceResult, Option<UpdateServiceOutcome>)>> {
    let total = lanes.len();
    let names: Vec<String> = lanes.iter().map(|l| l.settings.service.clone()).collect();
    let mut results: Vec<(ServiceResult, Option<UpdateServiceOutcome>)> = lanes
        .iter()
        .map(|lane| {
            (
                ServiceResult {
                    service: lane.settings.service.clone(),
                    previous_task_definition_arn: lane.previous(),
                    task_definition_arn: None,
                    result: "not-started".to_string(),
                    undone: None,
                    error: None,
                },
                None,
            )
        })
        .collect();
    let lane_settings: Vec<UpdateServiceSettings> =
        lanes.iter().map(|lane| lane.settings.clone()).collect();
    let codedeploy_plans: Vec<Option<CodeDeployPlan>> = lanes
        .iter()
        .map(|lane| lane.plan.codedeploy.clone())
        .collect();
    // Every revision first: a registration ECS refuses stops the release before any service
    // changes.
    let mut pending: VecDeque<(usize, Lane, String, bool)> = VecDeque::new();
    for (index, lane) in lanes.into_iter().enumerate() {
        let (arn, registered) = output::in_lane(
            lane.settings.service.clone(),
            update_service::register(ecs, &lane.settings, &lane.plan),
        )
        .await?;
        results[index].0.task_definition_arn = Some(arn.clone());
        pending.push_back((index, lane, arn, registered));
    }
    let limit = settings.max_parallel.clamp(1, total.max(1));
    output::step(format!(
        "releasing {total} services: {}{}",
        names.join(", "),
        if limit < total {
            format!(" ({limit} at a time)")
        } else {
            String::new()
        }
    ));
    output::set_interrupt_hint(format!(
        "deployer stopped waiting; ECS continues the deployments of {} on their own",
        names.join(", ")
    ));
    let rollback_on_cancel = settings
        .base
        .wait
        .as_ref()
        .is_some_and(|(wait, _)| wait.rollback_on_cancel);
    let mut interrupt = rollback_on_cancel.then(output::claim_interrupt);
    let started_at = tokio::time::Instant::now();
    let mut heartbeat = tokio::time::interval_at(started_at + HEARTBEAT, HEARTBEAT);
    let mut running = FuturesUnordered::new();
    let mut started = vec![false; total];
    let mut failed = false;
    let mut interrupted: Option<&'static str> = None;
    loop {
        while running.len() < limit && !failed {
            let Some((index, lane, arn, registered)) = pending.pop_front() else {
                break;
            };
            started[index] = true;
            results[index].0.result = "in-progress".to_string();
            running.push(run_lane(ecs, index, lane, arn, registered));
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            Some((index, ended)) = running.next() => {
                let (result, outcome) = &mut results[index];
                match ended {
                    Ok(done) => {
                        result.task_definition_arn = Some(done.task_definition_arn.clone());
                        result.result = done.result.clone();
                        *outcome = Some(done);
                    }
                    Err(error) => {
                        result.result = "failed".to_string();
                        result.error = Some(error.message.clone());
                        failed = true;
                        if settings.rollback_others {
                            break;
                        }
                    }
                }
            }
            _ = heartbeat.tick() => {
                let waiting: Vec<&str> = results
                    .iter()
                    .filter(|(r, _)| r.result == "in-progress")
                    .map(|(r, _)| r.service.as_str())
                    .collect();
                output::step(format!(
                    "{} still waiting for {}",
                    format_duration(started_at.elapsed()),
                    waiting.join(", ")
                ));
            }
            signal = interruption(&mut interrupt) => {
                interrupted = Some(signal);
                break;
            }
        }
    }
    // Stops the waits still running: their services are put back below, or left to ECS.
    drop(running);
    for (result, _) in results.iter_mut() {
        if result.result == "in-progress" {
            result.result = "cancelled".to_string();
        }
    }
    let undo =
        (failed && settings.rollback_others) || (interrupted.is_some() && rollback_on_cancel);
    if undo {
        let lane_settings = &lane_settings;
        let codedeploy_plans = &codedeploy_plans;
        let mut undoing = FuturesUnordered::new();
        for (index, (result, _)) in results.iter().enumerate() {
            if started[index] && result.result != "failed" {
                let service = result.service.clone();
                let previous = result.previous_task_definition_arn.clone();
                undoing.push(async move {
                    let undone = output::in_lane(
                        service,
                        put_back(
                            ecs,
                            &lane_settings[index],
                            codedeploy_plans[index].as_ref(),
                            &previous,
                        ),
                    )
                    .await;
                    (index, undone)
                });
            }
        }
        let mut undone: Vec<(usize, String)> = Vec::new();
        while let Some((index, what)) = undoing.next().await {
            undone.push((index, what));
        }
        for (index, what) in undone {
            results[index].0.undone = Some(what);
        }
    }
    let rows: Vec<ServiceResult> = results.iter().map(|(r, _)| r.clone()).collect();
    if let Some(signal) = interrupted {
        let mut error = Error::new(ErrorKind::Interrupted, format!("interrupted by {signal}"));
        for line in release::table(&rows) {
            error = error.with_detail(line);
        }
        return Err(error);
    }
    if failed {
        let mut error = Error::failed(release::summary(&rows));
        for line in release::table(&rows) {
            error = error.with_detail(line);
        }
        if !settings.rollback_others {
            error = error.with_hint(
                "--no-rollback-others: the other services were left as their deployments ended",
            );
        }
        return Err(error);
    }
    for line in release::table(&rows) {
        output::step(line);
    }
    Ok(results)
}

/// One service's update and wait, its lines in its lane.
async fn run_lane(ecs: &Ecs, index: usize, lane: Lane, arn: String, registered: bool) -> Ended {
    let service = lane.settings.service.clone();
    let ended = output::in_lane(
        service,
        update_service::apply_registered(ecs, &lane.settings, lane.plan, &arn, registered),
    )
    .await;
    (index, ended)
}

/// The signal the release claimed, when it comes (never without a claim).
async fn interruption(
    interrupt: &mut Option<tokio::sync::watch::Receiver<Option<&'static str>>>,
) -> &'static str {
    let Some(receiver) = interrupt.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        if let Some(signal) = *receiver.borrow_and_update() {
            return signal;
        }
        if receiver.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// How long putting one service back is waited for.
const PUT_BACK_TIMEOUT: Duration = Duration::from_secs(600);

/// Puts a service back on `previous`, the revision it ran before the release: its deployment
/// rolled back by ECS while it runs (StopServiceDeployment ROLLBACK), else an UpdateService to
/// `previous` followed as update-service follows. What was done, for the table.
async fn put_back(
    ecs: &Ecs,
    settings: &UpdateServiceSettings,
    codedeploy: Option<&CodeDeployPlan>,
    previous: &str,
) -> String {
    let state = match active_service(ecs, &settings.cluster, &settings.service, MISSING_HINT).await
    {
        Ok(state) => state,
        Err(error) => return format!("not undone: the service could not be read ({error})"),
    };
    if uses_codedeploy(&state) {
        let (Some(plan), Some(config), Some((wait, _))) =
            (codedeploy, ecs.config(), settings.wait.as_ref())
        else {
            return format!(
                "not undone: CodeDeploy deploys this service; while its deployment runs, stop it with aws deploy stop-deployment --auto-rollback-enabled; once done, deploy {} through CodeDeploy again",
                short_task_definition(previous)
            );
        };
        return codedeploy::put_back(
            config,
            plan,
            crate::journal::codedeploy_of(&settings.service).as_deref(),
            &settings.service,
            previous,
            wait,
        )
        .await;
    }
    // ECS lists the older deployments until the newest is done (where it reports no rollout
    // state, as on older APIs, that is all there is to go by).
    let in_progress =
        state.snapshot.deployments.len() > 1
            || state.snapshot.deployments.iter().any(|d| {
                d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS")
            });
    if same_task_definition(&state.snapshot.task_definition, previous) && !in_progress {
        return format!(
            "nothing to undo: it runs {}",
            short_task_definition(previous)
        );
    }
    if let Some(arn) = state.snapshot.current_service_deployment.clone() {
        let mut followed = Followed::new(Some(arn.clone()), None);
        let running = matches!(
            followed
                .until_finished(ecs, &arn, Duration::ZERO, Duration::ZERO)
                .await,
            Ok(None)
        ) && followed.last.as_ref().is_some_and(|d| !d.is_finished());
        if running {
            output::step(format!(
                "another service failed: asking ECS to roll back {} (StopServiceDeployment ROLLBACK)",
                crate::domain::service_deployment::short_id(&arn)
            ));
            if let Err(error) = ecs.roll_back_service_deployment(&arn).await {
                return format!("not undone: StopServiceDeployment was refused ({error})");
            }
            crate::journal::record(format!(
                "asked ECS to roll back service deployment {} of {}",
                crate::domain::service_deployment::short_id(&arn),
                settings.service
            ));
            return match followed
                .until_finished(ecs, &arn, PUT_BACK_TIMEOUT, Duration::from_secs(2))
                .await
            {
                Ok(Some(last)) => format!(
                    "rolled back to {} (StopServiceDeployment ROLLBACK; {})",
                    short_task_definition(previous),
                    last.status
                ),
                Ok(None) => format!(
                    "rolling back to {} (StopServiceDeployment ROLLBACK; not finished after {})",
                    short_task_definition(previous),
                    format_duration(PUT_BACK_TIMEOUT)
                ),
                Err(error) => format!("rollback asked; following it failed: {error}"),
            };
        }
    }
    output::step(format!(
        "another service failed: putting {} back on {}",
        settings.service,
        short_task_definition(previous)
    ));
    let mut back = settings.clone();
    back.skip_registration = true;
    back.updates.clear();
    back.tags.clear();
    back.force_new_deployment = false;
    back.desired_count = None;
    back.enable_circuit_breaker = false;
    back.strategy = Default::default();
    back.family = family_of(previous).to_string();
    back.allow_family_change = true;
    match update_service::roll(ecs, &back, &state, previous, false).await {
        Ok(outcome) => format!(
            "put back on {} (UpdateService; {})",
            short_task_definition(previous),
            outcome.result
        ),
        Err(error) => format!(
            "putting it back on {} failed: {}",
            short_task_definition(previous),
            error.message
        ),
    }
}
