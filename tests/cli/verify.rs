//! `deployer verify` and the same checks in update-service's plan (issue 23 §1), against moto's
//! ECR, SSM, Secrets Manager, CloudWatch Logs and IAM: one line per check on stdout, exit 0,
//! 1 when something is missing or invalid; a plan that would register a revision that cannot
//! start is exit 2 with nothing registered; a check deployer may not make is a warning.
use std::path::Path;

use crate::emulator::faulty_emulator;
use crate::support::{deployer, moto_seed, run, stack, unique_repo, write, Api, SEED_ROLE};

const ACCOUNT: &str = "123456789012";
const IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:latest";

/// What one test's task definition needs, made in moto under names no other test uses.
struct Needs {
    parameter: String,
    secret_name: String,
    secret_arn: String,
    log_group: String,
    task_role: String,
    ec2_role: String,
}

fn needs() -> Needs {
    let api = Api::moto(&stack());
    api.seed_images_in_ecr();
    api.seed_role_and_log_group();
    let unique = unique_repo("verify");
    let parameter = format!("/tutorial-site/{unique}/db_password");
    let ssm = aws_sdk_ssm::Client::new(&api.config);
    api.block_on(
        ssm.put_parameter()
            .name(&parameter)
            .value("p4ssw0rd-verify")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send(),
    )
    .unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&api.config);
    let secret_name = format!("tutorial-site/{unique}/db");
    let secret_arn = api
        .block_on(
            secrets
                .create_secret()
                .name(&secret_name)
                .secret_string(r#"{"password":"s3cr3t-verify"}"#)
                .send(),
        )
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let log_group = format!("/ecs/{unique}");
    api.create_log_group(&log_group, "eu-west-1");
    let task_role = format!("{unique}-task");
    api.create_role(&task_role, "ecs-tasks.amazonaws.com");
    let ec2_role = format!("{unique}-ec2");
    api.create_role(&ec2_role, "ec2.amazonaws.com");
    Needs {
        parameter,
        secret_name,
        secret_arn,
        log_group,
        task_role,
        ec2_role,
    }
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// A Fargate task definition file of the tutorial's shape with these secrets, log group, task
/// role and size.
fn definition(
    secrets: serde_json::Value,
    log_group: &str,
    task_role: &str,
    size: (&str, &str),
) -> serde_json::Value {
    serde_json::json!({
        "family": unique_repo("tutorial-site-task"),
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": size.0,
        "memory": size.1,
        "executionRoleArn": role_arn(SEED_ROLE),
        "taskRoleArn": role_arn(task_role),
        "containerDefinitions": [{
            "name": "tutorial-site-app",
            "image": IMAGE,
            "essential": true,
            "portMappings": [{"containerPort": 3000}],
            "secrets": secrets,
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group, "awslogs-region": "eu-west-1",
                "awslogs-stream-prefix": "ecs"}}
        }]
    })
}

fn verify_file(dir: &Path, definition: &serde_json::Value) -> std::process::Command {
    let file = write(dir, "task-definition.json", &definition.to_string());
    let mut command = deployer(dir);
    command.args(["verify", "--task-definition-file", file.to_str().unwrap()]);
    command
}

/// An SSM parameter by name (a parameter by ARN is asked about by its ARN, as GetParameters
/// takes "the names or Amazon Resource Names (ARNs)", Systems Manager API reference; moto 5
/// resolves names only, so the ARN form is pinned by the unit tests). A Secrets Manager `valueFrom` with ECS's `:json-key:version-stage:version-id` suffix (Amazon
/// ECS Developer Guide, "Pass Secrets Manager secrets through Amazon ECS environment
/// variables"): DescribeSecret is asked about the secret's ARN without it, and the stage the
/// suffix names must label one of its versions (Secrets Manager API reference, DescribeSecret,
/// `VersionIdsToStages`).
#[test]
fn everything_the_revision_needs_exists_is_exit_0_one_ok_line_per_check() {
    let needs = needs();
    let dir = tempfile::tempdir().unwrap();
    let secrets = serde_json::json!([
        {"name": "DB_PASSWORD", "valueFrom": needs.parameter},
        {"name": "DB_JSON_PASSWORD", "valueFrom": format!("{}:password:AWSCURRENT:", needs.secret_arn)},
        {"name": "DB_SECRET", "valueFrom": needs.secret_arn},
        {"name": "DB_REFERENCE", "valueFrom": format!("/aws/reference/secretsmanager/{}", needs.secret_name)},
    ]);
    let mut definition = definition(secrets, &needs.log_group, &needs.task_role, ("256", "512"));
    // taskRoleArn takes "the short name or full ARN of the IAM role" (ECS API reference,
    // TaskDefinition).
    definition["taskRoleArn"] = serde_json::json!(needs.task_role);
    // A pull-through cache's repository exists once something pulled through it (Amazon ECR
    // User Guide, pull through cache): a sidecar of one no task pulled yet is not a failure.
    let cached = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/nginx:1.27";
    definition["containerDefinitions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "proxy", "image": cached, "essential": false}));
    let result = run(&mut verify_file(dir.path(), &definition));
    result.assert_code(0);
    let lines: Vec<&str> = result.stdout.lines().collect();
    let expected = [
        format!("ok           image of tutorial-site-app: {IMAGE} (sha256:"),
        "ok           secret DB_PASSWORD of tutorial-site-app: an SSM parameter".into(),
        "ok           secret DB_JSON_PASSWORD of tutorial-site-app: a key of a Secrets Manager secret (the JSON key is inside the value, which deployer does not read)".into(),
        "ok           secret DB_SECRET of tutorial-site-app: a Secrets Manager secret".into(),
        "ok           secret DB_REFERENCE of tutorial-site-app: an SSM parameter".into(),
        format!("ok           log group of tutorial-site-app: {} (eu-west-1)", needs.log_group),
        format!("not checked  image of proxy: {cached} (registry 123456789012 (eu-west-1) has no repository docker-hub/library/nginx: if a pull-through cache rule covers it, ECR creates it on the first pull)"),
        format!("ok           execution role: {} (trusts ecs-tasks.amazonaws.com)", role_arn(SEED_ROLE)),
        format!("ok           task role: {} (trusts ecs-tasks.amazonaws.com)", needs.task_role),
        "ok           Fargate task size: cpu 256, memory 512".into(),
    ];
    assert_eq!(lines.len(), expected.len(), "{}", result.stdout);
    for (line, expected) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(expected.as_str()),
            "{line}\nwanted {expected}"
        );
    }
    // Sources and values are never shown.
    for hidden in [
        needs.parameter.as_str(),
        &needs.secret_arn,
        "p4ssw0rd",
        "s3cr3t",
    ] {
        assert!(
            !result.stdout.contains(hidden) && !result.stderr.contains(hidden),
            "{hidden} shown:\n{}{}",
            result.stdout,
            result.stderr
        );
    }
}

