//! The mistakes a new user makes (issue 24), each caught before it costs anything: a clear
//! answer, the documented exit code and, for exit 2, nothing changed in moto.
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{
    assert_hints_name_own_flags, deployer, help, run, site_context, stack, unique_repo, write, Api,
    Run,
};

/// A family, cluster and service on moto running the seed's first revision.
struct Seeded {
    ecs: Api,
    family: String,
    cluster: String,
    service: String,
    first: String,
}

impl Seeded {
    fn new() -> Self {
        let ecs = Api::moto(&stack());
        let family = unique_repo("tutorial-site-task");
        let cluster = unique_repo("tutorial-site-cluster");
        let service = unique_repo("tutorial-site-service");
        let first = ecs.register_seed(&family);
        ecs.create_cluster_and_service(&cluster, &service, &first);
        Seeded {
            ecs,
            family,
            cluster,
            service,
            first,
        }
    }

    /// `deployer COMMAND --cluster C --service S ARGS`.
    fn run(&self, command: &str, args: &[&str]) -> Run {
        run(deployer(Path::new("/"))
            .args([
                command,
                "--cluster",
                &self.cluster,
                "--service",
                &self.service,
            ])
            .args(args))
    }

    /// update-service of the seeded family, with `args`.
    fn update(&self, args: &[&str]) -> Run {
        self.run(
            "update-service",
            &[&["--family", &self.family], args].concat(),
        )
    }

    /// Nothing registered, the service untouched.
    fn assert_unchanged(&self) {
        assert_eq!(
            self.ecs.revisions(&self.family).len(),
            1,
            "a revision was registered"
        );
        assert_eq!(
            self.ecs
                .service_task_definition(&self.cluster, &self.service),
            self.first,
            "the service was updated"
        );
    }
}

const IMAGE_UPDATE: &str = "container=tutorial-site-app,tag=v2";

#[test]
fn a_profile_that_does_not_exist_is_refused_before_any_call_even_with_environment_keys() {
    let seeded = Seeded::new();
    let home = tempfile::tempdir().unwrap();
    let config = write(
        home.path(),
        "aws/config",
        "[default]\nregion = eu-west-1\n[profile ci]\nregion = eu-west-1\n",
    );
    let credentials = write(
        home.path(),
        "aws/credentials",
        "[ci]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = ci-secret\n",
    );
    let with_files = |command: &mut std::process::Command| {
        command
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials);
    };
    let update = |profile_flag: Option<&str>, aws_profile: Option<&str>, extra: &[&str]| {
        let mut command = deployer(Path::new("/"));
        with_files(&mut command);
        if let Some(profile) = aws_profile {
            command.env("AWS_PROFILE", profile);
        }
        if let Some(profile) = profile_flag {
            command.args(["--profile", profile]);
        }
        command.args([
            "update-service",
            "--family",
            &seeded.family,
            "--cluster",
            &seeded.cluster,
            "--service",
            &seeded.service,
            "--container-image-name-updates",
            IMAGE_UPDATE,
            "--no-wait",
        ]);
        run(command.args(extra))
    };

    // The environment's keys (AWS_ACCESS_KEY_ID) are set: the misspelled profile used to be
    // passed over in their favour.
    let flag = update(Some("prodd"), None, &[]);
    flag.assert_code(2)
        .assert_stderr_contains("--profile prodd: no such profile in")
        .assert_stderr_contains("the profiles there: default, ci");
    seeded.assert_unchanged();
    let variable = update(None, Some("prodd"), &[]);
    variable
        .assert_code(2)
        .assert_stderr_contains("AWS_PROFILE prodd: no such profile");
    seeded.assert_unchanged();

    // A profile that exists, with the environment's keys too: the log says which is used.
    update(Some("ci"), None, &["--dry-run"])
        .assert_code(0)
        .assert_stderr_contains(
        "credentials: profile ci (--profile), not the AWS_ACCESS_KEY_ID keys of the environment",
    );
    update(None, Some("ci"), &["--dry-run"])
        .assert_code(0)
        .assert_stderr_contains(
            "credentials: the AWS_ACCESS_KEY_ID keys of the environment, which the AWS chain takes before AWS_PROFILE=ci",
        );
    seeded.assert_unchanged();
}

