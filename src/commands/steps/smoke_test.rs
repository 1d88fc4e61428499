//! The smoke-test gate (`--smoke-test CMD`): once our deployment waits with test traffic on the
//! new revision (ECS: the PAUSE hook at POST_TEST_TRAFFIC_SHIFT; CodeDeploy: the group's ready
//! wait), run CMD against it, then let the deployment go on (ContinueServiceDeployment CONTINUE,
//! ContinueDeployment) or roll it back (ROLLBACK, StopDeployment with automatic rollback) before
//! any production traffic reaches the new revision.
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::codedeploy;
use super::deadline::Interrupt;
use super::rollout_wait::WaitSettings;
use super::service_deployment::Followed;
use crate::adapters::aws::AwsConfig;
use crate::adapters::codedeploy::CodeDeploy;
use crate::adapters::ecs::Ecs;
use crate::adapters::elb::Elb;
use crate::domain::duration::format_duration;
use crate::domain::rollout::short_task_definition;
use crate::domain::service_deployment::short_id;
use crate::domain::smoke_test::{
    failure_message, listener_of_rule, listener_url, test_listener_rule, tested_image, GateFacts,
    GatedDeployment, SmokeFailure, Tail, QUOTED_LINES, VARIABLES,
};
use crate::error::{Error, ErrorKind, Result};
use crate::journal;
use crate::output;

/// `--smoke-test` and `--smoke-test-timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeTest {
    /// Run through `sh -c`.
    pub command: String,
    pub timeout: Duration,
}

/// `--smoke-test-timeout`'s default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a rejected deployment's rollback is waited for.
const ROLLBACK_WAIT: Duration = Duration::from_secs(600);

/// How long CMD gets to end after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// How long CMD's output is read after it ended (a background process it left may hold the pipe).
const DRAIN: Duration = Duration::from_secs(2);

/// Where our deployment waits for the gate.
#[derive(Debug, Clone)]
pub struct Pause {
    pub service_deployment_arn: String,
    pub hook_id: String,
}

/// Runs the gate at `pause`: CMD with the documented environment, then CONTINUE when it exits
/// 0 (the caller follows the deployment on), else ROLLBACK, waited for, and exit 1 naming the
/// command, how it ended and its last lines. SIGTERM or Ctrl-C stops CMD, then rolls back with
/// `rollback_on_cancel`, else leaves the deployment paused for its hook's timeout action.
#[allow(clippy::too_many_arguments)]
pub async fn gate(
    ecs: &Ecs,
    service: &str,
    service_raw: &Value,
    task_definition_arn: &str,
    smoke: &SmokeTest,
    pause: &Pause,
    rollback_on_cancel: bool,
    poll_interval: Duration,
) -> Result<()> {
    let test_url = rule_url(ecs, service_raw).await;
    let facts = facts(
        ecs,
        service,
        service_raw,
        task_definition_arn,
        GatedDeployment::Ecs(pause.service_deployment_arn.clone()),
        test_url,
    )
    .await?;
    let id = short_id(&pause.service_deployment_arn).to_string();
    let (ended, tail) = run_announced(
        smoke,
        &facts,
        &format!(
            "service deployment {id} paused at lifecycle hook {}",
            pause.hook_id
        ),
    )
    .await;
    let mut followed = Followed::new(Some(pause.service_deployment_arn.clone()), None);
    match ended {
        Ended::Passed => {
            output::step(format!(
                "the smoke test passed; resuming service deployment {id}"
            ));
            ecs.continue_service_deployment(&pause.service_deployment_arn, &pause.hook_id, false)
                .await
                .map_err(|error| {
                    Error::from(error).with_detail(format!(
                        "the smoke test passed, but ECS refused to continue service deployment {id} at lifecycle hook {}: the hook's own timeout action applies",
                        pause.hook_id
                    ))
                })?;
            journal::record(format!(
                "resumed service deployment {id} at lifecycle hook {} after the smoke test passed",
                pause.hook_id
            ));
            Ok(())
        }
        Ended::Failed(failure) => {
            let mut error = Error::failed(failure_message(&smoke.command, &failure));
            let (outcome, rolled_back) = followed
                .reject_at_hook(ecs, &pause.hook_id, ROLLBACK_WAIT, poll_interval)
                .await?;
            error = error.with_detail(outcome);
            if rolled_back {
                error = error.with_detail(format!(
                    "production traffic never reached {}",
                    short_task_definition(task_definition_arn)
                ));
            }
            Err(with_tail(error, &tail))
        }
        Ended::Interrupted(signal) => {
            let error = interrupted_error(signal);
            if !rollback_on_cancel {
                return Err(error.with_hint(format!(
                    "service deployment {id} stays paused at lifecycle hook {} until its timeout action applies: approve with deployer continue, or reject with deployer continue --rollback",
                    pause.hook_id
                )));
            }
            let (outcome, _) = followed
                .reject_at_hook(ecs, &pause.hook_id, ROLLBACK_WAIT, poll_interval)
                .await?;
            output::step(&outcome);
            Err(error.with_detail(outcome))
        }
    }
}

