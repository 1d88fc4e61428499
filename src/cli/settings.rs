//! Flags and environment resolved into the plain settings structs the commands take: every
//! value checked here, before any command runs. The image and repository verbs' (`push`,
//! `ecr-login`, `tag-image`, `repo`) live in [`images`].
use std::path::{Path, PathBuf};

use super::args::*;
use crate::adapters::aws::AwsSettings;
use crate::adapters::ecs::ServiceCreation;
use crate::commands::deregister;
use crate::commands::register;
use crate::commands::release::ReleaseSettings;
use crate::commands::run_task::{RunTaskSettings, RunWait, TaskDefinitionSource};
use crate::commands::steps::codedeploy::CodeDeploySettings;
use crate::commands::steps::deregistration::Deregistration;
use crate::commands::steps::rollout_wait::WaitSettings;
use crate::commands::steps::scheduled_tasks::ScheduledTasks;
use crate::commands::steps::smoke_test::{SmokeTest, DEFAULT_TIMEOUT as SMOKE_TEST_TIMEOUT};
use crate::commands::update_service;
use crate::commands::verify;
use crate::domain::codedeploy::parse_capacity_provider;
use crate::domain::controller::StrategyChange;
use crate::domain::rollout::{check_task_definition_reference, WaitUntil};
use crate::domain::task_definition_file::{self, TaskDefinitionFile};
use crate::domain::update_spec::{self, ContainerUpdate, ImageChange};
use crate::env;
use crate::error::{Error, Result};
use crate::secret::Secret;

mod images;
pub use images::{ecr_login_settings, push_settings, repo_settings, tag_image_settings};

pub fn container_updates(flags: &UpdateFlags) -> Result<Vec<ContainerUpdate>> {
    let mut updates = Vec::new();
    let parsers: [(&Vec<String>, update_spec::SpecParser); 5] = [
        (
            &flags.container_image_name_updates,
            update_spec::parse_image_updates,
        ),
        (
            &flags.container_env_var_updates,
            update_spec::parse_env_var_updates,
        ),
        (
            &flags.container_env_var_removals,
            update_spec::parse_env_var_removals,
        ),
        (
            &flags.container_secret_updates,
            update_spec::parse_secret_updates,
        ),
        (
            &flags.container_docker_label_updates,
            update_spec::parse_docker_label_updates,
        ),
    ];
    for (values, parse) in parsers {
        for value in values.iter().filter(|value| !value.trim().is_empty()) {
            updates.extend(parse(value).map_err(|e| Error::usage(e.to_string()))?);
        }
    }
    refuse_contradictions(&updates)?;
    Ok(updates)
}

/// Two updates of one thing that disagree (two images for a container, a variable both set
/// and removed, or set to two values) would leave the result to their order: refused.
fn refuse_contradictions(updates: &[ContainerUpdate]) -> Result<()> {
    let what = |update: &ContainerUpdate| -> (String, String) {
        match update {
            ContainerUpdate::Image { container, change } => {
                let image = match change {
                    ImageChange::Tag(tag) => format!("tag={tag}"),
                    ImageChange::Name(name) => format!("image={name}"),
                    ImageChange::Replace(image) => format!("image-and-tag={image}"),
                    ImageChange::Digest(digest) => format!("digest={digest}"),
                };
                (format!("the image of container {container}"), image)
            }
            ContainerUpdate::EnvVar {
                container,
                name,
                value: _,
            } => (
                format!("variable {name} of container {container}"),
                "set to a value".to_string(),
            ),
            ContainerUpdate::RemoveEnvVar { container, name } => (
                format!("variable {name} of container {container}"),
                "removed".to_string(),
            ),
            ContainerUpdate::Secret {
                container,
                name,
                value_from,
            } => (
                format!("secret {name} of container {container}"),
                format!("valueFrom={value_from}"),
            ),
            ContainerUpdate::DockerLabel {
                container,
                key,
                value,
            } => (
                format!("label {key} of container {container}"),
                format!("{key}={value}"),
            ),
        }
    };
    for (at, update) in updates.iter().enumerate() {
        for earlier in &updates[..at] {
            let ((subject, first), (same, second)) = (what(earlier), what(update));
            let differ = match (earlier, update) {
                // Values of variables are not shown: they may be secret.
                (
                    ContainerUpdate::EnvVar { value: a, .. },
                    ContainerUpdate::EnvVar { value: b, .. },
                ) => a != b,
                _ => first != second,
            };
            if subject == same && differ {
                let (first, second) = if first == second {
                    ("set to one value".to_string(), "to another".to_string())
                } else {
                    (first, second)
                };
                return Err(Error::usage(format!(
                    "the updates contradict each other: {subject} is {first} and {second}"
                ))
                .with_hint("give each container's image, variable, secret or label once"));
            }
        }
    }
    Ok(())
}

