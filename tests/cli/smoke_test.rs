//! Issue 22, the gate: `--smoke-test CMD` on the emulator's blue/green services. deployer adds
//! a PAUSE hook at POST_TEST_TRAFFIC_SHIFT where the service has none, runs CMD once ECS waits
//! there with test traffic on the new revision, then ContinueServiceDeployment CONTINUE (the
//! deployment ends SUCCESSFUL) or ROLLBACK (ROLLBACK_SUCCESSFUL, exit 1, production traffic never
//! reached the new revision). Each test runs its own emulator (a minute lasts 500 ms there).
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ecs::types::{DeploymentConfiguration, DeploymentStrategy};

use crate::emulator::on;
use crate::strategies::Site;
use crate::support::{run, stack, Run, StderrSoFar};

/// The arguments of update-service deploying v2 (the family's latest revision) as it is.
fn update_v2_args(site: &Site, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "update-service",
        "--family",
        &site.family(),
        "--skip-task-definition-registration",
        "--poll-interval",
        "300ms",
        "--cluster",
        &site.cluster,
        "--service",
        &site.service,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(crate::support::record_flag());
    args
}

fn deploy_v2(site: &Site, extra: &[&str]) -> Run {
    run(on(&site.emulator.endpoint).args(update_v2_args(site, extra)))
}

fn blue_green(bake_minutes: i32) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(bake_minutes)
        .build()
}

/// The service's lifecycle hooks as DescribeServices answers them.
fn hooks(site: &Site) -> Vec<aws_sdk_ecs::types::DeploymentLifecycleHook> {
    let answer = site
        .api
        .block_on(
            site.api
                .ecs
                .describe_services()
                .cluster(&site.cluster)
                .services(&site.service)
                .send(),
        )
        .unwrap();
    answer.services()[0]
        .deployment_configuration()
        .map(|c| c.lifecycle_hooks().to_vec())
        .unwrap_or_default()
}

/// The image of v2's load-balanced container.
fn v2_image(site: &Site) -> String {
    let answer = site
        .api
        .block_on(
            site.api
                .ecs
                .describe_task_definition()
                .task_definition(&site.v2)
                .send(),
        )
        .unwrap();
    answer.task_definition().unwrap().container_definitions()[0]
        .image()
        .unwrap()
        .to_string()
}

/// ECS pauses at a PAUSE hook "until you call ContinueServiceDeployment" and CONTINUE "continues
/// the deployment to the next lifecycle stage"; at POST_TEST_TRAFFIC_SHIFT "the test traffic …
/// routed to the green service revision" (ContinueServiceDeployment and DeploymentLifecycleHook,
/// ECS API reference).
#[test]
fn a_passing_smoke_test_lets_the_deployment_finish_on_the_new_revision() {
    let _stack = stack();
    let site = Site::start(blue_green(1), &[]);
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    // What CMD sees of the deployment, and what the test listener serves at that moment.
    let page = dir.path().join("page");
    let command = format!(
        "env | grep ^DEPLOYER_ | sort > {seen}; curl -fsS \"$DEPLOYER_TEST_URL\" | grep -o 'version [0-9]' > {page}; echo checked the test traffic",
        seen = seen.display(),
        page = page.display()
    );

    let planned = deploy_v2(&site, &["--smoke-test", &command, "--dry-run"]);
    planned.assert_code(0).assert_stderr_contains(
        "smoke test gate: a PAUSE hook deployer adds at POST_TEST_TRAFFIC_SHIFT (timeout 15m, then ROLLBACK)",
    );
    assert!(hooks(&site).is_empty(), "--dry-run changed nothing");

    let result = deploy_v2(&site, &["--smoke-test", &command]);
    result.assert_code(0);
    assert_eq!(result.stdout.trim(), site.v2);
    result
        .assert_stderr_contains("smoke test gate: a PAUSE hook deployer adds")
        .assert_stderr_contains("running the smoke test")
        .assert_stderr_contains("smoke-test | checked the test traffic")
        .assert_stderr_contains("the smoke test passed; resuming service deployment")
        .assert_stderr_contains("is SUCCESSFUL");
    let seen: std::collections::BTreeMap<String, String> = std::fs::read_to_string(&seen)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    // The test listener (ELBv2's DescribeRules, DescribeListeners, DescribeLoadBalancers),
    // serving the new revision while production still serves the old.
    assert_eq!(seen["DEPLOYER_TEST_URL"], format!("http://{}/", site.test));
    assert_eq!(std::fs::read_to_string(&page).unwrap().trim(), "version 2");
    assert_eq!(seen["DEPLOYER_SERVICE"], site.service);
    assert_eq!(seen["DEPLOYER_TASK_DEFINITION_ARN"], site.v2);
    assert_eq!(seen["DEPLOYER_IMAGE"], v2_image(&site));
    assert!(
        seen["DEPLOYER_SERVICE_DEPLOYMENT_ARN"].contains(":service-deployment/"),
        "{seen:?}"
    );
    let deployment = site.deployment(&seen["DEPLOYER_SERVICE_DEPLOYMENT_ARN"]);
    assert_eq!(deployment.status().map(|s| s.as_str()), Some("SUCCESSFUL"));
    assert_eq!(site.task_definition(), site.v2);
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);

    // The hook deployer added stays on the service until the next deploy without
    // --smoke-test, which takes it out instead of pausing there until it times out.
    assert_eq!(hooks(&site).len(), 1);
    let again = deploy_v2(&site, &["--force-new-deployment"]);
    again.assert_code(0);
    assert!(
        !again
            .stderr
            .contains("its deployments pause at a PAUSE lifecycle hook"),
        "{}",
        again.stderr
    );
    assert!(hooks(&site).is_empty(), "{:?}", hooks(&site));
}

