//! Deploying a service with the CODE_DEPLOY deployment controller, as the aws-ecs orb does:
//! the application and deployment group are checked in the plan, then CreateDeployment with the
//! orb's AppSpec, then GetDeployment and the ECS target's lifecycle events until it ends.
use std::time::{Duration, Instant};

use serde_json::Value;

use super::deadline::{Deadline, Wake};
use super::rollout_wait::WaitSettings;
use crate::adapters::aws::AwsConfig;
use crate::adapters::codedeploy::{CodeDeploy, DeploymentRequest};
use crate::domain::codedeploy::{self, CapacityProvider, CodeDeployLog, CodeDeployVerdict};
use crate::domain::duration::format_duration;
use crate::domain::rollout::short_task_definition;
use crate::error::{Error, ErrorKind, Result};
use crate::journal;
use crate::output;

/// The `--codedeploy-*` flags (the orb's codedeploy_* parameters).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeDeploySettings {
    pub application: Option<String>,
    pub deployment_group: Option<String>,
    /// Default: the service's load balancer's container and port.
    pub container_name: Option<String>,
    pub container_port: Option<i32>,
    /// Default: the deployment group's.
    pub deployment_config: Option<String>,
    pub capacity_provider: Option<CapacityProvider>,
}

impl CodeDeploySettings {
    pub fn is_empty(&self) -> bool {
        *self == CodeDeploySettings::default()
    }
}

/// What will be deployed through CodeDeploy, checked before anything is registered.
#[derive(Debug, Clone)]
pub struct CodeDeployPlan {
    pub application: String,
    pub deployment_group: String,
    pub container_name: String,
    pub container_port: i32,
    pub deployment_config: Option<String>,
    pub capacity_provider: Option<CapacityProvider>,
    /// How long the deployment takes beyond the rollout when it goes well, and how that adds up.
    pub time: (Duration, String),
    /// The group's ready wait in minutes (`deploymentReadyOption` STOP_DEPLOYMENT): where the
    /// `--smoke-test` gate runs. `None` when it reroutes traffic on its own.
    pub ready_wait: Option<u64>,
    /// The group's test listener, for `DEPLOYER_TEST_URL`.
    pub test_listener: Option<String>,
}

impl CodeDeployPlan {
    /// The AppSpec's content for `task_definition_arn`.
    pub fn appspec(&self, task_definition_arn: &str) -> String {
        codedeploy::appspec(
            task_definition_arn,
            &self.container_name,
            self.container_port,
            self.capacity_provider.as_ref(),
        )
    }
}

