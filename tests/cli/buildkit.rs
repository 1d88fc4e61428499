//! `deployer push` on the daemon's BuildKit: the default builder, its log lines, the Dockerfile
//! features it brings (cache, bind and secret mounts, SSH), the registry cache, and the flags it
//! refuses with the reason. The stack's engine is Debian's 20.10; its RUN steps have no network
//! (`DEPLOYER_BUILD_NETWORK=none` from the stack's env).
use std::process::Command;

use crate::support::{
    docker, push, run, run_alone, run_on_an_empty_build_cache, site_context, stack, unique_repo,
    write, Registry,
};

#[test]
fn buildkit_is_the_default_and_its_steps_read_line_by_line() {
    let stack = stack();
    let repo = unique_repo("buildkit-default");
    let context = site_context(&stack, "RUN echo \"built for $VERSION\"\nLABEL stage=final");
    let result = run(push(context.path(), &stack, &repo)
        .env("VERSION", "v42")
        .env_remove("DOCKER_BUILDKIT")
        .args([
            "--build-arg",
            "VERSION",
            "--label",
            "team=web",
            "--no-cache",
        ]));
    result.assert_code(0);
    result.assert_stderr_contains("builder: BuildKit (Engine 20.10");
    // One line per step start, its output, its end with the time.
    let run_step = result
        .stderr
        .lines()
        .find(|line| line.contains("] RUN echo \"built for v42\""))
        .unwrap_or_else(|| panic!("no RUN step line in {}", result.stderr));
    let number = run_step
        .split_whitespace()
        .find(|word| word.starts_with('#'))
        .unwrap()
        .to_string();
    result.assert_stderr_contains(&format!("{number} built for v42"));
    assert!(
        result
            .stderr
            .lines()
            .any(|line| line.contains(&format!("{number} DONE ")) && line.ends_with('s')),
        "{}",
        result.stderr
    );
    let config = Registry::new(&stack).config(&repo, "latest");
    assert_eq!(config["config"]["Labels"]["team"], "web");
    assert_eq!(config["config"]["Labels"]["stage"], "final");
}

#[test]
fn the_classic_builder_on_request_and_with_docker_buildkit_0() {
    let stack = stack();
    let repo = unique_repo("buildkit-classic");
    let context = site_context(&stack, "");
    let result = run(push(context.path(), &stack, &repo).args(["--builder", "classic"]));
    result.assert_code(0);
    result.assert_stderr_contains("builder: classic (--builder classic)");
    result.assert_stderr_contains("Step 1/");
    let result = run(push(context.path(), &stack, &repo).env("DOCKER_BUILDKIT", "0"));
    result.assert_code(0);
    result.assert_stderr_contains("builder: classic (DOCKER_BUILDKIT=0)");
    let result = run(push(context.path(), &stack, &repo).env("DOCKER_BUILDKIT", "maybe"));
    result.assert_code(2);
    result.assert_stderr_contains("DOCKER_BUILDKIT=\"maybe\" is neither 0 nor 1");
}

#[test]
fn target_dockerignore_and_a_dockerfile_outside_the_context() {
    let stack = stack();
    let repo = unique_repo("buildkit-inputs");
    let context = tempfile::tempdir().unwrap();
    write(context.path(), "site/index.html", "kept\n");
    write(context.path(), "site/secret.env", "TOKEN=ignored\n");
    write(context.path(), ".dockerignore", "site/*.env\n");
    let elsewhere = tempfile::tempdir().unwrap();
    write(
        elsewhere.path(),
        "build.Dockerfile",
        &format!(
            "FROM {base} AS site\nCOPY site /www\nRUN ls /www\n\
             FROM site AS broken\nRUN exit 9\n",
            base = stack.base_image
        ),
    );
    let result = run(push(context.path(), &stack, &repo).args([
        "--path",
        elsewhere.path().to_str().unwrap(),
        "--dockerfile",
        "build.Dockerfile",
        "--target",
        "site",
        "--no-cache",
    ]));
    result.assert_code(0);
    result.assert_stderr_contains("index.html");
    assert!(!result.stderr.contains("secret.env"), "{}", result.stderr);
    assert!(!result.stderr.contains("exit 9"), "{}", result.stderr);
}

