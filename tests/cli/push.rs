//! `deployer push` against the real registry with credentials from moto's GetAuthorizationToken.
use base64::Engine;

use crate::support::{
    deployer, exported_to_later_steps, push, run, site_context, stack, unique_repo, write, Api,
    Registry,
};

#[test]
fn pushes_every_tag_and_prints_the_registrys_digest() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let repo = unique_repo("tutorial-site");
    let context = site_context(&stack, "");
    let env_file = context.path().join("bash_env");
    let result = run(deployer(context.path())
        .args([
            "push",
            "--repo",
            &repo,
            "--tag",
            "latest,v1",
            "--tag",
            "sha-abc123",
            "--create-repo",
        ])
        .args(["--registry", &stack.registry, "--export-env"])
        .arg(&env_file));
    result.assert_code(0);

    let lines: Vec<&str> = result.stdout.lines().collect();
    let digest = registry.digest(&repo, "latest").expect("latest was pushed");
    assert_eq!(lines[0], format!("{}/{repo}@{digest}", stack.registry));
    assert_eq!(
        lines[1..],
        ["latest", "v1", "sha-abc123"].map(|tag| format!("{}/{repo}:{tag}", stack.registry))
    );
    for tag in ["v1", "sha-abc123"] {
        assert_eq!(
            registry.digest(&repo, tag).as_deref(),
            Some(digest.as_str()),
            "tag {tag}"
        );
    }
    let exported = exported_to_later_steps(&env_file);
    assert_eq!(
        exported["DEPLOYER_IMAGE"],
        format!("{}/{repo}@{digest}", stack.registry)
    );
    assert_eq!(exported["DEPLOYER_IMAGE_TAGS"], "latest,v1,sha-abc123");
    // Progress is on stderr, one line per layer state change, never byte counts.
    result.assert_stderr_contains("pushed tag latest as sha256:");
    assert!(!result.stderr.contains("Pushing ["), "{}", result.stderr);
}

#[test]
fn json_output_is_one_object() {
    let stack = stack();
    let repo = unique_repo("json");
    let context = site_context(&stack, "");
    let result = run(deployer(context.path()).args([
        "--output",
        "json",
        "push",
        "--repo",
        &repo,
        "--create-repo",
        "--registry",
        &stack.registry,
    ]));
    result.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&result.stdout).expect("stdout is JSON");
    let digest = Registry::new(&stack).digest(&repo, "latest").unwrap();
    assert_eq!(value["digest"], digest.as_str());
    assert_eq!(value["tags"], serde_json::json!(["latest"]));
    assert_eq!(value["pushed_tags"], serde_json::json!(["latest"]));
    assert_eq!(value["skipped"], false);
}

#[test]
fn create_repo_applies_settings_and_policies() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("created");
    let context = site_context(&stack, "");
    let policy = write(
        context.path(),
        "policy.json",
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage"]}]}"#,
    );
    let result = run(deployer(context.path())
        .args([
            "push",
            "--repo",
            &repo,
            "--create-repo",
            "--repo-tag-mutability",
            "IMMUTABLE_WITH_EXCLUSION",
        ])
        .args([
            "--repo-tag-mutability-exclusion",
            "latest",
            "--repo-scan-on-push",
            "false",
        ])
        .args([
            "--repo-tags",
            "team=web,app=tutorial-site",
            "--registry",
            &stack.registry,
        ])
        .arg("--repo-policy-path")
        .arg(&policy));
    result.assert_code(0);
    let repository = moto.repository(&repo);
    assert_eq!(
        repository.image_tag_mutability().unwrap().as_str(),
        "IMMUTABLE_WITH_EXCLUSION"
    );
    assert!(!repository
        .image_scanning_configuration()
        .unwrap()
        .scan_on_push());
    assert!(moto
        .repository_policy(&repo)
        .unwrap()
        .contains("ecr:BatchGetImage"));
}

