//! `deployer run-task`: one-off tasks such as a migration before a deploy. On the emulator the
//! tasks are real containers whose output comes back through the CloudWatch Logs API; on moto a
//! server nobody here wrote checks the RunTask request.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{ContainerDefinition, DesiredStatus, LogConfiguration, LogDriver, Task};

use crate::emulator::on;
use crate::support::{deployer, run, stack, unique_repo, Api, Run, Stack};

/// A container of a migration's task definition: the stack's busybox running `command`, logging
/// through `awslogs` to /ecs/tutorial-site-migrate with the prefix `ecs`.
pub(crate) fn container(
    name: &str,
    image: &str,
    command: &str,
    essential: bool,
) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(name)
        .image(image)
        .essential(essential)
        .memory(64)
        .command("sh")
        .command("-c")
        .command(command)
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/tutorial-site-migrate")
                .options("awslogs-region", "eu-west-1")
                .options("awslogs-stream-prefix", "ecs")
                .build()
                .unwrap(),
        )
        .build()
}

/// A cluster and a migration family of these containers (bridge network mode), both unique.
pub(crate) fn migration(api: &Api, containers: Vec<ContainerDefinition>) -> (String, String) {
    let cluster = unique_repo("tutorial-site-cluster");
    let family = unique_repo("tutorial-site-migrate");
    api.block_on(api.ecs.create_cluster().cluster_name(&cluster).send())
        .unwrap();
    api.block_on(
        api.ecs
            .register_task_definition()
            .family(&family)
            .set_container_definitions(Some(containers))
            .send(),
    )
    .unwrap();
    (cluster, family)
}

fn run_task(endpoint: &str, cluster: &str, family: &str, flags: &[&str]) -> Command {
    let mut command = on(endpoint);
    command
        .args([
            "run-task",
            "--cluster",
            cluster,
            "--task-definition",
            family,
        ])
        .args(flags);
    command
}

/// Every task of the cluster, whatever its desired status, as DescribeTasks answers.
fn tasks(api: &Api, cluster: &str) -> Vec<Task> {
    let mut arns = Vec::new();
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let listed = api
            .block_on(
                api.ecs
                    .list_tasks()
                    .cluster(cluster)
                    .desired_status(status)
                    .send(),
            )
            .unwrap();
        arns.extend(listed.task_arns().iter().cloned());
    }
    if arns.is_empty() {
        return Vec::new();
    }
    api.block_on(
        api.ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns))
            .send(),
    )
    .unwrap()
    .tasks()
    .to_vec()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_migration_that_succeeds_shows_each_log_line_once_and_exits_0() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![container(
            "migrate",
            &stack.base_image,
            "echo 'migration 1 of 2 applied'; sleep 1; echo 'migration 2 of 2 applied' >&2",
            true,
        )],
    );
    let exports = tempfile::NamedTempFile::new().unwrap();
    let result = run(run_task(&stack.emulator, &cluster, &family, &["--wait"])
        .args(["--poll-interval", "500ms", "--timeout", "90s"])
        .arg("--export-env")
        .arg(exports.path()));
    result.assert_code(0);
    for line in [
        "migrate: migration 1 of 2 applied",
        "migrate: migration 2 of 2 applied",
    ] {
        assert_eq!(count(&result.stderr, line), 1, "{line}\n{}", result.stderr);
    }
    let first = result.stderr.find("migration 1 of 2").unwrap();
    assert!(first < result.stderr.find("migration 2 of 2").unwrap());
    result
        .assert_stderr_contains("Essential container in task exited (EssentialContainerExited)")
        .assert_stderr_contains("container migrate exited 0");
    let recorded = tasks(&api, &cluster);
    assert_eq!(recorded.len(), 1);
    let arn = recorded[0].task_arn().unwrap();
    assert_eq!(result.stdout.trim(), arn, "stdout is the task ARN");
    assert_eq!(recorded[0].last_status(), Some("STOPPED"));
    assert_eq!(
        recorded[0].group(),
        Some(format!("family:{family}").as_str())
    );
    let exported = crate::support::exported_to_later_steps(exports.path());
    assert_eq!(
        exported.get("DEPLOYER_TASK_ARNS").map(String::as_str),
        Some(arn)
    );
    assert_eq!(
        exported.get("DEPLOYER_TASK_EXIT_CODE").map(String::as_str),
        Some("0")
    );
}