#[test]
fn a_failing_step_fails_with_its_output_and_the_daemons_message() {
    let stack = stack();
    let repo = unique_repo("buildkit-failing");
    let context = site_context(&stack, "RUN echo compiling && echo broken >&2 && exit 3");
    let result = run(&mut push(context.path(), &stack, &repo));
    result.assert_code(1);
    let lines: Vec<&str> = result.stderr.lines().collect();
    let error_line = lines
        .iter()
        .position(|line| line.contains("ERROR: executor failed running"))
        .unwrap_or_else(|| panic!("{}", result.stderr));
    assert!(
        lines[..error_line]
            .iter()
            .any(|line| line.ends_with(" compiling"))
            && lines[..error_line]
                .iter()
                .any(|line| line.ends_with(" broken")),
        "{}",
        result.stderr
    );
    result.assert_stderr_contains("error: the Docker build failed: executor failed running");
    result.assert_stderr_contains("exit code: 3");
    assert_eq!(Registry::new(&stack).digest(&repo, "latest"), None);
}

#[test]
fn cache_and_bind_mounts_work_and_no_cache_takes_no_step_from_the_cache() {
    let stack = stack();
    let repo = unique_repo("buildkit-mounts");
    let context = tempfile::tempdir().unwrap();
    write(context.path(), "src/main.txt", "source\n");
    write(
        context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\n\
             RUN --mount=type=cache,id=buildkit-test,target=/cache echo run > /cache/marker\n\
             RUN --mount=type=cache,id=buildkit-test,target=/seen echo cache holds $(cat /seen/marker)\n\
             RUN --mount=type=bind,source=src,target=/src cat /src/main.txt && cp /src/main.txt /main.txt\n",
            stack.base_image
        ),
    );
    let first = run(push(context.path(), &stack, &repo).arg("--no-cache"));
    first.assert_code(0);
    first.assert_stderr_contains(" source");
    // The cache mount is shared: the second step reads what the first left in it.
    first.assert_stderr_contains(" cache holds run");
    let again = run(push(context.path(), &stack, &repo).arg("--no-cache"));
    again.assert_code(0);
    again.assert_stderr_contains(" cache holds run");
    assert!(
        !again
            .stderr
            .lines()
            .any(|line| line.contains("CACHED") && line.contains("RUN")),
        "{}",
        again.stderr
    );
}

#[test]
fn a_secret_reaches_the_run_step_and_nothing_else() {
    let stack = stack();
    let repo = unique_repo("buildkit-secret");
    let value = format!("s3cr3t-buildkit-value-{}", std::process::id());
    let file_value = format!("file-held-s3cr3t-{}", std::process::id());
    let context = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let secret_file = write(outside.path(), "npmrc", &file_value);
    write(
        context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\n\
             RUN --mount=type=secret,id=token echo token has $(wc -c < /run/secrets/token) bytes\n\
             RUN --mount=type=secret,id=npmrc,required=true echo npmrc has $(wc -c < /run/secrets/npmrc) bytes\n\
             RUN --mount=type=secret,id=token cat /run/secrets/token\n",
            stack.base_image
        ),
    );
    let result = run(push(context.path(), &stack, &repo)
        .env("BUILD_TOKEN", &value)
        .args(["--no-cache", "--secret", "id=token,env=BUILD_TOKEN"])
        .arg("--secret")
        .arg(format!("id=npmrc,src={}", secret_file.display())));
    result.assert_code(0);
    result.assert_stderr_contains(&format!("token has {} bytes", value.len()));
    result.assert_stderr_contains(&format!("npmrc has {} bytes", file_value.len()));
    // A step that prints the secret shows it masked in deployer's log.
    result.assert_stderr_contains("[redacted]");
    for secret in [&value, &file_value] {
        assert!(
            !result.stderr.contains(secret.as_str()),
            "{}",
            result.stderr
        );
        assert!(
            !result.stdout.contains(secret.as_str()),
            "{}",
            result.stdout
        );
    }

    let image = format!("{}/{repo}:latest", stack.registry);
    let history = docker(&["history", "--no-trunc", &image]);
    let saved = docker(&["save", &image]);
    for secret in [&value, &file_value] {
        let needle = secret.as_bytes();
        assert!(
            !history.windows(needle.len()).any(|window| window == needle),
            "the history holds the secret"
        );
        assert!(
            !saved.windows(needle.len()).any(|window| window == needle),
            "a layer or the config holds the secret"
        );
    }
}