pub fn task_definition_tags(flags: &UpdateFlags) -> Result<Vec<(String, String)>> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for value in &flags.task_definition_tags {
        for (key, val) in update_spec::parse_task_definition_tags(value)
            .map_err(|e| Error::usage(e.to_string()))?
        {
            tags.retain(|(existing, _)| *existing != key);
            tags.push((key, val));
        }
    }
    Ok(tags)
}

/// Reads a task-definition file (`-`: stdin) into the RegisterTaskDefinition input, checked.
pub fn read_task_definition_file(path: &Path) -> Result<TaskDefinitionFile> {
    let (name, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
            Error::usage(format!("cannot read the task definition from stdin: {e}"))
        })?;
        ("stdin".to_string(), text)
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!(
                "--task-definition-file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        (path.display().to_string(), text)
    };
    task_definition_file::load(&name, &text)
        .map_err(|e| Error::usage(e.to_string()).with_hint("nothing was registered; fix the file"))
}

/// The family of the new revision and the file it is made from, if any: with a file, its
/// family, which `--family` may only repeat.
pub fn task_definition_source(
    args: &TaskDefinitionArgs,
) -> Result<(String, Option<TaskDefinitionFile>)> {
    let family = args.family.clone().filter(|family| !family.is_empty());
    let Some(path) = &args.task_definition_file else {
        return family
            .map(|family| (family, None))
            .ok_or_else(|| Error::usage("--family or --task-definition-file is needed"));
    };
    let file = read_task_definition_file(path)?;
    if let Some(family) = family.filter(|family| family != file.family()) {
        return Err(Error::usage(format!(
            "--family {family} and --task-definition-file {} (family {}) disagree",
            file.file,
            file.family()
        ))
        .with_hint("leave out --family (the file's family is used), or make them the same"));
    }
    Ok((file.family().to_string(), Some(file)))
}

pub fn scheduled_tasks(args: &ScheduledTaskArgs) -> Result<ScheduledTasks> {
    let names = |flag: &str, values: &[String]| -> Result<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        for value in values {
            let value = value.trim();
            if value.is_empty() {
                return Err(Error::usage(format!("{flag} needs a name")));
            }
            if !names.iter().any(|name| name == value) {
                names.push(value.to_string());
            }
        }
        Ok(names)
    };
    let rules = names("--update-scheduled-task", &args.rules)?;
    let schedules = names("--update-schedule", &args.schedules)?;
    if args.schedule_group.trim().is_empty() {
        return Err(Error::usage("--schedule-group needs a name"));
    }
    Ok(ScheduledTasks {
        rules,
        schedules,
        group: args.schedule_group.trim().to_string(),
    })
}

pub fn register_settings(
    args: &RegisterCommand,
    aws: AwsSettings,
) -> Result<register::RegisterSettings> {
    let updates = container_updates(&args.updates)?;
    let tags = task_definition_tags(&args.updates)?;
    let scheduled = scheduled_tasks(&args.scheduled)?;
    let (family, file, existing) = match &args.existing_revision {
        Some(revision) => {
            if !updates.is_empty() || !tags.is_empty() {
                return Err(Error::usage(
                    "--existing-revision registers nothing, so container updates and \
                     --task-definition-tags have nothing to apply to",
                )
                .with_hint("leave out --existing-revision to register a new revision with them"));
            }
            if scheduled.is_empty() {
                return Err(Error::usage(
                    "--existing-revision needs --update-scheduled-task or --update-schedule: \
                     it only points scheduled tasks at the revision",
                ));
            }
            let family = args.task_definition.family.clone().unwrap_or_default();
            (family, None, Some(revision.trim().to_string()))
        }
        None => {
            let (family, file) = task_definition_source(&args.task_definition)?;
            (family, file, None)
        }
    };
    Ok(register::RegisterSettings {
        aws,
        family,
        file,
        existing,
        updates,
        tags,
        scheduled,
        dry_run: args.dry_run,
    })
}

