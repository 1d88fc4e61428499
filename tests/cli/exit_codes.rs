//! The README's exit-code table, walked: one run per documented reason, asserting its code.
//! Who can fix a failure decides its code (src/error.rs): 2 the invocation, 3 the environment
//! or the account, 1 the work itself, 4 anything after a change.
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::emulator::on;
use crate::run_task::{container, migration};
use crate::support::{
    deployer, moto_seed, run, site_context, stack, unique_repo, write, Api, MotoSeed, Run,
    StderrSoFar,
};

/// The codes the README's "Exit codes" table documents (the container's own aside).
fn documented_codes() -> BTreeSet<i32> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("## Exit codes")
        .nth(1)
        .expect("the README has an exit-code table");
    table
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('|').nth(1)?.trim().parse().ok())
        .collect()
}

/// The codes `deployer --help` lists after "Exit codes:", each opening a `;`-separated clause.
fn help_codes() -> BTreeSet<i32> {
    let help = crate::support::help(&[]);
    let codes = help
        .split("Exit codes:")
        .nth(1)
        .expect("--help lists the exit codes");
    codes
        .split(';')
        .filter_map(|clause| clause.split_whitespace().next()?.parse().ok())
        .collect()
}

/// deployer without any AWS credentials or region: no keys, no profile files, no IMDS.
fn bare<'a>(command: &'a mut Command, home: &Path) -> &'a mut Command {
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        command.env_remove(name);
    }
    command
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

