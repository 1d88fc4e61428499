//! Runs one parsed command: the runtime, signals, logging, dispatch to the command, and turning
//! its outcome into stdout data, stderr lines and an exit code.
use std::process::ExitCode;

use super::args::*;
use super::settings::*;
use crate::adapters::recorder;
use crate::commands::{
    continue_deployment, deploy, deregister, diff, ecr_login, push, register, release, render,
    repo, rollback, run_task, tag_image, update_service, verify, wait,
};
use crate::error::{Error, ErrorKind, Result};
use crate::journal;
use crate::output;

/// Runs the parsed command on a Tokio runtime, prints its outcome, returns the exit code.
pub fn execute(cli: Cli) -> ExitCode {
    output::start_clock();
    output::set_quiet(cli.global.quiet);
    output::set_show_values(cli.global.show_values);
    crate::logging::init(cli.global.verbose);
    if let Some(path) = &cli.global.record {
        // Opened before anything is called: a path that cannot be written changes nothing.
        if let Err(error) = start_recording(path) {
            output::error(&error);
            return error.exit_code();
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output::error(&Error::environment(format!(
                "cannot start the async runtime: {e}"
            )));
            return ExitCode::from(ErrorKind::Environment.exit_code());
        }
    };
    let result = runtime.block_on(async {
        let dispatch = dispatch(cli);
        tokio::pin!(dispatch);
        tokio::select! {
            result = &mut dispatch => result,
            signal = interrupted() => {
                if output::hand_over_interrupt(signal) {
                    // The command cleans up what it started and ends; a second signal ends it now.
                    tokio::select! {
                        result = &mut dispatch => result,
                        signal = interrupted() => Err(interruption(signal)),
                    }
                } else {
                    Err(interruption(signal))
                }
            }
        }
    });
    // Do not wait for the blocking context writer: the daemon connection is gone.
    runtime.shutdown_background();
    let (code, number) = match result {
        Ok(()) => (ExitCode::SUCCESS, 0),
        Err(error) => {
            let error = error.after_changes(&journal::done());
            output::error(&error);
            (error.exit_code(), error.kind.exit_code())
        }
    };
    recorder::write_line(&serde_json::json!({"time": recorder::now(), "exit": number}));
    code
}

/// Opens the `--record` file (mode 0600: it names the account's resources) and writes what
/// ran: deployer's version and its arguments, with values that may be secret shown as `…`.
fn start_recording(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            Error::usage(format!(
                "cannot write --record file {}: {e}",
                path.display()
            ))
        })?;
    recorder::start(file);
    let args: Vec<String> = std::env::args().skip(1).collect();
    recorder::write_line(&serde_json::json!({
        "time": recorder::now(),
        "deployer": env!("CARGO_PKG_VERSION"),
        "args": crate::orb::displayed_args(&args),
    }));
    Ok(())
}

fn interruption(signal: &str) -> Error {
    Error::new(ErrorKind::Interrupted, format!("interrupted by {signal}")).with_hint(
        output::interrupt_hint().unwrap_or_else(|| "nothing more was started".to_string()),
    )
}

async fn interrupted() -> &'static str {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "Ctrl-C";
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = terminate.recv() => "SIGTERM",
    }
}

/// The files a command writes after its work: checked before its first side effect.
fn output_files(command: &Command) -> Vec<(&'static str, &std::path::Path)> {
    let export_env = match command {
        Command::Push(command) => command.export_env.as_deref(),
        Command::UpdateService(command) => command.export_env.as_deref(),
        Command::Deploy(command) => command.export_env.as_deref(),
        Command::Rollback(command) => command.export_env.as_deref(),
        Command::Wait(command) => command.export_env.as_deref(),
        Command::Continue(command) => command.export_env.as_deref(),
        Command::RunTask(command) => command.export_env.as_deref(),
        Command::RegisterTaskDefinition(command) => command.export_env.as_deref(),
        Command::RenderTaskDefinition(_)
        | Command::Diff(_)
        | Command::Verify(_)
        | Command::Deregister(_)
        | Command::EcrLogin(_)
        | Command::TagImage(_)
        | Command::Repo(_)
        | Command::Orb(_) => None,
    };
    let output_file = match command {
        Command::RunTask(command) => command.output_file.as_deref(),
        _ => None,
    };
    [("--export-env", export_env), ("--output-file", output_file)]
        .into_iter()
        .filter_map(|(flag, path)| path.map(|path| (flag, path)))
        .collect()
}