#[test]
fn rolling_a_service_onto_another_family_needs_allow_family_change() {
    let seeded = Seeded::new();
    let migrate = unique_repo("tutorial-site-migrate");
    seeded.ecs.register_seed(&migrate);
    let moved = |extra: &[&str]| {
        seeded.run(
            "update-service",
            &[&["--family", migrate.as_str(), "--no-wait"], extra].concat(),
        )
    };
    let refused = moved(&[]);
    refused
        .assert_code(2)
        .assert_stderr_contains(&format!(
            "service {} runs {}:1 (family {}), and the new revision would be of family {migrate}",
            seeded.service, seeded.family, seeded.family
        ))
        .assert_stderr_contains("--allow-family-change");
    assert_hints_name_own_flags(&["update-service"], &refused);
    seeded.assert_unchanged();
    assert_eq!(
        seeded.ecs.revisions(&migrate).len(),
        1,
        "nothing registered"
    );

    moved(&["--allow-family-change"]).assert_code(0);
    assert!(seeded
        .ecs
        .service_task_definition(&seeded.cluster, &seeded.service)
        .ends_with(&format!("{migrate}:2")));
}

#[test]
fn every_wait_flag_with_no_wait_is_refused_in_every_command_that_waits() {
    let seeded = Seeded::new();
    let wait_flags: [&[&str]; 6] = [
        &["--wait-until", "running"],
        &["--timeout", "5m"],
        &["--poll-interval", "10s"],
        &["--settle-time", "5s"],
        &["--rollback-on-cancel"],
        &["--fail-on-placement-errors"],
    ];
    for flag in wait_flags {
        for command in ["update-service", "rollback", "continue"] {
            let args: Vec<&str> = if command == "update-service" {
                [&["--family", seeded.family.as_str(), "--no-wait"], flag].concat()
            } else {
                [&["--no-wait"], flag].concat()
            };
            let result = seeded.run(command, &args);
            result
                .assert_code(2)
                .assert_stderr_contains("'--no-wait' cannot be used with")
                .assert_stderr_contains(flag[0]);
        }
    }
    // deploy checks the same before building anything.
    let context = site_context(&stack(), "");
    run(deployer(context.path()).args([
        "deploy",
        "--repo",
        "tutorial-site-registry",
        "--cluster",
        &seeded.cluster,
        "--family",
        &seeded.family,
        "--no-wait",
        "--wait-until",
        "running",
    ]))
    .assert_code(2)
    .assert_stderr_contains("'--no-wait' cannot be used with '--wait-until");
    // run-task's wait flags need --wait; --settle-time needs --wait-until running.
    for flag in [["--timeout", "5m"], ["--poll-interval", "10s"]] {
        run(deployer(Path::new("/"))
            .args([
                "run-task",
                "--cluster",
                &seeded.cluster,
                "--task-definition",
            ])
            .arg(&seeded.family)
            .args(flag))
        .assert_code(2)
        .assert_stderr_contains("--wait");
    }
    let settle = seeded.update(&["--settle-time", "5s"]);
    settle.assert_code(2).assert_stderr_contains(
        "--settle-time is how long our tasks must stay healthy with --wait-until running",
    );
    assert_hints_name_own_flags(&["update-service"], &settle);
    seeded.assert_unchanged();
}

#[test]
fn an_output_file_that_cannot_be_written_is_refused_before_anything_changes() {
    let seeded = Seeded::new();
    let unwritable = "/nonexistent-directory/deployer.env";
    let update = seeded.update(&[
        "--container-image-name-updates",
        IMAGE_UPDATE,
        "--no-wait",
        "--export-env",
        unwritable,
    ]);
    update
        .assert_code(2)
        .assert_stderr_contains(&format!("cannot write --export-env {unwritable}"));
    assert!(!update.stderr.contains("registered"), "{}", update.stderr);
    seeded.assert_unchanged();

    run(deployer(Path::new("/")).args([
        "register-task-definition",
        "--family",
        &seeded.family,
        "--container-image-name-updates",
        IMAGE_UPDATE,
        "--export-env",
        unwritable,
    ]))
    .assert_code(2)
    .assert_stderr_contains("cannot write --export-env");
    seeded.assert_unchanged();

    let tasks_before = seeded
        .ecs
        .block_on(seeded.ecs.ecs.list_tasks().cluster(&seeded.cluster).send());
    run(deployer(Path::new("/")).args([
        "run-task",
        "--cluster",
        &seeded.cluster,
        "--task-definition",
        &seeded.family,
        "--output-file",
        unwritable,
    ]))
    .assert_code(2)
    .assert_stderr_contains("cannot write --output-file");
    let tasks_after = seeded
        .ecs
        .block_on(seeded.ecs.ecs.list_tasks().cluster(&seeded.cluster).send());
    assert_eq!(
        tasks_before.unwrap().task_arns().len(),
        tasks_after.unwrap().task_arns().len(),
        "a task was started"
    );

    // A writable file that did not exist is not left behind by the check of a failed run.
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.env");
    run(deployer(Path::new("/")).args([
        "update-service",
        "--family",
        &seeded.family,
        "--cluster",
        &seeded.cluster,
        "--service",
        "no-such-service",
        "--no-wait",
        "--export-env",
        fresh.to_str().unwrap(),
    ]))
    .assert_code(2)
    .assert_stderr_contains("service no-such-service does not exist");
    assert!(!fresh.exists());
}

