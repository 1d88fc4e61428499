//! Failures explained from the tasks' own logs (issue 22, part 3): when a deployment fails or a
//! run-task fails, the last lines of each stopped task's essential containers come below the
//! stopped-task reasons, read through the CloudWatch Logs API as ECS names the streams
//! (`prefix/container/task-id`, "Using the awslogs log driver", ECS developer guide), with the
//! task definition's environment values masked. Logs that cannot be read never change the
//! verdict or the exit code.
use aws_sdk_ecs::types::ContainerDefinition;

use crate::emulator::{faulty_emulator, on, push_site, Service};
use crate::run_task::{container, migration};
use crate::support::{run, stack, unique_repo, write, Api};

/// A value long enough to be masked, in no other output.
const PASSWORD: &str = "hunter2-db-pw-9f3c";

#[test]
fn a_broken_release_shows_its_containers_last_lines_with_environment_values_masked() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let broken_context = tempfile::tempdir().unwrap();
    write(
        broken_context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nCMD [\"sh\", \"-c\", \"echo starting; echo \\\"connecting as site:$DB_PASSWORD@db\\\"; echo 'fatal: database refused the connection'; exit 3\"]\n",
            stack.base_image
        ),
    );
    let broken = push_site(
        &stack.emulator,
        &repo,
        "broken",
        "broken",
        Some(broken_context.path()),
    );
    let service = Service::start(&stack, &stack.emulator, &v1, true);

    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={broken}"),
        "--container-env-var-updates",
        &format!("container=tutorial-site-app,name=DB_PASSWORD,value={PASSWORD}"),
        "--failure-log-lines",
        "2",
    ]);
    result
        .assert_code(1)
        .assert_stderr_contains("Essential container in task exited")
        // Below the stopped-task reasons: the last 2 lines, masked, from the stream ECS names.
        .assert_stderr_contains("last 2 lines of container tutorial-site-app in task ")
        .assert_stderr_contains("(/ecs/tutorial-site-app ecs/tutorial-site-app/")
        .assert_stderr_contains("| connecting as site:[redacted]@db")
        .assert_stderr_contains("| fatal: database refused the connection");
    let stderr = &result.stderr;
    assert!(!stderr.contains(PASSWORD), "the value showed:\n{stderr}");
    assert!(
        !stderr.contains("| starting"),
        "only the last 2 lines:\n{stderr}"
    );
    let reasons = stderr.find("Essential container in task exited").unwrap();
    let logs = stderr.find("| fatal: database refused").unwrap();
    assert!(
        reasons < logs,
        "the lines come below the reasons:\n{stderr}"
    );
    assert!(!result.stdout.contains(PASSWORD), "{}", result.stdout);
    assert_eq!(
        service.pages(),
        ["version 1"],
        "the previous version serves"
    );
}

