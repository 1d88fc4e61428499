//! Services with the CODE_DEPLOY deployment controller, deployed through CodeDeploy as the
//! aws-ecs orb does. Against moto (which keeps CodeDeploy applications, deployment groups and
//! deployments, but never runs one, and has no ListDeploymentTargets or StopDeployment): the
//! plan's refusals and the CreateDeployment request. The deployments themselves run on the
//! emulator (`emulator_*` tests below).
use std::time::Duration;

use serde_json::{json, Value};

use crate::emulator::on;
use crate::orb::{job_step_env, root};
use crate::strategies::Site;
use crate::support::{
    deployer, exported_to_later_steps, moto_call, run, stack, unique_repo, write, Api, Run,
    StderrSoFar,
};

struct Seed {
    api: Api,
    family: String,
    cluster: String,
    service: String,
    application: String,
    group: String,
    first_arn: String,
}

fn codedeploy(target: &str, body: Value) -> (u16, Value) {
    moto_call(
        &stack(),
        "codedeploy",
        Some(&format!("CodeDeploy_20141006.{target}")),
        "POST",
        "/",
        &body,
    )
}

/// A CODE_DEPLOY service behind a load balancer, its CodeDeploy application and a deployment
/// group deploying it, all in moto.
fn seed() -> Seed {
    let stack = stack();
    let api = Api::moto(&stack);
    let family = unique_repo("cd-site-task");
    let cluster = unique_repo("cd-site-cluster");
    let service = unique_repo("cd-site-service");
    let application = unique_repo("cd-site-app");
    let group = unique_repo("cd-site-group");
    let first_arn = api.register_seed(&family);
    api.block_on(api.ecs.create_cluster().cluster_name(&cluster).send())
        .unwrap();
    let (status, answer) = moto_call(
        &stack,
        "ecs",
        Some("AmazonEC2ContainerServiceV20141113.CreateService"),
        "POST",
        "/",
        &json!({
            "cluster": cluster, "serviceName": service, "taskDefinition": first_arn,
            "desiredCount": 1, "launchType": "FARGATE",
            "deploymentController": {"type": "CODE_DEPLOY"},
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/cd-blue/0123456789abcdef", "containerName": "tutorial-site-app", "containerPort": 3000}]
        }),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = codedeploy(
        "CreateApplication",
        json!({"applicationName": application, "computePlatform": "ECS"}),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = codedeploy(
        "CreateDeploymentGroup",
        json!({
            "applicationName": application, "deploymentGroupName": group,
            "serviceRoleArn": "arn:aws:iam::123456789012:role/CodeDeployECS",
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "ecsServices": [{"serviceName": service, "clusterName": cluster}],
        }),
    );
    assert_eq!(status, 200, "{answer}");
    Seed {
        api,
        family,
        cluster,
        service,
        application,
        group,
        first_arn,
    }
}

fn update_service(seed: &Seed) -> std::process::Command {
    let mut command = deployer(std::path::Path::new("/"));
    command.args([
        "update-service",
        "--family",
        &seed.family,
        "--cluster",
        &seed.cluster,
        "--service",
        &seed.service,
        "--container-image-name-updates",
        "container=tutorial-site-app,tag=v2",
    ]);
    command
}

/// Nothing registered, the service untouched, no deployment in the application.
fn assert_nothing_changed(seed: &Seed) {
    assert_eq!(
        seed.api.revisions(&seed.family),
        vec![seed.first_arn.clone()]
    );
    assert_eq!(
        seed.api
            .service_task_definition(&seed.cluster, &seed.service),
        seed.first_arn
    );
    let (_, listed) = codedeploy(
        "ListDeployments",
        json!({"applicationName": seed.application, "deploymentGroupName": seed.group}),
    );
    assert_eq!(listed["deployments"], json!([]), "{listed}");
}

#[test]
fn a_code_deploy_service_without_its_application_and_group_is_refused_naming_them() {
    let seed = seed();
    let result = run(update_service(&seed).arg("--no-wait"));
    result
        .assert_code(2)
        .assert_stderr_contains("CODE_DEPLOY")
        .assert_stderr_contains("--codedeploy-application and --codedeploy-deployment-group");
    let only_group = run(update_service(&seed).args([
        "--no-wait",
        "--codedeploy-application",
        &seed.application,
    ]));
    only_group
        .assert_code(2)
        .assert_stderr_contains("needs --codedeploy-deployment-group");
    assert_nothing_changed(&seed);
}

#[test]
fn a_deployment_group_of_another_service_or_none_at_all_is_refused_before_anything_is_registered() {
    let seed = seed();
    let other = unique_repo("cd-other-group");
    let (status, answer) = codedeploy(
        "CreateDeploymentGroup",
        json!({
            "applicationName": seed.application, "deploymentGroupName": other,
            "serviceRoleArn": "arn:aws:iam::123456789012:role/CodeDeployECS",
            "ecsServices": [{"serviceName": "another-service", "clusterName": seed.cluster}],
        }),
    );
    assert_eq!(status, 200, "{answer}");
    let wrong = run(update_service(&seed).args([
        "--no-wait",
        "--codedeploy-application",
        &seed.application,
        "--codedeploy-deployment-group",
        &other,
    ]));
    wrong
        .assert_code(2)
        .assert_stderr_contains("cannot deploy service")
        .assert_stderr_contains("another-service");
    let missing = run(update_service(&seed).args([
        "--no-wait",
        "--codedeploy-application",
        &seed.application,
        "--codedeploy-deployment-group",
        "no-such-group",
    ]));
    missing
        .assert_code(2)
        .assert_stderr_contains("deployment group no-such-group")
        .assert_stderr_contains("does not exist");
    let no_application = run(update_service(&seed).args([
        "--no-wait",
        "--codedeploy-application",
        "no-such-application",
        "--codedeploy-deployment-group",
        &seed.group,
    ]));
    no_application
        .assert_code(2)
        .assert_stderr_contains("CodeDeploy application no-such-application does not exist");
    let wrong_port = run(update_service(&seed).args([
        "--no-wait",
        "--codedeploy-application",
        &seed.application,
        "--codedeploy-deployment-group",
        &seed.group,
        "--codedeploy-container-port",
        "8080",
    ]));
    wrong_port
        .assert_code(2)
        .assert_stderr_contains("no container port 8080");
    let strategy = run(update_service(&seed).args([
        "--no-wait",
        "--codedeploy-application",
        &seed.application,
        "--codedeploy-deployment-group",
        &seed.group,
        "--strategy",
        "canary",
    ]));
    strategy
        .assert_code(2)
        .assert_stderr_contains("CodeDeploy deploys it: --strategy");
    assert_nothing_changed(&seed);
}

#[test]
fn codedeploy_flags_on_a_service_ecs_deploys_are_refused() {
    let stack = stack();
    let api = Api::moto(&stack);
    let family = unique_repo("cd-ecs-task");
    let cluster = unique_repo("cd-ecs-cluster");
    let service = unique_repo("cd-ecs-service");
    let first = api.register_seed(&family);
    api.create_cluster_and_service(&cluster, &service, &first);
    let result = run(deployer(std::path::Path::new("/")).args([
        "update-service",
        "--family",
        &family,
        "--cluster",
        &cluster,
        "--service",
        &service,
        "--no-wait",
        "--codedeploy-application",
        "app",
        "--codedeploy-deployment-group",
        "group",
    ]));
    result
        .assert_code(2)
        .assert_stderr_contains("uses the ECS controller");
    assert_eq!(api.revisions(&family), vec![first]);
}

#[test]
fn the_dry_run_prints_the_appspec_and_changes_nothing() {
    let seed = seed();
    let result = run(update_service(&seed).args([
        "--dry-run",
        "--output",
        "json",
        "--codedeploy-application",
        &seed.application,
        "--codedeploy-deployment-group",
        &seed.group,
    ]));
    result.assert_code(0);
    let outcome: Value = serde_json::from_str(&result.stdout).unwrap();
    let properties = &outcome["codedeploy_appspec"]["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(
        properties["TaskDefinition"],
        json!(format!("{}:2", seed.first_arn.rsplit_once(':').unwrap().0))
    );
    assert_eq!(
        properties["LoadBalancerInfo"],
        json!({"ContainerName": "tutorial-site-app", "ContainerPort": 3000})
    );
    assert!(result.stderr.contains("AppSpec"), "{}", result.stderr);
    assert_nothing_changed(&seed);
}

#[test]
fn no_wait_registers_the_revision_and_creates_the_deployment_with_the_orbs_appspec() {
    let seed = seed();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("bash_env");
    let result = run(update_service(&seed)
        .args([
            "--no-wait",
            "--codedeploy-application",
            &seed.application,
            "--codedeploy-deployment-group",
            &seed.group,
            "--codedeploy-deployment-config",
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            "--codedeploy-capacity-provider",
            "FARGATE_SPOT,1,2",
            "--export-env",
        ])
        .arg(&env_file));
    result.assert_code(0);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", result.stdout);
    let new_arn = lines[0];
    let deployment_id = lines[1];
    assert!(
        new_arn.ends_with(&format!("{}:2", seed.family)),
        "{new_arn}"
    );
    // moto has the deployment deployer created, with what deployer sent.
    let (status, answer) = codedeploy("GetDeployment", json!({"deploymentId": deployment_id}));
    assert_eq!(status, 200, "{answer}");
    let info = &answer["deploymentInfo"];
    assert_eq!(info["applicationName"], json!(seed.application));
    assert_eq!(info["deploymentGroupName"], json!(seed.group));
    assert_eq!(
        info["deploymentConfigName"],
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
    );
    let revision = &info["revision"];
    assert_eq!(revision["revisionType"], "AppSpecContent", "{revision}");
    let content: Value =
        serde_json::from_str(revision["appSpecContent"]["content"].as_str().unwrap()).unwrap();
    let properties = &content["Resources"][0]["TargetService"]["Properties"];
    assert_eq!(
        content["Resources"][0]["TargetService"]["Type"],
        "AWS::ECS::Service"
    );
    assert_eq!(properties["TaskDefinition"], json!(new_arn));
    assert_eq!(
        properties["CapacityProviderStrategy"],
        json!([{"CapacityProvider": "FARGATE_SPOT", "Base": 1, "Weight": 2}])
    );
    // CodeDeploy, not update-service, moves the service: it still runs the first revision.
    assert_eq!(
        seed.api
            .service_task_definition(&seed.cluster, &seed.service),
        seed.first_arn
    );
    let exported = exported_to_later_steps(&env_file);
    assert_eq!(exported["DEPLOYER_CODEDEPLOY_DEPLOYMENT_ID"], deployment_id);
    assert_eq!(exported["DEPLOYER_TASK_DEFINITION_ARN"], new_arn);
}

/// One CodeDeploy call to an emulator, unsigned (the emulator reads no signatures).
fn emulator_codedeploy(endpoint: &str, target: &str, body: Value) -> (u16, Value) {
    let response = ureq::post(endpoint)
        .set("X-Amz-Target", &format!("CodeDeploy_20141006.{target}"))
        .set("Content-Type", "application/x-amz-json-1.1")
        .send_string(&body.to_string());
    let response = match response {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("emulator CodeDeploy {target}: {error}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The site's CodeDeploy application and a deployment group deploying its service, keeping
/// the blue tasks `termination_wait` minutes (500 ms each there) after traffic shifted.
pub(crate) fn codedeploy_for(site: &Site, termination_wait: u64) -> (String, String) {
    codedeploy_group(
        site,
        termination_wait,
        json!({"actionOnTimeout": "CONTINUE_DEPLOYMENT"}),
    )
}

/// The site's CodeDeploy application and a deployment group with this termination wait and
/// `deploymentReadyOption`.
fn codedeploy_group(site: &Site, termination_wait: u64, ready: Value) -> (String, String) {
    let (application, group) = (unique_repo("site-app"), unique_repo("site-group"));
    let endpoint = &site.emulator.endpoint;
    let (status, answer) = emulator_codedeploy(
        endpoint,
        "CreateApplication",
        json!({"applicationName": application, "computePlatform": "ECS"}),
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = emulator_codedeploy(
        endpoint,
        "CreateDeploymentGroup",
        json!({
            "applicationName": application, "deploymentGroupName": group,
            "serviceRoleArn": "arn:aws:iam::123456789012:role/CodeDeployECS",
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "blueGreenDeploymentConfiguration": {
                "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": termination_wait},
                "deploymentReadyOption": ready
            },
            "loadBalancerInfo": {"targetGroupPairInfoList": [{
                "targetGroups": [{"name": "site-blue"}, {"name": "site-green"}],
                "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/site/1/80"]},
                "testTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/site/1/8080"]}
            }]},
            "ecsServices": [{"serviceName": site.service, "clusterName": site.cluster}],
        }),
    );
    assert_eq!(status, 200, "{answer}");
    (application, group)
}

/// As `codedeploy_for`, a group that waits in Ready (STOP_DEPLOYMENT) up to `ready_wait`
/// minutes for ContinueDeployment before it reroutes production traffic.
fn codedeploy_waiting_ready(site: &Site, ready_wait: u64) -> (String, String) {
    codedeploy_group(
        site,
        1,
        json!({"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": ready_wait}),
    )
}

/// update-service deploying v2 (the family's latest revision) through CodeDeploy.
fn deploy_v2_through_codedeploy(
    site: &Site,
    application: &str,
    group: &str,
    extra: &[&str],
) -> Run {
    run(update_v2_through_codedeploy(site, application, group)
        .args(extra)
        .args(crate::support::record_flag()))
}

/// The update-service command line deploying v2 through CodeDeploy, polling every 300 ms.
fn update_v2_through_codedeploy(
    site: &Site,
    application: &str,
    group: &str,
) -> std::process::Command {
    let mut command = on(&site.emulator.endpoint);
    command.args([
        "update-service",
        "--family",
        &site.family(),
        "--cluster",
        &site.cluster,
        "--service",
        &site.service,
        "--skip-task-definition-registration",
        "--poll-interval",
        "300ms",
        "--codedeploy-application",
        application,
        "--codedeploy-deployment-group",
        group,
    ]);
    command
}

#[test]
fn emulator_a_codedeploy_deployment_shifts_production_to_v2_printing_each_lifecycle_event_once() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_for(&site, 1);
    // ECS itself refuses to move a CODE_DEPLOY service to another task definition.
    let refused = site.api.block_on(
        site.api
            .ecs
            .update_service()
            .cluster(&site.cluster)
            .service(&site.service)
            .task_definition(&site.v2)
            .send(),
    );
    assert!(
        format!("{:?}", refused.unwrap_err()).contains("CODE_DEPLOY"),
        "UpdateService must be refused"
    );
    let result = deploy_v2_through_codedeploy(&site, &application, &group, &[]);
    result.assert_code(0);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", result.stdout);
    assert_eq!(lines[0], site.v2);
    let deployment_id = lines[1];
    for event in [
        "BeforeInstall",
        "Install",
        "AfterInstall",
        "AllowTestTraffic",
        "AfterAllowTestTraffic",
        "BeforeAllowTraffic",
        "AllowTraffic",
        "AfterAllowTraffic",
    ] {
        let line = format!("lifecycle event {event}: Succeeded");
        assert_eq!(
            result.stderr.matches(&line).count(),
            1,
            "{line}: {}",
            result.stderr
        );
    }
    assert!(
        result
            .stderr
            .contains(&format!("CodeDeploy deployment {deployment_id} succeeded")),
        "{}",
        result.stderr
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);
    assert_eq!(site.task_definition(), site.v2);
    let (_, answer) = emulator_codedeploy(
        &site.emulator.endpoint,
        "GetDeployment",
        json!({"deploymentId": deployment_id}),
    );
    assert_eq!(answer["deploymentInfo"]["status"], "Succeeded", "{answer}");
}

