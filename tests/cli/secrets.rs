//! Issue 20's promise, checked the way an attacker would look: every command that handles a
//! secret runs at every log setting that could reach one (`-vvv`, `RUST_LOG` filters by level,
//! target and span, the SDK's own body switches), and every output stream and every file it
//! writes is searched for the secrets' values. None may appear.
use std::path::Path;
use std::process::Command;

use base64::Engine;

use crate::orb::run_step;
use crate::run_task::moto_migration;
use crate::support::{
    deployer, moto_seed, push, run, site_context, stack, unique_repo, write, Api, MotoSeed, Run,
};

/// Flags, and environment variables.
type LogForm = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// The log settings that could reach a secret: deployer's -vvv, RUST_LOG by level, by span (it
/// enables every event inside the SDK's `try_op`), by the target that logs response bodies, and
/// the SDK's switches that put bodies and signed bytes into those events.
const LOG_FORMS: [LogForm; 6] = [
    (&["-vvv"], &[]),
    (&["-vv"], &[("RUST_LOG", "trace")]),
    (&[], &[("RUST_LOG", "[try_op]=trace")]),
    (
        &[],
        &[(
            "RUST_LOG",
            "aws_smithy_runtime::client::orchestrator::http=trace",
        )],
    ),
    (
        &[],
        &[
            ("RUST_LOG", "[try_op]=trace,aws_sigv4=trace"),
            ("LOG_SENSITIVE_BODIES", "true"),
        ],
    ),
    (&["-vvv"], &[("LOG_SIGNABLE_BODY", "true")]),
];

/// The stack's ECR password as moto answers it, and ECR's base64 `AWS:password` token.
fn ecr_secrets() -> Vec<String> {
    let password = stack().registry_password;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    vec![password, token]
}

/// The stack's secret access key, and the start of every session token moto hands out.
fn aws_secrets() -> Vec<String> {
    vec![
        std::env::var("AWS_SECRET_ACCESS_KEY").expect("the stack's keys"),
        "FQoGZXIvYXdzEBYaD".to_string(),
        "SecretAccessKey".to_string(),
        "SessionToken".to_string(),
    ]
}

/// Fails naming the run, the stream or file and the line where any of `secrets` appears.
fn assert_nothing_shows(what: &str, result: &Run, files: &[&Path], secrets: &[String]) {
    let mut places: Vec<(String, String)> = vec![
        ("stdout".to_string(), result.stdout.clone()),
        ("stderr".to_string(), result.stderr.clone()),
    ];
    for file in files {
        if let Ok(text) = std::fs::read(file) {
            places.push((
                file.display().to_string(),
                String::from_utf8_lossy(&text).into_owned(),
            ));
        }
    }
    for (place, text) in &places {
        for secret in secrets {
            let lines: Vec<&str> = text
                .lines()
                .filter(|line| line.contains(secret.as_str()))
                .collect();
            assert!(
                lines.is_empty(),
                "{what}: {place} shows a secret ({} chars) in:\n{}",
                secret.len(),
                lines.join("\n")
            );
        }
    }
}

/// Applies one of [`LOG_FORMS`] to a command.
fn with_log_form(command: &mut Command, form: usize) -> &mut Command {
    let (flags, variables) = LOG_FORMS[form];
    command.args(flags).envs(variables.iter().copied())
}