#[test]
fn every_documented_exit_code_reason_gives_its_code() {
    let stack = stack();
    let MotoSeed {
        ecs,
        family,
        cluster,
        service,
        first,
    } = moto_seed();
    let other_family = unique_repo("tutorial-site-migrate");
    ecs.register_seed(&other_family);
    let home = tempfile::tempdir().unwrap();
    let context = site_context(&stack, "");
    let at = |args: &[&str]| run(deployer(Path::new("/")).args(args));
    let update = |args: &[&str]| {
        at(&[
            &[
                "update-service",
                "--family",
                family.as_str(),
                "--cluster",
                &cluster,
                "--service",
                &service,
            ],
            args,
        ]
        .concat())
    };
    let wait = |args: &[&str]| {
        at(&[
            &["wait", "--cluster", cluster.as_str(), "--service", &service],
            args,
        ]
        .concat())
    };
    let config = write(
        home.path(),
        "aws/config",
        "[profile ci]\nregion = eu-west-1\n",
    );
    let repo = unique_repo("tutorial-site-exit");

    // (code, what stderr says of the reason, the run)
    let mut cases: Vec<(i32, &str, Run)> = vec![
        (0, "dry run, nothing changed", update(&["--dry-run"])),
        (
            2,
            "unexpected argument '--no-such-flag'",
            update(&["--no-such-flag"]),
        ),
        (
            2,
            "'--no-wait' cannot be used with",
            update(&["--no-wait", "--wait-until", "running"]),
        ),
        (
            2,
            "--profile prodd: no such profile",
            run(deployer(Path::new("/"))
                .env("AWS_CONFIG_FILE", &config)
                .args(["--profile", "prodd", "update-service", "--family", &family])
                .args(["--cluster", &cluster, "--service", &service, "--no-wait"])),
        ),
        (
            2,
            "cannot write --export-env",
            update(&["--no-wait", "--export-env", "/nonexistent-directory/env"]),
        ),
        (
            2,
            "is an image's URI, not a repository name",
            at(&[
                "push",
                "--repo",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry",
            ]),
        ),
        (
            2,
            "that would move the service to another family",
            at(&[
                "update-service",
                "--family",
                &other_family,
                "--cluster",
                &cluster,
                "--service",
                &service,
                "--no-wait",
            ]),
        ),
        (
            2,
            "service no-such-service does not exist",
            at(&[
                "update-service",
                "--family",
                &family,
                "--cluster",
                &cluster,
                "--service",
                "no-such-service",
                "--no-wait",
            ]),
        ),
        (
            2,
            "no container \"typo\"",
            update(&[
                "--container-image-name-updates",
                "container=typo,tag=v2",
                "--no-wait",
            ]),
        ),
        (
            2,
            "does not exist: repository tutorial-site-registry",
            update(&[
                "--container-image-name-updates",
                "container=tutorial-site-app,tag=never-pushed",
                "--no-wait",
            ]),
        ),
        (
            2,
            "CIRCLE_SHA1 is unset or empty",
            run(deployer(context.path())
                .env_remove("CIRCLE_SHA1")
                .env("PARAM_REPO", "tutorial-site-registry")
                .env("PARAM_TAG", "latest,${CIRCLE_SHA1}")
                .args(["orb", "run", "push"])),
        ),
        (
            3,
            "no AWS credentials were found",
            run(bare(&mut deployer(Path::new("/")), home.path())
                .args(["update-service", "--family", &family, "--cluster", &cluster])
                .arg("--no-wait")),
        ),
        (
            3,
            "no AWS region is set",
            run(bare(&mut deployer(Path::new("/")), home.path())
                .env_remove("AWS_REGION")
                .env_remove("AWS_DEFAULT_REGION")
                .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", "secret")
                .args(["update-service", "--family", &family, "--cluster", &cluster])
                .arg("--no-wait")),
        ),
        (
            3,
            "needs an OIDC token",
            update(&[
                "--role-arn",
                "arn:aws:iam::123456789012:role/deployer-ci",
                "--no-wait",
            ]),
        ),
        (
            3,
            "AWS could not be reached",
            run(deployer(Path::new("/"))
                .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
                .args(["update-service", "--family", &family, "--cluster", &cluster])
                .arg("--no-wait")),
        ),
        (
            3,
            "Docker",
            run(deployer(context.path())
                .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
                .args(["push", "--repo", &repo, "--create-repo"])),
        ),
        (
            3,
            "docker-credential-deployer is not on PATH",
            run(deployer(Path::new("/"))
                .env("PATH", "/usr/bin:/bin")
                .args(["ecr-login", "--credential-helper", "--docker-config"])
                .arg(home.path().join("docker.json"))),
        ),
        (
            4,
            "already done: created repository",
            run(deployer(context.path())
                .env("CIRCLE_OIDC_TOKEN", "another.oidc.token-value")
                .args(["push", "--repo", &repo, "--create-repo", "--registry"])
                .arg(&stack.registry)
                .args(["--role-arn", "arn:aws:iam::210987654321:role/deployer-ci"])),
        ),
    ];

    // 1: the work failed: a wait that times out (moto never finishes a rollout).
    cases.push((
        1,
        "did not finish within 2s",
        wait(&["--timeout", "2s", "--poll-interval", "1s"]),
    ));
    // 130: interrupted while waiting.
    let child = deployer(Path::new("/"))
        .args(["wait", "--cluster", &cluster, "--service", &service])
        .args(["--timeout", "5m", "--poll-interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let stderr_so_far = StderrSoFar::read(&mut child);
    // deployer is in its wait, past the first DescribeServices.
    stderr_so_far.wait_for("waiting for deployment", Duration::from_secs(60));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    cases.push((
        130,
        "interrupted by SIGTERM",
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: stderr_so_far.until_exit(),
        },
    ));

    // Every case so far left moto as it was: nothing registered, the service untouched.
    assert_eq!(ecs.revisions(&family).len(), 1, "a revision was registered");
    assert_eq!(ecs.service_task_definition(&cluster, &service), first);
    assert_eq!(ecs.revisions(&other_family).len(), 1);

    // 1 again: a build step failed (into a repository that exists).
    let broken = site_context(
        &stack,
        "RUN echo 'npm ERR! missing script: build' && exit 3",
    );
    let existing = unique_repo("tutorial-site-broken");
    ecs.create_repository(&existing, "MUTABLE");
    cases.push((
        1,
        "npm ERR! missing script: build",
        run(deployer(broken.path())
            .args(["push", "--repo", &existing, "--registry"])
            .arg(&stack.registry)),
    ));

    // Each case exits with its code for the reason documented, which its stderr names.
    for (code, reason, result) in &cases {
        assert_eq!(
            result.code, *code,
            "{reason}: expected exit {code}, got {}\n--- stderr\n{}",
            result.code, result.stderr
        );
        assert!(
            result.stderr.contains(reason),
            "exit {code} for another reason than {reason:?}:\n{}",
            result.stderr
        );
    }
    // The 4 says what it had done.
    let partly = &cases.iter().find(|(code, ..)| *code == 4).unwrap().2;
    assert!(partly
        .stderr
        .contains(&format!("already done: created repository {repo}")));

    let walked: BTreeSet<i32> = cases.iter().map(|(code, ..)| *code).collect();
    assert_eq!(
        walked,
        documented_codes(),
        "the README's table and this walk disagree"
    );
    assert_eq!(
        help_codes(),
        documented_codes(),
        "--help's exit codes and the README's table disagree"
    );
}

#[test]
fn run_task_wait_passes_on_the_containers_exit_code() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let (cluster, family) = migration(
        &api,
        vec![container("migrate", &stack.base_image, "exit 7", true)],
    );
    run(on(&stack.emulator).args([
        "run-task",
        "--cluster",
        &cluster,
        "--task-definition",
        &family,
        "--wait",
        "--poll-interval",
        "500ms",
        "--timeout",
        "90s",
    ]))
    .assert_code(7)
    .assert_stderr_contains("container migrate exited 7");
}
