//! The service, task definition, wait and run-task steps.
use super::{run, seed_push};
use crate::orb::steps::Step;

/// The aws-ecs orb's run_task defaults as CircleCI places them (booleans as 1/0).
fn run_task_defaults() -> Vec<(&'static str, &'static str)> {
    vec![
        ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("PARAM_PROFILE_NAME", "default"),
        ("PARAM_CLUSTER", "tutorial-site-cluster"),
        ("PARAM_TASK_DEFINITION", "tutorial-site-migrate"),
        ("PARAM_COUNT", "1"),
        ("PARAM_LAUNCH_TYPE", "FARGATE"),
        ("PARAM_AWSVPC", "1"),
        ("PARAM_ASSIGN_PUBLIC_IP", "DISABLED"),
        ("PARAM_ENABLE_ECS_MANAGED_TAGS", "0"),
        ("PARAM_ENABLE_EXECUTE_COMMAND", "0"),
        ("PARAM_PROPAGATE_TAGS", "0"),
        ("PARAM_WAIT_TASK_STOPPED", "0"),
    ]
}

#[test]
fn lacking_features_fail_only_off_their_default() {
    let mut vars = seed_push();
    vars.push(("PARAM_PUSH_IMAGE", "false"));
    assert!(run(Step::Push, &vars)
        .unwrap()
        .contains(&"--no-push".to_string()));

    // The binfmt step reads binfmt_version; deployer's command line does not change.
    let mut vars = seed_push();
    vars.push(("PARAM_BINFMT_VERSION", "qemu-v8.1.5"));
    assert_eq!(
        run(Step::Push, &vars).unwrap(),
        run(Step::Push, &seed_push()).unwrap()
    );

    let created = run(
        Step::UpdateService,
        &[
            ("PARAM_CREATE_SERVICE", "true"),
            ("PARAM_FAMILY", "f"),
            ("PARAM_SUBNETS", "subnet-1,subnet-2"),
            ("PARAM_PUBLIC_IP", "DISABLED"),
        ],
    )
    .unwrap()
    .join(" ");
    assert!(
        created
            .contains("--create-service --subnets subnet-1,subnet-2 --assign-public-ip DISABLED"),
        "{created}"
    );
    // At their defaults, the same parameters pass.
    run(
        Step::UpdateService,
        &[
            ("PARAM_FAMILY", "f"),
            ("PARAM_DEPLOYMENT_CONTROLLER", "ECS"),
            ("PARAM_CREATE_SERVICE", "false"),
            ("PARAM_PUBLIC_IP", "DISABLED"),
            ("PARAM_CODEDEPLOY_LOAD_BALANCED_CONTAINER_PORT", "80"),
            ("PARAM_FAIL_ON_VERIFICATION_TIMEOUT", "true"),
            ("PARAM_VERIFICATION_TIMEOUT", "10m"),
        ],
    )
    .unwrap();
}

#[test]
fn codedeploy_parameters_become_flags_only_with_the_code_deploy_controller() {
    let codedeploy = [
        ("PARAM_FAMILY", "tutorial-site-task"),
        ("PARAM_CLUSTER", "tutorial-site-cluster"),
        ("PARAM_CODEDEPLOY_APPLICATION_NAME", "site-app"),
        ("PARAM_CODEDEPLOY_DEPLOYMENT_GROUP_NAME", "site-group"),
        (
            "PARAM_CODEDEPLOY_LOAD_BALANCED_CONTAINER_NAME",
            "tutorial-site-app",
        ),
        ("PARAM_CODEDEPLOY_LOAD_BALANCED_CONTAINER_PORT", "3000"),
        ("PARAM_CODEDEPLOY_CAPACITY_PROVIDER_NAME", "FARGATE_SPOT"),
        ("PARAM_CODEDEPLOY_CAPACITY_PROVIDER_BASE", "0"),
        ("PARAM_CODEDEPLOY_CAPACITY_PROVIDER_WEIGHT", "1"),
        (
            "PARAM_DEPLOYMENT_CONFIG_NAME",
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
        ),
        ("PARAM_VERIFICATION_TIMEOUT", "20m"),
        ("PARAM_POLL_INTERVAL", "20"),
        ("PARAM_MAX_POLL_ATTEMPTS", "50"),
    ];
    let mut on = codedeploy.to_vec();
    on.push(("PARAM_DEPLOYMENT_CONTROLLER", "CODE_DEPLOY"));
    let line = run(Step::UpdateService, &on).unwrap().join(" ");
    for expected in [
        "--codedeploy-application site-app",
        "--codedeploy-deployment-group site-group",
        "--codedeploy-container-name tutorial-site-app",
        "--codedeploy-container-port 3000",
        "--codedeploy-capacity-provider FARGATE_SPOT,0,1",
        "--codedeploy-deployment-config CodeDeployDefault.ECSCanary10Percent5Minutes",
        "--timeout 20m",
    ] {
        assert!(line.contains(expected), "{expected}: {line}");
    }
    assert_eq!(line.matches("--timeout").count(), 1, "{line}");
    // With the ECS controller the orb ignores them, and so does deployer.
    let mut ecs = codedeploy.to_vec();
    ecs.push(("PARAM_DEPLOYMENT_CONTROLLER", "ECS"));
    let line = run(Step::UpdateService, &ecs).unwrap().join(" ");
    assert!(!line.contains("--codedeploy"), "{line}");
    assert!(line.contains("--timeout 1000s"), "{line}");
    let mut typo = codedeploy.to_vec();
    typo.push(("PARAM_DEPLOYMENT_CONTROLLER", "CODEDEPLOY"));
    let error = run(Step::UpdateService, &typo).unwrap_err();
    assert!(
        error.message.contains("expected ECS or CODE_DEPLOY"),
        "{}",
        error.message
    );
    let mut unnamed = on.clone();
    unnamed.retain(|(name, _)| *name != "PARAM_CODEDEPLOY_APPLICATION_NAME");
    let error = run(Step::UpdateService, &unnamed).unwrap_err();
    assert!(
        error.message.contains("needs codedeploy_application_name"),
        "{}",
        error.message
    );
    let mut half = on.clone();
    half.retain(|(name, _)| *name != "PARAM_CODEDEPLOY_CAPACITY_PROVIDER_WEIGHT");
    let error = run(Step::UpdateService, &half).unwrap_err();
    assert!(error.message.contains("weight"), "{}", error.message);
}