#[test]
fn a_failed_migration_shows_its_last_lines_masked_and_withholds_a_container_with_secrets() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let notifier = container(
        "notifier",
        &stack.base_image,
        "echo 'notifier up'; sleep 30",
        true,
    );
    let with_secret = ContainerDefinition::builder()
        .name("notifier")
        .image(notifier.image().unwrap())
        .essential(true)
        .memory(64)
        .set_command(Some(notifier.command().to_vec()))
        .set_log_configuration(notifier.log_configuration().cloned())
        .secrets(
            aws_sdk_ecs::types::Secret::builder()
                .name("SLACK_TOKEN")
                .value_from("arn:aws:ssm:eu-west-1:123456789012:parameter/slack")
                .build()
                .unwrap(),
        )
        .build();
    let (cluster, family) = migration(
        &api,
        // The notifier first: in the emulator the other containers join the first one's
        // network namespace, which must still be there when they start.
        vec![
            with_secret,
            container(
                "migrate",
                &stack.base_image,
                "echo 'migrating'; echo \"using $DATABASE_URL\"; echo 'relation users already exists'; exit 3",
                true,
            ),
        ],
    );
    let url = format!("postgres://site:{PASSWORD}@db.internal/site");
    let flags = |extra: &[&str]| {
        let mut command = on(&stack.emulator);
        command
            .args([
                "run-task",
                "--cluster",
                &cluster,
                "--task-definition",
                &family,
            ])
            .args(["--container", "migrate", "--env"])
            .arg(format!("DATABASE_URL={url}"))
            .args(["--wait", "--poll-interval", "500ms", "--timeout", "90s"])
            .args(extra);
        command
    };

    // Without --logs, the lines were not shown while the task ran: its last ones are.
    let result = run(&mut flags(&["--no-logs"]));
    result
        .assert_code(3)
        .assert_stderr_contains("container migrate exited 3")
        .assert_stderr_contains("last 3 lines of container migrate in task ")
        .assert_stderr_contains("| using [redacted]")
        .assert_stderr_contains("| relation users already exists")
        .assert_stderr_contains("the lines of container notifier in task ")
        .assert_stderr_contains(
            "its environment gets 1 secret whose values deployer does not know",
        );
    assert!(!result.stderr.contains(PASSWORD), "{}", result.stderr);
    assert!(!result.stderr.contains("notifier up"), "{}", result.stderr);

    // Followed (the default), every line showed once, masked too; nothing is repeated.
    let result = run(&mut flags(&[]));
    result
        .assert_code(3)
        .assert_stderr_contains("migrate: using [redacted]");
    assert!(!result.stderr.contains(PASSWORD), "{}", result.stderr);
    assert!(
        !result.stderr.contains("last 3 lines"),
        "the lines already showed:\n{}",
        result.stderr
    );

    // 0 turns them off.
    let result = run(&mut flags(&["--no-logs", "--failure-log-lines", "0"]));
    result.assert_code(3);
    assert!(!result.stderr.contains("| "), "{}", result.stderr);
}

#[test]
fn logs_that_cannot_be_read_are_one_line_and_the_exit_code_stays() {
    let stack = stack();
    let emulator = faulty_emulator(&["--deny-operation".into(), "GetLogEvents".into()]);
    let api = Api::at(&emulator.endpoint);
    let (cluster, family) = migration(
        &api,
        vec![container(
            "migrate",
            &stack.base_image,
            "echo 'relation users already exists'; exit 3",
            true,
        )],
    );
    let result = run(on(&emulator.endpoint).args([
        "run-task",
        "--cluster",
        &cluster,
        "--task-definition",
        &family,
        "--wait",
        "--no-logs",
        "--poll-interval",
        "500ms",
        "--timeout",
        "90s",
    ]));
    result
        .assert_code(3)
        .assert_stderr_contains("container migrate exited 3")
        .assert_stderr_contains(
            "the tasks' log lines cannot be shown: logs:GetLogEvents was refused",
        );
    assert_eq!(
        result
            .stderr
            .lines()
            .filter(|line| line.contains("GetLogEvents"))
            .count(),
        1,
        "one line:\n{}",
        result.stderr
    );
}

#[test]
fn a_bad_failure_log_lines_is_exit_2_before_anything_is_called() {
    let root = std::path::Path::new("/");
    for (args, expected) in [
        (
            &[
                "update-service",
                "--cluster",
                "tutorial-site-cluster",
                "--family",
                "tutorial-site-task",
                "--failure-log-lines",
                "-1",
            ][..],
            "--failure-log-lines",
        ),
        (
            &[
                "update-service",
                "--cluster",
                "tutorial-site-cluster",
                "--family",
                "tutorial-site-task",
                "--no-wait",
                "--failure-log-lines",
                "5",
            ][..],
            "--no-wait",
        ),
        (
            &[
                "run-task",
                "--cluster",
                "tutorial-site-cluster",
                "--task-definition",
                "tutorial-site-task",
                "--failure-log-lines",
                "5",
            ][..],
            "--wait",
        ),
    ] {
        // No endpoint answers here: an exit 2 proves nothing was called.
        let result = run(crate::support::deployer(root)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .args(args));
        result.assert_code(2).assert_stderr_contains(expected);
    }
}