/// Checks the flags, the application and the deployment group against the service
/// (`services[0]` as DescribeServices answered it) and the revision to deploy
/// (RegisterTaskDefinition's input or DescribeTaskDefinition's `taskDefinition`).
pub async fn plan(
    config: &AwsConfig,
    settings: &CodeDeploySettings,
    (cluster, service): (&str, &str),
    raw_service: &Value,
    definition: &Value,
) -> Result<CodeDeployPlan> {
    let missing: Vec<&str> = [
        ("--codedeploy-application", settings.application.is_none()),
        (
            "--codedeploy-deployment-group",
            settings.deployment_group.is_none(),
        ),
    ]
    .iter()
    .filter(|(_, absent)| *absent)
    .map(|(flag, _)| *flag)
    .collect();
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "service {service} uses the CODE_DEPLOY deployment controller: deploying it needs {}",
            missing.join(" and ")
        ))
        .with_hint("name the CodeDeploy application and deployment group that deploy the service (the orb's codedeploy_application_name and codedeploy_deployment_group_name)"));
    }
    let application = settings.application.clone().unwrap_or_default();
    let deployment_group = settings.deployment_group.clone().unwrap_or_default();
    let (container_name, container_port) = codedeploy::load_balanced_container(
        raw_service,
        settings.container_name.as_deref(),
        settings.container_port,
    )
    .map_err(|why| Error::usage(format!("service {service}: {why}")))?;
    codedeploy::check_container(definition, &container_name, container_port).map_err(|why| {
        Error::usage(format!(
            "--codedeploy-container-name {container_name} --codedeploy-container-port {container_port}: {why}"
        ))
    })?;
    let client = CodeDeploy::new(config);
    client.application(&application).await?;
    let group = client
        .deployment_group(&application, &deployment_group)
        .await?;
    codedeploy::check_group(&group, cluster, service).map_err(|why| {
        Error::usage(format!(
            "deployment group {deployment_group} of CodeDeploy application {application} cannot deploy service {service}: {why}"
        ))
        .with_hint("name the deployment group whose ECS service is this one")
    })?;
    // The configuration the deployment runs with: the flag's, else the group's, else
    // CodeDeploy's default for ECS.
    let config_name = settings
        .deployment_config
        .clone()
        .or_else(|| group["deploymentConfigName"].as_str().map(str::to_string))
        .unwrap_or_else(|| "CodeDeployDefault.ECSAllAtOnce".to_string());
    let routing = match client.traffic_routing(&config_name).await {
        Ok(routing) if routing.is_object() => Some(routing),
        Ok(_) => codedeploy::predefined_traffic_routing(&config_name),
        Err(error) => {
            let known = codedeploy::predefined_traffic_routing(&config_name);
            if known.is_none() {
                output::warn(format!(
                    "cannot read deployment configuration {config_name} ({error}): the wait \
                     counts no traffic-shifting time for it; give --timeout if it shifts slowly"
                ));
            }
            known
        }
    };
    let (time, how) = codedeploy::deployment_time(routing.as_ref(), &group);
    Ok(CodeDeployPlan {
        application,
        deployment_group,
        container_name,
        container_port,
        deployment_config: settings.deployment_config.clone(),
        capacity_provider: settings.capacity_provider.clone(),
        time: (time, format!("{how} ({config_name})")),
        ready_wait: crate::domain::smoke_test::codedeploy_ready_wait(&group),
        test_listener: crate::domain::smoke_test::codedeploy_test_listener(&group),
    })
}

/// CreateDeployment of `task_definition_arn`; returns the deployment id, recorded.
pub async fn start(
    config: &AwsConfig,
    plan: &CodeDeployPlan,
    service: &str,
    task_definition_arn: &str,
) -> Result<String> {
    let appspec = plan.appspec(task_definition_arn);
    let request = DeploymentRequest {
        application: plan.application.clone(),
        deployment_group: plan.deployment_group.clone(),
        deployment_config: plan.deployment_config.clone(),
        sha256: codedeploy::appspec_sha256(&appspec),
        appspec,
        description: format!(
            "deployer: {service} to {}",
            short_task_definition(task_definition_arn)
        ),
    };
    let id = CodeDeploy::new(config).create_deployment(&request).await?;
    journal::record(format!(
        "created CodeDeploy deployment {id} of {} to {service}",
        short_task_definition(task_definition_arn)
    ));
    journal::record_codedeploy(service, &id);
    output::step(format!(
        "created CodeDeploy deployment {id} ({} / {}{}) of {} to {service}",
        plan.application,
        plan.deployment_group,
        plan.deployment_config
            .as_deref()
            .map(|c| format!(", {c}"))
            .unwrap_or_default(),
        short_task_definition(task_definition_arn)
    ));
    Ok(id)
}

/// Puts a CODE_DEPLOY service back on `previous` after another service of its release failed:
/// the deployment this run created for it (`created`) is stopped with automatic rollback while
/// it runs; once it succeeded, `previous` is deployed through CodeDeploy again and followed.
/// What was done, for the release's table.
pub async fn put_back(
    config: &AwsConfig,
    plan: &CodeDeployPlan,
    created: Option<&str>,
    service: &str,
    previous: &str,
    wait: &WaitSettings,
) -> String {
    let Some(id) = created else {
        return "nothing to undo: no CodeDeploy deployment was created for it".to_string();
    };
    let client = CodeDeploy::new(config);
    let info = match client.deployment(id).await {
        Ok(info) => info,
        Err(error) => {
            return format!("not undone: CodeDeploy deployment {id} could not be read ({error})")
        }
    };
    match codedeploy::verdict(&info) {
        CodeDeployVerdict::InProgress(_) => {
            let stopped = stop(
                &client,
                id,
                wait,
                Error::failed("another service failed"),
                "another service failed",
            )
            .await;
            return stopped
                .details
                .last()
                .cloned()
                .unwrap_or_else(|| format!("asked CodeDeploy to stop deployment {id}"));
        }
        CodeDeployVerdict::Failed(why) => {
            return format!("nothing to undo: CodeDeploy deployment {id} ended {why}")
        }
        CodeDeployVerdict::Succeeded => {}
    }
    output::step(format!(
        "another service failed: deploying {service} back to {} through CodeDeploy",
        short_task_definition(previous)
    ));
    let back = match start(config, plan, service, previous).await {
        Ok(back) => back,
        Err(error) => return format!("putting it back failed: {}", error.message),
    };
    match follow(config, &back, wait, false).await {
        Ok(()) => format!(
            "put back on {} (CodeDeploy deployment {back}; Succeeded)",
            short_task_definition(previous)
        ),
        Err(error) => format!(
            "putting it back on {} failed: {}",
            short_task_definition(previous),
            error.message
        ),
    }
}