#[test]
fn emulator_a_codedeploy_deployment_whose_green_tasks_fail_their_health_check_exits_1_and_v1_serves(
) {
    let stack = stack();
    let unhealthy = tempfile::tempdir().unwrap();
    write(
        unhealthy.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false\nCMD [\"sh\", \"-c\", \"echo health endpoint not wired; exec sleep 600\"]\n",
            stack.base_image
        ),
    );
    let site = Site::start_codedeploy(&["--breaker-threshold", "2"], Some(unhealthy.path()));
    let first = site.task_definition();
    let (application, group) = codedeploy_for(&site, 1);
    let result = deploy_v2_through_codedeploy(&site, &application, &group, &[]);
    result
        .assert_code(1)
        .assert_stderr_contains("is Failed: ECS_UPDATE_ERROR")
        .assert_stderr_contains("rolled back by deployment")
        .assert_stderr_contains("lifecycle event Install: Failed")
        // Below why the green tasks stopped: what they logged (issue 22).
        .assert_stderr_contains("Task failed container health checks")
        .assert_stderr_contains("| health endpoint not wired");
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
    assert_eq!(site.task_definition(), first);
}

#[test]
fn emulator_a_codedeploy_deployment_past_its_timeout_is_stopped_with_rollback_when_asked() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let first = site.task_definition();
    // The blue tasks are kept 60 minutes (30 s here) after traffic shifted: the wait times out.
    let (application, group) = codedeploy_for(&site, 60);
    let result = deploy_v2_through_codedeploy(
        &site,
        &application,
        &group,
        &["--timeout", "8s", "--rollback-on-cancel"],
    );
    result
        .assert_code(1)
        .assert_stderr_contains("did not finish within 8s")
        .assert_stderr_contains("with automatic rollback");
    let deployment_id = result.stdout.lines().nth(1).map(str::to_string);
    assert!(
        deployment_id.is_none(),
        "a failed run prints no data: {}",
        result.stdout
    );
    site.wait(Duration::from_secs(60), "v1 serving again", |site| {
        site.pages(&site.production, 2) == ["version 1", "version 1"]
    });
    assert_eq!(site.task_definition(), first);
}