/// The gate through a CodeDeploy deployment waiting in Ready (the group's ready wait): CMD,
/// then ContinueDeployment (READY_WAIT; the caller follows the deployment on), or StopDeployment
/// with automatic rollback, waited for, and exit 1 naming the command, how it ended and its last
/// lines. SIGTERM or Ctrl-C stops CMD, then stops the deployment with `rollback_on_cancel`.
#[allow(clippy::too_many_arguments)]
pub async fn gate_codedeploy(
    ecs: &Ecs,
    service: &str,
    service_raw: &Value,
    task_definition_arn: &str,
    smoke: &SmokeTest,
    deployment_id: &str,
    test_listener: Option<&str>,
    wait: &WaitSettings,
) -> Result<()> {
    let config = ecs
        .config()
        .ok_or_else(|| Error::environment("no AWS configuration to reach CodeDeploy with"))?;
    let test_url = match test_listener {
        Some(listener) => listener_url_of(config, listener, None).await,
        None => Err("the deployment group has no test listener (loadBalancerInfo.targetGroupPairInfoList[].testTrafficRoute)".to_string()),
    };
    let facts = facts(
        ecs,
        service,
        service_raw,
        task_definition_arn,
        GatedDeployment::CodeDeploy(deployment_id.to_string()),
        test_url,
    )
    .await?;
    let (ended, tail) = run_announced(
        smoke,
        &facts,
        &format!("CodeDeploy deployment {deployment_id} waits in Ready"),
    )
    .await;
    let client = CodeDeploy::new(config);
    match ended {
        Ended::Passed => {
            output::step(format!(
                "the smoke test passed; rerouting production traffic (ContinueDeployment of {deployment_id})"
            ));
            client.continue_ready(deployment_id).await.map_err(|error| {
                Error::from(error).with_detail(format!(
                    "the smoke test passed, but CodeDeploy refused to continue deployment {deployment_id}: its ready wait stops it when it passes"
                ))
            })?;
            journal::record(format!(
                "continued CodeDeploy deployment {deployment_id} after the smoke test passed"
            ));
            Ok(())
        }
        Ended::Failed(failure) => {
            let error = Error::failed(failure_message(&smoke.command, &failure));
            let error =
                codedeploy::stop(&client, deployment_id, wait, error, "the smoke test failed")
                    .await;
            Err(with_tail(error, &tail))
        }
        Ended::Interrupted(signal) => {
            let error = interrupted_error(signal);
            if !wait.rollback_on_cancel {
                return Err(error.with_hint(format!(
                    "CodeDeploy deployment {deployment_id} waits in Ready until its ready wait stops it: continue it with aws deploy continue-deployment --deployment-id {deployment_id} --deployment-wait-type READY_WAIT"
                )));
            }
            Err(codedeploy::stop(
                &client,
                deployment_id,
                wait,
                error,
                &format!("deployer was interrupted by {signal}"),
            )
            .await)
        }
    }
}

fn interrupted_error(signal: &str) -> Error {
    Error::new(
        ErrorKind::Interrupted,
        format!("interrupted by {signal} while the smoke test ran; it was stopped"),
    )
}

/// Says what runs against what, then runs CMD, holding the interruption while it runs.
async fn run_announced(smoke: &SmokeTest, facts: &GateFacts, pause: &str) -> (Ended, Tail) {
    output::step(format!(
        "test traffic reaches {} ({pause}); running the smoke test `{}` (--smoke-test-timeout {})",
        short_task_definition(&facts.task_definition_arn),
        smoke.command,
        format_duration(smoke.timeout)
    ));
    let mut interrupt = output::claim_interrupt();
    let ended = run_command(
        &smoke.command,
        &facts.environment(),
        smoke.timeout,
        &mut interrupt,
    )
    .await;
    output::release_interrupt();
    ended
}