pub fn wait_settings(args: &WaitArgs) -> Result<Option<(WaitSettings, WaitUntil)>> {
    if args.no_wait {
        return Ok(None);
    }
    wait_options(&args.options).map(Some)
}

/// A name flag (`--cluster`, `--service`) must name something: an empty one (an unset
/// variable in CI) is refused instead of being looked up.
pub fn named(flag: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::usage(format!("{flag} is empty: give a name")));
    }
    Ok(())
}

/// ECS's limit of tasks per service, the most `--desired-count` can ask for.
const MAX_TASKS_PER_SERVICE: i64 = 5000;

/// A whole-number flag's value within `min..=max`, as ECS takes it (an `i32`).
fn bounded(flag: &str, value: i64, min: i64, max: i64) -> Result<i32> {
    if value < min {
        let floor = if min == 0 {
            "0 or more".to_string()
        } else {
            format!("{min} or more")
        };
        return Err(Error::usage(format!(
            "{flag} {value} must be {floor} ({min} to {max})"
        )));
    }
    if value > max {
        return Err(Error::usage(format!(
            "{flag} {value} must be at most {max} ({min} to {max})"
        )));
    }
    i32::try_from(value).map_err(|_| Error::usage(format!("{flag} {value} must be {min} to {max}")))
}

/// `--strategy` and its settings; bake times in whole minutes, as ECS takes them.
fn strategy_change(args: &UpdateArgs) -> Result<StrategyChange> {
    let minutes = |flag: &str, value: Option<std::time::Duration>| -> Result<Option<u64>> {
        value
            .map(|duration| {
                let seconds = duration.as_secs();
                if duration.subsec_nanos() != 0 || seconds % 60 != 0 {
                    Err(Error::usage(format!(
                        "{flag} is in whole minutes, as ECS takes it (e.g. 5m)"
                    )))
                } else {
                    Ok(seconds / 60)
                }
            })
            .transpose()
    };
    Ok(StrategyChange {
        strategy: args.strategy.map(|strategy| {
            match strategy {
                StrategyArg::Rolling => "ROLLING",
                StrategyArg::BlueGreen => "BLUE_GREEN",
                StrategyArg::Linear => "LINEAR",
                StrategyArg::Canary => "CANARY",
            }
            .to_string()
        }),
        bake_time_minutes: minutes("--bake-time", args.bake_time)?,
        linear_step_percent: args.linear_step_percent,
        linear_step_bake_minutes: minutes("--linear-step-bake-time", args.linear_step_bake_time)?,
        canary_percent: args.canary_percent,
        canary_bake_minutes: minutes("--canary-bake-time", args.canary_bake_time)?,
        early_success: args
            .early_success
            .as_deref()
            .map(crate::domain::controller::parse_early_success)
            .transpose()
            .map_err(Error::usage)?,
    })
}

/// `--timeout`'s default, before the service's bake time and steps are added.
pub const DEFAULT_WAIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// `--settle-time`'s default.
const DEFAULT_SETTLE_TIME: std::time::Duration = std::time::Duration::from_secs(15);

pub fn wait_options(args: &WaitOptions) -> Result<(WaitSettings, WaitUntil)> {
    if args.settle_time.is_some() && args.wait_until != WaitUntilArg::Running {
        return Err(Error::usage(
            "--settle-time is how long our tasks must stay healthy with --wait-until running, and the wait is not --wait-until running",
        )
        .with_hint("add --wait-until running, or leave out --settle-time"));
    }
    let until = match args.wait_until {
        WaitUntilArg::Stable => WaitUntil::Stable,
        WaitUntilArg::Running => WaitUntil::Running,
        WaitUntilArg::BakeTime => WaitUntil::BakeTime,
        WaitUntilArg::Paused => WaitUntil::Paused,
    };
    Ok((
        WaitSettings {
            timeout: args.timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT),
            timeout_explicit: args.timeout.is_some(),
            rollback_on_cancel: args.rollback_on_cancel,
            follow_rollback: !args.no_follow_rollback,
            poll_interval: args.poll_interval,
            fail_on_placement_errors: args.fail_on_placement_errors,
            settle: args.settle_time.unwrap_or(DEFAULT_SETTLE_TIME),
            failure_log_lines: args.failure_log_lines,
        },
        until,
    ))
}