#[test]
fn early_success_and_allow_family_change_become_their_flags() {
    let vars = [
        ("PARAM_REGION", "eu-west-1"),
        ("PARAM_FAMILY", "tutorial-site-task"),
        ("PARAM_CLUSTER", "tutorial-site-cluster"),
        ("PARAM_SERVICE_NAME", "tutorial-site-service"),
        ("PARAM_EARLY_SUCCESS", "50,deferred"),
        ("PARAM_ALLOW_FAMILY_CHANGE", "1"),
    ];
    let args = run(Step::UpdateService, &vars).unwrap().join(" ");
    assert!(args.contains("--early-success 50,deferred"), "{args}");
    assert!(args.contains("--allow-family-change"), "{args}");
}

#[test]
fn the_seeds_service_update_waits_as_long_as_the_orb() {
    let vars = [
        ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("PARAM_FAMILY", "tutorial-site-task"),
        ("PARAM_CLUSTER", "tutorial-site-cluster"),
        ("PARAM_SERVICE_NAME", "tutorial-site-service"),
        (
            "PARAM_CONTAINER_IMAGE_NAME_UPDATES",
            "container=tutorial-site-app,tag=latest",
        ),
        ("PARAM_FORCE_NEW_DEPLOYMENT", "0"),
        ("PARAM_VERIFY_REVISION_IS_DEPLOYED", "1"),
        ("PARAM_MAX_POLL_ATTEMPTS", "50"),
        ("PARAM_POLL_INTERVAL", "20"),
    ];
    let args = run(Step::UpdateService, &vars).unwrap();
    assert_eq!(
        args,
        [
            "update-service",
            "--region",
            "eu-west-1",
            "--family",
            "tutorial-site-task",
            "--cluster",
            "tutorial-site-cluster",
            "--service",
            "tutorial-site-service",
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=latest",
            "--poll-interval",
            "20s",
            "--timeout",
            "1000s"
        ]
    );
    let mut no_wait = vars.to_vec();
    no_wait.push(("PARAM_VERIFY_REVISION_IS_DEPLOYED", "false"));
    // Without a wait, the wait's parameters (CircleCI's defaults) are left out: --no-wait
    // refuses them.
    let args = run(Step::UpdateService, &no_wait).unwrap();
    assert!(args.contains(&"--no-wait".to_string()));
    assert!(!args
        .iter()
        .any(|arg| arg == "--poll-interval" || arg == "--timeout"));
    let mut asks_a_wait = no_wait.clone();
    asks_a_wait.push(("PARAM_WAIT_UNTIL", "running"));
    let error = run(Step::UpdateService, &asks_a_wait).unwrap_err();
    assert!(
        error
            .message
            .contains("wait_until is \"running\", but verify_revision_is_deployed is false"),
        "{}",
        error.message
    );
    // The poll interval takes deployer's duration grammar: 5s is 5 seconds, as 5 is.
    let mut with_unit = vars.to_vec();
    with_unit.retain(|(name, _)| *name != "PARAM_POLL_INTERVAL");
    with_unit.push(("PARAM_POLL_INTERVAL", "5s"));
    let args = run(Step::UpdateService, &with_unit).unwrap();
    assert!(args.ends_with(&[
        "--poll-interval".to_string(),
        "5s".to_string(),
        "--timeout".to_string(),
        "250s".to_string()
    ]));
}