fn with_tail(mut error: Error, tail: &Tail) -> Error {
    let mut lines = tail.lines().peekable();
    if lines.peek().is_none() {
        return error.with_detail("the smoke test printed nothing");
    }
    error = error.with_detail("its last lines:");
    for line in lines {
        error = error.with_detail(format!("  smoke-test | {line}"));
    }
    error
}

/// What CMD is told: the deployment, the image of the load-balanced container, and the test
/// listener's URL (one line saying why not when it cannot be told).
async fn facts(
    ecs: &Ecs,
    service: &str,
    service_raw: &Value,
    task_definition_arn: &str,
    deployment: GatedDeployment,
    test_url: std::result::Result<String, String>,
) -> Result<GateFacts> {
    let described = ecs.describe_task_definition(task_definition_arn).await?;
    let image = tested_image(service_raw, &described["taskDefinition"]);
    let test_url = match test_url {
        Ok(url) => {
            output::step(format!("DEPLOYER_TEST_URL={url}"));
            Some(url)
        }
        Err(why) => {
            output::step(format!("DEPLOYER_TEST_URL is not set: {why}"));
            None
        }
    };
    Ok(GateFacts {
        service: service.to_string(),
        task_definition_arn: task_definition_arn.to_string(),
        image,
        deployment,
        test_url,
    })
}

/// The URL of the service's test listener rule, or why it cannot be told.
async fn rule_url(ecs: &Ecs, service_raw: &Value) -> std::result::Result<String, String> {
    let rule = test_listener_rule(service_raw).ok_or(
        "the service's load balancer has no test listener rule (advancedConfiguration.testListenerRule); with Service Connect, send the test traffic header instead",
    )?;
    let listener =
        listener_of_rule(&rule).ok_or_else(|| format!("{rule} is not a listener rule ARN"))?;
    let config = ecs
        .config()
        .ok_or("no AWS configuration to reach Elastic Load Balancing with")?;
    let path = Elb::new(config)
        .rule_path_pattern(&rule)
        .await
        .map_err(|error| format!("the test listener rule could not be described: {error}"))?;
    listener_url_of(config, &listener, path.as_deref()).await
}

/// The URL of a listener (with a rule's path pattern), or why it cannot be told.
async fn listener_url_of(
    config: &AwsConfig,
    listener: &str,
    path_pattern: Option<&str>,
) -> std::result::Result<String, String> {
    let address = Elb::new(config)
        .listener_address(listener)
        .await
        .map_err(|error| format!("the test listener could not be described: {error}"))?
        .ok_or_else(|| format!("ELBv2 does not describe listener {listener}"))?;
    listener_url(
        &address.protocol,
        &address.dns_name,
        address.port,
        path_pattern,
    )
    .ok_or_else(|| {
        format!(
            "the test listener speaks {}, not HTTP or HTTPS",
            address.protocol
        )
    })
}

/// How CMD ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Passed,
    Failed(SmokeFailure),
    /// Stopped because deployer was interrupted by this signal.
    Interrupted(&'static str),
}

