//! Recordings (`deployer --record`) replayed: each file in tests/replays is a deploy recorded
//! against the emulator, scripted ECS or a user's real AWS account; a server answers the same
//! calls in the same order (tests/replay_aws.py), and deployer must come to the verdict and exit
//! code the recording says it came to. A deploy a user reports becomes a test by dropping its
//! recording in that folder.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::emulator::free_port;
use crate::support::{deployer, run};

struct Replay {
    child: Child,
    endpoint: String,
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replay_server(recording: &Path) -> Replay {
    let port = free_port();
    let child = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/replay_aws.py"))
        .arg(recording)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the replay server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Replay {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

/// The recorded command line, ready to run again: values the recording hides (`…`) are left
/// out with their flag, as are the files it wrote (`--record`, `--export-env`, `--output-file`)
/// and the poll interval (the replay polls fast).
fn replayable_args(header: &Value) -> Vec<String> {
    let recorded: Vec<String> = header["args"]
        .as_array()
        .expect("a recording starts with deployer's arguments")
        .iter()
        .map(|arg| arg.as_str().unwrap_or_default().to_string())
        .collect();
    let mut args = Vec::new();
    let mut index = 0;
    while index < recorded.len() {
        let arg = &recorded[index];
        let next = recorded.get(index + 1);
        let hidden = next.is_some_and(|value| value.contains('…') || value.contains("<set>"));
        let written_file = matches!(arg.as_str(), "--record" | "--export-env" | "--output-file");
        if written_file || arg == "--poll-interval" || (arg.starts_with("--") && hidden) {
            index += 2;
            continue;
        }
        args.push(arg.clone());
        index += 1;
    }
    args.extend(["--poll-interval".to_string(), "20ms".to_string()]);
    args
}

fn recordings() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/replays");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_recorded_deploy_replays_to_the_same_verdict_and_exit_code() {
    let files = recordings();
    assert!(!files.is_empty(), "tests/replays holds recordings");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let header = &lines[0];
        let expected = lines
            .last()
            .and_then(|last| last["exit"].as_i64())
            .unwrap_or_else(|| {
                panic!(
                    "{}: the recording ends with deployer's exit code",
                    file.display()
                )
            });
        let server = replay_server(&file);
        let args = replayable_args(header);
        let result = run(deployer(Path::new("/"))
            .env("AWS_ENDPOINT_URL", &server.endpoint)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDREPLAY")
            .env("AWS_SECRET_ACCESS_KEY", "replay-secret")
            .args(&args));
        assert_eq!(
            i64::from(result.code),
            expected,
            "{} replayed as {args:?}:\n{}",
            file.display(),
            result.stderr
        );
    }
}

/// `--record` writes one line per AWS call with the request and the answer, and never an
/// environment value, a secret's source or a key; it is opened before anything is called.
#[test]
fn a_recording_holds_every_call_and_no_secret() {
    let crate::support::MotoSeed {
        ecs,
        family,
        cluster,
        service,
        ..
    } = crate::support::moto_seed();
    // The plan checks that the secret's parameter exists (deployer verify): it does, with a
    // value, which the recording must not hold either.
    ecs.put_parameter("/tutorial-site/source-s3cr3t", "parameter-s3cr3t-value");
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("deploy.jsonl");
    let result = run(deployer(dir.path()).args([
        "update-service",
        "--family",
        &family,
        "--cluster",
        &cluster,
        "--service",
        &service,
        "--no-wait",
        "--container-env-var-updates",
        "container=tutorial-site-app,name=DB_PASSWORD,value=recorded-s3cr3t",
        "--container-secret-updates",
        "container=tutorial-site-app,name=API_TOKEN,valueFrom=/tutorial-site/source-s3cr3t",
        "--record",
        recording.to_str().unwrap(),
    ]));
    result.assert_code(0);
    let text = std::fs::read_to_string(&recording).unwrap();
    for secret in [
        "recorded-s3cr3t",
        "source-s3cr3t",
        "parameter-s3cr3t-value",
        std::env::var("AWS_SECRET_ACCESS_KEY").unwrap().as_str(),
    ] {
        assert!(
            !text.contains(secret),
            "the recording holds a secret: {text}"
        );
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["deployer"], env!("CARGO_PKG_VERSION"));
    assert!(lines[0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "update-service"));
    let operations: Vec<&str> = lines
        .iter()
        .filter_map(|line| line["operation"].as_str())
        .collect();
    for operation in [
        "DescribeServices",
        "DescribeTaskDefinition",
        "RegisterTaskDefinition",
        "UpdateService",
    ] {
        assert!(
            operations.contains(&operation),
            "{operation} recorded: {operations:?}"
        );
    }
    let register = lines
        .iter()
        .find(|line| line["operation"] == "RegisterTaskDefinition")
        .unwrap();
    assert_eq!(register["status"], 200);
    let environment = &register["request"]["containerDefinitions"][0]["environment"];
    assert!(
        environment
            .as_array()
            .unwrap()
            .iter()
            .any(|variable| variable["name"] == "DB_PASSWORD" && variable["value"] == "<set>"),
        "{environment}"
    );
    assert_eq!(lines.last().unwrap()["exit"], 0);
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&recording).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // A path that cannot be written: refused before any call.
    let refused = run(deployer(dir.path()).args([
        "update-service",
        "--family",
        &family,
        "--cluster",
        &cluster,
        "--service",
        &service,
        "--record",
        "/nonexistent/dir/deploy.jsonl",
    ]));
    refused
        .assert_code(2)
        .assert_stderr_contains("cannot write --record file");
    assert_eq!(ecs.revisions(&family).len(), 2, "nothing more registered");
}