/// Issue 19: `--enable-circuit-breaker` (the orb's parameter) is not `--rollback-on-cancel`.
/// deployer stopping its own wait never rolls back a deployment that progresses normally: the
/// deployment goes on and v2 serves. Without `--timeout`, the wait counts the group's
/// termination wait and the configuration's traffic routing, and says how.
#[test]
fn emulator_the_circuit_breaker_never_rolls_back_a_healthy_deployment_deployer_stopped_waiting_for()
{
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    // The blue tasks are kept 20 minutes (10 s here) after traffic shifted.
    let (application, group) = codedeploy_for(&site, 20);
    let result = deploy_v2_through_codedeploy(
        &site,
        &application,
        &group,
        &["--timeout", "4s", "--enable-circuit-breaker"],
    );
    result
        .assert_code(1)
        .assert_stderr_contains("did not finish within 4s");
    assert!(
        !result.stderr.contains("with automatic rollback")
            && !result.stderr.contains("roll it back"),
        "deployer stopped waiting; it must not stop the deployment: {}",
        result.stderr
    );
    site.wait(Duration::from_secs(60), "v2 serving", |site| {
        site.pages(&site.production, 2) == ["version 2", "version 2"]
    });
    assert_eq!(site.task_definition(), site.v2);

    // The default timeout: the rollout's 10 minutes plus what the deployment itself takes.
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_for(&site, 1);
    let result = deploy_v2_through_codedeploy(&site, &application, &group, &[]);
    result.assert_code(0).assert_stderr_contains(
        "waiting up to 11m00s: 10m00s for the rollout + all at once + termination wait 1m \
         (CodeDeployDefault.ECSAllAtOnce); --timeout overrides",
    );
}

