//! The CircleCI orb: its checks (YAML, schema, every parameter reaching a real flag, shellcheck)
//! and its scripts run as CircleCI runs them: `orb/src/scripts/run.sh` with the `PARAM_*`
//! environment the packed orb gives each step (`scripts/orb.py env`), against the local stack.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::emulator::{push_site, tutorial_site, Service};
use crate::register::{rule_targets, scheduled_rule};
use crate::run_task::{container as migration_container, migration};
use crate::support::{
    describe_task_definition_json, docker, exported_to_later_steps, run, stack, unique_repo, Api,
    Registry, Run,
};

pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The environment CircleCI gives `command`'s deployer step: the orb's defaults, then `params`.
fn step_env(command: &str, params: &[(&str, &str)]) -> BTreeMap<String, String> {
    let output = Command::new("python3")
        .arg(root().join("scripts/orb.py"))
        .args(["env", command])
        .args(params.iter().map(|(k, v)| format!("{k}={v}")))
        .output()
        .expect("python3 runs scripts/orb.py");
    assert!(
        output.status.success(),
        "scripts/orb.py env failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Runs an orb step's script as CircleCI would: bash, in `dir`, with the step's environment
/// on top of the job's (`job_env`, e.g. AWS_ENDPOINT_URL, BASH_ENV, CIRCLE_SHA1).
pub(crate) fn run_step(
    dir: &Path,
    command: &str,
    params: &[(&str, &str)],
    job_env: &[(&str, &str)],
) -> Run {
    let mut bash = Command::new("bash");
    bash.arg(root().join("orb/src/scripts/run.sh"))
        .current_dir(dir)
        .env("DEPLOYER_BIN", env!("CARGO_BIN_EXE_deployer"))
        .env_remove("DEPLOYER_ROLE_ARN")
        .env_remove("RUST_LOG")
        .envs(step_env(command, params))
        .envs(job_env.iter().copied());
    run(&mut bash)
}

#[test]
fn the_orb_packs_and_passes_its_checks() {
    let result = run(Command::new("python3")
        .arg(root().join("scripts/orb.py"))
        .args(["check", "--deployer", env!("CARGO_BIN_EXE_deployer")]));
    // The share of the aws orbs' parameters the orb takes, per job and command (shown with
    // --nocapture; the README's table is checked to be the same).
    println!("{}", result.stderr);
    result
        .assert_code(0)
        .assert_stderr_contains("orb check: ok")
        .assert_stderr_contains("circleci/aws-ecs@8.0.0 commands/install_ecs_cli: retired");

    let scripts: Vec<PathBuf> = ["orb/src/scripts", "scripts", "benches", ".ci"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root().join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "sh")
                || path.file_name().is_some_and(|n| n == "run")
        })
        .collect();
    assert!(scripts.len() >= 6, "found only {scripts:?}");
    let result = run(Command::new("shellcheck").args(&scripts));
    result.assert_code(0);
}

/// CircleCI places a boolean parameter that is a variable's whole value as 1 or 0; the orb's
/// steps are run in the tests with the environment it really gives them.
#[test]
fn boolean_parameters_reach_the_step_as_1_or_0() {
    let env = step_env(
        "update_service",
        &[
            ("family", "tutorial-site-task"),
            ("cluster", "tutorial-site-cluster"),
            ("force_new_deployment", "true"),
        ],
    );
    assert_eq!(env["PARAM_FORCE_NEW_DEPLOYMENT"], "1");
    assert_eq!(env["PARAM_CREATE_SERVICE"], "0");
    assert_eq!(env["PARAM_FAMILY"], "tutorial-site-task");
}

/// A copy of the orb's source with what CircleCI's orb review (orb-tools-orb's review.bats)
/// and yamllint object to: `scripts/orb.py review` names each rule it breaks.
#[test]
fn the_orb_review_rules_and_yamllint_name_what_they_find() {
    let src = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(root().join("orb/src/."))
        .arg(src.path())
        .status()
        .unwrap();
    assert!(status.success());
    let clean = run(Command::new("python3")
        .arg(root().join("scripts/orb.py"))
        .args(["review", "--src"])
        .arg(src.path()));
    clean.assert_code(0);

    let write = |path: &str, text: &str| std::fs::write(src.path().join(path), text).unwrap();
    write(
        "@orb.yml",
        "version: 2.1\ndescription: Deploys.\ndisplay:\n  home_url: ftp://example.com\n",
    );
    write(
        "commands/tag-image.yml",
        "parameters:\n  source-tag:\n    type: string\n    default: ''\n    description: d\n\
         steps:\n  - run: echo << parameters.source-tag >>\n  - run:\n      command: \
         echo one line that is much longer than sixty-four characters, with no script\n",
    );
    write(
        "jobs/cache.yml",
        "description: d\nparameters:\n  region:\n    type: string\n    default: ${AWS_REGION}\n\
         \x20   description: d\nexecutor: default\nsteps:\n  - save_cache:\n      \
         key: v1-<< parameters.region >>\n      paths: [x]\n",
    );
    write(
        "executors/latest.yml",
        "description: d\ndocker:\n  - image: cimg/base:latest\n",
    );
    write(
        "examples/usage_example.yml",
        "description: d \nusage:\n  version: 2.1\n  orbs:\n    deployer: deployer-dev/deployer@99.0.0\n",
    );
    let result = run(Command::new("python3")
        .arg(root().join("scripts/orb.py"))
        .args(["review", "--src"])
        .arg(src.path()));
    result.assert_code(1);
    for expected in [
        "@orb.yml: RC001: set display.source_url",
        "commands/tag-image.yml: RC002: has no description",
        "examples/usage_example.yml: RC004",
        "@orb.yml: RC005",
        "@orb.yml: RC007: display.home_url 'ftp://example.com' is not an https URL",
        "commands/tag-image.yml: RC008: the run step at steps.0.run is a string",
        "commands/tag-image.yml: RC008: the run step at steps.1.run has no name",
        "commands/tag-image.yml: RC009: the run step at steps.1.run has a command of 76 characters",
        "commands/tag-image.yml: RC010: component file names should be snake_case",
        "commands/tag-image.yml: RC010: parameter source-tag should be snake_case",
        "examples/usage_example.yml: RC011: the example uses deployer-dev/deployer@99.0.0",
        "jobs/cache.yml: RC012: parameter region defaults to an environment variable",
        "executors/latest.yml: executor image cimg/base:latest is not pinned",
        "yamllint: examples/usage_example.yml:1:15: [error] trailing spaces (trailing-spaces)",
    ] {
        result.assert_stderr_contains(expected);
    }
}

#[test]
fn the_push_step_builds_and_pushes_with_the_aws_ecr_orbs_parameters() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let dir = tempfile::tempdir().unwrap();
    let bash_env = dir.path().join("bash_env");
    let site = tutorial_site();
    let site = site.to_str().unwrap();
    let result = run_step(
        dir.path(),
        "push",
        &[
            ("repo", &repo),
            ("create_repo", "true"),
            ("tag", "latest,${CIRCLE_SHA1}"),
            ("build_path", site),
            ("path", site),
            ("extra_build_args", "--build-arg VERSION=${CIRCLE_SHA1} --label org.opencontainers.image.title=tutorial-site"),
        ],
        &[
            ("AWS_ENDPOINT_URL", &stack.emulator),
            ("CIRCLE_SHA1", "0a1b2c3"),
            ("BASH_ENV", bash_env.to_str().unwrap()),
        ],
    );
    result
        .assert_code(0)
        .assert_stderr_contains(&format!(
            "orb step push: deployer push --region eu-west-1 --registry-id 123456789012 --repo {repo} --tag latest,0a1b2c3"
        ))
        .assert_stderr_contains("--build-arg VERSION=…");
    let image = result.stdout.lines().next().unwrap();
    assert!(
        image.starts_with(&format!("{}/{repo}@sha256:", stack.registry)),
        "{image}"
    );
    assert!(result.stdout.contains(&format!("{repo}:0a1b2c3")));
    assert_eq!(exported_to_later_steps(&bash_env)["DEPLOYER_IMAGE"], image);
}