pub fn update_settings(
    args: UpdateArgs,
    wait: Option<&WaitArgs>,
    aws: AwsSettings,
) -> Result<ReleaseSettings> {
    // A --service an unset CI variable left empty is a mistake; --services skips blank entries
    // (a list joined with a trailing comma).
    for service in &args.service.service {
        named("--service", service)?;
    }
    let services =
        crate::domain::release::service_names(&args.service.service, &args.service.services)
            .map_err(|why| Error::usage(why).with_hint("name each service once"))?;
    let several = services.len() > 1;
    if !several {
        for (given, flag) in [
            (args.service.max_parallel.is_some(), "--max-parallel"),
            (args.service.no_rollback_others, "--no-rollback-others"),
        ] {
            if given {
                return Err(Error::usage(format!(
                    "{flag} applies to a release of several services, and one service is named"
                ))
                .with_hint("name the services with --service more than once (or --services a,b), or leave it out"));
            }
        }
    }
    let max_parallel = args
        .service
        .max_parallel
        .map_or(services.len(), usize::from);
    let rollback_others = !args.service.no_rollback_others;
    // With several services and no --family, each keeps the family it runs.
    let derive_families = several
        && args.task_definition.family.is_none()
        && args.task_definition.task_definition_file.is_none();
    let base = one_service_settings(args, wait, aws, services.first().cloned(), derive_families)?;
    Ok(ReleaseSettings {
        services: if several {
            services
        } else {
            vec![base.service.clone()]
        },
        base,
        max_parallel,
        rollback_others,
    })
}

fn one_service_settings(
    args: UpdateArgs,
    wait: Option<&WaitArgs>,
    aws: AwsSettings,
    service: Option<String>,
    derive_families: bool,
) -> Result<update_service::UpdateServiceSettings> {
    let updates = container_updates(&args.updates)?;
    let tags = task_definition_tags(&args.updates)?;
    if args.skip_task_definition_registration && args.task_definition.task_definition_file.is_some()
    {
        return Err(Error::usage(
            "--skip-task-definition-registration deploys the latest revision as it is: it cannot register --task-definition-file",
        ));
    }
    if args.skip_task_definition_registration && !(updates.is_empty() && tags.is_empty()) {
        return Err(Error::usage(
            "--skip-task-definition-registration deploys the latest revision as it is: it cannot take container updates or tags",
        ));
    }
    let desired_count = args
        .desired_count
        .map(|count| {
            bounded("--desired-count", count, 0, MAX_TASKS_PER_SERVICE)
                .map_err(|e| e.with_hint("ECS runs at most 5000 tasks per service"))
        })
        .transpose()?;
    let container_port = args
        .container_port
        .map(|port| bounded("--container-port", port, 1, 65535))
        .transpose()?;
    let (family, file) = if derive_families {
        (String::new(), None)
    } else {
        task_definition_source(&args.task_definition)?
    };
    let strategy = strategy_change(&args)?;
    named("--cluster", &args.service.cluster)?;
    if let Some(service) = &service {
        named("--service", service)?;
    }
    let service = service.unwrap_or_else(|| family.clone());
    let smoke_test = smoke_test(&args, wait)?;
    Ok(update_service::UpdateServiceSettings {
        aws,
        cluster: args.service.cluster,
        service,
        family,
        file,
        updates,
        tags,
        skip_registration: args.skip_task_definition_registration,
        allow_family_change: args.allow_family_change,
        force_new_deployment: args.force_new_deployment,
        desired_count,
        enable_circuit_breaker: args.enable_circuit_breaker,
        strategy,
        create: args.create_service.then(|| ServiceCreation {
            subnets: args.subnets.clone(),
            security_groups: args.security_groups.clone(),
            assign_public_ip: args.assign_public_ip.map(public_ip_name),
            load_balancer: args
                .target_group
                .clone()
                .zip(args.container_name.clone())
                .zip(container_port)
                .map(|((group, name), port)| (group, name, port)),
            launch_type: args.launch_type.map(launch_type_name),
        }),
        wait: match wait {
            Some(wait) => wait_settings(wait)?,
            None => None,
        },
        dry_run: args.dry_run,
        scheduled: scheduled_tasks(&args.scheduled)?,
        codedeploy: codedeploy_settings(&args.codedeploy)?,
        smoke_test,
        keep_revisions: args.keep_revisions.map(|keep| keep as usize),
        verify: !args.no_verify,
    })
}