#[test]
fn skip_when_tags_exist_matches_exact_tags_and_pushes_nothing_the_second_time() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let moto = Api::moto(&stack);
    let repo = unique_repo("skip");
    let context = site_context(&stack, "");
    let push = |tag: &str| {
        run(deployer(context.path())
            .args([
                "push",
                "--repo",
                &repo,
                "--tag",
                tag,
                "--create-repo",
                "--skip-when-tags-exist",
            ])
            .args(["--registry", &stack.registry]))
    };
    push("v10")
        .assert_code(0)
        .assert_stderr_contains("not in ECR yet");
    moto.record_push(&registry, &repo, "v10");

    // "v1" is a substring of "v10" but not a tag: it must be built and pushed.
    push("v1").assert_code(0).assert_stderr_contains("pushing");
    moto.record_push(&registry, &repo, "v1");

    let second = push("v1,v10");
    second
        .assert_code(0)
        .assert_stderr_contains("skipping build and push");
    assert!(!second.stderr.contains("building"), "{}", second.stderr);
    assert!(!second.stderr.contains("pushing"), "{}", second.stderr);
    let digest = registry.digest(&repo, "v1").unwrap();
    assert_eq!(
        second.stdout.lines().next().unwrap(),
        format!("{}/{repo}@{digest}", stack.registry)
    );
}

#[test]
fn build_args_and_labels_reach_the_image() {
    let stack = stack();
    let repo = unique_repo("args");
    let context = site_context(
        &stack,
        "ARG FROM_ENV\nLABEL version=$VERSION from_env=$FROM_ENV",
    );
    let result = run(deployer(context.path())
        .env("FROM_ENV", "taken-from-environment")
        .args([
            "push",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
        .args([
            "--build-arg",
            "VERSION=2.0=final",
            "--build-arg",
            "FROM_ENV",
        ])
        .args(["--label", "org.opencontainers.image.revision=abc123"]));
    result.assert_code(0);
    let config = Registry::new(&stack).config(&repo, "latest");
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["version"], "2.0=final");
    assert_eq!(labels["from_env"], "taken-from-environment");
    assert_eq!(labels["org.opencontainers.image.revision"], "abc123");
}

#[test]
fn dockerignore_keeps_files_out_of_the_context() {
    let stack = stack();
    let repo = unique_repo("ignore");
    // The build itself fails if an ignored file arrives or a kept one does not.
    let context = site_context(
        &stack,
        "COPY . /ctx\nRUN test ! -e /ctx/secret.env && test ! -e /ctx/logs/debug.log && test -e /ctx/keep.txt && test -e /ctx/logs/keep.log",
    );
    write(
        context.path(),
        ".dockerignore",
        "secret.env\nlogs\n!logs/keep.log\n",
    );
    write(context.path(), "secret.env", "TOKEN=do-not-ship");
    write(context.path(), "keep.txt", "kept");
    write(context.path(), "logs/debug.log", "noise");
    write(context.path(), "logs/keep.log", "kept");
    run(&mut push(context.path(), &stack, &repo)).assert_code(0);
}

#[test]
fn a_dockerfile_in_a_directory_dockerignore_excludes_is_still_sent() {
    let stack = stack();
    let repo = unique_repo("ignored-dockerfile");
    let workspace = tempfile::tempdir().unwrap();
    write(workspace.path(), "index.html", "hello");
    write(workspace.path(), "secret.env", "TOKEN=do-not-ship");
    write(workspace.path(), "docker/notes.txt", "not for the image");
    // The byte-order mark Windows editors write must not hide the first pattern.
    write(
        workspace.path(),
        ".dockerignore",
        "\u{feff}secret.env\ndocker\n",
    );
    write(
        workspace.path(),
        "docker/Dockerfile",
        &format!(
            "FROM {}\nCOPY . /ctx\nRUN test -e /ctx/index.html && test ! -e /ctx/secret.env && test ! -e /ctx/docker/notes.txt\n",
            stack.base_image
        ),
    );
    let result = run(push(workspace.path(), &stack, &repo).args(["--path", "docker"]));
    result
        .assert_code(0)
        .assert_stderr_contains("(Dockerfile docker/Dockerfile)");
    assert!(Registry::new(&stack).digest(&repo, "latest").is_some());
}

/// A Docker engine on a Unix socket that answers the version and ping calls, and refuses every
/// build with `message` as soon as it has the request's head, without reading the context, then
/// hangs up: what dockerd does with a build option it rejects before looking at the context
/// (the stack's dockerd 20.10 rejects none that deployer sends, so it cannot show this).
fn refusing_engine(socket: &std::path::Path, message: &'static str) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let Ok(connection) = connection else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(connection.try_clone().unwrap());
                let mut writer = connection;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                            break;
                        }
                    }
                    let (status, body) = if request_line.contains("/version") {
                        (
                            "200 OK",
                            r#"{"ApiVersion":"1.41","Version":"20.10.24"}"#.to_string(),
                        )
                    } else if request_line.contains("/_ping") {
                        ("200 OK", "OK".to_string())
                    } else {
                        ("400 Bad Request", format!("{{\"message\":\"{message}\"}}"))
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if writer.write_all(answer.as_bytes()).is_err() || status != "200 OK" {
                        return;
                    }
                }
            });
        }
    });
}