/// Flags, environment, and the message of the refusal.
type RefusedCase = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[test]
fn secret_and_ssh_flags_that_cannot_work_are_refused_before_anything_changes() {
    let stack = stack();
    let repo = unique_repo("buildkit-refused");
    let context = site_context(&stack, "");
    let cases: [RefusedCase; 6] = [
        (
            &["--secret", "id=token,env=DEPLOYER_TEST_UNSET_VARIABLE"],
            &[],
            "--secret token: the environment variable DEPLOYER_TEST_UNSET_VARIABLE is not set",
        ),
        (
            &["--secret", "id=npmrc,src=/nonexistent/npmrc"],
            &[],
            "--secret npmrc: cannot read /nonexistent/npmrc",
        ),
        (
            &["--secret", "id=token,env=HOME", "--builder", "classic"],
            &[],
            "--secret need BuildKit, and the classic builder was chosen (--builder classic)",
        ),
        (
            &["--ssh", "default"],
            &[("SSH_AUTH_SOCK", "")],
            "--ssh default: SSH_AUTH_SOCK is not set",
        ),
        (
            &["--ssh", "deploy=/home/ci/.ssh/id_ed25519"],
            &[],
            "deployer forwards only the running agent, --ssh default",
        ),
        (
            &["--cache-to", "type=registry,ref=cache:latest"],
            &[],
            "the Docker daemon's embedded BuildKit exports cache only inline",
        ),
    ];
    for (args, env, message) in cases {
        let mut command = push(context.path(), &stack, &repo);
        for (name, value) in env {
            command.env(name, value);
        }
        let result = run(command.args(args));
        result.assert_code(2);
        result.assert_stderr_contains(message);
        assert!(!result.stderr.contains("building "), "{}", result.stderr);
    }
    let api = crate::support::Api::moto(&stack);
    assert!(!api.repository_exists(&repo));
}

#[test]
fn ssh_default_forwards_the_agent_to_the_run_step() {
    let stack = stack();
    let repo = unique_repo("buildkit-ssh");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .spawn()
        .expect("ssh-agent runs");
    for _ in 0..50 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let context = site_context(
        &stack,
        "RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent socket at $SSH_AUTH_SOCK",
    );
    let result = run(push(context.path(), &stack, &repo)
        .env("SSH_AUTH_SOCK", &socket)
        .args(["--ssh", "default", "--no-cache"]));
    let _ = agent.kill();
    let _ = agent.wait();
    result.assert_code(0);
    result.assert_stderr_contains("agent socket at /run/buildkit/ssh_agent.0");
}

#[test]
fn dockerfile_syntax_this_engine_lacks_is_named_with_the_engine_that_has_it() {
    let stack = stack();
    let repo = unique_repo("buildkit-syntax");
    let cases = [
        (
            format!("FROM {}\nRUN <<EOF\necho heredoc\nEOF\n", stack.base_image),
            "heredocs (RUN <<EOF, COPY <<EOF) need Dockerfile syntax 1.4",
        ),
        (
            format!("FROM {}\nCOPY --link Dockerfile /x\n", stack.base_image),
            "COPY --link needs Dockerfile syntax 1.4",
        ),
        (
            format!(
                "# syntax=docker/dockerfile:1.4\nFROM {}\nCOPY Dockerfile /x\n",
                stack.base_image
            ),
            "the # syntax= line asks the daemon to pull the Dockerfile frontend docker/dockerfile:1.4",
        ),
    ];
    for (dockerfile, hint) in cases {
        let context = tempfile::tempdir().unwrap();
        write(context.path(), "Dockerfile", &dockerfile);
        let result = run(&mut push(context.path(), &stack, &repo));
        result.assert_code(1);
        result.assert_stderr_contains(hint);
        result.assert_stderr_contains("Engine 23.0");
    }
}

/// Both builds run alone on the engine (`run_alone`, `run_on_an_empty_build_cache`): the 20.10
/// engine's BuildKit cannot prune while it builds, and its inline cache is unreliable beside
/// other builds (moby/buildkit#2274).
#[test]
fn cache_from_the_pushed_image_on_an_empty_cache_runs_no_step_again() {
    let stack = stack();
    let repo = unique_repo("buildkit-cache-from");
    let image = format!("{}/{repo}", stack.registry);
    // Steps no other test builds, so that only the registry can have them cached.
    let context = tempfile::tempdir().unwrap();
    write(
        context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nRUN echo {repo} > /name\nRUN echo expensive step ran for {repo}\n",
            stack.base_image
        ),
    );
    let first = run_alone(push(context.path(), &stack, &repo).args([
        "--tag",
        "main",
        "--cache-from",
        &format!("{image}:main"),
    ]));
    first.assert_code(0);
    first.assert_stderr_contains("expensive step ran");
    let config = Registry::new(&stack).config(&repo, "main");
    assert!(
        config.to_string().contains("moby.buildkit.cache.v0"),
        "no inline cache metadata in {config}"
    );

    // A fresh CI machine: no image, no build cache.
    docker(&["image", "rm", "-f", &format!("{image}:main")]);
    let second = run_on_an_empty_build_cache(push(context.path(), &stack, &repo).args([
        "--tag",
        "main",
        "--cache-from",
        &format!("type=registry,ref={image}:main"),
    ]));
    second.assert_code(0);
    // The step's name may appear; its output may not.
    assert!(
        second
            .stderr
            .lines()
            .filter(|line| line.contains("expensive step ran"))
            .all(|line| line.contains("RUN echo expensive step ran")),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.lines().any(|line| line.contains(&format!(
            "CACHED [3/3] RUN echo expensive step ran for {repo}"
        ))),
        "{}",
        second.stderr
    );
}