/// `verify`'s flags: the revision (or file) to check and the updates to render it with.
pub fn verify_settings(args: &VerifyCommand, aws: AwsSettings) -> Result<verify::VerifySettings> {
    let (task_definition, file) = task_definition_source(&args.task_definition)?;
    if !task_definition_tags(&args.updates)?.is_empty() {
        return Err(Error::usage(
            "--task-definition-tags change nothing a task needs to start, so verify has no use for them",
        )
        .with_hint("leave them out"));
    }
    Ok(verify::VerifySettings {
        aws,
        task_definition,
        file,
        updates: container_updates(&args.updates)?,
    })
}

/// `deregister`'s flags: a family and at least one check of where its revisions run.
pub fn deregister_settings(
    command: DeregisterCommand,
    aws: AwsSettings,
) -> Result<deregister::DeregisterSettings> {
    named("--family", &command.family)?;
    for cluster in &command.clusters {
        named("--cluster", cluster)?;
    }
    Ok(deregister::DeregisterSettings {
        aws,
        request: Deregistration {
            family: command.family,
            keep: command.keep as usize,
            clusters: command.clusters,
        },
        delete: command.delete,
        dry_run: command.dry_run,
    })
}

/// `continue`'s `--smoke-test` and its timeout: the deployment already waits at the pause, so
/// any wait goes with it (`--no-wait` returns once it is resumed).
pub fn continue_smoke_test(
    command: Option<String>,
    timeout: Option<std::time::Duration>,
) -> Result<Option<SmokeTest>> {
    let Some(command) = command else {
        return Ok(None);
    };
    check_smoke_command(&command)?;
    Ok(Some(SmokeTest {
        command,
        timeout: timeout.unwrap_or(SMOKE_TEST_TIMEOUT),
    }))
}

fn check_smoke_command(command: &str) -> Result<()> {
    if command.trim().is_empty() {
        return Err(Error::usage(
            "--smoke-test is empty: give the command to run against the test traffic",
        ));
    }
    Ok(())
}

/// `--smoke-test` and its timeout; the gate needs a wait that goes past the pause.
/// `--smoke-test`; `wait` is `None` for `deployer diff`, which waits for nothing.
fn smoke_test(args: &UpdateArgs, wait: Option<&WaitArgs>) -> Result<Option<SmokeTest>> {
    let Some(command) = &args.smoke_test else {
        return Ok(None);
    };
    check_smoke_command(command)?;
    let Some(wait) = wait else {
        return Ok(Some(SmokeTest {
            command: command.clone(),
            timeout: args.smoke_test_timeout.unwrap_or(SMOKE_TEST_TIMEOUT),
        }));
    };
    if wait.no_wait {
        return Err(Error::usage(
            "--smoke-test runs once the deployment pauses at test traffic, and --no-wait returns before that",
        )
        .with_hint("leave out --no-wait"));
    }
    if wait.options.wait_until == WaitUntilArg::Paused {
        return Err(Error::usage(
            "--smoke-test answers the pause at test traffic itself, and --wait-until paused stops there for someone else to",
        )
        .with_hint("leave out --wait-until paused (deployer continue approves a pause by hand)"));
    }
    Ok(Some(SmokeTest {
        command: command.clone(),
        timeout: args.smoke_test_timeout.unwrap_or(SMOKE_TEST_TIMEOUT),
    }))
}

/// The `--codedeploy-*` flags, the capacity provider parsed.
fn codedeploy_settings(args: &CodeDeployArgs) -> Result<CodeDeploySettings> {
    let capacity_provider = args
        .codedeploy_capacity_provider
        .as_deref()
        .map(|spec| {
            parse_capacity_provider(spec)
                .map_err(|why| Error::usage(format!("--codedeploy-capacity-provider: {why}")))
        })
        .transpose()?;
    let container_port = args
        .codedeploy_container_port
        .map(|port| bounded("--codedeploy-container-port", port, 1, 65535))
        .transpose()?;
    let named = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    Ok(CodeDeploySettings {
        application: named(&args.codedeploy_application),
        deployment_group: named(&args.codedeploy_deployment_group),
        container_name: named(&args.codedeploy_container_name),
        container_port,
        deployment_config: named(&args.codedeploy_deployment_config),
        capacity_provider,
    })
}