#[test]
fn rolling_back_to_the_revision_running_says_so_and_does_not_wait() {
    let seeded = Seeded::new();
    let started = Instant::now();
    let result = seeded.run(
        "rollback",
        &["--to-revision", &format!("{}:1", seeded.family)],
    );
    result.assert_code(0).assert_stderr_contains(&format!(
        "{} already runs {}:1: nothing to roll back",
        seeded.service, seeded.family
    ));
    assert_eq!(result.stdout.trim(), seeded.first);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "waited {:?}",
        started.elapsed()
    );
    seeded.assert_unchanged();
}

#[test]
fn to_revision_takes_family_revision_and_refuses_another_family() {
    let seeded = Seeded::new();
    seeded
        .update(&["--container-image-name-updates", IMAGE_UPDATE, "--no-wait"])
        .assert_code(0);
    let back = seeded.run(
        "rollback",
        &[
            "--to-revision",
            &format!("{}:1", seeded.family),
            "--no-wait",
        ],
    );
    back.assert_code(0).assert_stderr_contains("rolling");
    assert_eq!(
        seeded
            .ecs
            .service_task_definition(&seeded.cluster, &seeded.service),
        seeded.first
    );
    let other = seeded.run(
        "rollback",
        &["--to-revision", "tutorial-site-migrate:1", "--no-wait"],
    );
    other.assert_code(2).assert_stderr_contains(&format!(
        "service {} runs the family {}, not tutorial-site-migrate",
        seeded.service, seeded.family
    ));
    assert_hints_name_own_flags(&["rollback"], &other);
    let word = seeded.run("rollback", &["--to-revision", "latest", "--no-wait"]);
    word.assert_code(2).assert_stderr_contains(&format!(
        "--to-revision \"latest\" is not a revision: give N, {}:N or the revision's ARN",
        seeded.family
    ));
    let missing = seeded.run("rollback", &["--to-revision", "99", "--no-wait"]);
    missing
        .assert_code(2)
        .assert_stderr_contains("does not exist");
    assert_hints_name_own_flags(&["rollback"], &missing);
}

#[test]
fn desired_count_says_its_real_bounds() {
    let seeded = Seeded::new();
    for (value, message) in [
        ("-1", "--desired-count -1 must be 0 or more (0 to 5000)"),
        (
            "99999999999",
            "--desired-count 99999999999 must be at most 5000 (0 to 5000)",
        ),
    ] {
        let result = seeded.update(&["--desired-count", value, "--no-wait"]);
        result.assert_code(2).assert_stderr_contains(message);
        assert!(!result.stderr.contains("unexpected argument"));
        assert!(!result.stderr.contains("-2147483648"));
    }
    run(deployer(Path::new("/")).args([
        "run-task",
        "--cluster",
        &seeded.cluster,
        "--task-definition",
        &seeded.family,
        "--count",
        "-1",
    ]))
    .assert_code(2)
    .assert_stderr_contains("--count -1 must be 1 or more (1 to 10)");
    seeded.assert_unchanged();
}