/// moto's CloudWatch Logs checks the GetLogEvents request deployer reads the last lines with:
/// without `startFromHead` it answers the newest events, oldest first within the page, up to
/// `limit` (GetLogEvents, CloudWatch Logs API reference).
/// moto's tasks never stop by themselves: the test writes the task's lines where ECS's awslogs
/// driver would (`ecs/migrate/TASK-ID` in the task definition's group), then stops the task
/// deployer is waiting for; deployer reads the lines only once the task has stopped.
#[test]
fn moto_a_stopped_migrations_last_lines_are_read_from_cloudwatch_logs() {
    use crate::run_task::{moto_ecs, moto_migration, moto_tasks};
    let stack = stack();
    let api = Api::moto(&stack);
    let (cluster, family) = moto_migration(&stack, &api);
    let url = format!("postgres://site:{PASSWORD}@db.internal/site");
    let mut child = crate::support::deployer(std::path::Path::new("/"))
        .args([
            "run-task",
            "--cluster",
            &cluster,
            "--task-definition",
            &family,
        ])
        .args([
            "--launch-type",
            "EC2",
            "--wait",
            "--no-logs",
            "--poll-interval",
            "500ms",
        ])
        .arg("--env")
        .arg(format!("DATABASE_URL={url}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = crate::support::StderrSoFar::read(&mut child);
    stderr.wait_for("started task", std::time::Duration::from_secs(30));
    let task = moto_tasks(&stack, &cluster).remove(0);
    let arn = task["taskArn"].as_str().unwrap().to_string();
    let id = arn.rsplit('/').next().unwrap();
    let logs = |target: &str, body: serde_json::Value| {
        ureq::post(&stack.moto)
            .set("X-Amz-Target", &format!("Logs_20140328.{target}"))
            .set("Content-Type", "application/x-amz-json-1.1")
            .set(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261207/eu-west-1/logs/aws4_request, SignedHeaders=host, Signature=0",
            )
            .send_string(&body.to_string())
            .is_ok()
    };
    // The group may exist from another test: only its creation may be refused.
    let _ = logs(
        "CreateLogGroup",
        serde_json::json!({"logGroupName": "/ecs/tutorial-site-migrate"}),
    );
    let stream = format!("ecs/migrate/{id}");
    logs(
        "CreateLogStream",
        serde_json::json!({"logGroupName": "/ecs/tutorial-site-migrate", "logStreamName": stream}),
    );
    let now = 1_796_000_000_000_i64;
    let events: Vec<serde_json::Value> = [
        "applying migration 0002_add_visit_counter".to_string(),
        format!("connecting to {url}"),
        "ERROR: relation visits already exists".to_string(),
    ]
    .iter()
    .enumerate()
    .map(|(n, message)| serde_json::json!({"timestamp": now + n as i64, "message": message}))
    .collect();
    logs(
        "PutLogEvents",
        serde_json::json!({"logGroupName": "/ecs/tutorial-site-migrate", "logStreamName": stream, "logEvents": events}),
    );
    moto_ecs(
        &stack,
        "StopTask",
        serde_json::json!({"cluster": cluster, "task": arn, "reason": "stopped by the test"}),
    );
    let status = child.wait().unwrap();
    let stderr = stderr.until_exit();
    assert_eq!(status.code(), Some(1), "{stderr}");
    for expected in [
        format!(
            "last 3 lines of container migrate in task {id} (/ecs/tutorial-site-migrate {stream}):"
        ),
        "| applying migration 0002_add_visit_counter".to_string(),
        "| connecting to [redacted]".to_string(),
        "| ERROR: relation visits already exists".to_string(),
    ] {
        assert!(stderr.contains(&expected), "no {expected:?} in\n{stderr}");
    }
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}