#[test]
fn parameters_deployer_cannot_honour_fail_the_step_before_anything_changes() {
    let stack = stack();
    let api = Api::moto(&stack);
    let dir = tempfile::tempdir().unwrap();
    let moto = [("AWS_ENDPOINT_URL", stack.moto.as_str())];

    let repo = unique_repo("tutorial-site-registry");
    let site = tutorial_site();
    for (param, value, named) in [
        (
            "extra_build_args",
            "--build-arg VERSION=2 --squash",
            "--squash",
        ),
        ("repo_image_tag_mutability", "SOMETIMES", "SOMETIMES"),
        (
            "extra_build_args",
            "--cache-to type=registry,ref=cache:main",
            "embedded BuildKit exports cache only inline",
        ),
        (
            "extra_build_args",
            "--build-context shared=../shared",
            "syntax 1.4",
        ),
        (
            "platform",
            "linux/amd64,linux",
            "--platform \"linux\" is malformed",
        ),
    ] {
        let result = run_step(
            dir.path(),
            "push",
            &[
                ("repo", &repo),
                ("create_repo", "true"),
                ("build_path", site.to_str().unwrap()),
                ("path", site.to_str().unwrap()),
                (param, value),
            ],
            &moto,
        );
        result.assert_code(2).assert_stderr_contains(named);
        assert!(
            !api.repository_exists(&repo),
            "{param}: the repository was created"
        );
    }

    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let first = api.register_seed(&family);
    api.create_cluster_and_service(&cluster, &family, &first);
    for (param, value, named) in [
        (
            "deployment_controller",
            "CODE_DEPLOY",
            "needs codedeploy_application_name and codedeploy_deployment_group_name",
        ),
        ("subnets", "subnet-0a1b", "--create-service"),
        ("task_definition_tags", "key=team,val=web", "val=web"),
        ("fail_on_verification_timeout", "false", "times out"),
        ("max_poll_attempts", "many", "max_poll_attempts"),
        (
            "container_image_name_updates",
            "container=nope,tag=v2",
            "nope",
        ),
    ] {
        let result = run_step(
            dir.path(),
            "update_service",
            &[("family", &family), ("cluster", &cluster), (param, value)],
            &moto,
        );
        result.assert_code(2).assert_stderr_contains(named);
        assert_eq!(
            api.revisions(&family),
            std::slice::from_ref(&first),
            "{param}: a revision was registered"
        );
    }
}

#[test]
fn the_update_service_step_rolls_the_service_on_moto_like_the_aws_ecs_orb() {
    let stack = stack();
    let api = Api::moto(&stack);
    let dir = tempfile::tempdir().unwrap();
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = api.register_seed(&family);
    api.create_cluster_and_service(&cluster, &service, &first);

    // A file an earlier step of the job wrote: a value bash must keep as it is.
    let bash_env = dir.path().join("bash_env");
    let awkward = "it's \"a\" $HOME value\nsecond line";
    std::fs::write(
        &bash_env,
        format!("export EARLIER='{}'\n", awkward.replace('\'', r"'\''")),
    )
    .unwrap();
    // The seed's step, old-style region name included; the aws-ecs orb does not wait by default.
    let result = run_step(
        dir.path(),
        "update_service",
        &[
            ("region", "AWS_DEFAULT_REGION"),
            ("family", &family),
            ("service_name", &service),
            ("cluster", &cluster),
            (
                "container_image_name_updates",
                "container=tutorial-site-app,tag=v2",
            ),
            (
                "container_env_var_updates",
                "container=tutorial-site-app,name=GREETING,value=a=b",
            ),
            ("task_definition_tags", "key=release,value=${CIRCLE_SHA1}"),
        ],
        &[
            ("AWS_ENDPOINT_URL", &stack.moto),
            ("CIRCLE_SHA1", "0a1b2c3"),
            ("BASH_ENV", bash_env.to_str().unwrap()),
        ],
    );
    result
        .assert_code(0)
        .assert_stderr_contains("--region eu-west-1")
        .assert_stderr_contains("--no-wait")
        .assert_stderr_contains("GREETING")
        .assert_stderr_contains("--container-env-var-updates …");
    let command_line = result
        .stderr
        .lines()
        .find(|l| l.contains("orb step"))
        .unwrap();
    assert!(!command_line.contains("a=b"), "{command_line}");
    let revisions = api.revisions(&family);
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        api.service_task_definition(&cluster, &service),
        revisions[1]
    );
    assert_eq!(result.stdout.trim(), revisions[1]);
    // The next step's programs see what deployer exported, and the earlier step's value intact.
    let exported = exported_to_later_steps(&bash_env);
    assert_eq!(exported["DEPLOYER_TASK_DEFINITION_ARN"], revisions[1]);
    assert_eq!(exported["DEPLOYER_PREVIOUS_TASK_DEFINITION_ARN"], first);
    assert_eq!(exported["DEPLOYER_CLUSTER"], cluster);
    assert_eq!(exported["EARLIER"], awkward);
    let registered = describe_task_definition_json(&stack, &revisions[1]);
    let tags = registered["tags"].as_array().unwrap();
    assert!(
        tags.contains(&serde_json::json!({"key": "release", "value": "0a1b2c3"})),
        "{tags:?}"
    );
}

#[test]
fn the_deploy_and_rollback_steps_wait_for_real_rollouts_on_the_emulator() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let service = Service::start(&stack, &stack.emulator, &v1, true);
    let dir = tempfile::tempdir().unwrap();
    let emulator = [("AWS_ENDPOINT_URL", stack.emulator.as_str())];
    let site = tutorial_site();
    let site = site.to_str().unwrap();

    let result = run_step(
        dir.path(),
        "deploy",
        &[
            ("repo", &repo),
            ("tag", "v2"),
            ("build_path", site),
            ("path", site),
            ("extra_build_args", "--build-arg VERSION=2"),
            ("family", &service.family),
            ("cluster", &service.cluster),
            ("service_name", &service.service),
            ("container", "tutorial-site-app"),
            ("pin_digest", "true"),
            ("poll_interval", "1"),
        ],
        &emulator,
    );
    result
        .assert_code(0)
        .assert_stderr_contains("--pin-digest")
        // deployer's own line, not ECS's steady-state event, which comes on the emulator's own
        // clock and may follow the deployment's completion (issue 19: no test on timing it does
        // not control).
        .assert_stderr_contains("is completed");
    assert_eq!(service.pages(), ["version 2"]);

    let result = run_step(
        dir.path(),
        "rollback",
        &[
            ("cluster", &service.cluster),
            ("service_name", &service.service),
            ("poll_interval", "1"),
        ],
        &emulator,
    );
    result.assert_code(0);
    assert_eq!(service.pages(), ["version 1"]);
}

#[test]
fn the_update_service_step_creates_a_missing_service_and_waits_for_it_on_the_emulator() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let service = Service::adopt(
        &stack,
        &stack.emulator,
        unique_repo("tutorial-site-task"),
        unique_repo("tutorial-site-cluster"),
        unique_repo("tutorial-site-service"),
    );
    let api = &service.api;
    api.register_seed_with_image(&service.family, &v1);
    api.block_on(
        api.ecs
            .create_cluster()
            .cluster_name(&service.cluster)
            .send(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let result = run_step(
        dir.path(),
        "update_service",
        &[
            ("family", &service.family),
            ("cluster", &service.cluster),
            ("service_name", &service.service),
            ("create_service", "true"),
            ("subnets", "subnet-0a1b,subnet-2c3d"),
            ("security_groups", "sg-0a1b"),
            ("enable_circuit_breaker", "true"),
            ("verify_revision_is_deployed", "true"),
            ("poll_interval", "1"),
        ],
        &[("AWS_ENDPOINT_URL", &stack.emulator)],
    );
    result
        .assert_code(0)
        .assert_stderr_contains("--create-service --subnets subnet-0a1b,subnet-2c3d")
        .assert_stderr_contains(&format!("created service {}", service.service))
        // deployer's own line, not ECS's steady-state event, which comes on the emulator's own
        // clock and may follow the deployment's completion (issue 19: no test on timing it does
        // not control).
        .assert_stderr_contains("is completed");
    assert_eq!(service.pages(), ["version 1"]);
}

#[test]
fn the_ecr_login_step_writes_a_private_docker_config() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("docker/config.json");
    // The emulator's registry is not at ACCOUNT.dkr.ecr.REGION.amazonaws.com, so the host
    // comes from the token's proxyEndpoint: the caller's own registry.
    let login = |helper: &str, path: &str| {
        run_step(
            dir.path(),
            "ecr_login",
            &[
                ("account_id", ""),
                ("docker_config", config.to_str().unwrap()),
                ("use_credentials_helper", helper),
            ],
            &[("AWS_ENDPOINT_URL", &stack.emulator), ("PATH", path)],
        )
    };
    let bare_path = std::env::var("PATH").unwrap();
    let result = login("false", &bare_path);
    result.assert_code(0);
    assert_eq!(result.stdout.trim(), stack.registry);
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!result.stderr.contains(&stack.registry_password));

    // The aws-ecr orb's default: a credential helper, so no token stays on disk.
    login("true", &bare_path)
        .assert_code(3)
        .assert_stderr_contains("docker-credential-deployer is not on PATH");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_deployer"),
        bin.join("docker-credential-deployer"),
    )
    .unwrap();
    let result = login("true", &format!("{}:{bare_path}", bin.display()));
    result
        .assert_code(0)
        .assert_stderr_contains("--credential-helper");
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("\"credHelpers\""), "{written}");
    assert!(
        !written.contains(&format!("\"{}\": {{", stack.registry)),
        "{written}"
    );
}