fn launch_type_name(launch: LaunchTypeArg) -> String {
    match launch {
        LaunchTypeArg::Fargate => "FARGATE",
        LaunchTypeArg::Ec2 => "EC2",
        LaunchTypeArg::External => "EXTERNAL",
    }
    .to_string()
}

fn public_ip_name(ip: PublicIp) -> String {
    match ip {
        PublicIp::Enabled => "ENABLED",
        PublicIp::Disabled => "DISABLED",
    }
    .to_string()
}

pub fn run_task_settings(args: RunTaskCommand, aws: AwsSettings) -> Result<RunTaskSettings> {
    use crate::domain::run_task::{self, RunTaskRequest};
    let usage = |error: run_task::RunTaskError| Error::usage(error.to_string());
    let count = bounded("--count", args.count, 1, 10)
        .map_err(|e| e.with_hint("RunTask starts at most 10 tasks a call"))?;
    let list = |flag: &'static str, value: &Option<String>, keys: &[&str], integers: &[&str]| {
        value
            .as_deref()
            .filter(|value| !value.trim().is_empty())
            .map(|value| run_task::parse_list(flag, value, keys, integers))
            .transpose()
            .map(Option::unwrap_or_default)
            .map_err(usage)
    };
    let placement_constraints = list(
        "--placement-constraints",
        &args.placement_constraints,
        &["type", "expression"],
        &[],
    )?;
    let placement_strategy = list(
        "--placement-strategy",
        &args.placement_strategy,
        &["type", "field"],
        &[],
    )?;
    let capacity_provider_strategy = list(
        "--capacity-provider-strategy",
        &args.capacity_provider_strategy,
        &["capacityProvider", "weight", "base"],
        &["weight", "base"],
    )?;
    let mut tags: Vec<(String, String)> = Vec::new();
    for value in &args.tags {
        for (key, val) in run_task::parse_tags(value).map_err(usage)? {
            tags.retain(|(existing, _)| *existing != key);
            tags.push((key, val));
        }
    }
    let command = args
        .command
        .as_deref()
        .map(run_task::split_command)
        .transpose()
        .map_err(usage)?;
    let environment = run_task::parse_env(&args.env).map_err(usage)?;
    let non_empty = |value: Option<String>| value.filter(|value| !value.is_empty());
    let request = RunTaskRequest {
        cluster: args.cluster,
        count,
        started_by: non_empty(args.started_by),
        group: non_empty(args.group),
        placement_constraints,
        placement_strategy,
        launch_type: args.launch_type.map(launch_type_name),
        capacity_provider_strategy,
        platform_version: non_empty(args.platform_version),
        subnets: args.subnets.into_iter().filter(|s| !s.is_empty()).collect(),
        security_groups: args
            .security_groups
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect(),
        assign_public_ip: args.assign_public_ip.map(public_ip_name),
        overrides: None,
        tags,
        enable_ecs_managed_tags: args.enable_ecs_managed_tags,
        propagate_tags: args.propagate_tags.map(|propagate| {
            match propagate {
                PropagateTags::TaskDefinition => "TASK_DEFINITION",
                PropagateTags::Service => "SERVICE",
                PropagateTags::None => "NONE",
            }
            .to_string()
        }),
        enable_execute_command: args.enable_execute_command,
    };
    Ok(RunTaskSettings {
        aws,
        task_definition: match (&args.task_definition_file, args.task_definition) {
            (Some(path), _) => {
                let file = read_task_definition_file(path)?;
                if let Err(crate::domain::task_definition::RenderError::MissingImage {
                    container,
                }) = crate::domain::task_definition::check_images(&file.input)
                {
                    return Err(Error::usage(format!(
                        "--task-definition-file {}: container {container} has no image",
                        file.file
                    ))
                    .with_hint("run-task registers the file as it is: give every container its image in the file"));
                }
                crate::commands::steps::registration::show_file(&file);
                TaskDefinitionSource::Rendered(file.input)
            }
            (None, Some(reference)) => {
                check_task_definition_reference(&reference)
                    .map_err(|why| Error::usage(format!("--task-definition: {why}")))?;
                TaskDefinitionSource::Reference(reference)
            }
            (None, None) => {
                return Err(Error::usage(
                    "--task-definition or --task-definition-file is needed",
                ))
            }
        },
        request,
        overrides: args.overrides,
        container: non_empty(args.container),
        command,
        environment,
        wait: args.wait.then(|| RunWait {
            timeout: args.timeout,
            poll_interval: args.poll_interval,
            exit_code_from: non_empty(args.exit_code_from),
            stop_on_cancel: args.stop_on_cancel,
            logs: !args.no_logs,
            failure_log_lines: args.failure_log_lines,
        }),
        dry_run: args.dry_run,
    })
}

