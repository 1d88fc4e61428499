//! deployer driving ECS's native strategies on the emulator: it follows the ServiceDeployment
//! its UpdateService created (stages, traffic weights, bake), stops at a pause hook and
//! continues or rolls back with `deployer continue`, fails with ECS's reason on a rollback,
//! and rolls back on SIGTERM with `--rollback-on-cancel`. Each test runs its own emulator
//! (a minute lasts 500 ms there).
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentAlarms, DeploymentConfiguration, DeploymentLifecycleHookStage,
    DeploymentStrategy, LinearConfiguration,
};

use crate::emulator::on;
use crate::strategies::{count, pause_hook, Site};
use crate::support::{exported_to_later_steps, run, stack, Run, StderrSoFar};

/// `deployer ARGS --cluster C --service S` against the site's emulator.
fn deployer(site: &Site, args: &[&str]) -> Run {
    run(on(&site.emulator.endpoint).args(args).args([
        "--cluster",
        &site.cluster,
        "--service",
        &site.service,
    ]))
}

/// update-service deploying v2 (the family's latest revision) as it is.
fn deploy_v2(site: &Site, extra: &[&str]) -> Run {
    let family = site.family();
    let mut args = vec![
        "update-service",
        "--family",
        &family,
        "--skip-task-definition-registration",
    ];
    // A wait flag goes with a wait only: --no-wait refuses them.
    if !extra.contains(&"--no-wait") {
        args.extend(["--poll-interval", "300ms"]);
    }
    args.extend_from_slice(extra);
    let record = crate::support::record_flag();
    args.extend(record.iter().map(String::as_str));
    deployer(site, &args)
}

fn rolling() -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Rolling)
        .maximum_percent(200)
        .minimum_healthy_percent(100)
        .build()
}

fn service_configuration(site: &Site) -> aws_sdk_ecs::types::DeploymentConfiguration {
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
        .unwrap()
        .clone()
}

#[test]
fn update_service_switches_to_a_canary_and_follows_it_stage_by_stage_to_the_end() {
    let _stack = stack();
    let site = Site::start(rolling(), &[]);
    let result = deploy_v2(
        &site,
        &[
            "--strategy",
            "canary",
            "--canary-percent",
            "10",
            "--canary-bake-time",
            "10m",
            "--bake-time",
            "2m",
        ],
    );
    result.assert_code(0);
    assert_eq!(result.stdout.trim(), site.v2);
    result
        .assert_stderr_contains("waiting up to 22m00s: 10m00s for the rollout + bake time 2m00s + canary bake 10m00s (CANARY strategy; --timeout overrides)")
        .assert_stderr_contains("(CANARY strategy)")
        .assert_stderr_contains("stage PRODUCTION_TRAFFIC_SHIFT")
        .assert_stderr_contains("production 10% new / 90% old")
        .assert_stderr_contains("production 100% new / 0% old")
        .assert_stderr_contains("stage BAKE_TIME")
        .assert_stderr_contains("stage CLEAN_UP")
        .assert_stderr_contains("is SUCCESSFUL");
    // Each stage is said once.
    assert_eq!(result.stderr.matches("stage BAKE_TIME").count(), 1);
    let configuration = service_configuration(&site);
    assert_eq!(configuration.strategy().map(|s| s.as_str()), Some("CANARY"));
    assert_eq!(configuration.bake_time_in_minutes(), Some(2));
    assert_eq!(
        configuration
            .canary_configuration()
            .and_then(|c| c.canary_percent()),
        Some(10.0)
    );
    // Everything else of the configuration is kept.
    assert_eq!(configuration.maximum_percent(), Some(200));
    assert_eq!(site.pages(&site.production, 6), vec!["version 2"; 6]);
}