/// Serves files from `dir` over HTTP on 127.0.0.1 until the test ends; returns the base URL.
pub(crate) fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = String::new();
            if BufReader::new(&stream).read_line(&mut request).is_err() {
                continue;
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let file = dir.join(path.trim_start_matches('/'));
            let _ = match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    stream
                        .write_all(head.as_bytes())
                        .and_then(|()| stream.write_all(&body))
                }
                _ => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    url
}

/// A release directory as the pipeline publishes it: `download/vX/deployer-TARGET.tar.gz` and
/// its `.sha256`, holding the binary under test.
pub(crate) fn release(tampered: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let target = match std::env::consts::ARCH {
        "x86_64" => "x86_64-unknown-linux-gnu",
        _ => "aarch64-unknown-linux-gnu",
    };
    let assets = dir.path().join(format!("download/v{version}"));
    std::fs::create_dir_all(&assets).unwrap();
    let staging = tempfile::tempdir().unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_deployer"),
        staging.path().join("deployer"),
    )
    .unwrap();
    let asset = format!("deployer-{target}.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(assets.join(&asset))
        .arg("-C")
        .arg(staging.path())
        .arg("deployer")
        .status()
        .unwrap();
    assert!(status.success());
    let sum = Command::new("sha256sum")
        .arg(assets.join(&asset))
        .output()
        .unwrap();
    let digest = String::from_utf8(sum.stdout).unwrap();
    let mut digest = digest.split_whitespace().next().unwrap().to_string();
    if tampered {
        // The SHA-256 of nothing: what a truncated or swapped download's checksum file might say.
        digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string();
    }
    std::fs::write(
        assets.join(format!("{asset}.sha256")),
        format!("{digest}  {asset}\n"),
    )
    .unwrap();
    dir
}

fn install(release_url: &str, install_dir: &Path) -> Run {
    run(Command::new("bash")
        .arg(root().join("orb/src/scripts/install.sh"))
        .env("PARAM_VERSION", env!("CARGO_PKG_VERSION"))
        .env("PARAM_INSTALL_DIR", install_dir)
        .env("PARAM_RELEASE_URL", release_url))
}

#[test]
fn install_checks_the_release_checksum_and_installs_once() {
    let releases = release(false);
    let url = serve(releases.path().to_path_buf());
    let bin = tempfile::tempdir().unwrap();
    let result = install(&url, bin.path());
    result.assert_code(0);
    assert!(
        result
            .stdout
            .contains(&format!("deployer {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        result.stdout
    );
    let mode = std::fs::metadata(bin.path().join("deployer"))
        .unwrap()
        .permissions()
        .mode();
    let helper = std::fs::read_link(bin.path().join("docker-credential-deployer")).unwrap();
    assert_eq!(helper, Path::new("deployer"));
    assert_eq!(mode & 0o755, 0o755);
    let again = install(&url, bin.path());
    again.assert_code(0);
    assert!(
        again.stdout.contains("already installed"),
        "{}",
        again.stdout
    );

    // A checksum file that does not match the download: nothing is installed.
    let tampered = release(true);
    let url = serve(tampered.path().to_path_buf());
    let bin = tempfile::tempdir().unwrap();
    install(&url, bin.path())
        .assert_code(1)
        .assert_stderr_contains("checksum mismatch");
    assert!(!bin.path().join("deployer").exists());

    // A version that was never released.
    let result = run(Command::new("bash")
        .arg(root().join("orb/src/scripts/install.sh"))
        .env("PARAM_VERSION", "9.9.9")
        .env("PARAM_INSTALL_DIR", bin.path())
        .env("PARAM_RELEASE_URL", &url));
    result
        .assert_code(1)
        .assert_stderr_contains("cannot download deployer 9.9.9");
}

/// A PATH directory as a Docker executor might have it: a `deployer` script that reports
/// `deployer VERSION`, the tools install.sh uses, no curl and no wget; `curl` and `wget` are
/// added when `downloader_marker` is given, as scripts that only record that they ran.
fn executor_path(version: &str, downloader_marker: Option<&Path>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script("deployer", format!("echo 'deployer {version}'"));
    if let Some(marker) = downloader_marker {
        for name in ["curl", "wget"] {
            script(
                name,
                format!("echo {name} >>'{}'; exit 1", marker.display()),
            );
        }
    }
    for tool in [
        "bash",
        "sh",
        "uname",
        "mktemp",
        "rm",
        "cut",
        "sha256sum",
        "tar",
        "gzip",
        "id",
        "install",
        "mkdir",
        "ln",
        "cat",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let found = String::from_utf8(found.stdout).unwrap();
        if !found.trim().is_empty() {
            std::os::unix::fs::symlink(found.trim(), dir.path().join(tool)).unwrap();
        }
    }
    dir
}

#[test]
fn install_uses_the_executors_deployer_and_says_when_it_cannot_download() {
    let version = env!("CARGO_PKG_VERSION");
    let install_dir = tempfile::tempdir().unwrap();
    let marker = install_dir.path().join("downloads");
    let install_on = |path: &Path, wanted: &str| {
        run(Command::new("bash")
            .arg(root().join("orb/src/scripts/install.sh"))
            .env("PATH", path)
            .env("PARAM_VERSION", wanted)
            .env("PARAM_INSTALL_DIR", install_dir.path())
            .env("PARAM_RELEASE_URL", "http://127.0.0.1:9/releases"))
    };

    // The deployer image: its own deployer is the version asked for; nothing is downloaded.
    let image = executor_path(version, Some(&marker));
    let result = install_on(image.path(), version);
    result.assert_code(0);
    assert!(
        result.stdout.contains(&format!(
            "deployer {version} is already installed at {}",
            image.path().join("deployer").display()
        )),
        "{}",
        result.stdout
    );
    assert!(!marker.exists(), "a download was attempted");
    assert!(!install_dir.path().join("deployer").exists());

    // Another version on an image without curl or wget: the error says so and names the
    // version the image has.
    let bare = executor_path("0.0.9", None);
    let result = install_on(bare.path(), version);
    result
        .assert_code(1)
        .assert_stderr_contains("neither curl nor wget")
        .assert_stderr_contains(&format!(
            "The executor's own deployer ({}) is 0.0.9: set deployer_version",
            bare.path().join("deployer").display()
        ));
    assert!(!install_dir.path().join("deployer").exists());

    // With a downloader, another version is fetched (here from a closed port: a clear failure).
    let result = install_on(image.path(), "0.0.8");
    result
        .assert_code(1)
        .assert_stderr_contains("cannot download deployer 0.0.8");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "curl\n");
}

/// The aws-ecs orb's run_task as teams use it for migrations: on the emulator the task is a
/// real container; the step waits, shows its log lines, writes run_task_output and exports
/// what later steps' programs see; a container that exits 3 fails the step with 3.
#[test]
fn the_run_task_step_runs_a_migration_and_ends_with_its_exit_code_on_the_emulator() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![migration_container(
            "migrate",
            &stack.base_image,
            "echo 'migration 1 of 1 applied'",
            true,
        )],
    );
    let (_, failing) = migration(
        &api,
        vec![migration_container(
            "migrate",
            &stack.base_image,
            "echo 'relation users already exists'; exit 3",
            true,
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let bash_env = dir.path().join("bash_env");
    let job_env = [
        ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
        ("BASH_ENV", bash_env.to_str().unwrap()),
    ];
    // The orb's defaults (launch_type FARGATE, awsvpc true) with this bridge-mode task
    // definition: EC2, and no subnets, which only awsvpc task definitions take.
    let step = |task_definition: &str| {
        run_step(
            dir.path(),
            "run_task",
            &[
                ("cluster", &cluster),
                ("task_definition", task_definition),
                ("launch_type", "EC2"),
                ("started_by", "circleci-${CIRCLE_BUILD_NUM}"),
                ("wait_task_stopped", "true"),
                ("exit_code_from", "migrate"),
                ("run_task_output", "run-task.json"),
            ],
            &[job_env[0], job_env[1], ("CIRCLE_BUILD_NUM", "1234")],
        )
    };
    let result = step(&family);
    result
        .assert_code(0)
        .assert_stderr_contains(
            "--started-by circleci-1234 --launch-type EC2 --output-file run-task.json --wait --exit-code-from migrate",
        )
        .assert_stderr_contains("migrate: migration 1 of 1 applied")
        .assert_stderr_contains("container migrate exited 0");
    let arn = result.stdout.trim().to_string();
    assert!(arn.contains(":task/"), "{arn}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run-task.json")).unwrap())
            .unwrap();
    assert_eq!(written["taskArns"], serde_json::json!([arn]));
    assert_eq!(written["exitCode"], 0);
    assert_eq!(written["tasks"][0]["lastStatus"], "STOPPED");
    let exported = exported_to_later_steps(&bash_env);
    assert_eq!(exported["DEPLOYER_TASK_ARNS"], arn);
    assert_eq!(exported["DEPLOYER_TASK_EXIT_CODE"], "0");

    let result = step(&failing);
    result
        .assert_code(3)
        .assert_stderr_contains("migrate: relation users already exists");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run-task.json")).unwrap())
            .unwrap();
    assert_eq!(written["exitCode"], 3, "written even when the task fails");
}