/// What each service answers for what does not exist, as their API references say:
/// DescribeImages `ImageNotFoundException` (Amazon ECR API reference); GetParameters lists
/// unknown names in `InvalidParameters` (Systems Manager API reference); DescribeSecret
/// `ResourceNotFoundException`, and `VersionIdsToStages` for the stages (Secrets Manager API
/// reference); DescribeLogGroups by `logGroupNamePrefix` without the group (CloudWatch Logs API
/// reference); GetRole answers the trust policy URL-encoded (IAM API reference, Role).
#[test]
fn what_is_missing_or_invalid_is_exit_1_with_a_line_each() {
    let needs = needs();
    let dir = tempfile::tempdir().unwrap();
    let secrets = serde_json::json!([
        {"name": "NO_PARAMETER", "valueFrom": format!("{}-gone", needs.parameter)},
        {"name": "NO_SECRET", "valueFrom": format!("arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:tutorial-site/gone-AbCdEf:password::")},
        {"name": "NO_STAGE", "valueFrom": format!("{}::AWSPENDING:", needs.secret_arn)},
        {"name": "NOT_A_SOURCE", "valueFrom": "arn:aws:s3:::tutorial-site/db"},
    ]);
    let mut definition = definition(
        secrets,
        "/ecs/no-such-group",
        &needs.ec2_role,
        ("256", "4096"),
    );
    definition["containerDefinitions"][0]["image"] =
        serde_json::json!(IMAGE.replace(":latest", ":v404"));
    let result = run(&mut verify_file(dir.path(), &definition));
    result
        .assert_code(1)
        .assert_stderr_contains("would not start: 8 of 9 checks failed");
    let out = &result.stdout;
    for expected in [
        "missing      image of tutorial-site-app: ".to_string() + &IMAGE.replace(":latest", ":v404") + " (repository tutorial-site-registry in registry 123456789012 (eu-west-1) has no tag v404)",
        "missing      secret NO_PARAMETER of tutorial-site-app: an SSM parameter (no such parameter)".into(),
        "missing      secret NO_SECRET of tutorial-site-app: a key of a Secrets Manager secret (no such secret)".into(),
        "missing      secret NO_STAGE of tutorial-site-app: a Secrets Manager secret (no version of the secret has the stage AWSPENDING)".into(),
        "invalid      secret NOT_A_SOURCE of tutorial-site-app: its valueFrom (ECS reads secrets from SSM parameters".into(),
        "missing      log group of tutorial-site-app: /ecs/no-such-group (eu-west-1) (no such log group".into(),
        format!("ok           execution role: {}", role_arn(SEED_ROLE)),
        format!("invalid      task role: {} (its trust policy does not let ECS tasks assume it", role_arn(&needs.ec2_role)),
        "invalid      Fargate task size: cpu 256, memory 4096 (memory 4096 with cpu 256 is not a Fargate size: with 256 CPU units, memory is 512, 1024, 2048 MiB)".into(),
    ] {
        assert!(
            out.lines().any(|line| line.starts_with(&expected)),
            "no line {expected:?} in\n{out}"
        );
    }
    assert!(!out.contains(&needs.secret_arn), "{out}");
}