/// The orb's deploy_service_update job with `deployment_controller: CODE_DEPLOY`, as CircleCI
/// would run its deployer step, deploys v2 through the emulator's CodeDeploy.
#[test]
fn emulator_the_orbs_deploy_service_update_with_code_deploy_shifts_production_to_v2() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_for(&site, 1);
    let family = site.family();
    let env = job_step_env(
        "deploy_service_update",
        &[
            ("family", &family),
            ("cluster", &site.cluster),
            ("service_name", &site.service),
            ("skip_task_definition_registration", "true"),
            ("verify_revision_is_deployed", "true"),
            ("poll_interval", "1"),
            ("deployment_controller", "CODE_DEPLOY"),
            ("codedeploy_application_name", &application),
            ("codedeploy_deployment_group_name", &group),
            (
                "codedeploy_load_balanced_container_name",
                "tutorial-site-app",
            ),
            ("codedeploy_load_balanced_container_port", "3000"),
            ("verification_timeout", "3m"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let bash_env = dir.path().join("bash_env");
    let result = run(std::process::Command::new("bash")
        .arg(root().join("orb/src/scripts/run.sh"))
        .current_dir(dir.path())
        .env("DEPLOYER_BIN", env!("CARGO_BIN_EXE_deployer"))
        .env_remove("DEPLOYER_ROLE_ARN")
        .env_remove("RUST_LOG")
        .envs(&env)
        .env("AWS_ENDPOINT_URL", &site.emulator.endpoint)
        .env("BASH_ENV", &bash_env));
    result
        .assert_code(0)
        .assert_stderr_contains(&format!(
            "--codedeploy-application {application} --codedeploy-deployment-group {group}"
        ))
        .assert_stderr_contains("--timeout 3m")
        .assert_stderr_contains("lifecycle event AllowTraffic: Succeeded");
    let exported = exported_to_later_steps(&bash_env);
    assert!(
        exported["DEPLOYER_CODEDEPLOY_DEPLOYMENT_ID"].starts_with("d-"),
        "{exported:?}"
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);
    assert_eq!(site.task_definition(), site.v2);
}

/// Cancelled like a CircleCI job (SIGTERM) while v2 serves and the blue tasks wait out the
/// termination wait: `--rollback-on-cancel` stops the deployment with rollback and waits for it.
#[test]
fn emulator_sigterm_with_rollback_on_cancel_stops_the_codedeploy_deployment_and_v1_serves() {
    use std::process::Stdio;
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let first = site.task_definition();
    let (application, group) = codedeploy_for(&site, 600);
    let mut child = update_v2_through_codedeploy(&site, &application, &group)
        .arg("--rollback-on-cancel")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_so_far = StderrSoFar::read(&mut child);
    site.wait(Duration::from_secs(60), "v2 serving production", |site| {
        site.pages(&site.production, 2) == ["version 2", "version 2"]
    });
    // deployer's wait loop, which stops the deployment on SIGTERM, has polled it once.
    stderr_so_far.wait_for("CodeDeploy deployment is ", Duration::from_secs(60));
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    let stderr = stderr_so_far.until_exit();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("stopped with automatic rollback: CodeDeploy deployment"),
        "{stderr}"
    );
    assert!(stderr.contains("is Stopped: MANUAL_STOP"), "{stderr}");
    assert!(
        stderr.contains("already done: stopped CodeDeploy deployment"),
        "{stderr}"
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
    assert_eq!(site.task_definition(), first);
}

/// `deployer deploy` builds and pushes v3, registers it and deploys it through CodeDeploy:
/// stdout has the image, the revision and the CodeDeploy deployment id.
#[test]
fn emulator_deploy_pushes_and_deploys_through_codedeploy() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_for(&site, 1);
    let family = site.family();
    let repo = unique_repo("site-v3");
    let result = run(on(&site.emulator.endpoint)
        .args([
            "deploy",
            "--repo",
            &repo,
            "--create-repo",
            "--tag",
            "v3",
            "--build-arg",
            "VERSION=3",
            "--container",
            "tutorial-site-app",
        ])
        .arg("--build-path")
        .arg(crate::emulator::tutorial_site())
        .arg("--path")
        .arg(crate::emulator::tutorial_site())
        .args([
            "--family",
            &family,
            "--cluster",
            &site.cluster,
            "--service",
            &site.service,
            "--poll-interval",
            "300ms",
            "--codedeploy-application",
            &application,
            "--codedeploy-deployment-group",
            &group,
        ]));
    result.assert_code(0);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", result.stdout);
    assert!(
        lines[0].contains(&format!("/{repo}@sha256:")),
        "{}",
        lines[0]
    );
    assert!(lines[1].ends_with(&format!("{family}:3")), "{}", lines[1]);
    assert!(lines[2].starts_with("d-"), "{}", lines[2]);
    assert_eq!(site.pages(&site.production, 4), vec!["version 3"; 4]);
    assert_eq!(site.task_definition(), lines[1]);
}

/// Issue 19: a deployment group that waits in Ready for someone to reroute traffic
/// (`deploymentReadyOption` STOP_DEPLOYMENT): the default wait counts the ready wait, deployer
/// waits through Ready (never a verdict), and once ContinueDeployment is called the deployment
/// goes on to the end. CodeDeploy API reference, DeploymentReadyOption: with STOP_DEPLOYMENT
/// "Do not register new instances with a load balancer unless traffic rerouting is started using
/// ContinueDeployment. If traffic rerouting is not started before the end of the specified wait
/// period, the deployment status is changed to Stopped."; DeploymentInfo's `status` lists Ready.
#[test]
fn emulator_a_deployment_waiting_in_ready_is_waited_through_until_continued() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    // 60 minutes of ready wait: 30 s here, far more than the test needs.
    let (application, group) = codedeploy_waiting_ready(&site, 60);
    let mut child = update_v2_through_codedeploy(&site, &application, &group)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_so_far = StderrSoFar::read(&mut child);
    // Find the deployment once it waits in Ready, and let it go on.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let deployment_id = loop {
        let (_, listed) = emulator_codedeploy(
            &site.emulator.endpoint,
            "ListDeployments",
            json!({"applicationName": application, "deploymentGroupName": group}),
        );
        let ready = listed["deployments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str())
            .find(|id| {
                let (_, answer) = emulator_codedeploy(
                    &site.emulator.endpoint,
                    "GetDeployment",
                    json!({"deploymentId": id}),
                );
                answer["deploymentInfo"]["status"] == "Ready"
            })
            .map(str::to_string);
        if let Some(id) = ready {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the deployment never waited in Ready"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(site.pages(&site.production, 2), ["version 1", "version 1"]);
    // The deployment stays Ready until it is continued: continue only once deployer has seen
    // it, or a poll of deployer's that comes late (a loaded machine) would never see Ready.
    stderr_so_far.wait_for("CodeDeploy deployment is Ready", Duration::from_secs(20));
    let (status, answer) = emulator_codedeploy(
        &site.emulator.endpoint,
        "ContinueDeployment",
        json!({"deploymentId": deployment_id, "deploymentWaitType": "READY_WAIT"}),
    );
    assert_eq!(status, 200, "{answer}");
    let output = child.wait_with_output().unwrap();
    let stderr = stderr_so_far.until_exit();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("CodeDeploy deployment is Ready"),
        "{stderr}"
    );
    assert!(
        stderr.contains("+ all at once + ready wait 60m + termination wait 1m"),
        "{stderr}"
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);
}

/// Issue 22: `--smoke-test` on a CODE_DEPLOY service runs at the deployment group's ready wait.
/// DeploymentReadyOption (CodeDeploy API reference): with STOP_DEPLOYMENT, traffic is not
/// rerouted "unless traffic rerouting is started using ContinueDeployment"; ContinueDeployment
/// with `deploymentWaitType` READY_WAIT starts it; StopDeployment with `autoRollbackEnabled`
/// rolls the deployment back. The test listener serves the green tasks meanwhile.
#[test]
fn emulator_a_smoke_test_gates_a_codedeploy_deployment_at_its_ready_wait() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_waiting_ready(&site, 60);
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen");
    let command = format!(
        "env | grep ^DEPLOYER_ | sort > {}; curl -fsS \"$DEPLOYER_TEST_URL\" | grep -o 'version [0-9]'",
        seen.display()
    );
    let result =
        deploy_v2_through_codedeploy(&site, &application, &group, &["--smoke-test", &command]);
    result
        .assert_code(0)
        .assert_stderr_contains(&format!(
            "smoke test gate: deployment group {group}'s ready wait (STOP_DEPLOYMENT after 60m)"
        ))
        .assert_stderr_contains("smoke-test | version 2")
        .assert_stderr_contains("the smoke test passed; rerouting production traffic")
        .assert_stderr_contains("succeeded");
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(
        seen.contains(&format!("DEPLOYER_TEST_URL=http://{}/", site.test)),
        "{seen}"
    );
    assert!(
        seen.contains("DEPLOYER_CODEDEPLOY_DEPLOYMENT_ID="),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("DEPLOYER_TASK_DEFINITION_ARN={}", site.v2)),
        "{seen}"
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);
}