/// What the aws-ecs orb would have run but deployer refuses, each before a task starts.
#[test]
fn the_run_task_step_refuses_before_starting_anything() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![migration_container(
            "migrate",
            &stack.base_image,
            "true",
            true,
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    for (param, value, named) in [
        // subnet_ids for a task definition that is not awsvpc: deployer's own refusal.
        (
            "subnet_ids",
            "subnet-0a1b",
            "only apply to awsvpc task definitions",
        ),
        // The orb's rule: a capacity provider strategy needs launch_type "".
        (
            "capacity_provider_strategy",
            "capacityProvider=FARGATE_SPOT,weight=1",
            "launch_type",
        ),
        ("exit_code_from", "migrate", "wait_task_stopped is false"),
    ] {
        let result = run_step(
            dir.path(),
            "run_task",
            &[
                ("cluster", &cluster),
                ("task_definition", &family),
                ("launch_type", "EC2"),
                (param, value),
            ],
            &[("AWS_ENDPOINT_URL", &stack.emulator)],
        );
        result.assert_code(2).assert_stderr_contains(named);
        assert!(result.stdout.is_empty(), "{param}: {}", result.stdout);
    }
    let listed = api
        .block_on(api.ecs.list_tasks().cluster(&cluster).send())
        .unwrap();
    assert!(listed.task_arns().is_empty(), "a task was started");
}

/// update_task_definition, update_task_definition_from_json and deploy_ecs_scheduled_task as a
/// job runs them, one step after another: each later step's deployer reads what an earlier
/// one exported to $BASH_ENV (bash sources it, as CircleCI's steps do).
#[test]
fn the_task_definition_steps_register_and_the_scheduled_rule_follows_on_moto() {
    let stack = stack();
    let api = Api::moto(&stack);
    let dir = tempfile::tempdir().unwrap();
    let bash_env = dir.path().join("bash_env");
    let job_env = [
        ("AWS_ENDPOINT_URL", stack.moto.as_str()),
        ("BASH_ENV", bash_env.to_str().unwrap()),
        ("CIRCLE_SHA1", "0a1b2c3"),
    ];
    let family = unique_repo("tutorial-site-task");
    let first = api.register_seed(&family);
    let (rule, before) = scheduled_rule(&family, &first);

    // Without a revision from an earlier step, the scheduled task step has nothing to follow.
    run_step(
        dir.path(),
        "deploy_ecs_scheduled_task",
        &[("rule_name", &rule)],
        &job_env,
    )
    .assert_code(2)
    .assert_stderr_contains("DEPLOYER_TASK_DEFINITION_ARN is unset");

    // The aws-ecs orb's update_task_definition job: register, then point the rule.
    let result = run_step(
        dir.path(),
        "update_task_definition",
        &[
            ("family", &family),
            (
                "container_env_var_updates",
                "container=tutorial-site-app,name=RELEASE,value=${CIRCLE_SHA1}",
            ),
            ("deploy_scheduled_task", "true"),
            ("rule_name", &rule),
        ],
        &job_env,
    );
    result
        .assert_code(0)
        .assert_stderr_contains(&format!(
            "register-task-definition --region eu-west-1 --family {family} --container-env-var-updates … --update-scheduled-task {rule}"
        ))
        .assert_stderr_contains(&format!("rule {rule} target nightly-report now runs {family}:2"));
    let second = result.stdout.trim().to_string();
    assert_eq!(api.revisions(&family), [first.clone(), second.clone()]);
    assert_eq!(
        exported_to_later_steps(&bash_env)["DEPLOYER_TASK_DEFINITION_ARN"],
        second
    );
    let registered = describe_task_definition_json(&stack, &second);
    let environment = registered["taskDefinition"]["containerDefinitions"][0]["environment"]
        .as_array()
        .unwrap();
    assert!(
        environment.contains(&serde_json::json!({"name": "RELEASE", "value": "0a1b2c3"})),
        "{environment:?}"
    );

    // The task definition kept in the repository, relative to the step's directory.
    let mut file = describe_task_definition_json(&stack, &first);
    file["taskDefinition"]["containerDefinitions"][0]["environment"] =
        serde_json::json!([{"name": "FROM_THE_REPOSITORY", "value": "yes"}]);
    std::fs::create_dir_all(dir.path().join("ecs")).unwrap();
    std::fs::write(
        dir.path().join("ecs/task-definition.json"),
        serde_json::to_string_pretty(&file).unwrap(),
    )
    .unwrap();
    let result = run_step(
        dir.path(),
        "update_task_definition_from_json",
        &[("task_definition_json", "ecs/task-definition.json")],
        &job_env,
    );
    result.assert_code(0);
    let third = result.stdout.trim().to_string();
    assert_eq!(api.revisions(&family).len(), 3);
    let registered = describe_task_definition_json(&stack, &third);
    assert_eq!(
        registered["taskDefinition"]["containerDefinitions"][0]["environment"],
        serde_json::json!([{"name": "FROM_THE_REPOSITORY", "value": "yes"}])
    );
    assert_eq!(
        rule_targets(&rule)[0]["EcsParameters"]["TaskDefinitionArn"],
        serde_json::json!(second),
        "deploy_scheduled_task is off: the rule stays"
    );

    // The standalone command follows the revision the previous step exported; nothing new
    // is registered.
    let result = run_step(
        dir.path(),
        "deploy_ecs_scheduled_task",
        &[("rule_name", &rule)],
        &job_env,
    );
    result
        .assert_code(0)
        .assert_stderr_contains(&format!("--existing-revision {third}"));
    assert_eq!(api.revisions(&family).len(), 3);
    let after = rule_targets(&rule);
    assert_eq!(
        after[0]["EcsParameters"]["TaskDefinitionArn"],
        serde_json::json!(third)
    );
    assert_eq!(after[1..], before[1..], "other targets untouched");
}

/// The aws-ecs orb's verify_revision_is_deployed after an update_service that does not wait:
/// the revision comes from the exported variable, the service from the family's name
/// or service_name, and the wait is deployer's.
#[test]
fn the_verify_revision_is_deployed_step_waits_for_the_exported_revision_on_the_emulator() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let service = Service::start(&stack, &stack.emulator, &v1, true);
    let dir = tempfile::tempdir().unwrap();
    let bash_env = dir.path().join("bash_env");
    let job_env = [
        ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
        ("BASH_ENV", bash_env.to_str().unwrap()),
    ];
    let result = run_step(
        dir.path(),
        "update_service",
        &[
            ("family", &service.family),
            ("cluster", &service.cluster),
            ("service_name", &service.service),
            (
                "container_env_var_updates",
                "container=tutorial-site-app,name=RELEASE,value=2",
            ),
        ],
        &job_env,
    );
    result.assert_code(0).assert_stderr_contains("--no-wait");
    let revision = result.stdout.trim().to_string();

    let verify = |extra: &[(&str, &str)]| {
        let mut params = vec![
            ("family", service.family.as_str()),
            ("cluster", service.cluster.as_str()),
            ("service_name", service.service.as_str()),
            ("task_definition_arn", "${DEPLOYER_TASK_DEFINITION_ARN}"),
            ("poll_interval", "1"),
            ("max_poll_attempts", "90"),
        ];
        params.extend_from_slice(extra);
        run_step(dir.path(), "verify_revision_is_deployed", &params, &job_env)
    };
    verify(&[("fail_on_verification_timeout", "false")])
        .assert_code(2)
        .assert_stderr_contains("fail_on_verification_timeout");
    let result = verify(&[]);
    result
        .assert_code(0)
        .assert_stderr_contains(&format!(
            "wait --region eu-west-1 --cluster {} --service {} --task-definition {revision} --poll-interval 1s --timeout 90s",
            service.cluster, service.service
        ))
        // deployer's own line, not ECS's steady-state event, which comes on the emulator's own
        // clock and may follow the deployment's completion (issue 19: no test on timing it does
        // not control).
        .assert_stderr_contains("is completed");
    assert_eq!(result.stdout.trim(), revision);
    assert_eq!(
        service
            .api
            .service_task_definition(&service.cluster, &service.service),
        revision
    );
}

