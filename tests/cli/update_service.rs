//! `deployer update-service` and `render-task-definition` against moto: a server nobody here
//! wrote checks the requests. moto never rolls services, so these runs use --no-wait; the waits
//! are tested on scripted DescribeServices answers in the unit tests.
use crate::support::{
    deployer, describe_task_definition_json, exported_to_later_steps, moto_ec2_ids, run,
    seed_task_definition, stack, unique_repo, Api,
};

struct Seed {
    ecs: Api,
    family: String,
    cluster: String,
    service: String,
    first_arn: String,
}

fn seed() -> Seed {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first_arn = ecs.register_seed(&family);
    ecs.create_cluster_and_service(&cluster, &service, &first_arn);
    Seed {
        ecs,
        family,
        cluster,
        service,
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
    ]);
    command
}

/// A revision as moto sends it, with what legitimately differs between revisions masked.
fn normalized(arn: &str) -> serde_json::Value {
    let mut described = describe_task_definition_json(&stack(), arn);
    let definition = &mut described["taskDefinition"];
    for masked in ["taskDefinitionArn", "revision", "registeredAt"] {
        if definition.get(masked).is_some() {
            definition[masked] = serde_json::json!("MASKED");
        }
    }
    definition["containerDefinitions"][0]["image"] = serde_json::json!("MASKED");
    described
}

#[test]
fn registers_a_revision_equal_in_every_field_but_the_image_and_points_the_service_at_it() {
    let seed = seed();
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("bash_env");
    let result = run(update_service(&seed)
        .args([
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
        ])
        .args(["--no-wait", "--export-env"])
        .arg(&env_file));
    result.assert_code(0);
    let new_arn = result.stdout.trim().to_string();
    assert!(
        new_arn.ends_with(&format!("task-definition/{}:2", seed.family)),
        "{new_arn}"
    );

    let (definition, tags) = seed.ecs.describe(&new_arn);
    assert_eq!(
        definition.container_definitions()[0].image(),
        Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2")
    );
    assert_eq!(tags.len(), 2, "tags kept: {tags:?}");
    assert_eq!(normalized(&new_arn), normalized(&seed.first_arn));
    assert!(
        definition.runtime_platform().is_some(),
        "runtimePlatform kept"
    );
    assert_eq!(
        definition.ephemeral_storage().map(|e| e.size_in_gib()),
        Some(30)
    );

    let service_task_definition = seed
        .ecs
        .service_task_definition(&seed.cluster, &seed.service);
    assert!(
        service_task_definition.ends_with(&format!("{}:2", seed.family)),
        "service points at {service_task_definition}"
    );
    let exported = exported_to_later_steps(&env_file);
    assert_eq!(exported["DEPLOYER_TASK_DEFINITION_ARN"], new_arn);
    assert_eq!(
        exported["DEPLOYER_PREVIOUS_TASK_DEFINITION_ARN"],
        seed.first_arn
    );
    assert_eq!(exported["DEPLOYER_SERVICE"], seed.service);
}

#[test]
fn export_env_writes_github_actions_syntax_into_github_env() {
    let seed = seed();
    let dir = tempfile::tempdir().unwrap();
    let github_env = dir.path().join("github_env");
    std::fs::write(&github_env, "EARLIER=1\n").unwrap();
    let result = run(update_service(&seed)
        .args([
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
        ])
        .args(["--no-wait", "--export-env"])
        .arg(&github_env)
        .env("GITHUB_ENV", &github_env));
    result.assert_code(0);
    let new_arn = result.stdout.trim();
    let written = std::fs::read_to_string(&github_env).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "EARLIER=1");
    assert!(
        lines.contains(&format!("DEPLOYER_TASK_DEFINITION_ARN={new_arn}").as_str()),
        "{written}"
    );
    assert!(
        lines.contains(&format!("DEPLOYER_SERVICE={}", seed.service).as_str()),
        "{written}"
    );
    assert!(!written.contains("export "), "{written}");
}