/// ROLLBACK "rolls back the service deployment to the previous service revision"
/// (ContinueServiceDeployment, ECS API reference): at POST_TEST_TRAFFIC_SHIFT no production
/// traffic has moved yet.
#[test]
fn a_failing_smoke_test_rolls_back_before_production_traffic_moves() {
    let _stack = stack();
    let site = Site::start(blue_green(1), &[]);
    let before = site.task_definition();
    let command =
        "for i in 1 2 3; do echo request $i ok; done; echo 'GET /health: 500' >&2; exit 3";
    let result = deploy_v2(&site, &["--smoke-test", command]);
    result
        .assert_code(1)
        .assert_stderr_contains(&format!("the smoke test `{command}` exited with code 3"))
        .assert_stderr_contains("smoke-test | GET /health: 500")
        .assert_stderr_contains("ROLLBACK_SUCCESSFUL")
        .assert_stderr_contains("production traffic never reached");
    // The failure quotes its last lines.
    let error = &result.stderr[result.stderr.find("error: ").unwrap()..];
    assert!(error.contains("smoke-test | request 3 ok"), "{error}");
    assert_eq!(site.task_definition(), before);
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

/// The hook deployer adds has `timeoutConfiguration` (timeoutInMinutes "Minimum value of 1",
/// action ROLLBACK: DeploymentLifecycleHookTimeoutConfiguration, ECS API reference): a
/// smoke-test timeout in seconds still gives a hook of whole minutes, longer than the test.
#[test]
fn a_smoke_test_past_its_timeout_is_stopped_and_the_deployment_rolled_back() {
    let _stack = stack();
    // A minute of 6 s: the 6-minute hook deployer adds (1 s rounded up, plus 5) cannot time out
    // before deployer acts; ECS's own timeout action would say so in the status reason.
    let site = Site::start(blue_green(0), &["--minute-ms", "6000"]);
    let before = site.task_definition();
    let result = deploy_v2(
        &site,
        &[
            "--smoke-test",
            "echo waiting; sleep 600",
            "--smoke-test-timeout",
            "1s",
        ],
    );
    result
        .assert_code(1)
        .assert_stderr_contains(
            "did not finish within the --smoke-test-timeout of 1s and was killed",
        )
        .assert_stderr_contains("smoke-test | waiting")
        .assert_stderr_contains("asked ECS to roll service deployment")
        .assert_stderr_contains("ROLLBACK_SUCCESSFUL");
    assert_eq!(site.task_definition(), before);
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

#[test]
fn sigterm_while_the_smoke_test_runs_stops_it_and_rolls_back_with_rollback_on_cancel() {
    let _stack = stack();
    let site = Site::start(blue_green(0), &["--minute-ms", "6000"]);
    let before = site.task_definition();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let command = format!(
        "sleep 600 & echo $! > {}; echo started; wait",
        pid_file.display()
    );
    let mut child = on(&site.emulator.endpoint)
        .args(update_v2_args(
            &site,
            &["--smoke-test", &command, "--rollback-on-cancel"],
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_so_far = StderrSoFar::read(&mut child);
    stderr_so_far.wait_for("smoke-test | started", Duration::from_secs(120));
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let stderr = stderr_so_far.until_exit();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted by SIGTERM while the smoke test ran"),
        "{stderr}"
    );
    assert!(stderr.contains("ROLLBACK_SUCCESSFUL"), "{stderr}");
    // CMD's own children were stopped with it.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    // Gone, or a zombie its new parent has not reaped yet (state Z in /proc/PID/stat).
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    let state = stat.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
    assert!(
        matches!(state, None | Some("Z")),
        "the smoke test's sleep {pid} still runs: {stat}"
    );
    assert_eq!(site.task_definition(), before);
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

#[test]
fn a_smoke_test_on_a_rolling_service_is_exit_2_with_nothing_registered_or_changed() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Rolling)
            .build(),
        &[],
    );
    let family = site.family();
    let revisions = site.api.revisions(&family);
    let before = site.task_definition();
    // Without --skip-task-definition-registration: a revision would be registered first.
    let result = run(on(&site.emulator.endpoint).args([
        "update-service",
        "--family",
        &family,
        "--cluster",
        &site.cluster,
        "--service",
        &site.service,
        "--smoke-test",
        "true",
    ]));
    result
        .assert_code(2)
        .assert_stderr_contains("deploys ROLLING, which has no test traffic")
        .assert_stderr_contains("--strategy blue-green");
    assert!(!result.stderr.contains("registered"), "{}", result.stderr);
    assert_eq!(site.api.revisions(&family), revisions);
    assert_eq!(site.task_definition(), before);
    assert!(hooks(&site).is_empty());

    let no_wait = run(on(&site.emulator.endpoint).args([
        "update-service",
        "--family",
        &family,
        "--cluster",
        &site.cluster,
        "--service",
        &site.service,
        "--smoke-test",
        "true",
        "--no-wait",
    ]));
    no_wait
        .assert_code(2)
        .assert_stderr_contains("--no-wait returns before that");
    assert_eq!(site.task_definition(), before);
}

/// `deployer continue --smoke-test`: job 1 stops at the service's own pause at test traffic
/// (`--wait-until paused`), job 2 runs the smoke test there and resumes the deployment.
#[test]
fn continue_runs_the_smoke_test_at_the_service_own_pause_then_resumes() {
    use aws_sdk_ecs::types::DeploymentLifecycleHookStage;
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(1)
            .lifecycle_hooks(crate::strategies::pause_hook(
                DeploymentLifecycleHookStage::PostTestTrafficShift,
            ))
            .build(),
        &[],
    );
    deploy_v2(&site, &["--wait-until", "paused"]).assert_code(0);
    let continue_with = |extra: &[&str]| {
        let mut args = vec![
            "continue",
            "--cluster",
            &site.cluster,
            "--service",
            &site.service,
            "--poll-interval",
            "300ms",
        ];
        args.extend_from_slice(extra);
        run(on(&site.emulator.endpoint).args(args))
    };
    let command = "curl -fsS \"$DEPLOYER_TEST_URL\" | grep 'version 2'";
    continue_with(&["--smoke-test", command, "--rollback"]).assert_code(2);
    continue_with(&["--smoke-test", command, "--dry-run"])
        .assert_code(0)
        .assert_stderr_contains("would run the smoke test");
    assert_eq!(site.pages(&site.production, 2), vec!["version 1"; 2]);

    let continued = continue_with(&["--smoke-test", command]);
    continued
        .assert_code(0)
        .assert_stderr_contains("smoke-test |     <p>version 2</p>")
        .assert_stderr_contains("after the smoke test passed")
        .assert_stderr_contains("is SUCCESSFUL");
    assert_eq!(site.task_definition(), site.v2);
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);
}