/// The environment CircleCI gives the deployer step of `job` invoked with `params`: its `when`
/// steps evaluated (a refusal comes back as `REFUSAL`), its command's arguments filled in.
pub(crate) fn job_step_env(job: &str, params: &[(&str, &str)]) -> BTreeMap<String, String> {
    expanded_env("--job", job, params)
}

/// `scripts/orb.py env FLAG NAME PARAMS...`: `--job` for a job, `--steps` for a command whose
/// steps run another.
pub(crate) fn expanded_env(
    flag: &str,
    name: &str,
    params: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let output = Command::new("python3")
        .arg(root().join("scripts/orb.py"))
        .args(["env", flag, name])
        .args(params.iter().map(|(k, v)| format!("{k}={v}")))
        .output()
        .expect("python3 runs scripts/orb.py");
    assert!(
        output.status.success(),
        "scripts/orb.py env {flag} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The seed's own aws-ecs step, unchanged but for the `orbs:` line: the generated
/// `deploy-service-update` alias (aws-ecs 0.0.x-3.x names) expands to our update_service step,
/// which rolls the service on moto; what the old orb would not take is refused before any step.
#[test]
fn the_seeds_deploy_service_update_runs_through_the_generated_alias_on_moto() {
    let stack = stack();
    let api = Api::moto(&stack);
    let dir = tempfile::tempdir().unwrap();
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = api.register_seed(&family);
    api.create_cluster_and_service(&cluster, &service, &first);
    let seed = [
        ("aws-region", "AWS_DEFAULT_REGION"),
        ("family", family.as_str()),
        ("service-name", service.as_str()),
        ("cluster-name", cluster.as_str()),
        (
            "container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
        ),
    ];
    let env = job_step_env("deploy-service-update", &seed);
    assert_eq!(env["PARAM_CLUSTER"], cluster);
    assert_eq!(env["PARAM_VERIFY_REVISION_IS_DEPLOYED"], "0");
    let bash_env = dir.path().join("bash_env");
    let result = run(Command::new("bash")
        .arg(root().join("orb/src/scripts/run.sh"))
        .current_dir(dir.path())
        .env("DEPLOYER_BIN", env!("CARGO_BIN_EXE_deployer"))
        .env_remove("DEPLOYER_ROLE_ARN")
        .env_remove("RUST_LOG")
        .envs(&env)
        .env("AWS_ENDPOINT_URL", &stack.moto)
        .env("BASH_ENV", &bash_env));
    result.assert_code(0).assert_stderr_contains(&format!(
        "--region eu-west-1 --family {family} --cluster {cluster} --service {service}"
    ));
    let revisions = api.revisions(&family);
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        api.service_task_definition(&cluster, &service),
        revisions[1]
    );
    assert_eq!(
        exported_to_later_steps(&bash_env)["DEPLOYER_TASK_DEFINITION_ARN"],
        revisions[1]
    );

    // What the job refuses before its first step, as CircleCI would run it.
    for (extra, named) in [
        (
            ("cluster", "other-cluster"),
            "give one of cluster, cluster-name",
        ),
        (
            ("session-duration", "900"),
            "session-duration other than 3600",
        ),
    ] {
        let mut params = seed.to_vec();
        params.push(extra);
        let env = job_step_env("deploy-service-update", &params);
        assert!(env["REFUSAL"].contains(named), "{extra:?}: {env:?}");
    }
    let without_cluster: Vec<_> = seed
        .iter()
        .filter(|(k, _)| *k != "cluster-name")
        .copied()
        .collect();
    assert!(
        job_step_env("deploy-service-update", &without_cluster)["REFUSAL"]
            .contains("cluster or cluster-name is required")
    );
    assert_eq!(api.revisions(&family).len(), 2, "nothing more registered");
}

/// The aws-ecr orb's repository commands, run as CircleCI runs them, against moto: each leaves
/// its setting in ECR; a parameter deployer cannot honour stops the step with nothing changed.
#[test]
fn the_aws_ecr_orbs_repository_commands_leave_their_state_in_ecr() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let dir = tempfile::tempdir().unwrap();
    let job = [("AWS_ENDPOINT_URL", stack.moto.as_str())];
    let repo = unique_repo("orb-create-repo");

    run_step(
        dir.path(),
        "create_repo",
        &[
            ("repo", &repo),
            ("repo_scan_on_push", "false"),
            ("repo_encryption_type", "KMS"),
            ("encryption_kms_key", "alias/ecr"),
            ("image_tag_mutability", "IMMUTABLE_WITH_EXCLUSION"),
            ("image_tag_exclusion_filters", "latest,dev-*"),
            ("repo_tag", r#"[{"Key": "team", "Value": "web"}]"#),
        ],
        &job,
    )
    .assert_code(0)
    .assert_stderr_contains("orb step create_repo: deployer repo create");
    let repository = moto.repository(&repo);
    assert_eq!(
        repository.image_tag_mutability().unwrap().as_str(),
        "IMMUTABLE_WITH_EXCLUSION"
    );
    let filters: Vec<&str> = repository
        .image_tag_mutability_exclusion_filters()
        .iter()
        .map(|filter| filter.filter())
        .collect();
    assert_eq!(filters, ["latest", "dev-*"]);
    assert!(!repository
        .image_scanning_configuration()
        .unwrap()
        .scan_on_push());
    let encryption = repository.encryption_configuration().unwrap();
    assert_eq!(encryption.encryption_type().as_str(), "KMS");
    assert_eq!(moto.repository_tags(&repo)["team"], "web");

    std::fs::write(
        dir.path().join("policy.json"),
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"ci-pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["ecr:BatchGetImage"]}]}"#,
    )
    .unwrap();
    run_step(
        dir.path(),
        "set_repo_policy",
        &[("repo", &repo), ("repo_policy_path", "policy.json")],
        &job,
    )
    .assert_code(0);
    let policy: serde_json::Value =
        serde_json::from_str(&moto.repository_policy(&repo).unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Sid"], "ci-pull");

    run_step(
        dir.path(),
        "tag_repo",
        &[
            ("repo", &repo),
            (
                "tag",
                r#"[{"Key":"team","Value":"platform"},{"Key":"cost-center","Value":"42"}]"#,
            ),
        ],
        &job,
    )
    .assert_code(0);
    let tags = moto.repository_tags(&repo);
    assert_eq!(tags["team"], "platform");
    assert_eq!(tags["cost-center"], "42");

    // What the step cannot do: exit 2, nothing created or changed.
    let absent = unique_repo("orb-absent");
    for (command, params, named) in [
        (
            "create_repo",
            vec![
                ("repo", absent.as_str()),
                ("public_registry", "true"),
                ("image_tag_mutability", "IMMUTABLE"),
            ],
            "ECR Public repositories have no such setting",
        ),
        (
            "create_repo",
            vec![
                ("repo", absent.as_str()),
                ("encryption_kms_key", "alias/ecr"),
            ],
            "--repo-kms-key needs --repo-encryption-type KMS",
        ),
        (
            "set_repo_policy",
            vec![("repo", repo.as_str())],
            "repo_policy_path is empty",
        ),
        (
            "tag_repo",
            vec![("repo", repo.as_str()), ("tag", "[]")],
            "at least one tag",
        ),
    ] {
        run_step(dir.path(), command, &params, &job)
            .assert_code(2)
            .assert_stderr_contains(named);
    }
    assert!(!moto.repository_exists(&absent));
    assert_eq!(moto.repository_tags(&repo), tags);
}

/// The aws-ecr orb's split build: create_repo, build_image with push_image false (tagged
/// locally only), push_image, then tag_image's promotion, against the emulator's ECR (the real
/// registry). extra_build_args as buildx users write them reach the build.
#[test]
fn build_image_push_image_and_tag_image_steps_promote_an_image() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let dir = tempfile::tempdir().unwrap();
    let bash_env = dir.path().join("bash_env");
    let repo = unique_repo("orb-split-build");
    let job = [
        ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
        ("CIRCLE_SHA1", "0a1b2c3"),
        ("BASH_ENV", bash_env.to_str().unwrap()),
    ];
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!(
            "FROM {}\nRUN grep -q db.internal /etc/hosts && echo \"built $CIRCLE_SHA1 with db.internal\" > /built\n",
            stack.base_image
        ),
    )
    .unwrap();
    let context = context.path().to_str().unwrap();

    run_step(dir.path(), "create_repo", &[("repo", &repo)], &job).assert_code(0);
    let built = run_step(
        dir.path(),
        "build_image",
        &[
            ("repo", &repo),
            ("tag", "${CIRCLE_SHA1},main"),
            ("path", context),
            ("build_path", context),
            ("push_image", "false"),
            (
                "extra_build_args",
                "--progress plain --provenance=false --sbom=false --add-host db.internal:10.1.2.3 --no-cache",
            ),
        ],
        &job,
    );
    built
        .assert_code(0)
        .assert_stderr_contains("--add-host db.internal:10.1.2.3 --no-cache")
        .assert_stderr_contains("--no-push");
    assert_eq!(
        registry.digest(&repo, "0a1b2c3"),
        None,
        "build_image pushed"
    );

    let pushed = run_step(
        dir.path(),
        "push_image",
        &[("repo", &repo), ("tag", "${CIRCLE_SHA1},main")],
        &job,
    );
    pushed.assert_code(0).assert_stderr_contains("--no-build");
    let digest = registry
        .digest(&repo, "0a1b2c3")
        .expect("push_image pushed the commit tag");
    assert_eq!(
        registry.digest(&repo, "main").as_deref(),
        Some(digest.as_str())
    );

    run_step(
        dir.path(),
        "tag_image",
        &[
            ("repo", &repo),
            ("source_tag", "${CIRCLE_SHA1}"),
            ("target_tag", "production,stable"),
            ("extra_args", "--no-cli-pager --output=json"),
        ],
        &job,
    )
    .assert_code(0);
    assert_eq!(
        registry.digest(&repo, "production").as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(
        registry.digest(&repo, "stable").as_deref(),
        Some(digest.as_str())
    );

    // put-image options deployer cannot honour: refused, no tag added.
    run_step(
        dir.path(),
        "tag_image",
        &[
            ("repo", &repo),
            ("source_tag", "${CIRCLE_SHA1}"),
            ("target_tag", "canary"),
            (
                "extra_args",
                "--image-manifest-media-type=application/vnd.oci.image.manifest.v1+json",
            ),
        ],
        &job,
    )
    .assert_code(2)
    .assert_stderr_contains("own manifest");
    assert_eq!(registry.digest(&repo, "canary"), None);
    for tag in ["0a1b2c3", "main"] {
        docker(&[
            "image",
            "rm",
            "-f",
            &format!("{}/{repo}:{tag}", stack.registry),
        ]);
    }
}

/// A fake `docker` on PATH that records its arguments in `calls`.
fn fake_docker(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("docker");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> {}\n",
            dir.join("calls").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// The push and build_image commands' binfmt step: tonistiigi/binfmt installs QEMU handlers
/// only for foreign platforms that lack one, as the aws-ecr orb's build step does.
#[test]
fn the_binfmt_step_installs_handlers_only_for_foreign_platforms_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_docker(dir.path());
    let handlers = dir.path().join("binfmt_misc");
    std::fs::create_dir_all(&handlers).unwrap();
    std::fs::write(handlers.join("status"), "enabled\n").unwrap();
    // The machine's own architecture never needs one; the other gets installed.
    let (native, foreign, handler, text) = match std::env::consts::ARCH {
        "aarch64" => (
            "linux/arm64",
            "amd64",
            "qemu-x86_64",
            "enabled\ninterpreter /usr/bin/qemu-x86_64\nflags: F\noffset 0\nmagic 7f454c4602010100000000000000000002003e00\nmask fffffffffffefefc00ffffffffffffffffeffffff\n",
        ),
        _ => (
            "linux/amd64",
            "arm64",
            "qemu-aarch64",
            "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n",
        ),
    };
    let step = |platform: &str, version: &str| {
        let mut bash = Command::new("bash");
        bash.arg(root().join("orb/src/scripts/binfmt.sh"))
            .current_dir(dir.path())
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("DEPLOYER_BIN", env!("CARGO_BIN_EXE_deployer"))
            .env("DEPLOYER_BINFMT_MISC", &handlers)
            .env_remove("DOCKER_HOST")
            .env("PARAM_PLATFORM", platform)
            .env("PARAM_BINFMT_VERSION", version);
        run(&mut bash)
    };
    let calls = || std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default();

    step(native, "qemu-v7.0.0-28")
        .assert_code(0)
        .assert_stderr_contains("no QEMU handlers to install");
    assert_eq!(calls(), "");

    let mixed = format!("{native},linux/{foreign},linux/riscv64");
    step(&mixed, "qemu-v8.1.5").assert_code(0);
    assert_eq!(
        calls(),
        format!(
            "run --privileged --rm tonistiigi/binfmt:qemu-v8.1.5 --install {foreign},riscv64\n"
        )
    );

    // Once the kernel has a handler for it, only riscv64 is left.
    std::fs::write(handlers.join(handler), text).unwrap();
    std::fs::remove_file(dir.path().join("calls")).unwrap();
    step(&mixed, "qemu-v7.0.0-28").assert_code(0);
    assert_eq!(
        calls(),
        "run --privileged --rm tonistiigi/binfmt:qemu-v7.0.0-28 --install riscv64\n"
    );
    std::fs::remove_file(dir.path().join("calls")).unwrap();
    step(&format!("{native},linux/{foreign}"), "qemu-v7.0.0-28").assert_code(0);
    assert_eq!(calls(), "");

    // A malformed platform fails the step before anything is installed.
    step("linux/amd64,linux", "qemu-v7.0.0-28")
        .assert_code(2)
        .assert_stderr_contains("platform");
    assert_eq!(calls(), "");
}

/// The approval flow from the orb: update_service with `wait_until: paused` stops at the
/// service's pause hook and exports it; after the (CircleCI) approval, the `continue` step
/// picks the exported deployment up from BASH_ENV and lets it finish.
#[test]
fn the_continue_step_resumes_the_deployment_an_update_service_step_left_paused() {
    use aws_sdk_ecs::types::{
        CanaryConfiguration, DeploymentConfiguration, DeploymentLifecycleHookStage,
        DeploymentStrategy,
    };
    let _stack = stack();
    let site = crate::strategies::Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Canary)
            .canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(5.0)
                    .canary_bake_time_in_minutes(1)
                    .build(),
            )
            .lifecycle_hooks(crate::strategies::pause_hook(
                DeploymentLifecycleHookStage::PostTestTrafficShift,
            ))
            .build(),
        &[],
    );
    let family = site
        .v2
        .rsplit_once(":task-definition/")
        .and_then(|(_, short)| short.rsplit_once(':'))
        .unwrap()
        .0
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let bash_env = dir.path().join("bash_env");
    std::fs::write(&bash_env, "").unwrap();
    let job_env = [
        ("AWS_ENDPOINT_URL", site.emulator.endpoint.as_str()),
        ("BASH_ENV", bash_env.to_str().unwrap()),
    ];
    let paused = run_step(
        dir.path(),
        "update_service",
        &[
            ("family", &family),
            ("cluster", &site.cluster),
            ("service_name", &site.service),
            ("skip_task_definition_registration", "true"),
            ("verify_revision_is_deployed", "true"),
            ("wait_until", "paused"),
            ("strategy", "canary"),
            ("canary_percent", "10"),
            ("canary_bake_time", "1m"),
            ("poll_interval", "1"),
            ("max_poll_attempts", "60"),
        ],
        &job_env,
    );
    paused
        .assert_code(0)
        .assert_stderr_contains("--strategy canary --canary-percent 10 --canary-bake-time 1m")
        .assert_stderr_contains("--wait-until paused")
        .assert_stderr_contains("is paused at lifecycle hook");
    let exported = exported_to_later_steps(&bash_env);
    assert!(!exported["DEPLOYER_HOOK_ID"].is_empty(), "{exported:?}");
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);

    let continued = run_step(
        dir.path(),
        "continue",
        &[
            ("cluster", &site.cluster),
            ("service_name", &site.service),
            ("poll_interval", "1"),
        ],
        &job_env,
    );
    continued
        .assert_code(0)
        .assert_stderr_contains("resumed service deployment")
        .assert_stderr_contains("is SUCCESSFUL");
    assert_eq!(
        continued.stdout.trim(),
        exported["DEPLOYER_SERVICE_DEPLOYMENT_ARN"]
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);
}