#[test]
fn dry_run_prints_the_plan_and_registers_nothing() {
    let seed = seed();
    let result = run(update_service(&seed)
        .args([
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
        ])
        .args([
            "--container-env-var-updates",
            "container=tutorial-site-app,name=VERSION,value=2=final",
        ])
        .arg("--dry-run"));
    result
        .assert_code(0)
        .assert_stderr_contains("dry run, nothing changed");
    let input: serde_json::Value =
        serde_json::from_str(&result.stdout).expect("the plan is JSON on stdout");
    assert_eq!(
        input["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2"
    );
    assert!(input.get("taskDefinitionArn").is_none());
    assert_eq!(
        seed.ecs.revisions(&seed.family).len(),
        1,
        "nothing registered"
    );
    assert_eq!(
        seed.ecs
            .service_task_definition(&seed.cluster, &seed.service),
        seed.first_arn
    );
}

#[test]
fn bad_specs_are_usage_errors_and_register_nothing() {
    let seed = seed();
    let cases = [
        (
            vec![
                "--container-image-name-updates",
                "container=no-such-container,tag=v2",
            ],
            "no-such-container",
        ),
        (
            vec![
                "--container-image-name-updates",
                "container=tutorial-site-app,tga=v2",
            ],
            "tga",
        ),
        (
            vec!["--container-image-name-updates", "tag=v2"],
            "container",
        ),
        (
            vec![
                "--container-env-var-updates",
                "container=tutorial-site-app,name=ONLY_NAME",
            ],
            "value",
        ),
        (
            vec![
                "--container-env-var-removals",
                "container=tutorial-site-app,name=NOT_THERE",
            ],
            "NOT_THERE",
        ),
    ];
    for (flags, named) in cases {
        let result = run(update_service(&seed).args(&flags).arg("--no-wait"));
        result.assert_code(2).assert_stderr_contains(named);
    }
    assert_eq!(
        seed.ecs.revisions(&seed.family).len(),
        1,
        "nothing registered"
    );
    assert_eq!(
        seed.ecs
            .service_task_definition(&seed.cluster, &seed.service),
        seed.first_arn
    );
}

#[test]
fn a_missing_service_is_an_error_not_a_silent_success() {
    let seed = seed();
    let result = run(deployer(std::path::Path::new("/"))
        .args([
            "update-service",
            "--family",
            &seed.family,
            "--cluster",
            &seed.cluster,
        ])
        .args([
            "--service",
            "no-such-service",
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
        ]));
    result
        .assert_code(2)
        .assert_stderr_contains("service no-such-service does not exist")
        .assert_stderr_contains(&seed.cluster);
    assert_eq!(
        seed.ecs.revisions(&seed.family).len(),
        1,
        "nothing registered"
    );
}

#[test]
fn create_service_creates_a_missing_service_on_the_new_revision() {
    let seed = seed();
    let stack = stack();
    let subnets = moto_ec2_ids(&stack, "DescribeSubnets", "subnetId");
    let groups = moto_ec2_ids(&stack, "DescribeSecurityGroups", "groupId");
    let subnet_list = format!("{},{}", subnets[0], subnets[1]);
    let service = unique_repo("tutorial-site-service-new");
    let missing = |flags: &[&str]| {
        run(deployer(std::path::Path::new("/"))
            .args(["update-service", "--family", &seed.family])
            .args(["--cluster", &seed.cluster, "--service", &service])
            .args([
                "--container-image-name-updates",
                "container=tutorial-site-app,tag=v2",
                "--no-wait",
            ])
            .args(flags))
    };

    // The seed runs awsvpc on Fargate: without subnets ECS could not place it. Nothing changes.
    missing(&["--create-service"])
        .assert_code(2)
        .assert_stderr_contains("needs --subnets");
    missing(&["--subnets", "subnet-0a1b"])
        .assert_code(2)
        .assert_stderr_contains("--create-service");
    missing(&[
        "--create-service",
        "--subnets",
        "subnet-0a1b",
        "--target-group",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site/0a1b",
        "--container-name",
        "nope",
        "--container-port",
        "3000",
    ])
    .assert_code(2)
    .assert_stderr_contains("no such container");
    assert_eq!(
        seed.ecs.revisions(&seed.family).len(),
        1,
        "nothing registered"
    );

    let result = missing(&[
        "--create-service",
        "--subnets",
        &subnet_list,
        "--security-groups",
        &groups[0],
        "--assign-public-ip",
        "ENABLED",
        "--target-group",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site/0a1b",
        "--container-name",
        "tutorial-site-app",
        "--container-port",
        "3000",
        "--desired-count",
        "2",
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains(&format!("created service {service}"));
    let revisions = seed.ecs.revisions(&seed.family);
    assert_eq!(revisions.len(), 2);
    assert_eq!(result.stdout.trim(), revisions[1]);
    let created = seed.ecs.block_on(
        seed.ecs
            .ecs
            .describe_services()
            .cluster(&seed.cluster)
            .services(&service)
            .send(),
    );
    let created = created.unwrap();
    let created = &created.services()[0];
    assert_eq!(created.task_definition(), Some(revisions[1].as_str()));
    assert_eq!(created.desired_count(), 2);
    assert_eq!(
        created.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Fargate)
    );
    let vpc = created
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .unwrap();
    assert_eq!(vpc.subnets(), &subnets[..2]);
    assert_eq!(vpc.security_groups(), &groups[..1]);
    assert_eq!(created.load_balancers()[0].container_port(), Some(3000));

    // Run again, the service exists: it is updated, not created twice.
    let again = missing(&["--create-service", "--subnets", &subnets[0]]);
    again.assert_code(0);
    assert!(
        !again.stderr.contains("created service"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_missing_family_is_named() {
    let seed = seed();
    let result = run(deployer(std::path::Path::new("/"))
        .args([
            "update-service",
            "--family",
            "no-such-family",
            "--cluster",
            &seed.cluster,
        ])
        .args(["--service", &seed.service, "--no-wait"]));
    result
        .assert_code(2)
        .assert_stderr_contains("no-such-family");
}

#[test]
fn skip_registration_deploys_the_latest_revision_as_it_is() {
    let seed = seed();
    let second = seed.ecs.register_seed(&seed.family);
    let result =
        run(update_service(&seed).args(["--skip-task-definition-registration", "--no-wait"]));
    result.assert_code(0);
    assert_eq!(result.stdout.trim(), second);
    assert_eq!(
        seed.ecs.revisions(&seed.family).len(),
        2,
        "nothing new registered"
    );
    assert!(seed
        .ecs
        .service_task_definition(&seed.cluster, &seed.service)
        .ends_with(":2"));
}

#[test]
fn render_task_definition_works_offline_on_the_clis_json() {
    let dir = tempfile::tempdir().unwrap();
    let described = serde_json::json!({
        "taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7",
            "revision": 7,
            "status": "ACTIVE",
            "registeredAt": "2026-11-24T10:00:00+00:00",
            "compatibilities": ["EC2", "FARGATE"],
            "requiresAttributes": [{"name": "ecs.capability.execution-role-awslogs"}],
            "family": "tutorial-site-task",
            "containerDefinitions": seed_task_definition("tutorial-site-task")["containerDefinitions"].clone(),
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}
        },
        "tags": [{"key": "team", "value": "web"}]
    });
    let input = dir.path().join("described.json");
    std::fs::write(&input, described.to_string()).unwrap();
    let result = run(deployer(dir.path())
        .args(["render-task-definition", "--input"])
        .arg(&input)
        .args([
            "--container-image-name-updates",
            "container=tutorial-site-app,image-and-tag=127.0.0.1:5000/site:v3",
        ]));
    result.assert_code(0);
    let rendered: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(
        rendered["containerDefinitions"][0]["image"],
        "127.0.0.1:5000/site:v3"
    );
    assert_eq!(
        rendered["tags"],
        serde_json::json!([{"key": "team", "value": "web"}])
    );
    assert_eq!(rendered["runtimePlatform"]["cpuArchitecture"], "ARM64");
    for read_only in [
        "taskDefinitionArn",
        "revision",
        "status",
        "registeredAt",
        "compatibilities",
        "requiresAttributes",
    ] {
        assert!(rendered.get(read_only).is_none(), "{read_only} dropped");
    }
}

#[test]
fn enable_circuit_breaker_keeps_the_rest_of_the_deployment_configuration() {
    let seed = seed();
    // moto keeps the deployment configuration only from UpdateService, so set it that way.
    let alarms = aws_sdk_ecs::types::DeploymentAlarms::builder()
        .alarm_names("tutorial-site-5xx")
        .enable(true)
        .rollback(false)
        .build()
        .unwrap();
    seed.ecs
        .block_on(
            seed.ecs
                .ecs
                .update_service()
                .cluster(&seed.cluster)
                .service(&seed.service)
                .deployment_configuration(
                    aws_sdk_ecs::types::DeploymentConfiguration::builder()
                        .maximum_percent(200)
                        .minimum_healthy_percent(50)
                        .alarms(alarms)
                        .build(),
                )
                .send(),
        )
        .unwrap();
    run(update_service(&seed).args([
        "--container-image-name-updates",
        "container=tutorial-site-app,tag=v2",
        "--enable-circuit-breaker",
        "--desired-count",
        "2",
        "--no-wait",
    ]))
    .assert_code(0);
    let answer = seed
        .ecs
        .block_on(
            seed.ecs
                .ecs
                .describe_services()
                .cluster(&seed.cluster)
                .services(&seed.service)
                .send(),
        )
        .unwrap();
    let service = &answer.services()[0];
    let configuration = service
        .deployment_configuration()
        .expect("deployment configuration");
    assert_eq!(configuration.maximum_percent(), Some(200));
    assert_eq!(configuration.minimum_healthy_percent(), Some(50));
    let breaker = configuration
        .deployment_circuit_breaker()
        .expect("circuit breaker set");
    assert!(breaker.enable() && breaker.rollback());
    let alarms = configuration.alarms().expect("alarms kept");
    assert_eq!(alarms.alarm_names(), ["tutorial-site-5xx"]);
    assert_eq!(service.desired_count(), 2);
}

#[test]
fn an_environment_value_reaches_the_task_definition_but_never_the_logs() {
    let seed = seed();
    let secret = "s3cr3t-v4lue";
    for (run_number, (verbosity, rust_log)) in [
        ("-vv", None),
        ("-v", None),
        ("-vvv", None),
        ("-vv", Some("trace")),
    ]
    .into_iter()
    .enumerate()
    {
        // Each run changes the value, so each registers a revision and logs a change.
        let value = match run_number {
            0 => secret.to_string(),
            n => format!("{secret}-{n}"),
        };
        let mut command = update_service(&seed);
        command
            .args([
                "--container-env-var-updates",
                &format!("container=tutorial-site-app,name=DB_PASSWORD,value={value}"),
            ])
            .args([verbosity, "--no-wait"]);
        if let Some(filter) = rust_log {
            command.env("RUST_LOG", filter);
        }
        let result = run(&mut command);
        result
            .assert_code(0)
            .assert_stderr_contains("tutorial-site-app: environment DB_PASSWORD");
        assert!(
            !result.stderr.contains(secret),
            "{verbosity} RUST_LOG={rust_log:?} printed the value on stderr:\n{}",
            result
                .stderr
                .lines()
                .filter(|line| line.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let arn = result.stdout.trim();
        assert!(arn.starts_with("arn:aws:ecs:"), "stdout is the ARN: {arn}");
        assert!(!result.stdout.contains(secret), "{}", result.stdout);
        assert!(
            verbosity == "-v" || result.stderr.len() > 2000,
            "{verbosity} logged little: is the SDK's log on?"
        );

        let (definition, _) = seed.ecs.describe(arn);
        let environment = definition.container_definitions()[0].environment();
        assert!(
            environment
                .iter()
                .any(|pair| pair.name() == Some("DB_PASSWORD") && pair.value() == Some(&*value)),
            "the value was registered: {environment:?}"
        );
    }
}

#[test]
fn strategy_and_wait_until_mistakes_are_refused_before_anything_is_registered() {
    let seed = seed();
    let cases = [
        // moto's service has no load balancer to shift traffic with.
        (
            vec!["--strategy", "canary", "--canary-percent", "10"],
            "alternate target group",
        ),
        (vec!["--canary-percent", "10"], "--strategy canary"),
        (vec!["--bake-time", "5m"], "--bake-time applies"),
        (
            vec!["--strategy", "linear", "--linear-step-percent", "2"],
            "3.0 to 100.0",
        ),
        (
            vec!["--strategy", "blue-green", "--bake-time", "90s"],
            "whole minutes",
        ),
        (vec!["--wait-until", "paused"], "PAUSE lifecycle hook"),
        (vec!["--wait-until", "bake-time"], "deploys ROLLING"),
    ];
    for (flags, named) in cases {
        let result = run(update_service(&seed)
            .args([
                "--container-image-name-updates",
                "container=tutorial-site-app,tag=v2",
            ])
            .args(&flags));
        result.assert_code(2).assert_stderr_contains(named);
    }
    assert_eq!(
        seed.ecs.revisions(&seed.family).len(),
        1,
        "nothing registered"
    );
    assert_eq!(
        seed.ecs
            .service_task_definition(&seed.cluster, &seed.service),
        seed.first_arn
    );
}

#[test]
fn continue_on_a_service_without_service_deployments_changes_nothing() {
    let seed = seed();
    let result = run(deployer(std::path::Path::new("/")).args([
        "continue",
        "--cluster",
        &seed.cluster,
        "--service",
        &seed.service,
    ]));
    // moto has no ServiceDeployment API: a remote failure, named, and nothing changed.
    result
        .assert_code(3)
        .assert_stderr_contains("ecs:ListServiceDeployments failed");
    result.assert_stderr_contains("needs ECS's ServiceDeployment API");
    assert_eq!(
        seed.ecs
            .service_task_definition(&seed.cluster, &seed.service),
        seed.first_arn
    );
}