#[test]
fn a_migration_whose_container_exits_3_makes_deployer_exit_3() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![container(
            "migrate",
            &stack.base_image,
            "echo 'relation users already exists'; exit 3",
            true,
        )],
    );
    let result = run(
        run_task(&stack.emulator, &cluster, &family, &["--wait"]).args([
            "--poll-interval",
            "500ms",
            "--timeout",
            "90s",
            "--output",
            "json",
        ]),
    );
    result
        .assert_code(3)
        .assert_stderr_contains("migrate: relation users already exists")
        .assert_stderr_contains("container migrate exited 3");
    let outcome: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(outcome["exitCode"], 3);
    assert_eq!(outcome["tasks"][0]["lastStatus"], "STOPPED");
    assert_eq!(outcome["tasks"][0]["stopCode"], "EssentialContainerExited");
    assert_eq!(outcome["tasks"][0]["containers"][0]["exitCode"], 3);
}

#[test]
fn a_migration_whose_image_does_not_exist_fails_with_ecs_reason() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let missing = format!("{}/{}:v1", stack.registry, unique_repo("no-such-image"));
    let (cluster, family) = migration(&api, vec![container("migrate", &missing, "true", true)]);
    let result = run(
        run_task(&stack.emulator, &cluster, &family, &["--wait"]).args([
            "--poll-interval",
            "500ms",
            "--timeout",
            "90s",
        ]),
    );
    result
        .assert_code(1)
        .assert_stderr_contains("failed to start: CannotPullContainerError")
        .assert_stderr_contains("(TaskFailedToStart)");
    let recorded = tasks(&api, &cluster);
    assert_eq!(
        recorded[0].stop_code().map(|c| c.as_str()),
        Some("TaskFailedToStart")
    );
}

#[test]
fn command_and_env_flags_reach_the_container() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![container(
            "migrate",
            &stack.base_image,
            "echo 'default command'",
            true,
        )],
    );
    let result = run(run_task(&stack.emulator, &cluster, &family, &["--wait"])
        .args([
            "--command",
            "sh -c 'echo \"migrating to $TARGET in $MODE\" | tr a-z A-Z'",
        ])
        .args(["--env", "TARGET=v2", "--env", "MODE=dry run"])
        .args(["--poll-interval", "500ms", "--timeout", "90s"]));
    // Upper-cased by the container: an environment value itself would show masked.
    result
        .assert_code(0)
        .assert_stderr_contains("migrate: MIGRATING TO V2 IN DRY RUN");
    assert!(
        !result.stderr.contains("default command"),
        "{}",
        result.stderr
    );
    let recorded = tasks(&api, &cluster);
    let overrides = recorded[0].overrides().unwrap().container_overrides();
    assert_eq!(overrides[0].name(), Some("migrate"));
    assert_eq!(
        overrides[0].command(),
        [
            "sh",
            "-c",
            "echo \"migrating to $TARGET in $MODE\" | tr a-z A-Z"
        ]
    );
}

#[test]
fn several_essential_containers_need_container_and_nothing_starts() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![
            container("migrate", &stack.base_image, "true", true),
            container("seed", &stack.base_image, "true", true),
        ],
    );
    let result = run(&mut run_task(
        &stack.emulator,
        &cluster,
        &family,
        &["--command", "true"],
    ));
    result.assert_code(2).assert_stderr_contains(
        "several essential containers (migrate, seed): name one with --container",
    );
    assert!(result.stdout.is_empty());
    let waiting = run(&mut run_task(
        &stack.emulator,
        &cluster,
        &family,
        &["--wait"],
    ));
    waiting
        .assert_code(2)
        .assert_stderr_contains("name one with --exit-code-from");
    assert!(tasks(&api, &cluster).is_empty(), "nothing was started");
}

#[test]
fn stop_on_cancel_stops_the_task_when_deployer_gets_sigterm() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![container(
            "migrate",
            &stack.base_image,
            "echo started; sleep 600",
            true,
        )],
    );
    let child = run_task(
        &stack.emulator,
        &cluster,
        &family,
        &["--wait", "--stop-on-cancel"],
    )
    .args(["--poll-interval", "500ms"])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running = tasks(&api, &cluster)
            .iter()
            .any(|task| task.last_status() == Some("RUNNING"));
        if running {
            break;
        }
        assert!(Instant::now() < deadline, "the task never ran");
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let result = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    result
        .assert_code(130)
        .assert_stderr_contains("interrupted by SIGTERM")
        .assert_stderr_contains("stopped task");
    let recorded = tasks(&api, &cluster);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].desired_status(), Some("STOPPED"));
    assert!(
        recorded[0]
            .stopped_reason()
            .is_some_and(|reason| reason.contains("deployer run-task --stop-on-cancel")),
        "{:?}",
        recorded[0].stopped_reason()
    );
    assert_eq!(
        recorded[0].stop_code().map(|c| c.as_str()),
        Some("UserInitiated")
    );
}