/// `aws-access-key-id` / `aws-secret-access-key` name the variables holding the keys (aws-ecs
/// 2.x-3.x, aws-ecr 1.x-8.x): with the standard variables gone, the step authenticates with
/// the named ones, and neither value reaches the output. A name that is not set fails before
/// anything changes.
#[test]
fn credentials_come_from_the_variables_the_old_parameters_name_on_moto() {
    let stack = stack();
    let api = Api::moto(&stack);
    let dir = tempfile::tempdir().unwrap();
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = api.register_seed(&family);
    api.create_cluster_and_service(&cluster, &service, &first);
    let key_id = "AKIAPRODKEYEXAMPLE01";
    let secret = "prod/secret+Key0123456789EXAMPLEKEY";
    let step = |params: &[(&str, &str)]| {
        let mut all = vec![
            ("aws-region", "AWS_DEFAULT_REGION"),
            ("family", family.as_str()),
            ("service-name", service.as_str()),
            ("cluster-name", cluster.as_str()),
            (
                "container-image-name-updates",
                "container=tutorial-site-app,tag=v2",
            ),
        ];
        all.extend_from_slice(params);
        let env = job_step_env("deploy-service-update", &all);
        run(Command::new("bash")
            .arg(root().join("orb/src/scripts/run.sh"))
            .current_dir(dir.path())
            .env("DEPLOYER_BIN", env!("CARGO_BIN_EXE_deployer"))
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("no-credentials"),
            )
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("DEPLOYER_ROLE_ARN")
            .env_remove("RUST_LOG")
            .envs(&env)
            .env("PROD_KEY_ID", key_id)
            .env("PROD_SECRET", secret)
            .env("AWS_ENDPOINT_URL", &stack.moto))
    };

    // Without the standard variables and with the default names, there is nothing to use.
    step(&[])
        .assert_code(3)
        .assert_stderr_contains("no AWS credentials");
    // A name that is not set: refused, naming the parameter and the variable.
    step(&[
        ("aws-access-key-id", "UNSET_KEY_ID"),
        ("aws-secret-access-key", "PROD_SECRET"),
    ])
    .assert_code(2)
    .assert_stderr_contains("the variable named in aws_access_key_id is not set");
    assert_eq!(api.revisions(&family).len(), 1, "nothing registered");

    let result = step(&[
        ("aws-access-key-id", "PROD_KEY_ID"),
        ("aws-secret-access-key", "$PROD_SECRET"),
    ]);
    result.assert_code(0);
    for value in [key_id, secret] {
        assert!(
            !result.stdout.contains(value) && !result.stderr.contains(value),
            "{value} printed"
        );
    }
    let revisions = api.revisions(&family);
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        api.service_task_definition(&cluster, &service),
        revisions[1]
    );
}