#[test]
fn hints_name_only_the_commands_own_flags() {
    let seeded = Seeded::new();
    let cases: Vec<(&[&str], Run)> = vec![
        (
            &["wait"],
            seeded.run(
                "wait",
                &["--task-definition", "no-such-family:3", "--timeout", "10s"],
            ),
        ),
        (
            &["wait"],
            run(deployer(Path::new("/")).args([
                "wait",
                "--cluster",
                &seeded.cluster,
                "--service",
                "no-such-service",
                "--timeout",
                "10s",
            ])),
        ),
        (
            &["rollback"],
            run(deployer(Path::new("/")).args([
                "rollback",
                "--cluster",
                &seeded.cluster,
                "--service",
                "no-such-service",
            ])),
        ),
        (
            &["rollback"],
            seeded.run("rollback", &["--to-revision", "99"]),
        ),
        (
            &["continue"],
            run(deployer(Path::new("/")).args([
                "continue",
                "--cluster",
                &seeded.cluster,
                "--service",
                "no-such-service",
            ])),
        ),
        (
            &["update-service"],
            seeded.run(
                "update-service",
                &["--family", "no-such-family", "--no-wait"],
            ),
        ),
        (
            &["update-service"],
            run(deployer(Path::new("/")).args([
                "update-service",
                "--cluster",
                &seeded.cluster,
                "--family",
                &seeded.family,
                "--service",
                "no-such-service",
                "--no-wait",
            ])),
        ),
        (
            &["update-service"],
            seeded.update(&["--desired-count", "-1"]),
        ),
        (
            &["register-task-definition"],
            run(deployer(Path::new("/")).args([
                "register-task-definition",
                "--family",
                "no-such-family",
            ])),
        ),
        (
            &["run-task"],
            run(deployer(Path::new("/")).args([
                "run-task",
                "--cluster",
                &seeded.cluster,
                "--task-definition",
                "no-such-family",
            ])),
        ),
        (
            &["run-task"],
            run(deployer(Path::new("/")).args([
                "run-task",
                "--cluster",
                &seeded.cluster,
                "--task-definition",
                &seeded.family,
                "--count",
                "11",
            ])),
        ),
        (
            &["push"],
            run(deployer(Path::new("/")).args([
                "push",
                "--repo",
                "no-such-repository-of-issue-24",
            ])),
        ),
        (
            &["tag-image"],
            run(deployer(Path::new("/")).args([
                "tag-image",
                "--repo",
                "no-such-repository-of-issue-24",
                "--source-tag",
                "v1",
            ])),
        ),
        (
            &["repo", "tag"],
            run(deployer(Path::new("/")).args([
                "repo",
                "tag",
                "--repo",
                "no-such-repository-of-issue-24",
                "--repo-tags",
                "team=web",
            ])),
        ),
    ];
    for (command, result) in &cases {
        assert_ne!(result.code, 0, "{command:?}: {}", result.stderr);
        assert!(
            result.stderr.contains("hint: "),
            "{command:?} gives no hint:\n{}",
            result.stderr
        );
        assert_hints_name_own_flags(command, result);
    }
    seeded.assert_unchanged();
}

#[test]
fn durations_have_one_grammar_with_the_same_refusals_everywhere() {
    let seeded = Seeded::new();
    for command in [
        "update-service",
        "deploy",
        "rollback",
        "wait",
        "continue",
        "run-task",
    ] {
        let text = help(&[command]);
        assert!(
            text.contains("a bare number is seconds"),
            "{command} --help does not say how a bare number is read"
        );
    }
    for (flag, value, message) in [
        ("--timeout", "0s", "\"0s\" is no time: give more than 0"),
        ("--poll-interval", "0", "\"0\" is no time: give more than 0"),
        ("--timeout", "1e3", "\"1e3\" is not a duration"),
        ("--timeout", "1h30", "\"1h30\" is not a duration"),
    ] {
        seeded
            .update(&[flag, value])
            .assert_code(2)
            .assert_stderr_contains(message);
        seeded
            .run("wait", &[flag, value])
            .assert_code(2)
            .assert_stderr_contains(message);
        run(deployer(Path::new("/")).args([
            "run-task",
            "--cluster",
            &seeded.cluster,
            "--task-definition",
            &seeded.family,
            "--wait",
            flag,
            value,
        ]))
        .assert_code(2)
        .assert_stderr_contains(message);
    }
    // A bare number is seconds, as --help says: a wait of 1 second gives up after about that.
    let started = Instant::now();
    seeded
        .run("wait", &["--timeout", "1", "--poll-interval", "1"])
        .assert_code(1)
        .assert_stderr_contains("did not finish within 1s");
    assert!(started.elapsed() < Duration::from_secs(30));
    seeded.assert_unchanged();
}