/// Follows the deployment until it succeeds (Ok), fails or is stopped (exit 1 with CodeDeploy's
/// error and rollback), or the wait ends. Only `--rollback-on-cancel` stops it with automatic
/// rollback on a timeout or a signal; `circuit_breaker` (`--enable-circuit-breaker`, the orb's
/// parameter) asks for the rollback only of a deployment that failed, as the aws-ecs orb's
/// script does, never of one deployer merely stopped waiting for.
pub async fn follow(
    config: &AwsConfig,
    deployment_id: &str,
    wait: &WaitSettings,
    circuit_breaker: bool,
) -> Result<()> {
    match follow_until(config, deployment_id, wait, circuit_breaker, false).await? {
        Ended::Succeeded | Ended::Ready => Ok(()),
    }
}

/// Where a followed CodeDeploy deployment ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Succeeded,
    /// With `stop_at_ready`: it waits in Ready for ContinueDeployment.
    Ready,
}

/// [`follow`], ending at Ready with `stop_at_ready` (the `--smoke-test` gate).
pub async fn follow_until(
    config: &AwsConfig,
    deployment_id: &str,
    wait: &WaitSettings,
    circuit_breaker: bool,
    stop_at_ready: bool,
) -> Result<Ended> {
    let client = CodeDeploy::new(config);
    let mut deadline = Deadline::start(
        wait.timeout,
        wait.poll_interval,
        wait.rollback_on_cancel.then(output::claim_interrupt),
    );
    let mut log = CodeDeployLog::default();
    let mut target: Option<String> = None;
    output::set_interrupt_hint(format!(
        "deployer stopped waiting; CodeDeploy continues deployment {deployment_id} on its own (aws deploy get-deployment --deployment-id {deployment_id})"
    ));
    loop {
        match deadline.next_poll().await {
            Wake::Poll => {}
            Wake::TimedOut => {
                let error = Error::failed(format!(
                    "CodeDeploy deployment {deployment_id} did not finish within {} ({})",
                    format_duration(wait.timeout),
                    log.summary()
                ));
                if wait.rollback_on_cancel {
                    return Err(
                        stop(&client, deployment_id, wait, error, "the --timeout passed").await,
                    );
                }
                return Err(error.with_hint(format!(
                    "CodeDeploy goes on with it; stop it with aws deploy stop-deployment --deployment-id {deployment_id} --auto-rollback-enabled, or wait longer with --timeout"
                )));
            }
            Wake::Interrupted(signal) => {
                let error = Error::new(ErrorKind::Interrupted, format!("interrupted by {signal}"));
                return Err(stop(
                    &client,
                    deployment_id,
                    wait,
                    error,
                    &format!("deployer was interrupted by {signal}"),
                )
                .await);
            }
        }
        let info = match client.deployment(deployment_id).await {
            Ok(info) => info,
            Err(error) if deadline.backed_off(&error, "CodeDeploy") => continue,
            Err(error) => return Err(error.into()),
        };
        deadline.answered();
        let mut lines = log.observe_deployment(&info);
        if target.is_none() {
            // CodeDeploy lists the ECS target once the deployment has started.
            target = client
                .targets(deployment_id)
                .await
                .ok()
                .and_then(|ids| ids.into_iter().next());
        }
        if let Some(target_id) = &target {
            if let Ok(ecs_target) = client.ecs_target(deployment_id, target_id).await {
                lines.extend(log.observe_target(&ecs_target));
            }
        }
        for line in &lines {
            output::step(line);
        }
        if !lines.is_empty() {
            deadline.printed();
        }
        match codedeploy::verdict(&info) {
            CodeDeployVerdict::Succeeded => {
                output::step(format!("CodeDeploy deployment {deployment_id} succeeded"));
                return Ok(Ended::Succeeded);
            }
            CodeDeployVerdict::InProgress(status) if stop_at_ready && status == "Ready" => {
                return Ok(Ended::Ready);
            }
            CodeDeployVerdict::Failed(why) => {
                let error = Error::failed(why);
                let rolled_back = info["rollbackInfo"]["rollbackDeploymentId"].is_string();
                if circuit_breaker && !rolled_back && info["status"] == "Failed" {
                    return Err(roll_back_failed(&client, deployment_id, error).await);
                }
                return Err(error);
            }
            CodeDeployVerdict::InProgress(_) => {}
        }
        if deadline.heartbeat_due() {
            let elapsed = format_duration(deadline.elapsed());
            output::step(format!("{elapsed} still waiting: {}", log.summary()));
        }
    }
}