#[test]
fn a_parameter_naming_an_unset_variable_names_it() {
    let error = run(
        Step::Push,
        &[
            ("PARAM_REPO", "tutorial-site-registry"),
            ("PARAM_TAG", "latest,${CIRCLE_SHA1}"),
        ],
    )
    .unwrap_err();
    assert_eq!(
            error.message,
            "parameter tag is \"latest,${CIRCLE_SHA1}\", and CIRCLE_SHA1 is unset or empty there, so it would be \"latest,\""
        );
    assert!(error
        .hint
        .unwrap()
        .contains("set CIRCLE_SHA1 before this step"));
    let error = run(
        Step::UpdateService,
        &[
            ("PARAM_FAMILY", "tutorial-site-task"),
            ("PARAM_CLUSTER", "tutorial-site-cluster"),
            (
                "PARAM_CONTAINER_IMAGE_NAME_UPDATES",
                "container=tutorial-site-app,tag=${CIRCLE_SHA1}",
            ),
        ],
    )
    .unwrap_err();
    assert!(
        error.message.contains("CIRCLE_SHA1 is unset"),
        "{}",
        error.message
    );
    // Defaults that name a variable mean the default when it is unset.
    assert!(run(
        Step::Push,
        &[
            ("PARAM_REPO", "tutorial-site-registry"),
            ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
            ("PARAM_ACCOUNT_ID", "${AWS_ACCOUNT_ID}"),
            ("PARAM_ROLE_SESSION_NAME", "${CIRCLE_JOB}"),
        ],
    )
    .is_ok());
}

#[test]
fn malformed_values_name_the_parameter() {
    let error = run(Step::Push, &[("PARAM_CREATE_REPO", "yes")]).unwrap_err();
    assert!(error.message.contains("create_repo"), "{}", error.message);
    assert!(error.hint.unwrap().contains("PARAM_CREATE_REPO"));
    let error = run(
        Step::UpdateService,
        &[
            ("PARAM_POLL_INTERVAL", "0s"),
            ("PARAM_MAX_POLL_ATTEMPTS", "5"),
        ],
    )
    .unwrap_err();
    assert!(error.message.contains("poll_interval"), "{}", error.message);
    assert!(
        error.message.contains("give more than 0"),
        "{}",
        error.message
    );
    let error = run(
        Step::UpdateService,
        &[
            ("PARAM_POLL_INTERVAL", "5"),
            ("PARAM_MAX_POLL_ATTEMPTS", "five"),
        ],
    )
    .unwrap_err();
    assert!(
        error.message.contains("max_poll_attempts"),
        "{}",
        error.message
    );
    let error = run(
        Step::Push,
        &[("PARAM_EXTRA_BUILD_ARGS", "--build-arg A=1 --squash")],
    )
    .unwrap_err();
    assert!(error.message.contains("--squash"), "{}", error.message);
}

#[test]
fn run_task_takes_the_aws_ecs_orbs_parameters() {
    let args = run(Step::RunTask, &run_task_defaults()).unwrap();
    assert_eq!(
        args,
        [
            "run-task",
            "--region",
            "eu-west-1",
            "--cluster",
            "tutorial-site-cluster",
            "--task-definition",
            "tutorial-site-migrate",
            "--count",
            "1",
            "--launch-type",
            "FARGATE"
        ]
    );
    let mut vars = run_task_defaults();
    vars.extend([
        ("PARAM_SUBNET_IDS", "subnet-0a1b,subnet-2c3d"),
        ("PARAM_SECURITY_GROUP_IDS", "sg-0a1b"),
        ("PARAM_PROPAGATE_TAGS", "1"),
        ("PARAM_WAIT_TASK_STOPPED", "1"),
        ("PARAM_EXIT_CODE_FROM", "migrate"),
        ("PARAM_RUN_TASK_OUTPUT", "run-task.json"),
        ("PARAM_TAGS", "key=team,value=web"),
    ]);
    let args = run(Step::RunTask, &vars).unwrap().join(" ");
    for expected in [
        "--subnets subnet-0a1b,subnet-2c3d --security-groups sg-0a1b --assign-public-ip DISABLED",
        "--tags key=team,value=web",
        "--propagate-tags TASK_DEFINITION",
        "--output-file run-task.json --wait --exit-code-from migrate",
    ] {
        assert!(args.contains(expected), "{expected:?} missing from {args}");
    }
}