#[test]
fn a_build_the_engine_refuses_while_the_context_is_sent_shows_the_engines_reason() {
    let stack = stack();
    let repo = unique_repo("refused-build");
    let context = site_context(&stack, "");
    // Far larger than the socket buffers: the engine hangs up long before it is all sent.
    write(
        context.path(),
        "data/big.bin",
        &"tutorial site ".repeat(2 * 1024 * 1024),
    );
    let engine = tempfile::tempdir().unwrap();
    let socket = engine.path().join("docker.sock");
    refusing_engine(&socket, "Unsupported isolation: \\\"bogus\\\"");
    let result = run(push(context.path(), &stack, &repo)
        .env("DOCKER_HOST", format!("unix://{}", socket.display())));
    result
        .assert_code(1)
        .assert_stderr_contains("error: the Docker build failed: Unsupported isolation: \"bogus\"");
    assert!(
        !result.stderr.contains("stopped reading"),
        "{}",
        result.stderr
    );
    assert!(result.stdout.is_empty(), "{}", result.stdout);
    assert_eq!(Registry::new(&stack).digest(&repo, "latest"), None);
}

#[test]
fn dockerfile_outside_the_context_with_the_orbs_path_meaning() {
    let stack = stack();
    let repo = unique_repo("outside");
    let workspace = tempfile::tempdir().unwrap();
    write(workspace.path(), "app/index.html", "hello");
    write(
        workspace.path(),
        "docker/Dockerfile.web",
        &format!("FROM {}\nCOPY index.html /www/index.html\nCMD [\"httpd\", \"-f\", \"-p\", \"3000\", \"-h\", \"/www\"]\n", stack.base_image),
    );
    run(push(workspace.path(), &stack, &repo).args([
        "--build-path",
        "app",
        "--path",
        "docker",
        "--dockerfile",
        "Dockerfile.web",
    ]))
    .assert_code(0);
    assert!(Registry::new(&stack).digest(&repo, "latest").is_some());
}

#[test]
fn a_failing_build_step_fails_with_the_daemons_message_and_pushes_nothing() {
    let stack = stack();
    let repo = unique_repo("broken");
    let context = site_context(&stack, "RUN echo compiling && exit 3");
    // The classic builder's wording; BuildKit's is in buildkit.rs.
    let result = run(push(context.path(), &stack, &repo).args(["--builder", "classic"]));
    result
        .assert_code(1)
        .assert_stderr_contains("error: the Docker build failed")
        .assert_stderr_contains("returned a non-zero code: 3")
        .assert_stderr_contains("compiling");
    assert!(result.stdout.is_empty(), "{}", result.stdout);
    assert_eq!(Registry::new(&stack).digest(&repo, "latest"), None);
}

#[test]
fn no_push_builds_and_tags_locally_and_pushes_nothing() {
    let stack = stack();
    let repo = unique_repo("tutorial-site");
    let context = site_context(&stack, "");
    let env_file = context.path().join("bash_env");
    let result = run(push(context.path(), &stack, &repo)
        .args(["--tag", "latest,v1", "--no-push", "--export-env"])
        .arg(&env_file));
    result
        .assert_code(0)
        .assert_stderr_contains("not pushed (--no-push)");
    let references = ["latest", "v1"].map(|tag| format!("{}/{repo}:{tag}", stack.registry));
    assert_eq!(result.stdout.lines().collect::<Vec<_>>(), references);
    for reference in &references {
        let inspect = std::process::Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", reference])
            .output()
            .unwrap();
        assert!(inspect.status.success(), "{reference} is not in the daemon");
    }
    assert_eq!(Registry::new(&stack).digest(&repo, "latest"), None);
    assert_eq!(
        exported_to_later_steps(&env_file)["DEPLOYER_IMAGE"],
        references[0]
    );

    let both = run(push(context.path(), &stack, &repo).args([
        "--no-push",
        "--no-build",
        "--image",
        &stack.base_image,
    ]));
    both.assert_code(2).assert_stderr_contains("--no-push");
    let deploy = run(deployer(context.path()).args([
        "deploy",
        "--repo",
        &repo,
        "--no-push",
        "--family",
        "tutorial-site-task",
        "--cluster",
        "tutorial-site-cluster",
    ]));
    deploy.assert_code(2).assert_stderr_contains("--no-push");
}