/// `--enable-circuit-breaker` on a deployment that failed without a rollback of CodeDeploy's
/// own: StopDeployment with automatic rollback, as the aws-ecs orb does after its waiter
/// failed. CodeDeploy may refuse it for a deployment that already ended; what it said is told.
async fn roll_back_failed(client: &CodeDeploy, deployment_id: &str, error: Error) -> Error {
    output::step(format!(
        "CodeDeploy deployment {deployment_id} failed: asking CodeDeploy to roll it back \
         (--enable-circuit-breaker)"
    ));
    match client.stop_with_rollback(deployment_id).await {
        Ok(status) => {
            journal::record(format!(
                "asked CodeDeploy to roll failed deployment {deployment_id} back"
            ));
            error.with_detail(format!(
                "--enable-circuit-breaker asked CodeDeploy to roll it back: {status}"
            ))
        }
        Err(refused) => error.with_detail(format!(
            "--enable-circuit-breaker asked CodeDeploy to roll it back, and CodeDeploy answered: {refused}"
        )),
    }
}

/// How long `--rollback-on-cancel` waits for CodeDeploy to stop the deployment (CircleCI gives
/// a cancelled job little time).
const STOP_WAIT: Duration = Duration::from_secs(300);

/// `--rollback-on-cancel`: StopDeployment with automatic rollback, then waits (up to
/// `STOP_WAIT`) until CodeDeploy says the deployment ended; what happened goes in the error.
pub async fn stop(
    client: &CodeDeploy,
    deployment_id: &str,
    wait: &WaitSettings,
    error: Error,
    why: &str,
) -> Error {
    let status = match client.stop_with_rollback(deployment_id).await {
        Ok(status) => status,
        Err(failed) => {
            return error.with_detail(format!(
            "--rollback-on-cancel could not stop CodeDeploy deployment {deployment_id}: {failed}"
        ))
        }
    };
    journal::record(format!(
        "stopped CodeDeploy deployment {deployment_id} with automatic rollback"
    ));
    output::step(format!(
        "{why}: stopping CodeDeploy deployment {deployment_id} with automatic rollback ({status}); waiting up to {} for it",
        format_duration(STOP_WAIT)
    ));
    let started = Instant::now();
    let mut last = status;
    while started.elapsed() < STOP_WAIT {
        tokio::time::sleep(wait.poll_interval).await;
        let Ok(info) = client.deployment(deployment_id).await else {
            continue;
        };
        last = info["status"].as_str().unwrap_or_default().to_string();
        if let CodeDeployVerdict::Failed(ended) = codedeploy::verdict(&info) {
            let done = format!("stopped with automatic rollback: {ended}");
            output::step(&done);
            return error.with_detail(done);
        }
        if codedeploy::verdict(&info) == CodeDeployVerdict::Succeeded {
            let done = format!(
                "CodeDeploy deployment {deployment_id} succeeded before it could be stopped"
            );
            output::step(&done);
            return error.with_detail(done);
        }
    }
    error.with_detail(format!(
        "asked CodeDeploy to stop deployment {deployment_id} with automatic rollback; after {} it is still {last}",
        format_duration(STOP_WAIT)
    ))
}