#[test]
fn update_service_never_shows_an_environment_value_or_a_secrets_source() {
    let MotoSeed {
        ecs,
        family,
        cluster,
        service,
        ..
    } = moto_seed();
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("bash_env");
    for (form, _) in LOG_FORMS.iter().enumerate() {
        // A new value each run, so each registers a revision and logs the change.
        let value = format!("env-s3cr3t-4711-{form}");
        // A parameter that exists, so the plan's checks (deployer verify) pass and are logged
        // in every form too.
        let source = format!("/tutorial-site/secret-source-4711-{form}");
        ecs.put_parameter(&source, &format!("parameter-s3cr3t-4711-{form}"));
        let result = run(with_log_form(
            deployer(dir.path()).args([
                "update-service",
                "--family",
                &family,
                "--cluster",
                &cluster,
                "--service",
                &service,
                "--no-wait",
                "--container-env-var-updates",
                &format!("container=tutorial-site-app,name=DB_PASSWORD,value={value}"),
                "--container-secret-updates",
                &format!("container=tutorial-site-app,name=API_TOKEN,valueFrom={source}"),
                "--export-env",
                export.to_str().unwrap(),
            ]),
            form,
        ));
        result
            .assert_code(0)
            .assert_stderr_contains("tutorial-site-app: environment DB_PASSWORD");
        let mut secrets = aws_secrets();
        secrets.extend([
            "env-s3cr3t-4711".to_string(),
            "secret-source-4711".to_string(),
            "parameter-s3cr3t-4711".to_string(),
        ]);
        assert_nothing_shows(
            &format!("update-service, log form {form}"),
            &result,
            &[&export],
            &secrets,
        );
        if LOG_FORMS[form]
            .1
            .iter()
            .any(|(name, _)| name.starts_with("LOG_"))
        {
            result
                .assert_stderr_contains("is ignored: deployer never logs the bodies of AWS calls");
        }
        // The value did reach ECS.
        let (definition, _) = ecs.describe(result.stdout.trim());
        assert!(definition.container_definitions()[0]
            .environment()
            .iter()
            .any(|pair| pair.value() == Some(value.as_str())));
    }
    // A dry run shows which variables are set, not their values; its mistakes name no value.
    let dry = run(deployer(dir.path()).args([
        "update-service",
        "--family",
        &family,
        "--cluster",
        &cluster,
        "--service",
        &service,
        "--dry-run",
        "--container-env-var-updates",
        "container=tutorial-site-app,name=DB_PASSWORD,value=env-s3cr3t-4711-dry",
    ]));
    dry.assert_code(0);
    assert_nothing_shows(
        "update-service --dry-run",
        &dry,
        &[],
        &["env-s3cr3t-4711".to_string()],
    );
    for mistake in [
        "container=tutorial-site-app,name=DB_PASSWORD,value=env-s3cr3t-4711,x",
        "container=tutorial-site-app,name=DB_PASSWORD,valeu=env-s3cr3t-4711",
        "container=tutorial-site-app,name=DB_PASSWORD,value=env-s3cr3t-4711,colour=red",
        "container=tutorial-site-app name=DB_PASSWORD,value=env-s3cr3t-4711",
    ] {
        let refused = run(deployer(dir.path())
            .args(["update-service", "--family", &family, "--cluster", &cluster])
            .args([
                "--service",
                &service,
                "--container-env-var-updates",
                mistake,
            ]));
        refused
            .assert_code(2)
            .assert_stderr_contains("error: --container-env-var-updates: ");
        assert_nothing_shows(mistake, &refused, &[], &["env-s3cr3t-4711".to_string()]);
    }
}

#[test]
fn ecr_login_and_a_role_assumed_with_oidc_never_show_a_token_or_a_key() {
    let stack = stack();
    let oidc = "eyJhbGciOiJSUzI1NiJ9.oidc-s3cr3t-body-4711.signature";
    for (form, _) in LOG_FORMS.iter().enumerate() {
        for role in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let config_dir = dir.path().join("docker");
            let mut command = deployer(dir.path());
            command.env("DOCKER_CONFIG", &config_dir).args([
                "ecr-login",
                "--registry",
                &stack.registry,
            ]);
            if role {
                command
                    .env("CIRCLE_OIDC_TOKEN_V2", oidc)
                    .args(["--role-arn", "arn:aws:iam::123456789012:role/deployer-ci"]);
            }
            let result = run(with_log_form(&mut command, form));
            result.assert_code(0);
            let mut secrets = aws_secrets();
            secrets.extend(ecr_secrets());
            secrets.push("oidc-s3cr3t-body-4711".to_string());
            let what = format!("ecr-login (role {role}), log form {form}");
            assert_nothing_shows(&what, &result, &[], &secrets);
            // The token is where it belongs, readable by its owner only, and nothing else was
            // left in the directory (no temporary copy).
            let config = config_dir.join("config.json");
            let mode = std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(&config).unwrap().permissions(),
            );
            assert_eq!(mode & 0o777, 0o600, "{what}");
            let left: Vec<_> = std::fs::read_dir(&config_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(left, ["config.json"], "{what}");
        }
    }
}

#[test]
fn a_planted_link_never_receives_the_docker_config() {
    // Issue 20: the temporary file was `config.json.deployer-<pid>`, opened without O_EXCL: a
    // link planted under every such name received the token and became config.json.
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    let stolen = dir.path().join("stolen");
    // Linux hands out process IDs in turn: links under the next few thousand cover deployer's.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for pid in last + 1..=last + 3000 {
        let name = config_dir.join(format!("config.json.deployer-{pid}"));
        std::os::unix::fs::symlink(&stolen, name).unwrap();
    }
    run(deployer(dir.path())
        .env("DOCKER_CONFIG", &config_dir)
        .args(["ecr-login", "--registry", &stack.registry]))
    .assert_code(0);
    assert!(!stolen.exists(), "the token followed a planted link");
    let config = std::fs::symlink_metadata(config_dir.join("config.json")).unwrap();
    assert!(
        config.is_file(),
        "config.json is a file, not a planted link"
    );
}