/// An EC2 instance moto runs (moto checks that a container instance's EC2 instance exists).
fn moto_instance(stack: &Stack) -> String {
    let response = ureq::post(&stack.moto)
        .set(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send_form(&[
            ("Action", "RunInstances"),
            ("Version", "2016-11-15"),
            ("ImageId", "ami-12c6146b"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
        ])
        .expect("moto answers EC2")
        .into_string()
        .unwrap();
    response
        .split("<instanceId>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("an instance ID")
        .to_string()
}

/// On moto: a cluster with one EC2 container instance to place tasks on, and a family.
pub(crate) fn moto_migration(stack: &Stack, api: &Api) -> (String, String) {
    let (cluster, family) = migration(
        api,
        vec![container("migrate", "busybox:stable", "./migrate up", true)],
    );
    let document = serde_json::json!({"instanceId": moto_instance(stack), "region": "eu-west-1"});
    api.block_on(
        api.ecs
            .register_container_instance()
            .cluster(&cluster)
            .instance_identity_document(document.to_string())
            .send(),
    )
    .unwrap();
    (cluster, family)
}

/// moto's ECS answer to `target` as JSON (moto sends containers' `cpu` and `memory` as numbers,
/// which the SDK's types refuse, and does not check signatures).
pub(crate) fn moto_ecs(stack: &Stack, target: &str, body: serde_json::Value) -> serde_json::Value {
    let response = ureq::post(&stack.moto)
        .set("X-Amz-Target", &format!("AmazonEC2ContainerServiceV20141113.{target}"))
        .set("Content-Type", "application/x-amz-json-1.1")
        .set(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send_string(&body.to_string())
        .expect("moto answers ECS");
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

/// Every task moto records in the cluster, with its tags.
pub(crate) fn moto_tasks(stack: &Stack, cluster: &str) -> Vec<serde_json::Value> {
    let listed = moto_ecs(stack, "ListTasks", serde_json::json!({"cluster": cluster}));
    let arns = listed["taskArns"].as_array().cloned().unwrap_or_default();
    if arns.is_empty() {
        return Vec::new();
    }
    let described = moto_ecs(
        stack,
        "DescribeTasks",
        serde_json::json!({"cluster": cluster, "tasks": arns, "include": ["TAGS"]}),
    );
    described["tasks"].as_array().cloned().unwrap_or_default()
}

#[test]
fn moto_accepts_the_run_task_request_with_every_setting() {
    let stack = stack();
    let api = Api::moto(&stack);
    let (cluster, family) = moto_migration(&stack, &api);
    let result = run(deployer(Path::new("/"))
        .args([
            "run-task",
            "--cluster",
            &cluster,
            "--task-definition",
            &family,
        ])
        .args([
            "--count",
            "2",
            "--started-by",
            "circleci-1234",
            "--group",
            "migrations",
        ])
        .args(["--placement-constraints", "type=distinctInstance"])
        .args([
            "--placement-strategy",
            r#"[{"type":"spread","field":"attribute:ecs.availability-zone"}]"#,
        ])
        .args(["--launch-type", "EC2", "--tags", "team=web,job=migrate"])
        .args([
            "--overrides",
            r#"{"containerOverrides":[{"name":"migrate","command":["./migrate","status"]}]}"#,
        ])
        .args(["--env", "TARGET=v2"]));
    result.assert_code(0);
    let arns: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(arns.len(), 2, "{}", result.stdout);
    let recorded = moto_tasks(&stack, &cluster);
    assert_eq!(recorded.len(), 2);
    for task in &recorded {
        assert!(arns.contains(&task["taskArn"].as_str().unwrap()));
        assert_eq!(task["startedBy"], "circleci-1234");
        assert_eq!(task["group"], "migrations");
        assert_eq!(task["launchType"], "EC2");
        assert_eq!(
            task["tags"],
            serde_json::json!([{"key": "team", "value": "web"}, {"key": "job", "value": "migrate"}])
        );
        assert_eq!(
            task["overrides"],
            serde_json::json!({"containerOverrides": [{
                "name": "migrate",
                "command": ["./migrate", "status"],
                "environment": [{"name": "TARGET", "value": "v2"}]
            }]})
        );
    }
}

#[test]
fn moto_a_missing_task_definition_is_exit_2_with_nothing_started() {
    let stack = stack();
    let api = Api::moto(&stack);
    let (cluster, family) = moto_migration(&stack, &api);
    let missing = format!("{family}-missing");
    let result = run(deployer(Path::new("/")).args([
        "run-task",
        "--cluster",
        &cluster,
        "--task-definition",
        &missing,
    ]));
    result
        .assert_code(2)
        .assert_stderr_contains(&format!("task definition {missing} does not exist"))
        .assert_stderr_contains("check --task-definition");
    assert!(result.stdout.is_empty());
    assert!(moto_tasks(&stack, &cluster).is_empty());
    // The RunTask input of a dry run is data; nothing starts either.
    let dry = run(deployer(Path::new("/"))
        .args([
            "run-task",
            "--cluster",
            &cluster,
            "--task-definition",
            &family,
        ])
        .args(["--dry-run", "--command", "./migrate status"])
        .args([
            "--placement-constraints",
            r#"type=memberOf,expression="attribute:ecs.instance-type =~ t3.*""#,
        ])
        .args([
            "--placement-strategy",
            "type=spread,field=instanceId type=binpack,field=memory",
        ])
        .args([
            "--capacity-provider-strategy",
            "capacityProvider=spot,weight=3 capacityProvider=on-demand,base=1",
        ]));
    dry.assert_code(0);
    let input: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    assert!(input["taskDefinition"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{family}:1")));
    assert_eq!(
        input["overrides"]["containerOverrides"][0]["command"],
        serde_json::json!(["./migrate", "status"])
    );
    assert_eq!(
        input["placementConstraints"],
        serde_json::json!([{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}])
    );
    assert_eq!(
        input["placementStrategy"],
        serde_json::json!([{"type": "spread", "field": "instanceId"}, {"type": "binpack", "field": "memory"}])
    );
    assert_eq!(
        input["capacityProviderStrategy"],
        serde_json::json!([{"capacityProvider": "spot", "weight": 3}, {"capacityProvider": "on-demand", "base": 1}])
    );
    assert!(moto_tasks(&stack, &cluster).is_empty());
}

#[test]
fn moto_a_task_definition_file_is_registered_then_run_and_a_bad_one_changes_nothing() {
    let stack = stack();
    let api = Api::moto(&stack);
    let (cluster, family) = moto_migration(&stack, &api);
    let dir = tempfile::tempdir().unwrap();
    // A describe-task-definition answer kept in the repository, describe-only fields and all.
    let file = crate::support::write(
        dir.path(),
        "migrate.json",
        &serde_json::json!({"taskDefinition": {
            "family": family,
            "taskDefinitionArn": format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:1"),
            "revision": 1,
            "status": "ACTIVE",
            "networkMode": null,
            "containerDefinitions": [{"name": "migrate", "image": "busybox:stable", "memory": 64,
                                      "essential": true, "command": ["./migrate", "up"]}]
        }})
        .to_string(),
    );
    let run_file = |path: &Path| {
        run(deployer(Path::new("/"))
            .args(["run-task", "--cluster", &cluster, "--launch-type", "EC2"])
            .arg("--task-definition-file")
            .arg(path))
    };
    let result = run_file(&file);
    result
        .assert_code(0)
        .assert_stderr_contains("left out what RegisterTaskDefinition does not take");
    let revisions = api.revisions(&family);
    assert_eq!(revisions.len(), 2, "the file was registered as revision 2");
    let recorded = moto_tasks(&stack, &cluster);
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0]["taskDefinitionArn"].as_str(),
        Some(revisions[1].as_str()),
        "the task runs the revision registered from the file"
    );

    let bad = crate::support::write(
        dir.path(),
        "bad.json",
        &serde_json::json!({"family": family, "containerDefinitions": [{"name": "migrate"}]})
            .to_string(),
    );
    let refused = run_file(&bad);
    refused
        .assert_code(2)
        .assert_stderr_contains("container migrate has no image");
    assert!(refused.stdout.is_empty());
    assert_eq!(api.revisions(&family).len(), 2, "nothing registered");
    assert_eq!(moto_tasks(&stack, &cluster).len(), 1, "nothing started");
}

/// Issue 19, defect 7: a migration stopped from outside (here StopTask, UserInitiated; on AWS
/// also a Spot interruption or a termination notice) whose container exits 0 on SIGTERM did not
/// finish: run-task is exit 1 naming the stop code and reason, not a success.
#[test]
fn a_migration_stopped_from_outside_is_a_failure_even_when_it_exits_0() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![container(
            "migrate",
            &stack.base_image,
            "trap 'echo interrupted; exit 0' TERM; echo started; sleep 600 & wait",
            true,
        )],
    );
    let child = run_task(&stack.emulator, &cluster, &family, &["--wait"])
        .args(["--poll-interval", "300ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let task = loop {
        if let Some(task) = tasks(&api, &cluster)
            .into_iter()
            .find(|task| task.last_status() == Some("RUNNING"))
        {
            break task;
        }
        assert!(Instant::now() < deadline, "the task never ran");
        std::thread::sleep(Duration::from_millis(300));
    };
    api.block_on(
        api.ecs
            .stop_task()
            .cluster(&cluster)
            .task(task.task_arn().unwrap())
            .reason("Task stopped by the on-call engineer")
            .send(),
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let result = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    result.assert_code(1).assert_stderr_contains(
        "was stopped from outside (UserInitiated: Task stopped by the on-call engineer)",
    );
}