#[test]
fn a_pause_hook_stops_the_wait_then_continue_lets_the_deployment_finish() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(1)
            .lifecycle_hooks(pause_hook(
                DeploymentLifecycleHookStage::PostTestTrafficShift,
            ))
            .build(),
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    let paused = deploy_v2(
        &site,
        &[
            "--wait-until",
            "paused",
            "--export-env",
            env_file.to_str().unwrap(),
        ],
    );
    paused.assert_code(0);
    paused
        .assert_stderr_contains("(BLUE_GREEN strategy)")
        .assert_stderr_contains("awaiting action")
        .assert_stderr_contains("approve with deployer continue");
    let exported = exported_to_later_steps(&env_file);
    let arn = exported["DEPLOYER_SERVICE_DEPLOYMENT_ARN"].clone();
    let hook = exported["DEPLOYER_HOOK_ID"].clone();
    assert!(arn.contains(":service-deployment/"), "{exported:?}");
    assert!(!hook.is_empty());
    let deployment = site.deployment(&arn);
    assert_eq!(deployment.status().map(|s| s.as_str()), Some("IN_PROGRESS"));
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
    assert_eq!(site.pages(&site.test, 2), vec!["version 2"; 2]);

    // Nothing to roll back or continue at a hook that is not the one waiting.
    let wrong = deployer(&site, &["continue", "--hook-id", "no-such-hook"]);
    wrong.assert_code(2);
    assert_eq!(
        site.deployment(&arn).status().map(|s| s.as_str()),
        Some("IN_PROGRESS")
    );

    let dry = deployer(&site, &["continue", "--dry-run"]);
    dry.assert_code(0).assert_stderr_contains("would resume");
    let continued = deployer(&site, &["continue", "--poll-interval", "300ms"]);
    continued.assert_code(0);
    assert_eq!(continued.stdout.trim(), arn);
    continued
        .assert_stderr_contains("resumed service deployment")
        .assert_stderr_contains("stage BAKE_TIME")
        .assert_stderr_contains("is SUCCESSFUL");
    assert_eq!(
        site.deployment(&arn).status().map(|s| s.as_str()),
        Some("SUCCESSFUL")
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);

    // A finished deployment has nothing to continue: exit 2.
    let again = deployer(&site, &["continue"]);
    again.assert_code(2);
}

#[test]
fn continue_with_rollback_rejects_the_paused_deployment_and_the_old_version_serves() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Linear)
            .linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(50.0)
                    .step_bake_time_in_minutes(1)
                    .build(),
            )
            .lifecycle_hooks(pause_hook(
                DeploymentLifecycleHookStage::PostProductionTrafficShift,
            ))
            .build(),
        &[],
    );
    let before = site.task_definition();
    deploy_v2(&site, &["--no-wait"]).assert_code(0);
    let waited = deployer(
        &site,
        &["wait", "--wait-until", "paused", "--poll-interval", "300ms"],
    );
    waited.assert_code(0);
    waited.assert_stderr_contains("production 100% new / 0% old");
    let rejected = deployer(
        &site,
        &["continue", "--rollback", "--poll-interval", "300ms"],
    );
    rejected.assert_code(0);
    rejected
        .assert_stderr_contains("asked ECS to roll back service deployment")
        .assert_stderr_contains("ROLLBACK_SUCCESSFUL");
    assert_eq!(site.task_definition(), before);
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

#[test]
fn an_alarm_during_bake_fails_the_deployment_with_the_alarm_and_ecs_reason() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(20)
            .alarms(
                DeploymentAlarms::builder()
                    .alarm_names("site-5xx")
                    .enable(true)
                    .rollback(true)
                    .build()
                    .unwrap(),
            )
            .build(),
        &["--alarm-during-bake", "site-5xx"],
    );
    let result = deploy_v2(&site, &[]);
    result.assert_code(1);
    result
        .assert_stderr_contains("stage BAKE_TIME")
        .assert_stderr_contains("alarm triggered: site-5xx")
        .assert_stderr_contains("alarms triggered: site-5xx");
    // Issue 19: the rollback is followed to its end, so the failure says the previous
    // revision serves again, and it does the moment deployer exits.
    result
        .assert_stderr_contains("following the rollback to its end")
        .assert_stderr_contains("(ROLLBACK_SUCCESSFUL); it rolled the service back to");
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