#[test]
fn run_task_overrides_never_show_their_environment_values() {
    let stack = stack();
    let api = Api::moto(&stack);
    let (cluster, family) = moto_migration(&stack, &api);
    let dir = tempfile::tempdir().unwrap();
    let answer = dir.path().join("answer.json");
    for (form, _) in LOG_FORMS.iter().enumerate() {
        let overrides = format!(
            r#"{{"containerOverrides":[{{"name":"migrate","environment":[{{"name":"DB_PASSWORD","value":"override-s3cr3t-{form}"}}]}}]}}"#
        );
        let result = run(with_log_form(
            deployer(dir.path()).args([
                "run-task",
                "--cluster",
                &cluster,
                "--task-definition",
                &family,
                "--launch-type",
                "EC2",
                "--overrides",
                &overrides,
                "--env",
                "API_KEY=env-flag-s3cr3t",
                "--output-file",
                answer.to_str().unwrap(),
            ]),
            form,
        ));
        result.assert_code(0);
        let mut secrets = aws_secrets();
        secrets.extend(["override-s3cr3t".to_string(), "env-flag-s3cr3t".to_string()]);
        assert_nothing_shows(
            &format!("run-task, log form {form}"),
            &result,
            &[&answer],
            &secrets,
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&answer).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
    // The orb's echo of the command line: the override holds "$DB_PASSWORD", expanded.
    let step = run_step(
        dir.path(),
        "run_task",
        &[
            ("cluster", &cluster),
            ("task_definition", &family),
            ("launch_type", "EC2"),
            (
                "overrides",
                r#"{"containerOverrides":[{"name":"migrate","environment":[{"name":"DB_PASSWORD","value":"$DB_PASSWORD"}]}]}"#,
            ),
        ],
        &[
            ("DB_PASSWORD", "orb-echo-s3cr3t"),
            ("AWS_ENDPOINT_URL", &stack.moto),
        ],
    );
    step.assert_code(0)
        .assert_stderr_contains("orb step run_task: deployer run-task");
    assert_nothing_shows(
        "the orb's run_task step",
        &step,
        &[],
        &["orb-echo-s3cr3t".to_string()],
    );
    // A nameless override entry is refused without its value.
    let nameless = run(deployer(dir.path()).args([
        "run-task",
        "--cluster",
        &cluster,
        "--task-definition",
        &family,
        "--overrides",
        r#"{"containerOverrides":[{"environment":[{"name":"DB_PASSWORD","value":"nameless-s3cr3t"}]}]}"#,
    ]));
    nameless
        .assert_code(2)
        .assert_stderr_contains("has no \"name\"");
    assert_nothing_shows(
        "a nameless override",
        &nameless,
        &[],
        &["nameless-s3cr3t".to_string()],
    );
}

#[test]
fn a_build_secret_is_masked_in_every_log_form_line_by_line_too() {
    let stack = stack();
    let repo = unique_repo("secrets");
    let context = site_context(
        &stack,
        "RUN --mount=type=secret,id=token cat /run/secrets/token\n\
         RUN --mount=type=secret,id=netrc cat /run/secrets/netrc\n",
    );
    let outside = tempfile::tempdir().unwrap();
    let netrc = write(
        outside.path(),
        "netrc",
        "machine example.com\nlogin netrc-user-4711\npassword netrc-s3cr3t-4711\n",
    );
    for form in [0, 2, 4, 5] {
        let result = run(with_log_form(
            push(context.path(), &stack, &repo)
                .env("BUILD_TOKEN", "build-s3cr3t-4711")
                .args(["--no-cache", "--secret", "id=token,env=BUILD_TOKEN"])
                .arg("--secret")
                .arg(format!("id=netrc,src={}", netrc.display())),
            form,
        ));
        result.assert_code(0);
        let mut secrets = aws_secrets();
        secrets.extend(ecr_secrets());
        secrets.extend(
            ["build-s3cr3t-4711", "netrc-user-4711", "netrc-s3cr3t-4711"].map(str::to_string),
        );
        assert_nothing_shows(
            &format!("push --secret, log form {form}"),
            &result,
            &[],
            &secrets,
        );
        assert!(
            result.stderr.contains("[redacted]"),
            "the steps printed the secret, masked"
        );
    }
}
