//! The real binary waiting on a scripted ECS endpoint (tests/scripted_ecs.py) whose deployment
//! completes after a set time: the wait ends when it does, and a SIGTERM stops the wait with a
//! word that ECS carries on. The endpoint also plays what real ECS does at times: answers that lag
//! behind UpdateService, old placement events, a service at desired count 0, an UpdateService
//! that fails after the revision was registered.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{deployer, StderrSoFar};

struct ScriptedEcs {
    child: Child,
    endpoint: String,
    _dir: tempfile::TempDir,
}

impl Drop for ScriptedEcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scripted_ecs(rollout_seconds: f64) -> ScriptedEcs {
    scripted_ecs_with(rollout_seconds, &[])
}

/// The scripted endpoint with options of `tests/scripted_ecs.py` (`--stale-polls 3`, …).
fn scripted_ecs_with(rollout_seconds: f64, options: &[&str]) -> ScriptedEcs {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/scripted_ecs.py"
        ))
        .args([
            "--port",
            &port.to_string(),
            "--rollout-seconds",
            &rollout_seconds.to_string(),
        ])
        .arg("--flip-file")
        .arg(dir.path().join("flip"))
        .args(options)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the scripted ECS endpoint did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    ScriptedEcs {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    }
}

fn update_service(endpoint: &str) -> Command {
    let mut command = deployer(std::path::Path::new("/"));
    command.env("AWS_ENDPOINT_URL", endpoint).args([
        "update-service",
        "--cluster",
        "tutorial-site-cluster",
        "--family",
        "tutorial-site-task",
        "--service",
        "tutorial-site-service",
        "--skip-task-definition-registration",
        "--poll-interval",
        "200ms",
    ]);
    command.args(crate::support::record_flag());
    command
}

#[test]
fn the_wait_ends_when_our_deployment_completes_and_shows_each_change_once() {
    let ecs = scripted_ecs(0.0);
    let output = update_service(&ecs.endpoint).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("deployment ecs-svc/2 of tutorial-site-task:1 is completed"),
        "{stderr}"
    );
    let in_progress =
        "deployment ecs-svc/2 PRIMARY tutorial-site-task:1 running 0/1 pending 1 IN_PROGRESS";
    assert!(
        stderr.matches(in_progress).count() <= 1,
        "deployment lines only on change: {stderr}"
    );
}

#[test]
fn sigterm_stops_waiting_and_says_ecs_carries_on() {
    let ecs = scripted_ecs(60.0);
    let mut child = update_service(&ecs.endpoint)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Signalled once it waits on our deployment, whatever the machine's load, not after a guess.
    let stderr_so_far = StderrSoFar::read(&mut child);
    stderr_so_far.wait_for("deployment ecs-svc/2", Duration::from_secs(60));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "deployer did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = stderr_so_far.until_exit();
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("ECS continues deployment ecs-svc/2"),
        "{stderr}"
    );
}

fn run_scripted(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn answers_that_lag_behind_update_service_are_waited_through() {
    let ecs = scripted_ecs_with(0.5, &["--stale-polls", "3"]);
    let (code, _, stderr) = run_scripted(&mut update_service(&ecs.endpoint));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("ECS does not list deployment ecs-svc/2 yet"),
        "{stderr}"
    );
    assert!(
        stderr.contains("deployment ecs-svc/2 of tutorial-site-task:1 is completed"),
        "{stderr}"
    );
}

#[test]
fn placement_failures_from_before_the_update_do_not_fail_it() {
    let ecs = scripted_ecs_with(0.5, &["--old-placement-event"]);
    let (code, _, stderr) =
        run_scripted(update_service(&ecs.endpoint).arg("--fail-on-placement-errors"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stderr.contains("unable to place"),
        "old events are history: {stderr}"
    );
}

#[test]
fn a_service_at_desired_count_zero_is_reported_as_such() {
    let ecs = scripted_ecs_with(0.0, &["--desired-count", "0"]);
    let (code, stdout, stderr) =
        run_scripted(update_service(&ecs.endpoint).args(["--output", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("the service's desired count is 0"),
        "{stderr}"
    );
    assert!(!stderr.contains("is completed"), "{stderr}");
    let outcome: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(outcome["result"], "no-tasks");
}

#[test]
fn a_failure_after_registering_exits_4_and_says_what_was_done() {
    let ecs = scripted_ecs_with(0.0, &["--update-error", "InvalidParameterException"]);
    let mut command = deployer(std::path::Path::new("/"));
    command.env("AWS_ENDPOINT_URL", &ecs.endpoint).args([
        "update-service",
        "--cluster",
        "tutorial-site-cluster",
        "--family",
        "tutorial-site-task",
        "--service",
        "tutorial-site-service",
        "--container-env-var-updates",
        "container=tutorial-site-app,name=VERSION,value=v2",
    ]);
    let (code, stdout, stderr) = run_scripted(&mut command);
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("scripted failure of UpdateService"),
        "{stderr}"
    );
    assert!(
        stderr.contains("already done: registered arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the service was not updated: it still runs tutorial-site-task:1"),
        "{stderr}"
    );
}