#[test]
fn run_task_refuses_what_the_orb_would_not_run() {
    let mut vars = run_task_defaults();
    vars.push((
        "PARAM_CAPACITY_PROVIDER_STRATEGY",
        "capacityProvider=spot,weight=1",
    ));
    let error = run(Step::RunTask, &vars).unwrap_err();
    assert!(error.message.contains("launch_type"), "{}", error.message);
    vars.push(("PARAM_LAUNCH_TYPE", ""));
    let args = run(Step::RunTask, &vars).unwrap();
    assert!(!args.contains(&"--launch-type".to_string()), "{args:?}");

    let mut vars = run_task_defaults();
    vars.push(("PARAM_EXIT_CODE_FROM", "migrate"));
    let error = run(Step::RunTask, &vars).unwrap_err();
    assert!(
        error.message.contains("wait_task_stopped"),
        "{}",
        error.message
    );
}

#[test]
fn update_task_definition_points_the_rule_only_when_asked() {
    let base = [
        ("PARAM_FAMILY", "tutorial-site-task"),
        ("PARAM_CONTAINER_IMAGE_NAME_UPDATES", "container=app,tag=v2"),
        ("PARAM_DEPLOY_SCHEDULED_TASK", "0"),
        ("PARAM_PREVIOUS_REVISION_NUMBER", ""),
    ];
    let args = run(Step::UpdateTaskDefinition, &base).unwrap();
    assert_eq!(
        args,
        [
            "register-task-definition",
            "--family",
            "tutorial-site-task",
            "--container-image-name-updates",
            "container=app,tag=v2"
        ]
    );
    let mut vars = base.to_vec();
    vars.extend([
        ("PARAM_DEPLOY_SCHEDULED_TASK", "1"),
        ("PARAM_RULE_NAME", "nightly"),
    ]);
    assert!(run(Step::UpdateTaskDefinition, &vars)
        .unwrap()
        .join(" ")
        .ends_with("--update-scheduled-task nightly"));
    vars.push(("PARAM_RULE_NAME", ""));
    let error = run(Step::UpdateTaskDefinition, &vars).unwrap_err();
    assert!(
        error.message.contains("rule_name is empty"),
        "{}",
        error.message
    );
    let mut vars = base.to_vec();
    vars.push(("PARAM_RULE_NAME", "nightly"));
    let error = run(Step::UpdateTaskDefinition, &vars).unwrap_err();
    assert!(
        error.message.contains("deploy_scheduled_task is false"),
        "{}",
        error.message
    );
    let mut vars = base.to_vec();
    vars.push(("PARAM_PREVIOUS_REVISION_NUMBER", "3"));
    let error = run(Step::UpdateTaskDefinition, &vars).unwrap_err();
    assert!(
        error.message.contains("older revision"),
        "{}",
        error.message
    );
}

#[test]
fn the_scheduled_task_step_follows_the_exported_revision() {
    let arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/nightly:7";
    let vars = [
        ("PARAM_RULE_NAME", "nightly"),
        (
            "PARAM_TASK_DEFINITION_ARN",
            "${DEPLOYER_TASK_DEFINITION_ARN}",
        ),
        ("DEPLOYER_TASK_DEFINITION_ARN", arn),
    ];
    let args = run(Step::DeployEcsScheduledTask, &vars).unwrap();
    assert_eq!(
        args,
        [
            "register-task-definition",
            "--update-scheduled-task",
            "nightly",
            "--existing-revision",
            arn
        ]
    );
    let error = run(Step::DeployEcsScheduledTask, &vars[..2]).unwrap_err();
    assert!(
        error.message.contains("DEPLOYER_TASK_DEFINITION_ARN"),
        "{}",
        error.message
    );
}

#[test]
fn verify_revision_is_deployed_waits_for_the_service_named_by_the_family() {
    let vars = [
        ("PARAM_FAMILY", "tutorial-site"),
        ("PARAM_CLUSTER", "tutorial-site-cluster"),
        ("PARAM_SERVICE_NAME", ""),
        ("PARAM_TASK_DEFINITION_ARN", "tutorial-site:4"),
        ("PARAM_MAX_POLL_ATTEMPTS", "50"),
        ("PARAM_POLL_INTERVAL", "20"),
        ("PARAM_FAIL_ON_VERIFICATION_TIMEOUT", "1"),
    ];
    let args = run(Step::VerifyRevisionIsDeployed, &vars).unwrap();
    assert_eq!(
        args,
        [
            "wait",
            "--cluster",
            "tutorial-site-cluster",
            "--service",
            "tutorial-site",
            "--task-definition",
            "tutorial-site:4",
            "--poll-interval",
            "20s",
            "--timeout",
            "1000s"
        ]
    );
    let mut vars = vars.to_vec();
    vars.push(("PARAM_FAIL_ON_VERIFICATION_TIMEOUT", "0"));
    let error = run(Step::VerifyRevisionIsDeployed, &vars).unwrap_err();
    assert!(error.message.contains("times out"), "{}", error.message);
}