/// Runs `job`'s deployer step as CircleCI would: its `when` steps evaluated, then run.sh with
/// the step's environment on top of the job's.
pub(crate) fn run_job_step(
    dir: &Path,
    job: &str,
    params: &[(&str, &str)],
    job_env: &[(&str, &str)],
) -> Run {
    run_expanded(dir, job_step_env(job, params), job, job_env)
}

/// Runs an alias command (one whose steps run one of ours) in a job of the user's, as CircleCI
/// would.
pub(crate) fn run_command_alias(
    dir: &Path,
    command: &str,
    params: &[(&str, &str)],
    job_env: &[(&str, &str)],
) -> Run {
    run_expanded(
        dir,
        expanded_env("--steps", command, params),
        command,
        job_env,
    )
}

fn run_expanded(
    dir: &Path,
    env: BTreeMap<String, String>,
    job: &str,
    job_env: &[(&str, &str)],
) -> Run {
    assert!(!env.contains_key("REFUSAL"), "{job} refused: {env:?}");
    run(Command::new("bash")
        .arg(root().join("orb/src/scripts/run.sh"))
        .current_dir(dir)
        .env("DEPLOYER_BIN", env!("CARGO_BIN_EXE_deployer"))
        .env_remove("DEPLOYER_ROLE_ARN")
        .env_remove("RUST_LOG")
        .envs(&env)
        .envs(job_env.iter().copied()))
}

/// The seed's aws-ecr step (aws-ecr 6.15.3's `build-and-push-image`, `region` a variable name)
/// unchanged but for the `orbs:` line: the generated alias builds with `path` as the context, as
/// before aws-ecr 8.2, and pushes.
#[test]
fn the_seeds_build_and_push_image_runs_through_the_generated_alias() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let dir = tempfile::tempdir().unwrap();
    let site = tutorial_site();
    let site = site.to_str().unwrap();
    let result = run_job_step(
        dir.path(),
        "build-and-push-image",
        &[
            ("repo", &repo),
            ("region", "AWS_DEFAULT_REGION"),
            ("tag", "latest"),
            ("create-repo", "true"),
            ("path", site),
        ],
        &[("AWS_ENDPOINT_URL", &stack.emulator)],
    );
    result.assert_code(0).assert_stderr_contains(&format!(
        "deployer push --region eu-west-1 --repo {repo} --tag latest --create-repo"
    ));
    result.assert_stderr_contains(&format!("--build-path {site} --path {site}"));
    let image = result.stdout.lines().next().unwrap();
    assert!(
        image.starts_with(&format!("{}/{repo}@sha256:", stack.registry)),
        "{image}"
    );
}

/// aws-ecr 0.0.x-5.x named the job `build_and_push_image`, as 9.x does, with kebab-case
/// parameters: our job takes both. `account-url` names the registry host through a variable,
/// the keys come from the variables the credential parameters name; giving both spellings of
/// one parameter, or what deployer cannot honour, fails before any step.
#[test]
fn the_old_build_and_push_image_names_run_through_our_job() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let dir = tempfile::tempdir().unwrap();
    let site = tutorial_site();
    let site = site.to_str().unwrap();
    let old = [
        ("repo", repo.as_str()),
        ("account-url", "MY_ECR_URL"),
        ("aws-access-key-id", "MY_KEY_ID"),
        ("aws-secret-access-key", "MY_SECRET"),
        ("create-repo", "true"),
        ("extra-build-args", "--build-arg VERSION=v5"),
        ("path", site),
        ("build_path", site),
    ];
    let secret = "my/secret+KEY0123456789";
    let result = run_job_step(
        dir.path(),
        "build_and_push_image",
        &old,
        &[
            ("AWS_ENDPOINT_URL", &stack.emulator),
            (
                "MY_ECR_URL",
                "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            ),
            ("MY_KEY_ID", "AKIAMYKEYEXAMPLE0001"),
            ("MY_SECRET", secret),
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
        ],
    );
    result.assert_code(0).assert_stderr_contains(&format!(
        "deployer push --region eu-west-1 --registry-id 123456789012 --repo {repo} --tag latest --create-repo"
    ));
    result.assert_stderr_contains("--build-arg VERSION=…");
    assert!(!result.stderr.contains(secret) && !result.stdout.contains(secret));
    assert!(result
        .stdout
        .starts_with(&format!("{}/{repo}@sha256:", stack.registry)));

    for (extra, named) in [
        (
            ("create_repo", "true"),
            "give one of create-repo, create_repo",
        ),
        (
            ("extra_build_args", "--no-cache"),
            "give one of extra-build-args, extra_build_args",
        ),
        (("profile_name", "ci"), "__none__"),
    ] {
        let mut params = old.to_vec();
        params.push(extra);
        let env = job_step_env("build_and_push_image", &params);
        if named == "__none__" {
            assert!(!env.contains_key("REFUSAL"), "{extra:?}: {env:?}");
        } else {
            assert!(env["REFUSAL"].contains(named), "{extra:?}: {env:?}");
        }
    }
    let mut params = old.to_vec();
    params.extend([("profile-name", "ci"), ("profile_name", "prod")]);
    assert!(job_step_env("build_and_push_image", &params)["REFUSAL"]
        .contains("give one of profile-name, profile_name"));
    // The kebab spelling alone reaches the step.
    let mut params = old.to_vec();
    params.push(("profile-name", "ci"));
    assert_eq!(
        job_step_env("build_and_push_image", &params)["PARAM_PROFILE_NAME"],
        "ci"
    );
    let refused = job_step_env(
        "build-and-push-image",
        &[
            ("repo", "r"),
            ("role-arn", "arn:aws:iam::123456789012:role/ci"),
        ],
    );
    assert!(refused["REFUSAL"].contains("set assume-web-identity: true"));
    let accepted = job_step_env(
        "build-and-push-image",
        &[
            ("repo", "r"),
            ("role-arn", "arn:aws:iam::123456789012:role/ci"),
            ("assume-web-identity", "true"),
        ],
    );
    assert_eq!(
        accepted["PARAM_ROLE_ARN"],
        "arn:aws:iam::123456789012:role/ci"
    );
}