#[test]
fn sigterm_with_rollback_on_cancel_rolls_the_deployment_back() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Canary)
            .canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(10.0)
                    .canary_bake_time_in_minutes(600)
                    .build(),
            )
            .build(),
        &[],
    );
    let family = site.family();
    let mut child = on(&site.emulator.endpoint)
        .args([
            "update-service",
            "--family",
            &family,
            "--skip-task-definition-registration",
            "--poll-interval",
            "300ms",
            "--rollback-on-cancel",
            "--cluster",
            &site.cluster,
            "--service",
            &site.service,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_so_far = StderrSoFar::read(&mut child);
    // Cancelled like a CircleCI job once the canary serves its share.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pages = site.pages(&site.production, 20);
        if count(&pages, "version 2") > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the canary never served");
        std::thread::sleep(Duration::from_millis(200));
    }
    // deployer follows the service deployment it would roll back (it knows its ARN).
    stderr_so_far.wait_for("following service deployment", Duration::from_secs(60));
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let stderr = stderr_so_far.until_exit();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("asking ECS to roll service deployment"),
        "{stderr}"
    );
    assert!(stderr.contains("ROLLBACK_SUCCESSFUL"), "{stderr}");
    assert!(
        stderr.contains("already done: asked ECS to roll service deployment"),
        "{stderr}"
    );
    assert_eq!(site.pages(&site.production, 8), vec!["version 1"; 8]);
}

fn blue_green(bake_minutes: i32) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(bake_minutes)
        .build()
}

/// Issue 19: a server error from DescribeServiceDeployments that outlasts the SDK's own
/// retries (ECS's ServerException, HTTP 500: "These errors are usually caused by an AWS
/// server-side issue", API reference, Errors) is polled again, as DescribeServices is; it does
/// not end the following of the deployment for the rest of the wait.
#[test]
fn a_server_error_from_the_service_deployment_api_is_polled_again() {
    let _stack = stack();
    // A 20-minute bake (10 s here): the deployment is still baking once the failures pass.
    let site = Site::start(
        blue_green(20),
        &["--fail-operation", "DescribeServiceDeployments:9"],
    );
    let result = deploy_v2(&site, &["--wait-until", "bake-time"]);
    result
        .assert_code(0)
        .assert_stderr_contains("(BLUE_GREEN strategy)")
        .assert_stderr_contains("serves production traffic and is baking");
    assert!(
        !result.stderr.contains("is not available"),
        "{}",
        result.stderr
    );
}

/// Issue 19: without an IAM action the wait needs, deployer says so at once, naming the
/// action, instead of waiting to the end to say the deployment did not finish. After its
/// UpdateService that is exit 4 with what was done; `deployer wait`, which changes nothing,
/// exits 3.
#[test]
fn access_denied_to_a_service_deployment_read_names_the_iam_action_at_once() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(1)
            .lifecycle_hooks(pause_hook(
                DeploymentLifecycleHookStage::PostTestTrafficShift,
            ))
            .build(),
        &["--deny-operation", "DescribeServiceRevisions"],
    );
    let started = Instant::now();
    let result = deploy_v2(&site, &["--wait-until", "paused", "--timeout", "10m"]);
    result
        .assert_code(4)
        .assert_stderr_contains("access denied")
        .assert_stderr_contains("ecs:DescribeServiceRevisions")
        .assert_stderr_contains("already done: ");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "it did not wait to the end"
    );
    let waited = deployer(&site, &["wait", "--timeout", "10m"]);
    waited
        .assert_code(3)
        .assert_stderr_contains("allow the IAM action ecs:DescribeServiceRevisions");
}