pub fn aws_settings(global: &GlobalArgs) -> AwsSettings {
    let oidc_token = [env::CIRCLE_OIDC_TOKEN_V2, env::CIRCLE_OIDC_TOKEN]
        .into_iter()
        .filter_map(env::var)
        .find(|token| !token.trim().is_empty())
        .map(|token| Secret::new(token.trim()));
    let role_session_name =
        global
            .role_session_name
            .clone()
            .unwrap_or_else(|| match env::var(env::CIRCLE_BUILD_NUM) {
                Some(build) if !build.is_empty() => format!("deployer-{build}"),
                _ => "deployer".to_string(),
            });
    AwsSettings {
        region: global.region.clone(),
        profile: global.profile.clone().filter(|profile| !profile.is_empty()),
        role_arn: global.role_arn.clone().filter(|arn| !arn.is_empty()),
        role_session_name,
        oidc_token,
        static_credentials: global.static_credentials.clone(),
        environment_profile: env::var(env::AWS_PROFILE).filter(|profile| !profile.is_empty()),
        environment_keys: env::var(env::AWS_ACCESS_KEY_ID).is_some_and(|key| !key.is_empty()),
        profile_files: profile_files(),
    }
}

/// The AWS shared config and credentials files, where the SDK looks for them.
fn profile_files() -> Vec<PathBuf> {
    let home = env::var_os(env::HOME)
        .map(PathBuf::from)
        .unwrap_or_default();
    let file = |variable: &'static str, default: &str| {
        env::var_os(variable)
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".aws").join(default))
    };
    vec![
        file(env::AWS_CONFIG_FILE, "config"),
        file(env::AWS_SHARED_CREDENTIALS_FILE, "credentials"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(images: &[&str], env: &[&str], removals: &[&str]) -> UpdateFlags {
        let owned = |values: &[&str]| values.iter().map(|v| v.to_string()).collect();
        UpdateFlags {
            container_image_name_updates: owned(images),
            container_env_var_updates: owned(env),
            container_env_var_removals: owned(removals),
            container_secret_updates: Vec::new(),
            container_docker_label_updates: Vec::new(),
            task_definition_tags: Vec::new(),
        }
    }

    #[test]
    fn contradicting_updates_are_refused_and_repeats_are_not() {
        let error = container_updates(&flags(
            &[
                "container=tutorial-site-app,tag=v2",
                "container=tutorial-site-app,tag=v3",
            ],
            &[],
            &[],
        ))
        .unwrap_err();
        assert!(
            error
                .message
                .contains("the image of container tutorial-site-app is tag=v2 and tag=v3"),
            "{error}"
        );
        let error = container_updates(&flags(
            &[],
            &["container=tutorial-site-app,name=DB_PASSWORD,value=hunter2"],
            &["container=tutorial-site-app,name=DB_PASSWORD"],
        ))
        .unwrap_err();
        assert!(
            error.message.contains(
                "variable DB_PASSWORD of container tutorial-site-app is set to a value and removed"
            ),
            "{error}"
        );
        assert!(!error.to_string().contains("hunter2"));
        let error = container_updates(&flags(
            &[],
            &[
                "container=tutorial-site-app,name=MODE,value=a",
                "container=tutorial-site-app,name=MODE,value=b",
            ],
            &[],
        ))
        .unwrap_err();
        assert!(
            error.message.contains("is set to one value and to another"),
            "{error}"
        );
        // The same update twice, or one per container, is no contradiction.
        assert_eq!(
            container_updates(&flags(
                &[
                    "container=tutorial-site-app,tag=v2",
                    "container=tutorial-site-app,tag=v2",
                    "container=log-router,tag=v2",
                ],
                &[],
                &[],
            ))
            .unwrap()
            .len(),
            3
        );
    }
}