#[test]
fn emulator_a_failing_smoke_test_stops_the_codedeploy_deployment_with_rollback() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_waiting_ready(&site, 60);
    let before = site.task_definition();
    let result = deploy_v2_through_codedeploy(
        &site,
        &application,
        &group,
        &["--smoke-test", "echo 'GET / answered 503' >&2; exit 4"],
    );
    result
        .assert_code(1)
        .assert_stderr_contains("exited with code 4")
        .assert_stderr_contains("stopping CodeDeploy deployment")
        .assert_stderr_contains("stopped with automatic rollback")
        .assert_stderr_contains("smoke-test | GET / answered 503");
    assert_eq!(site.task_definition(), before);
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

/// A group that reroutes traffic on its own (CONTINUE_DEPLOYMENT) has no point to gate at:
/// exit 2 in the plan, naming the setting, with nothing registered or deployed.
#[test]
fn emulator_a_smoke_test_on_a_group_without_a_ready_wait_is_exit_2() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_for(&site, 1);
    let before = site.task_definition();
    let result =
        deploy_v2_through_codedeploy(&site, &application, &group, &["--smoke-test", "true"]);
    result
        .assert_code(2)
        .assert_stderr_contains("reroutes production traffic without waiting")
        .assert_stderr_contains("actionOnTimeout STOP_DEPLOYMENT");
    let (_, listed) = emulator_codedeploy(
        &site.emulator.endpoint,
        "ListDeployments",
        json!({"applicationName": application, "deploymentGroupName": group}),
    );
    assert_eq!(listed["deployments"], json!([]), "{listed}");
    assert_eq!(site.task_definition(), before);
}

/// SIGTERM while the smoke test runs at the ready wait: CMD is stopped, then with
/// `--rollback-on-cancel` the deployment is stopped with automatic rollback (exit 130).
#[test]
fn emulator_sigterm_during_a_codedeploy_smoke_test_stops_the_deployment_with_rollback() {
    let _stack = stack();
    let site = Site::start_codedeploy(&[], None);
    let (application, group) = codedeploy_waiting_ready(&site, 60);
    let mut child = update_v2_through_codedeploy(&site, &application, &group)
        .args([
            "--smoke-test",
            "echo started; sleep 600",
            "--rollback-on-cancel",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
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
    assert!(
        stderr.contains("stopped with automatic rollback"),
        "{stderr}"
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}