/// Runs `command` through `sh -c` in a process group of its own, with deployer's environment
/// minus every variable of the gate's, plus `environment`; prefixes each line it prints
/// (stdout and stderr) in the log. Stops the whole group on timeout or interruption.
pub async fn run_command(
    command: &str,
    environment: &[(&'static str, String)],
    timeout: Duration,
    interrupt: &mut Interrupt,
) -> (Ended, Tail) {
    let mut tail = Tail::new(QUOTED_LINES);
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in VARIABLES {
        shell.env_remove(name);
    }
    shell.envs(environment.iter().map(|(name, value)| (*name, value)));
    let mut child = match shell.spawn() {
        Ok(child) => child,
        Err(error) => {
            return (
                Ended::Failed(SmokeFailure::NotStarted(format!("sh: {error}"))),
                tail,
            )
        }
    };
    let (sender, mut lines) = mpsc::unbounded_channel();
    if let Some(stdout) = child.stdout.take() {
        forward(stdout, sender.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        forward(stderr, sender);
    }
    let show = |line: String, tail: &mut Tail| {
        output::stderr_line(&format!("smoke-test | {line}"));
        tail.push(&line);
    };
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut open = true;
    let ended = loop {
        tokio::select! {
            line = lines.recv(), if open => match line {
                Some(line) => show(line, &mut tail),
                None => open = false,
            },
            status = child.wait() => {
                break match status {
                    Ok(status) if status.success() => Ended::Passed,
                    Ok(status) => match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
                        (Some(code), _) => Ended::Failed(SmokeFailure::Exited(code)),
                        (None, Some(signal)) => Ended::Failed(SmokeFailure::Signalled(signal)),
                        (None, None) => Ended::Failed(SmokeFailure::Exited(-1)),
                    },
                    Err(error) => Ended::Failed(SmokeFailure::NotStarted(error.to_string())),
                };
            }
            _ = &mut deadline => {
                stop(&mut child).await;
                break Ended::Failed(SmokeFailure::TimedOut(timeout));
            }
            signal = interrupted(interrupt) => {
                stop(&mut child).await;
                break Ended::Interrupted(signal);
            }
        }
    };
    // What it printed last, bounded: a background process it started may hold the pipe open.
    let drain = tokio::time::sleep(DRAIN);
    tokio::pin!(drain);
    while open {
        tokio::select! {
            line = lines.recv() => match line {
                Some(line) => show(line, &mut tail),
                None => open = false,
            },
            _ = &mut drain => open = false,
        }
    }
    (ended, tail)
}

/// The claimed interruption's signal; never, when the claim passed to someone else.
async fn interrupted(interrupt: &mut Interrupt) -> &'static str {
    match interrupt.wait_for(Option::is_some).await {
        Ok(signal) => signal.unwrap_or("a signal"),
        Err(_) => std::future::pending().await,
    }
}

/// SIGTERM to CMD's process group, SIGKILL after [`GRACE`].
async fn stop(child: &mut Child) {
    let Some(pid) = child.id() else {
        return;
    };
    let group = -(pid as i32);
    // SAFETY: kill(2) with a negative pid signals the process group CMD leads (process_group(0)).
    unsafe {
        libc::kill(group, libc::SIGTERM);
    }
    if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
        // SAFETY: as above.
        unsafe {
            libc::kill(group, libc::SIGKILL);
        }
        let _ = child.wait().await;
    }
    // The rest of the group (CMD's own children) goes too, whatever CMD did with SIGTERM.
    // SAFETY: as above; the group's id is not reused while the reaped leader's group has members.
    unsafe {
        libc::kill(group, libc::SIGKILL);
    }
}

/// Sends each line `reader` gives to `lines` (bytes that are not UTF-8 shown as U+FFFD).
fn forward(reader: impl AsyncRead + Unpin + Send + 'static, lines: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buffer)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(command: &str, timeout: Duration) -> (Ended, Tail) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (_sender, mut interrupt) = tokio::sync::watch::channel(None);
            let environment = [("DEPLOYER_SERVICE", "tutorial-site-service".to_string())];
            run_command(command, &environment, timeout, &mut interrupt).await
        })
    }

    #[test]
    fn cmd_sees_the_gate_variables_and_not_stale_ones() {
        std::env::set_var("DEPLOYER_TEST_URL", "http://stale.example/");
        let (ended, tail) = run(
            "echo \"service=$DEPLOYER_SERVICE url=${DEPLOYER_TEST_URL:-unset}\"",
            Duration::from_secs(30),
        );
        assert_eq!(ended, Ended::Passed);
        assert_eq!(
            tail.lines().collect::<Vec<_>>(),
            ["service=tutorial-site-service url=unset"]
        );
    }

    #[test]
    fn a_failing_cmd_says_its_code_and_keeps_its_last_lines_from_both_streams() {
        let (ended, tail) = run(
            "for i in $(seq 1 15); do echo line $i; done; echo oops >&2; exit 7",
            Duration::from_secs(30),
        );
        assert_eq!(ended, Ended::Failed(SmokeFailure::Exited(7)));
        let lines: Vec<_> = tail.lines().cloned().collect();
        assert_eq!(lines.len(), QUOTED_LINES);
        assert_eq!(lines.last().map(String::as_str), Some("oops"));
    }

    #[test]
    fn a_cmd_past_its_timeout_is_killed_with_its_children() {
        let started = std::time::Instant::now();
        let (ended, _) = run("sleep 600 & sleep 600; wait", Duration::from_millis(300));
        assert_eq!(
            ended,
            Ended::Failed(SmokeFailure::TimedOut(Duration::from_millis(300)))
        );
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}