#[test]
fn a_repository_uri_or_a_tag_given_as_repo_names_the_repository_to_pass() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let context = site_context(&stack, "");
    let repo = unique_repo("tutorial-site-uri");
    let uri = format!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/{repo}");
    for (command, wanted) in [
        (vec!["push", "--repo", &uri, "--create-repo"], repo.clone()),
        (
            vec!["tag-image", "--repo", &uri, "--source-tag", "v1"],
            repo.clone(),
        ),
        (vec!["repo", "create", "--repo", &uri], repo.clone()),
    ] {
        run(deployer(context.path()).args(&command))
            .assert_code(2)
            .assert_stderr_contains("is an image's URI, not a repository name")
            .assert_stderr_contains(&format!("give the name alone, {wanted} "));
    }
    let tagged = format!("{repo}:v2");
    run(deployer(context.path()).args(["push", "--repo", &tagged, "--create-repo"]))
        .assert_code(2)
        .assert_stderr_contains(&format!(
            "give the repository name alone, {repo}, and the tag v2 on its own"
        ));
    assert!(!ecs.repository_exists(&repo), "a repository was created");
}

#[test]
fn a_docker_hub_image_named_like_an_ecr_repository_is_pointed_out_in_the_plan() {
    let seeded = Seeded::new();
    let result = seeded.update(&[
        "--container-image-name-updates",
        "container=tutorial-site-app,image-and-tag=tutorial-site-registry:v2",
        "--dry-run",
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains(
            "tutorial-site-registry:v2 names an image on Docker Hub, and this account's ECR has a repository tutorial-site-registry",
        )
        .assert_stderr_contains(
            "give 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2",
        );
    seeded.assert_unchanged();
}

#[test]
fn deploy_dry_run_without_a_daemon_reports_the_misspelled_service_too() {
    let stack = stack();
    let seeded = Seeded::new();
    let context = site_context(&stack, "");
    let repo = unique_repo("tutorial-site-nodaemon");
    let result = run(deployer(context.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args([
            "deploy",
            "--repo",
            &repo,
            "--create-repo",
            "--family",
            &seeded.family,
            "--cluster",
            &seeded.cluster,
            "--service",
            "tutorial-site-servce",
            "--dry-run",
        ]));
    result
        .assert_code(2)
        .assert_stderr_contains("service tutorial-site-servce does not exist")
        .assert_stderr_contains("also: ")
        .assert_stderr_contains("Docker");
    assert!(!Api::moto(&stack).repository_exists(&repo));
    seeded.assert_unchanged();
}

#[test]
fn siblings_found_on_the_way_are_refused_before_anything_changes() {
    let seeded = Seeded::new();
    // Two images for one container: the result would depend on the order of the flags.
    seeded
        .update(&[
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v3",
            "--no-wait",
        ])
        .assert_code(2)
        .assert_stderr_contains(
            "the updates contradict each other: the image of container tutorial-site-app is tag=v2 and tag=v3",
        );
    // A revision that is not a number: said here, not left to ECS's answer.
    seeded
        .run(
            "wait",
            &["--task-definition", &format!("{}:abc", seeded.family)],
        )
        .assert_code(2)
        .assert_stderr_contains("the revision after ':' must be a number from 1");
    // An empty name, as an unset variable in CI gives one.
    for command in ["rollback", "wait", "continue"] {
        run(deployer(Path::new("/")).args([
            command,
            "--cluster",
            "",
            "--service",
            &seeded.service,
        ]))
        .assert_code(2)
        .assert_stderr_contains("--cluster is empty: give a name");
    }
    run(deployer(Path::new("/")).args([
        "update-service",
        "--family",
        &seeded.family,
        "--cluster",
        &seeded.cluster,
        "--service",
        " ",
        "--no-wait",
    ]))
    .assert_code(2)
    .assert_stderr_contains("--service is empty: give a name");
    // A dry run starts nothing to wait for.
    run(deployer(Path::new("/")).args([
        "run-task",
        "--cluster",
        &seeded.cluster,
        "--task-definition",
        &seeded.family,
        "--dry-run",
        "--wait",
    ]))
    .assert_code(2)
    .assert_stderr_contains("'--dry-run' cannot be used with '--wait'");
    seeded.assert_unchanged();
}