/// Without `--rollback-on-cancel`, SIGTERM stops CMD and leaves the deployment paused at the
/// hook (ECS applies its timeout action, ROLLBACK, unless someone continues it): exit 130, and
/// the hint says how to act on it.
#[test]
fn sigterm_without_rollback_on_cancel_leaves_the_deployment_paused() {
    let _stack = stack();
    // A minute of 6 s: the hook deployer adds (15 minutes) outlasts the test.
    let site = Site::start(blue_green(0), &["--minute-ms", "6000"]);
    let mut child = on(&site.emulator.endpoint)
        .args(update_v2_args(
            &site,
            &["--smoke-test", "echo started; sleep 600"],
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_so_far = StderrSoFar::read(&mut child);
    stderr_so_far.wait_for("smoke-test | started", Duration::from_secs(120));
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let stderr = stderr_so_far.until_exit();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stays paused at lifecycle hook"),
        "{stderr}"
    );
    assert!(!stderr.contains("asked ECS to roll"), "{stderr}");
    let listed = site
        .api
        .block_on(
            site.api
                .ecs
                .list_service_deployments()
                .cluster(&site.cluster)
                .service(&site.service)
                .send(),
        )
        .unwrap();
    let ours = listed
        .service_deployments()
        .iter()
        .find(|d| d.status().map(|s| s.as_str()) == Some("IN_PROGRESS"))
        .and_then(|d| d.service_deployment_arn())
        .expect("the deployment is still in progress")
        .to_string();
    let deployment = site.deployment(&ours);
    assert_eq!(
        deployment.lifecycle_hook_details()[0]
            .status()
            .map(|s| s.as_str()),
        Some("AWAITING_ACTION")
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}