#[test]
fn no_build_pushes_a_local_image() {
    let stack = stack();
    let repo = unique_repo("local");
    let result = run(deployer(std::path::Path::new("/"))
        .args([
            "push",
            "--repo",
            &repo,
            "--tag",
            "base",
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
        .args(["--no-build", "--image", &stack.base_image]));
    result
        .assert_code(0)
        .assert_stderr_contains("using local image");
    assert!(Registry::new(&stack).digest(&repo, "base").is_some());

    let missing = run(push(std::path::Path::new("/"), &stack, &repo).args([
        "--no-build",
        "--image",
        "no-such-image:anywhere",
    ]));
    missing
        .assert_code(2)
        .assert_stderr_contains("does not exist in the Docker daemon");
}

#[test]
fn immutable_tags_same_image_succeeds_other_image_is_refused() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let moto = Api::moto(&stack);
    let repo = unique_repo("immutable");
    moto.create_repository(&repo, "IMMUTABLE");
    let context = site_context(&stack, "");
    let push = |version: &str| {
        run(deployer(context.path())
            .args([
                "push",
                "--repo",
                &repo,
                "--tag",
                "v1",
                "--registry",
                &stack.registry,
            ])
            .args(["--build-arg", &format!("VERSION={version}")]))
    };
    push("1").assert_code(0);
    moto.record_push(&registry, &repo, "v1");
    let digest = registry.digest(&repo, "v1").unwrap();

    let again = push("1");
    again
        .assert_code(0)
        .assert_stderr_contains("already holds this image");
    assert_eq!(
        again.stdout.lines().next().unwrap(),
        format!("{}/{repo}@{digest}", stack.registry)
    );

    let other = push("2");
    other
        .assert_code(1)
        .assert_stderr_contains("tag v1 already exists in the immutable repository")
        .assert_stderr_contains("hint: push under a new tag");
    assert_eq!(
        registry.digest(&repo, "v1"),
        Some(digest),
        "the tag did not move"
    );
}

#[test]
fn an_immutable_tag_holding_an_index_this_engine_pulled_is_the_same_image() {
    // The tag holds an OCI index (as buildx or the containerd image store push): it has no
    // config digest to compare with an image ID, but the engine knows the index's digest.
    let stack = stack();
    let registry = Registry::new(&stack);
    let moto = Api::moto(&stack);
    let repo = unique_repo("index");
    moto.create_repository(&repo, "IMMUTABLE");
    run(deployer(std::path::Path::new("/"))
        .args(["push", "--repo", &repo, "--tag", "base"])
        .args(["--registry", &stack.registry, "--no-build", "--image"])
        .arg(&stack.base_image))
    .assert_code(0);
    let manifest = registry.manifest(&repo, "base");
    let architecture = match std::env::consts::ARCH {
        "aarch64" => "arm64",
        "x86_64" => "amd64",
        other => other,
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "digest": registry.digest(&repo, "base").unwrap(),
            "size": manifest.len(),
            "platform": {"architecture": architecture, "os": "linux"}
        }]
    })
    .to_string();
    let index_digest = registry.put_manifest(
        &repo,
        "v1",
        "application/vnd.oci.image.index.v1+json",
        &index,
    );
    moto.record_manifest(&repo, "v1", &index, &index_digest);

    // Pulling by the index's digest records it in the image's RepoDigests.
    let docker_config = tempfile::tempdir().unwrap();
    let docker = |args: &[&str], input: Option<&str>| {
        use std::io::Write;
        let mut child = std::process::Command::new("docker")
            .arg("--config")
            .arg(docker_config.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = input {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    docker(
        &[
            "login",
            "-u",
            &stack.registry_user,
            "--password-stdin",
            &stack.registry,
        ],
        Some(&stack.registry_password),
    );
    let pulled = format!("{}/{repo}@{index_digest}", stack.registry);
    docker(&["pull", &pulled], None);

    let result = run(deployer(std::path::Path::new("/"))
        .args(["push", "--repo", &repo, "--tag", "v1"])
        .args([
            "--registry",
            &stack.registry,
            "--no-build",
            "--image",
            &pulled,
        ]));
    result
        .assert_code(0)
        .assert_stderr_contains("already holds this image");
    assert_eq!(result.stdout.lines().next().unwrap(), pulled);
    assert_eq!(
        registry.digest(&repo, "v1"),
        Some(index_digest),
        "the tag did not move"
    );
}

#[test]
fn a_missing_repository_is_an_error_and_nothing_is_created() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("missing");
    let context = site_context(&stack, "");
    let result = run(deployer(context.path()).args([
        "push",
        "--repo",
        &repo,
        "--registry",
        &stack.registry,
    ]));
    result
        .assert_code(2)
        .assert_stderr_contains(&format!("repository {repo} does not exist"))
        .assert_stderr_contains("--create-repo");
    assert!(!result.stderr.contains("building"), "{}", result.stderr);
    assert!(!moto.repository_exists(&repo));
}

#[test]
fn an_unreachable_daemon_is_named() {
    let stack = stack();
    let repo = unique_repo("nodaemon");
    let context = site_context(&stack, "");
    let result = run(deployer(context.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .args([
            "push",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &stack.registry,
        ]));
    result
        .assert_code(3)
        .assert_stderr_contains(
            "the Docker daemon at unix:///nonexistent/docker.sock cannot be reached",
        )
        .assert_stderr_contains("DOCKER_HOST");
    // A remote engine (CircleCI's setup_remote_docker) that refuses the connection; nothing
    // was created, as the daemon is reached before the repository is.
    let remote = run(deployer(context.path())
        .env("DOCKER_HOST", "tcp://127.0.0.1:9")
        .args([
            "push",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &stack.registry,
        ]));
    remote
        .assert_code(3)
        .assert_stderr_contains("the Docker daemon at tcp://127.0.0.1:9 cannot be reached");
    assert!(!Api::moto(&stack).repository_exists(&repo));
}

#[test]
fn bad_input_is_a_usage_error_and_nothing_is_created() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let context = site_context(&stack, "");
    write(context.path(), "not-a-dir", "x");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--tag=-bad"], "tag \"-bad\" is invalid"),
        (
            vec!["--build-arg", "=value"],
            "--build-arg \"=value\" is malformed",
        ),
        (
            vec!["--label", "novalue"],
            "--label \"novalue\" is malformed",
        ),
        (
            vec!["--dockerfile", "Missing.Dockerfile"],
            "Missing.Dockerfile does not exist",
        ),
        (vec!["--build-path", "not-a-dir"], "is not a directory"),
        (
            vec!["--platform", "linux/amd64,linux"],
            "--platform \"linux\" is malformed",
        ),
        (
            vec!["--platform", "linux/amd64,linux/arm64", "--no-push"],
            "--no-push with 2 platforms",
        ),
        (vec!["--registry", "https://example.test/x"], "--registry"),
        (
            vec!["--repo-policy-path", "missing.json"],
            "--repo-policy-path missing.json",
        ),
    ];
    for (flags, message) in cases {
        let repo = unique_repo("badinput");
        let result = run(push(context.path(), &stack, &repo).args(&flags));
        result.assert_code(2).assert_stderr_contains(message);
        assert!(
            !moto.repository_exists(&repo),
            "{flags:?} created the repository"
        );
    }
    let result =
        run(deployer(context.path()).args(["push", "--repo", "Bad_Name", "--create-repo"]));
    result
        .assert_code(2)
        .assert_stderr_contains("component \"Bad_Name\"");
}

