//! The real binary waiting on a scripted ECS endpoint (tests/scripted_ecs.py) whose deployment
//! completes after a set time: the wait ends when it does, and a SIGTERM stops the wait with a
//! word that ECS carries on.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::deployer;

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
    std::thread::sleep(Duration::from_millis(1500));
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
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("ECS continues deployment ecs-svc/2"),
        "{stderr}"
    );
}