#[test]
fn verify_checks_a_family_s_latest_revision_with_the_updates_it_would_get() {
    let seed = moto_seed();
    let ok = run(deployer(Path::new("/")).args(["verify", "--family", &seed.family]));
    ok.assert_code(0);
    assert!(
        ok.stdout.lines().all(|line| line.starts_with("ok ")),
        "{}",
        ok.stdout
    );
    let missing = run(deployer(Path::new("/")).args([
        "verify",
        "--family",
        &format!("{}:1", seed.family),
        "--container-image-name-updates",
        "container=tutorial-site-app,tag=v404",
    ]));
    missing
        .assert_code(1)
        .assert_stderr_contains(&format!("{}:1 would not start", seed.family));
    assert!(
        missing.stdout.contains("has no tag v404"),
        "{}",
        missing.stdout
    );
    let no_family =
        run(deployer(Path::new("/")).args(["verify", "--family", "tutorial-site-no-such-task"]));
    no_family.assert_code(2);
}

/// The plan's checks: a secret whose parameter does not exist would stop every task of the
/// new revision (ECS reports `ResourceInitializationError` only once the tasks start), so
/// update-service refuses before registering; `--no-verify` skips the checks.
#[test]
fn update_service_refuses_a_revision_that_cannot_start_and_changes_nothing() {
    let seed = moto_seed();
    let update = |extra: &[&str]| {
        let mut command = deployer(Path::new("/"));
        command
            .args([
                "update-service",
                "--cluster",
                &seed.cluster,
                "--service",
                &seed.service,
                "--family",
                &seed.family,
                "--no-wait",
                "--container-secret-updates",
                "container=tutorial-site-app,name=DB_PASSWORD,valueFrom=/tutorial-site/verify-plan-missing",
            ])
            .args(extra);
        run(&mut command)
    };
    let refused = update(&[]);
    refused
        .assert_code(2)
        .assert_stderr_contains("the new revision would not start: 1 of 5 checks failed")
        .assert_stderr_contains(
            "secret DB_PASSWORD of tutorial-site-app: an SSM parameter (no such parameter)",
        )
        .assert_stderr_contains("--no-verify");
    assert!(
        !refused.stderr.contains("verify-plan-missing"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        seed.ecs.revisions(&seed.family).len(),
        1,
        "nothing registered"
    );
    assert_eq!(
        seed.ecs
            .service_task_definition(&seed.cluster, &seed.service),
        seed.first,
        "the service is unchanged"
    );
    let skipped = update(&["--no-verify"]);
    skipped.assert_code(0);
    assert_eq!(seed.ecs.revisions(&seed.family).len(), 2);
}

/// A check deployer is refused is "not checked", naming the IAM action: never a failure, in
/// `verify` (exit 0) as in a plan (a warning, and the deploy goes on). The emulator answers
/// AccessDeniedException for SSM, Secrets Manager and CloudWatch Logs and AccessDenied for
/// IAM's Query protocol, as those services do (each API reference's Common Errors).
#[test]
fn a_check_deployer_may_not_make_is_a_warning_naming_the_action() {
    let needs = needs();
    let denied = faulty_emulator(
        &[
            "GetParameters",
            "DescribeSecret",
            "DescribeLogGroups",
            "GetRole",
        ]
        .iter()
        .flat_map(|operation| ["--deny-operation".to_string(), operation.to_string()])
        .collect::<Vec<_>>(),
    );
    let dir = tempfile::tempdir().unwrap();
    let secrets = serde_json::json!([
        {"name": "DB_PASSWORD", "valueFrom": needs.parameter},
        {"name": "DB_SECRET", "valueFrom": needs.secret_arn},
    ]);
    let definition = definition(secrets, &needs.log_group, &needs.task_role, ("512", "1024"));
    let mut command = verify_file(dir.path(), &definition);
    for service in ["SSM", "SECRETS_MANAGER", "CLOUDWATCH_LOGS", "IAM"] {
        command.env(format!("AWS_ENDPOINT_URL_{service}"), &denied.endpoint);
    }
    let result = run(&mut command);
    result.assert_code(0);
    let seed = moto_seed();
    let mut update = deployer(Path::new("/"));
    update.args([
        "update-service",
        "--cluster",
        &seed.cluster,
        "--service",
        &seed.service,
        "--family",
        &seed.family,
        "--no-wait",
        "--force-new-deployment",
    ]);
    for service in ["CLOUDWATCH_LOGS", "IAM"] {
        update.env(format!("AWS_ENDPOINT_URL_{service}"), &denied.endpoint);
    }
    let deployed = run(&mut update);
    deployed
        .assert_code(0)
        .assert_stderr_contains("(iam:GetRole was refused: allow it to have deployer check this)")
        .assert_stderr_contains("(logs:DescribeLogGroups was refused");
    for action in [
        "ssm:GetParameters",
        "secretsmanager:DescribeSecret",
        "logs:DescribeLogGroups",
        "iam:GetRole",
    ] {
        assert!(
            result
                .stdout
                .lines()
                .any(|line| line.starts_with("not checked")
                    && line.contains(&format!("({action} was refused"))),
            "{action} not named in\n{}",
            result.stdout
        );
    }
}