async fn dispatch(cli: Cli) -> Result<()> {
    let format = cli.global.output;
    for (flag, path) in output_files(&cli.command) {
        output::check_writable(flag, path)?;
    }
    let aws = aws_settings(&cli.global);
    match cli.command {
        Command::Push(command) => {
            let settings = push_settings(command.push, aws)?;
            let outcome = push::run(settings).await?;
            match format {
                OutputFormat::Text => print_push(&outcome),
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::UpdateService(command) => {
            let settings = update_settings(command.update, Some(&command.wait), aws)?;
            if settings.services.len() > 1 {
                let outcomes = release::run(settings).await?;
                print_release(format, &outcomes);
                if let Some(path) = command.export_env {
                    output::append_export_env(&path, &release::export_env(&outcomes))?;
                }
                return Ok(());
            }
            let outcome = update_service::run(settings.base).await?;
            print_update(format, &outcome);
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::Deploy(command) => {
            if command.push.no_push {
                return Err(Error::usage(
                    "deploy --no-push would register an image ECS cannot pull: build with push --no-push, or deploy without it",
                ));
            }
            let push = push_settings(command.push, aws.clone())?;
            let release = update_settings(command.update, Some(&command.wait), aws)?;
            let several = release.services.len() > 1;
            let settings = deploy::DeploySettings {
                push,
                update: release.base.clone(),
                container: command.container,
                pin_digest: command.pin_digest,
            };
            if several {
                let outcome = deploy::run_release(settings, release).await?;
                let Some(pushed) = &outcome.push else {
                    print_release(format, &outcome.services);
                    return Ok(());
                };
                match format {
                    OutputFormat::Text => {
                        output::data(&pushed.image);
                        print_release(format, &outcome.services);
                    }
                    OutputFormat::Json => {
                        output::plan_json(serde_json::to_value(&outcome).unwrap_or_default())
                    }
                }
                if let Some(path) = command.export_env {
                    let mut pairs = pushed.export_env();
                    pairs.extend(release::export_env(&outcome.services));
                    output::append_export_env(&path, &pairs)?;
                }
                return Ok(());
            }
            let outcome = deploy::run(settings).await?;
            let Some(pushed) = &outcome.push else {
                // --dry-run: the plan is the data.
                print_update(format, &outcome.update);
                return Ok(());
            };
            match format {
                OutputFormat::Text => {
                    output::data(&pushed.image);
                    output::data(&outcome.update.task_definition_arn);
                    if let Some(id) = &outcome.update.codedeploy_deployment_id {
                        output::data(id);
                    }
                }
                OutputFormat::Json => {
                    output::plan_json(serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
            if let Some(path) = command.export_env {
                let mut pairs = pushed.export_env();
                pairs.extend(outcome.update.export_env());
                output::append_export_env(&path, &pairs)?;
            }
        }
        Command::Verify(command) => {
            let settings = verify_settings(&command, aws)?;
            let outcome = verify::run(settings).await?;
            match format {
                OutputFormat::Text => {
                    for finding in &outcome.findings {
                        output::data(&finding.line());
                    }
                }
                OutputFormat::Json => output::json(&outcome.json()),
            }
            outcome.verdict()?;
        }
        Command::Diff(command) => {
            let settings = update_settings(command.update, None, aws)?;
            if settings.services.len() > 1 {
                return Err(Error::usage(format!(
                    "deployer diff shows one service's changes, and {} are named",
                    settings.services.len()
                ))
                .with_hint("run it once per service"));
            }
            let service = settings.base.service.clone();
            let text = diff::run(settings.base).await?;
            if text.is_empty() {
                output::step(format!("{service}: nothing would change"));
                return Ok(());
            }
            output::data(text.trim_end());
            return Err(diff::differs(&service));
        }
        Command::Rollback(command) => {
            named("--cluster", &command.service.cluster)?;
            named("--service", &command.service.service)?;
            let settings = rollback::RollbackSettings {
                aws,
                cluster: command.service.cluster,
                service: command.service.service,
                to_revision: command.to_revision,
                wait: wait_settings(&command.wait)?,
            };
            let outcome = rollback::run(settings).await?;
            print_update(format, &outcome);
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::Continue(command) => {
            named("--cluster", &command.service.cluster)?;
            named("--service", &command.service.service)?;
            let settings = continue_deployment::ContinueSettings {
                aws,
                cluster: command.service.cluster,
                service: command.service.service,
                deployment: command.deployment,
                hook_id: command.hook_id,
                roll_back: command.rollback,
                dry_run: command.dry_run,
                wait: wait_settings(&command.wait)?,
                smoke_test: continue_smoke_test(command.smoke_test, command.smoke_test_timeout)?,
            };
            let outcome = continue_deployment::run(settings).await?;
            match format {
                OutputFormat::Text => output::data(&outcome.service_deployment_arn),
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::Wait(command) => {
            named("--cluster", &command.service.cluster)?;
            named("--service", &command.service.service)?;
            let (wait, until) = wait_options(&command.wait)?;
            let settings = wait::WaitServiceSettings {
                aws,
                cluster: command.service.cluster,
                service: command.service.service,
                task_definition: command.task_definition,
                wait,
                until,
            };
            let outcome = wait::run(settings).await?;
            match format {
                OutputFormat::Text => output::data(&outcome.task_definition_arn),
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::RunTask(command) => {
            named("--cluster", &command.cluster)?;
            let export_env = command.export_env.clone();
            let output_file = command.output_file.clone();
            let settings = run_task_settings(*command, aws)?;
            if let Some(path) = &output_file {
                // Emptied before the task starts (mode 0600): an answer from an earlier run never
                // passes for this one's.
                write_private_file(path, "").map_err(|e| {
                    Error::usage(format!(
                        "cannot write --output-file {}: {e}",
                        path.display()
                    ))
                })?;
            }
            let mut outcome = run_task::run(settings).await?;
            print_run_task(format, &outcome);
            if let Some(path) = &output_file {
                let answer = output::shown(serde_json::to_value(&outcome).unwrap_or_default());
                let answer = serde_json::to_string_pretty(&answer).unwrap_or_default();
                write_private_file(path, &(output::redact(&answer) + "\n")).map_err(|e| {
                    Error::environment(format!(
                        "cannot write --output-file {}: {e}",
                        path.display()
                    ))
                })?;
            }
            if let Some(path) = export_env.filter(|_| outcome.run_task_input.is_none()) {
                output::append_export_env(&path, &outcome.export_env())?;
            }
            if let Some(failure) = outcome.failure.take() {
                return Err(failure);
            }
        }
        Command::RenderTaskDefinition(command) => {
            let updates = container_updates(&command.updates)?;
            let tags = task_definition_tags(&command.updates)?;
            if command.template
                && command.template_containers.is_empty()
                && command.template_repositories.is_empty()
            {
                return Err(Error::usage(
                    "--template needs --container NAME or --repo REPOSITORY: which containers' image the pipeline gives",
                ));
            }
            let mut rendered = match (&command.from_service, &command.input) {
                (Some(service), _) => {
                    let cluster = command.cluster.as_deref().unwrap_or_default();
                    named("--from-service", service)?;
                    named("--cluster", cluster)?;
                    render::from_service(&aws, cluster, service, &updates, &tags).await?
                }
                (None, Some(input)) => {
                    render::run(&read_task_definition_file(input)?, &updates, &tags)?
                }
                (None, None) => {
                    return Err(Error::usage(
                        "render-task-definition needs --task-definition-file or --from-service",
                    ))
                }
            };
            if command.template {
                render::template(
                    &mut rendered,
                    &command.template_containers,
                    &command.template_repositories,
                )?;
            }
            output::json(&rendered);
        }
        Command::RegisterTaskDefinition(command) => {
            let settings = register_settings(&command, aws)?;
            let outcome = register::run(settings).await?;
            print_register(format, &outcome);
            if let Some(path) = &command.export_env {
                if outcome.result != "planned" {
                    output::append_export_env(path, &outcome.export_env())?;
                }
            }
        }
        Command::Deregister(command) => {
            let settings = deregister_settings(*command, aws)?;
            let outcome = deregister::run(settings).await?;
            match format {
                OutputFormat::Text => {
                    for arn in &outcome.deregistered {
                        output::data(arn);
                    }
                }
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
        }
        Command::Orb(_) => {
            return Err(Error::usage("orb steps are resolved before dispatch"));
        }
        Command::EcrLogin(args) => {
            let settings = ecr_login_settings(args, aws)?;
            let outcome = ecr_login::run(settings).await?;
            match format {
                OutputFormat::Text => output::data(&outcome.registry),
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
        }
        Command::TagImage(args) => {
            let settings = tag_image_settings(args, aws)?;
            let outcome = tag_image::run(settings).await?;
            match format {
                OutputFormat::Text => {
                    output::data(&outcome.image);
                    for reference in &outcome.references {
                        output::data(reference);
                    }
                }
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
        }
        Command::Repo(command) => {
            let settings = repo_settings(command, aws)?;
            let outcome = repo::run(settings).await?;
            match format {
                OutputFormat::Text if outcome.uri.is_empty() => {}
                OutputFormat::Text => output::data(&outcome.uri),
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
        }
    }
    Ok(())
}

/// Writes a file only its owner can read (mode 0600 from its creation; an existing file's mode
/// is set to 0600 before anything is written): answers may name a task's environment.
fn write_private_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())
}

fn print_push(outcome: &push::PushOutcome) {
    // Without a push there is no digest: the tags' references are the data.
    if !outcome.digest.is_empty() {
        output::data(&outcome.image);
    }
    for reference in &outcome.references {
        output::data(reference);
    }
}

fn print_register(format: OutputFormat, outcome: &register::RegisterOutcome) {
    match format {
        OutputFormat::Text => match &outcome.plan {
            Some(plan) => output::plan_json(plan.register_task_definition_input.clone()),
            None => output::data(&outcome.task_definition_arn),
        },
        OutputFormat::Json => output::plan_json(serde_json::to_value(outcome).unwrap_or_default()),
    }
}

fn print_run_task(format: OutputFormat, outcome: &run_task::RunTaskOutcome) {
    match (format, &outcome.run_task_input) {
        (OutputFormat::Text, Some(input)) => output::plan_json(input.clone()),
        (OutputFormat::Text, None) => {
            for arn in &outcome.task_arns {
                output::data(arn);
            }
        }
        (OutputFormat::Json, _) => {
            output::plan_json(serde_json::to_value(outcome).unwrap_or_default())
        }
    }
}

/// A release's data: each service's revision (or plan), in the order named; JSON: one object
/// per service.
fn print_release(format: OutputFormat, outcomes: &[update_service::UpdateServiceOutcome]) {
    match format {
        OutputFormat::Text => {
            if outcomes.iter().all(|outcome| outcome.plan.is_some()) {
                output::plan_json(serde_json::Value::Array(
                    outcomes
                        .iter()
                        .filter_map(|o| o.plan.as_ref())
                        .map(|plan| plan.register_task_definition_input.clone())
                        .collect(),
                ));
                return;
            }
            for outcome in outcomes {
                output::data(&outcome.task_definition_arn);
                if let Some(id) = &outcome.codedeploy_deployment_id {
                    output::data(id);
                }
            }
        }
        OutputFormat::Json => output::plan_json(serde_json::to_value(outcomes).unwrap_or_default()),
    }
}

fn print_update(format: OutputFormat, outcome: &update_service::UpdateServiceOutcome) {
    match format {
        OutputFormat::Text => match &outcome.plan {
            Some(plan) => output::plan_json(plan.register_task_definition_input.clone()),
            None => {
                output::data(&outcome.task_definition_arn);
                if let Some(id) = &outcome.codedeploy_deployment_id {
                    output::data(id);
                }
            }
        },
        OutputFormat::Json => output::plan_json(serde_json::to_value(outcome).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