/// docker-login (aws-ecr 6.15-8.x): the Docker CLI logs in with the user and password the
/// named variables hold, the password through stdin only; unset variables fail the step.
#[test]
fn the_docker_hub_login_step_reads_the_named_variables() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("docker");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\necho \"args: $*\" > \"$(dirname \"$0\")/called\"\necho \"stdin: $(cat)\" >> \"$(dirname \"$0\")/called\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let login = |vars: &[(&str, &str)]| {
        run(Command::new("bash")
            .arg(root().join("orb/src/scripts/docker_login.sh"))
            .env("DOCKER_BIN", &fake)
            .env("USERNAME_VARIABLE", "HUB_USER")
            .env("PASSWORD_VARIABLE", "HUB_PASSWORD")
            .env_remove("HUB_USER")
            .env_remove("HUB_PASSWORD")
            .envs(vars.iter().copied()))
    };
    login(&[("HUB_USER", "deployer")])
        .assert_code(1)
        .assert_stderr_contains("HUB_USER or HUB_PASSWORD is empty");
    assert!(!dir.path().join("called").exists());
    login(&[("HUB_USER", "deployer"), ("HUB_PASSWORD", "hub-secret")]).assert_code(0);
    let called = std::fs::read_to_string(dir.path().join("called")).unwrap();
    assert_eq!(
        called,
        "args: login --username deployer --password-stdin\nstdin: hub-secret\n"
    );
    // Issue 20: `${!name}` evaluates an array subscript, so a parameter naming `x[$(cmd)]` ran
    // cmd. Only a variable name is looked up; anything else stops before any indirection.
    std::fs::remove_file(dir.path().join("called")).unwrap();
    let planted = dir.path().join("injected");
    let injection = format!("x[$(touch {})]", planted.display());
    run(Command::new("bash")
        .arg(root().join("orb/src/scripts/docker_login.sh"))
        .env("DOCKER_BIN", &fake)
        .env("USERNAME_VARIABLE", &injection)
        .env("PASSWORD_VARIABLE", "HUB_PASSWORD")
        .env("HUB_PASSWORD", "hub-secret"))
    .assert_code(2)
    .assert_stderr_contains("one of them is not such a name");
    assert!(!planted.exists(), "the parameter's command ran");
    assert!(!dir.path().join("called").exists());
}

/// Every job, command, executor and parameter name of every aws-ecr and aws-ecs version in
/// orb/versions is accepted by the packed orb, expanded as CircleCI expands it; without the
/// generated aliases, the old names are what fails.
#[test]
fn every_name_of_every_aws_orb_version_is_accepted_by_the_packed_orb() {
    let accepts = |extra: &[&str]| {
        run(Command::new("python3")
            .arg(root().join("scripts/orb.py"))
            .arg("accepts")
            .args(extra))
    };
    accepts(&[])
        .assert_code(0)
        .assert_stderr_contains("accepts: ok (")
        .assert_stderr_contains("not yet: aws-ecs commands/install-ecs-cli (retired");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("aliases.yml");
    std::fs::write(&empty, "{}\n").unwrap();
    accepts(&["--aliases", empty.to_str().unwrap()])
        .assert_code(1)
        .assert_stderr_contains("aws-ecr 6.15.3 jobs/build-and-push-image: our orb has no such job")
        .assert_stderr_contains(
            "aws-ecs 3.2.0 commands/update-service: our orb has no such command",
        )
        .assert_stderr_contains(
            "aws-ecr 1.x-5.x jobs/build_and_push_image: parameter account-url is not declared",
        )
        .assert_stderr_contains("aws-ecr 9.8.1 executors/default: our orb has no such executor");
}

/// aws-ecr 9.x's job, snake_case names as they are: builds and pushes on the local stack.
#[test]
fn an_aws_ecr_9_build_and_push_image_job_runs_as_it_is() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let dir = tempfile::tempdir().unwrap();
    let site = tutorial_site();
    let site = site.to_str().unwrap();
    let result = run_job_step(
        dir.path(),
        "build_and_push_image",
        &[
            ("repo", &repo),
            ("create_repo", "true"),
            ("tag", "latest,v9"),
            ("path", site),
            ("build_path", site),
            ("extra_build_args", "--build-arg VERSION=v9"),
        ],
        &[("AWS_ENDPOINT_URL", &stack.emulator)],
    );
    result.assert_code(0).assert_stderr_contains(&format!(
        "deployer push --region eu-west-1 --registry-id 123456789012 --repo {repo} --tag latest,v9 --create-repo"
    ));
    assert!(result
        .stdout
        .starts_with(&format!("{}/{repo}@sha256:", stack.registry)));
}

/// aws-ecs 4.x+'s job and 0.0.x-3.x's update-service command in a job of the user's, each as
/// written for its orb version: both roll the service on moto.
#[test]
fn aws_ecs_snake_jobs_and_kebab_commands_roll_the_service_on_moto() {
    let stack = stack();
    let api = Api::moto(&stack);
    let dir = tempfile::tempdir().unwrap();
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = api.register_seed(&family);
    api.create_cluster_and_service(&cluster, &service, &first);
    let job_env = [("AWS_ENDPOINT_URL", stack.moto.as_str())];

    let result = run_job_step(
        dir.path(),
        "deploy_service_update",
        &[
            ("family", &family),
            ("cluster", &cluster),
            ("service_name", &service),
            (
                "container_image_name_updates",
                "container=tutorial-site-app,tag=v3",
            ),
        ],
        &job_env,
    );
    result.assert_code(0);
    let revisions = api.revisions(&family);
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        api.service_task_definition(&cluster, &service),
        revisions[1]
    );

    let result = run_command_alias(
        dir.path(),
        "update-service",
        &[
            ("family", &family),
            ("cluster-name", &cluster),
            ("service-name", &service),
            (
                "container-image-name-updates",
                "container=tutorial-site-app,tag=v2",
            ),
        ],
        &job_env,
    );
    result.assert_code(0).assert_stderr_contains(&format!(
        "--family {family} --cluster {cluster} --service {service}"
    ));
    let revisions = api.revisions(&family);
    assert_eq!(revisions.len(), 3);
    assert_eq!(
        api.service_task_definition(&cluster, &service),
        revisions[2]
    );
    assert!(expanded_env(
        "--steps",
        "update-service",
        &[
            ("family", &family),
            ("cluster-name", &cluster),
            ("cluster", &cluster)
        ]
    )["REFUSAL"]
        .contains("give one of cluster, cluster-name"));
}

/// aws-ecr 0.0.x-8.x's `ecr-login` command in a job of the user's: logs the Docker CLI in as
/// `docker login` did (the token in the Docker config, no credential helper), with the keys the
/// variables its parameters name.
#[test]
fn the_old_ecr_login_command_logs_docker_in_with_the_named_keys() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let docker_config = dir.path().join("docker");
    let secret = "ecr/login+SECRET0123456789";
    let env = expanded_env(
        "--steps",
        "ecr-login",
        &[
            ("aws-access-key-id", "CI_KEY_ID"),
            ("aws-secret-access-key", "CI_SECRET"),
        ],
    );
    let result = run(Command::new("bash")
        .arg(root().join("orb/src/scripts/run.sh"))
        .current_dir(dir.path())
        .env("DEPLOYER_BIN", env!("CARGO_BIN_EXE_deployer"))
        .env_remove("DEPLOYER_ROLE_ARN")
        .env_remove("RUST_LOG")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(&env)
        .env("CI_KEY_ID", "AKIACIKEYEXAMPLE0001")
        .env("CI_SECRET", secret)
        .env("DOCKER_CONFIG", &docker_config)
        .env("AWS_ENDPOINT_URL", &stack.emulator));
    result.assert_code(0);
    assert_eq!(result.stdout.trim(), stack.registry);
    assert!(!result.stderr.contains(secret) && !result.stderr.contains(&stack.registry_password));
    let written = std::fs::read_to_string(docker_config.join("config.json")).unwrap();
    assert!(!written.contains("credHelpers"), "{written}");
    assert!(written.contains(&stack.registry), "{written}");
}