/// CircleCI's remote Docker: `DOCKER_HOST=tcp://…` with `DOCKER_TLS_VERIFY=1` and the client
/// certificate in `DOCKER_CERT_PATH`. The stack's engine listens on TLS only on that port, with
/// certificates of the stack's own CA: the session's connection must speak TLS for the secret
/// to reach the step.
#[test]
fn buildkit_over_tls_to_a_remote_engine_with_a_secret() {
    let stack = stack();
    let tls_host = std::env::var("DEPLOYER_STACK_DOCKER_TLS_HOST").expect(
        "DEPLOYER_STACK_DOCKER_TLS_HOST is not set: the stack's own dockerd (scripts/stack.sh start) listens with TLS",
    );
    let cert_path = std::env::var("DEPLOYER_STACK_DOCKER_CERT_PATH").unwrap();
    let repo = unique_repo("buildkit-tls");
    let value = format!("tls-s3cr3t-{}", std::process::id());
    let context = tempfile::tempdir().unwrap();
    write(
        context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\n\
             RUN --mount=type=secret,id=token,required=true echo token has $(wc -c < /run/secrets/token) bytes\n\
             RUN uname -m > /arch\n",
            stack.base_image
        ),
    );
    let result = run(push(context.path(), &stack, &repo)
        .env("DOCKER_HOST", &tls_host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &cert_path)
        .env("BUILD_TOKEN", &value)
        .env_remove("DOCKER_BUILDKIT")
        .args(["--no-cache", "--secret", "id=token,env=BUILD_TOKEN"]));
    result.assert_code(0);
    result.assert_stderr_contains("builder: BuildKit (Engine 20.10");
    result.assert_stderr_contains(&format!("token has {} bytes", value.len()));
    assert!(!result.stderr.contains(&value), "{}", result.stderr);
    let digest = Registry::new(&stack).digest(&repo, "latest").unwrap();
    assert_eq!(
        result.stdout.lines().next(),
        Some(format!("{}/{repo}@{digest}", stack.registry).as_str())
    );

    // Certificates of another CA: the daemon is not trusted and nothing is built or pushed.
    let other = tempfile::tempdir().unwrap();
    for file in ["cert.pem", "key.pem"] {
        std::fs::copy(
            std::path::Path::new(&cert_path).join(file),
            other.path().join(file),
        )
        .unwrap();
    }
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=another CA", "-keyout"])
        .arg(other.path().join("ca-key.pem"))
        .arg("-out")
        .arg(other.path().join("ca.pem"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let repo = unique_repo("buildkit-tls-untrusted");
    let result = run(push(context.path(), &stack, &repo)
        .env("DOCKER_HOST", &tls_host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", other.path())
        .env("BUILD_TOKEN", &value)
        .args(["--secret", "id=token,env=BUILD_TOKEN"]));
    result.assert_code(3);
    result.assert_stderr_contains(&format!(
        "the Docker daemon at {tls_host} cannot be reached"
    ));
    assert_eq!(Registry::new(&stack).digest(&repo, "latest"), None);
}

/// `--add-host` reaches the RUN steps' /etc/hosts on both builders (the daemon's `extrahosts`,
/// one per entry); a malformed entry is exit 2 before anything is built.
#[test]
fn add_host_entries_reach_the_run_steps_on_both_builders() {
    let stack = stack();
    let repo = unique_repo("buildkit-add-host");
    let context = site_context(
        &stack,
        "RUN grep -E '^10\\.1\\.2\\.3[[:space:]]+db\\.internal$' /etc/hosts && \
         grep -E '^fd00::5[[:space:]]+cache\\.internal$' /etc/hosts && echo hosts are there",
    );
    for builder in ["buildkit", "classic"] {
        let result = run(push(context.path(), &stack, &repo).args([
            "--builder",
            builder,
            "--no-cache",
            "--add-host",
            "db.internal:10.1.2.3",
            "--add-host",
            "cache.internal:fd00::5",
        ]));
        result
            .assert_code(0)
            .assert_stderr_contains("hosts are there");
    }
    let result = run(push(context.path(), &stack, &repo).args(["--add-host", "db.internal"]));
    result
        .assert_code(2)
        .assert_stderr_contains("--add-host \"db.internal\" is malformed");
}