#[test]
fn oidc_role_assumption_against_sts() {
    let stack = stack();
    let repo = unique_repo("oidc");
    let context = site_context(&stack, "");
    let token = "eyJhbGciOiJSUzI1NiJ9.oidc-token-body-for-tests.signature";
    let result = run(deployer(context.path())
        .env("CIRCLE_OIDC_TOKEN_V2", token)
        .env("CIRCLE_BUILD_NUM", "42")
        .args([
            "push",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
        .args(["--role-arn", "arn:aws:iam::123456789012:role/deployer-ci"]));
    result.assert_code(0).assert_stderr_contains(
        "assumed role arn:aws:iam::123456789012:role/deployer-ci as session deployer-42",
    );
    assert!(!result.stderr.contains(token) && !result.stdout.contains(token));

    let no_token = run(deployer(context.path())
        .args(["push", "--repo", &repo, "--registry", &stack.registry])
        .args(["--role-arn", "arn:aws:iam::123456789012:role/deployer-ci"]));
    // The job's environment lacks the token: the CI setup is what needs fixing (exit 3).
    no_token
        .assert_code(3)
        .assert_stderr_contains("CIRCLE_OIDC_TOKEN_V2");
}

#[test]
fn a_registry_that_refuses_the_credentials_is_reported() {
    // A role in another account: moto answers that account's token, which this registry refuses.
    let stack = stack();
    let repo = unique_repo("refused");
    let context = site_context(&stack, "");
    let result = run(deployer(context.path())
        .env("CIRCLE_OIDC_TOKEN", "another.oidc.token-value")
        .args([
            "push",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
        .args(["--role-arn", "arn:aws:iam::210987654321:role/deployer-ci"]));
    // The repository was created before the push was refused: exit 4, saying so.
    result
        .assert_code(4)
        .assert_stderr_contains(&format!(
            "the registry {} refused the credentials",
            stack.registry
        ))
        .assert_stderr_contains(&format!("already done: created repository {repo}"));
    assert!(
        !result.stderr.contains("210987654321-auth-token"),
        "{}",
        result.stderr
    );
}

#[test]
fn no_secret_reaches_any_output_at_any_verbosity() {
    let stack = stack();
    let repo = unique_repo("secrets");
    let context = site_context(&stack, "");
    let oidc = "eyJraWQiOiJzZWNyZXQifQ.c2VjcmV0LW9pZGMtcGF5bG9hZA.c2lnbmF0dXJl";
    let password = &stack.registry_password;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    let secret_key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    let runs = [vec!["-v"], vec!["-vv"], vec!["-vvv"]];
    for verbosity in runs {
        for rust_log in [
            None,
            Some("trace"),
            Some("aws_smithy_runtime::client::orchestrator=trace,trace"),
        ] {
            let mut command = deployer(context.path());
            command
                .env("CIRCLE_OIDC_TOKEN_V2", oidc)
                .args(&verbosity)
                .args([
                    "push",
                    "--repo",
                    &repo,
                    "--create-repo",
                    "--registry",
                    &stack.registry,
                ])
                .args(["--role-arn", "arn:aws:iam::123456789012:role/deployer-ci"]);
            if let Some(filter) = rust_log {
                command.env("RUST_LOG", filter);
            }
            let result = run(&mut command);
            result.assert_code(0);
            let everything = format!("{}{}", result.stdout, result.stderr);
            for secret in [password.as_str(), token.as_str(), oidc, secret_key.as_str()] {
                assert!(
                    !everything.contains(secret),
                    "{verbosity:?} RUST_LOG={rust_log:?} leaked a secret"
                );
            }
            assert!(
                everything.len() > 1000 || rust_log.is_none(),
                "trace logging printed little: is the filter on?"
            );
        }
    }
}

#[test]
fn missing_region_and_missing_credentials_are_named_and_nothing_is_created() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("nocreds");
    let context = site_context(&stack, "");
    let home = tempfile::tempdir().unwrap();
    let bare = |command: &mut std::process::Command| {
        for name in [
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
        ] {
            command.env_remove(name);
        }
        // No ~/.aws, and no instance-metadata lookups: test traffic stays on loopback.
        command
            .env("HOME", home.path())
            .env("AWS_EC2_METADATA_DISABLED", "true");
    };
    let mut no_region = deployer(context.path());
    bare(&mut no_region);
    no_region.args([
        "push",
        "--repo",
        &repo,
        "--create-repo",
        "--registry",
        &stack.registry,
    ]);
    run(&mut no_region)
        .assert_code(3)
        .assert_stderr_contains("no AWS region is set");

    let mut no_credentials = deployer(context.path());
    bare(&mut no_credentials);
    no_credentials.args([
        "--region",
        "eu-west-1",
        "push",
        "--repo",
        &repo,
        "--create-repo",
        "--registry",
        &stack.registry,
    ]);
    run(&mut no_credentials)
        .assert_code(3)
        .assert_stderr_contains("no AWS credentials were found")
        .assert_stderr_contains("AWS_ACCESS_KEY_ID");
    assert!(!moto.repository_exists(&repo));
}