/// Issue 19, defect 5: the approval job ran after the pause hook's timeout, and ECS applied
/// the hook's timeout action (ROLLBACK). `continue` says what ECS did, exit 1, not a usage
/// error; nothing is called.
#[test]
fn continue_after_the_hook_timed_out_and_ecs_rolled_back_is_exit_1_saying_so() {
    use aws_sdk_ecs::types::{
        DeploymentLifecycleHook, DeploymentLifecycleHookAction, DeploymentLifecycleHookTargetType,
        DeploymentLifecycleHookTimeoutConfiguration,
    };
    let _stack = stack();
    // A 2-minute timeout: one second here.
    let hook = DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(DeploymentLifecycleHookStage::PostTestTrafficShift)
        .timeout_configuration(
            DeploymentLifecycleHookTimeoutConfiguration::builder()
                .timeout_in_minutes(2)
                .action(DeploymentLifecycleHookAction::Rollback)
                .build(),
        )
        .build();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(1)
            .lifecycle_hooks(hook)
            .build(),
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("env");
    deploy_v2(
        &site,
        &[
            "--wait-until",
            "paused",
            "--export-env",
            env_file.to_str().unwrap(),
        ],
    )
    .assert_code(0);
    let arn = exported_to_later_steps(&env_file)["DEPLOYER_SERVICE_DEPLOYMENT_ARN"].clone();
    site.wait(Duration::from_secs(60), "ECS rolled back", |site| {
        site.deployment(&arn).status().map(|s| s.as_str()) == Some("ROLLBACK_SUCCESSFUL")
    });
    let late = deployer(&site, &["continue", "--deployment", &arn]);
    late.assert_code(1)
        .assert_stderr_contains("ECS rolled back deployment")
        .assert_stderr_contains("ROLLBACK_SUCCESSFUL")
        .assert_stderr_contains("(finished 20")
        .assert_stderr_contains("there is nothing left to approve");
    assert!(!late.stderr.contains("already done"), "{}", late.stderr);
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

/// Issue 19: early success criteria from the pipeline, end to end on the emulator: merged into
/// the rolling service's configuration as ECS takes them, the deployment SUCCESSFUL by ECS's
/// criteria (old tasks removed afterwards, DEFERRED), and the wait ends on ECS's verdict.
/// Refused for a blue/green service, before anything changes.
#[test]
fn early_success_criteria_are_set_and_followed_to_ecs_verdict() {
    let _stack = stack();
    let site = Site::start(rolling(), &[]);
    let result = deploy_v2(&site, &["--early-success", "100,deferred"]);
    result
        .assert_code(0)
        .assert_stderr_contains("is SUCCESSFUL");
    let configuration = service_configuration(&site);
    let criteria = configuration.early_success_criteria().unwrap();
    assert!(criteria.enable());
    assert_eq!(criteria.healthy_percent(), Some(100));
    assert_eq!(
        criteria
            .source_service_revision_cleanup()
            .map(|c| c.as_str()),
        Some("DEFERRED")
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);

    let refused = deploy_v2(
        &site,
        &["--strategy", "blue-green", "--early-success", "100"],
    );
    refused
        .assert_code(2)
        .assert_stderr_contains("--early-success applies to the ROLLING strategy");
}

/// Issue 19, defect 9: a rollback is reported when it is known to be done. ECS runs a
/// deployment's lifecycle hooks again while it rolls back; when the hook that failed the
/// deployment fails again, the rollback fails: deployer follows it to ROLLBACK_FAILED and says
/// the service needs a person, exit 1.
#[test]
fn a_rollback_that_fails_is_followed_to_its_end_and_says_a_person_is_needed() {
    use aws_sdk_ecs::types::{DeploymentLifecycleHook, DeploymentLifecycleHookTargetType};
    let _stack = stack();
    let hook = DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::AwsLambda)
        .hook_target_arn("arn:aws:lambda:eu-west-1:123456789012:function:tutorial-site-check")
        .role_arn("arn:aws:iam::123456789012:role/ecsLambdaHooks")
        .lifecycle_stages(DeploymentLifecycleHookStage::PostScaleUp)
        .build();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(1)
            .lifecycle_hooks(hook)
            .build(),
        &["--failing-hook-stage", "POST_SCALE_UP"],
    );
    let result = deploy_v2(&site, &[]);
    result
        .assert_code(1)
        .assert_stderr_contains("following the rollback to its end")
        .assert_stderr_contains("ROLLBACK_FAILED")
        .assert_stderr_contains("the service needs a person now");
}
