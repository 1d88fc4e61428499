//! Switching from the aws-ecr and aws-ecs orbs by the `orbs:` line only (issue 25): configs
//! shaped like real ones, played step by step as CircleCI runs them, against the local stack.
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::orb::{release, root, run_command_alias, run_job_step, run_step, serve};
use crate::support::{run, stack, unique_repo, write, Registry, Run};

/// One step CircleCI runs for an invocation (`scripts/orb.py steps`).
#[derive(serde::Deserialize)]
struct Step {
    #[serde(default)]
    name: String,
    #[serde(default)]
    command: String,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    builtin: Option<String>,
}

fn steps(name: &str, params: &[(&str, &str)]) -> Vec<Step> {
    let output = Command::new("python3")
        .arg(root().join("scripts/orb.py"))
        .args(["steps", name])
        .args(params.iter().map(|(k, v)| format!("{k}={v}")))
        .output()
        .expect("python3 runs scripts/orb.py");
    assert!(
        output.status.success(),
        "scripts/orb.py steps failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Plays an orb command's steps as CircleCI would, in `dir`, with the job's environment under
/// each step's own (`replaced` overrides a step variable where the test cannot let it be: the
/// release URL). Stops at the first step that fails; returns every step's run, in order.
fn play(
    dir: &Path,
    name: &str,
    params: &[(&str, &str)],
    job_env: &[(&str, &str)],
    replaced: &[(&str, &str)],
) -> Vec<(String, Run)> {
    let mut runs = Vec::new();
    for step in steps(name, params) {
        if let Some(builtin) = step.builtin {
            panic!("{name} runs CircleCI's {builtin}, which this test cannot play");
        }
        let mut environment = step.environment;
        for (key, value) in replaced {
            if environment.contains_key(*key) {
                environment.insert(key.to_string(), value.to_string());
            }
        }
        let result = run(Command::new("bash")
            .args(["-c", &step.command])
            .current_dir(dir)
            .env_remove("DEPLOYER_BIN")
            .env_remove("RUST_LOG")
            .envs(job_env.iter().copied())
            .envs(&environment));
        let failed = result.code != 0;
        runs.push((step.name, result));
        if failed {
            break;
        }
    }
    runs
}

/// aws-ecr 9.x's `build_image` command in a job of the user's on the `default` executor, a bare
/// machine without deployer: the command installs it first (from a release served here, as
/// GitHub would), builds and pushes; a second command of the job finds it installed.
#[test]
fn a_9x_build_image_command_installs_deployer_on_a_bare_machine() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let repo = unique_repo("bare-machine");
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "Dockerfile",
        &format!("FROM {}\nCOPY site.txt /site.txt\n", stack.base_image),
    );
    write(work.path(), "site.txt", "built on a bare machine\n");
    run_step(
        work.path(),
        "create_repo",
        &[("repo", &repo)],
        &[("AWS_ENDPOINT_URL", &stack.emulator)],
    )
    .assert_code(0);

    let releases = release(false);
    let url = serve(releases.path().to_path_buf());
    let bin = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let bare = run(Command::new("bash")
        .args(["-c", "command -v deployer"])
        .env("PATH", &path));
    assert_ne!(bare.code, 0, "deployer is already on PATH: {}", bare.stdout);
    let job = [
        ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
        ("CIRCLE_SHA1", "9a8b7c6"),
        ("PATH", path.as_str()),
    ];
    let replaced = [
        ("PARAM_RELEASE_URL", url.as_str()),
        ("PARAM_INSTALL_DIR", bin.path().to_str().unwrap()),
    ];
    let runs = play(
        work.path(),
        "build_image",
        &[("repo", &repo), ("tag", "${CIRCLE_SHA1}")],
        &job,
        &replaced,
    );
    let names: Vec<&str> = runs.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        names[0].starts_with("Install deployer"),
        "the first step installs deployer: {names:?}"
    );
    for (name, result) in &runs {
        assert_eq!(
            result.code, 0,
            "{name} failed: {}{}",
            result.stdout, result.stderr
        );
    }
    assert!(
        runs[0].1.stdout.contains("Downloading"),
        "{}",
        runs[0].1.stdout
    );
    assert!(bin.path().join("deployer").exists());
    assert!(
        registry.digest(&repo, "9a8b7c6").is_some(),
        "nothing pushed"
    );

    // The next command of the same job: installed once per job.
    let again = play(
        work.path(),
        "push_image",
        &[("repo", &repo), ("tag", "${CIRCLE_SHA1}")],
        &job,
        &replaced,
    );
    assert!(
        again[0].1.stdout.contains("using deployer"),
        "{}",
        again[0].1.stdout
    );
}

/// The shape of a real aws-ecr 8.2.1 config: `build-and-push-image` with `path:
/// ./backend/docker/nginx`, whose Dockerfile copies `./backend/...` from the repository's root
/// (8.2's job built from `.`). The same job name with an 8.0-8.1 config (a Dockerfile copying
/// from its own directory) builds from path; where both would do, the job stops and asks.
#[test]
fn an_8_2_1_job_with_a_nested_path_builds_from_where_the_dockerfile_copies() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let checkout = tempfile::tempdir().unwrap();
    let nginx = "backend/docker/nginx";
    write(
        checkout.path(),
        &format!("{nginx}/Dockerfile"),
        &format!(
            "FROM {}\nCOPY ./backend/docker/nginx/default.conf /etc/nginx/default.conf\nCOPY ./backend/static/ /srv/static/\n",
            stack.base_image
        ),
    );
    write(
        checkout.path(),
        &format!("{nginx}/default.conf"),
        "server {}\n",
    );
    write(checkout.path(), "backend/static/index.html", "hello\n");
    let job = [("AWS_ENDPOINT_URL", stack.emulator.as_str())];
    let repo = unique_repo("nested-path");
    let params = [
        ("repo", repo.as_str()),
        ("create-repo", "true"),
        ("region", "AWS_DEFAULT_REGION"),
        ("tag", "v82"),
        ("path", "./backend/docker/nginx"),
    ];
    let result = run_job_step(checkout.path(), "build-and-push-image", &params, &job);
    result
        .assert_code(0)
        .assert_stderr_contains(
            "build context .: ./backend/docker/nginx/Dockerfile's COPY and ADD sources are there",
        )
        .assert_stderr_contains("--build-path . --path ./backend/docker/nginx");
    assert!(registry.digest(&repo, "v82").is_some());

    // 8.0-8.1's shape: the Dockerfile copies from path itself.
    write(
        checkout.path(),
        &format!("{nginx}/Dockerfile"),
        &format!(
            "FROM {}\nCOPY default.conf /etc/nginx/default.conf\n",
            stack.base_image
        ),
    );
    let mut params81 = params.to_vec();
    params81.retain(|(k, _)| *k != "tag");
    params81.push(("tag", "v81"));
    run_job_step(checkout.path(), "build-and-push-image", &params81, &job)
        .assert_code(0)
        .assert_stderr_contains("build context ./backend/docker/nginx:")
        .assert_stderr_contains("--build-path ./backend/docker/nginx --path");
    assert!(registry.digest(&repo, "v81").is_some());

    // A source both candidates hold: exit 2 before building, naming build-path.
    write(checkout.path(), "default.conf", "server {}\n");
    let mut ambiguous = params.to_vec();
    ambiguous.retain(|(k, _)| *k != "tag");
    ambiguous.push(("tag", "ambiguous"));
    run_job_step(checkout.path(), "build-and-push-image", &ambiguous, &job)
        .assert_code(2)
        .assert_stderr_contains("set build-path to the build context");
    assert_eq!(registry.digest(&repo, "ambiguous"), None);
    // build-path (added to the alias job) says which.
    ambiguous.push(("build-path", "."));
    run_job_step(checkout.path(), "build-and-push-image", &ambiguous, &job)
        .assert_code(0)
        .assert_stderr_contains("--build-path . --path");
}

/// `extra-build-args: -t ACCOUNT_URL/REPO:latest` on aws-ecr 7.x's `build-image`, then
/// `push-image` of `latest`, which relied on that local tag.
#[test]
fn a_t_in_extra_build_args_tags_the_image_for_a_later_push_image() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let repo = unique_repo("extra-t");
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "Dockerfile",
        &format!("FROM {}\nRUN echo tagged > /tagged\n", stack.base_image),
    );
    let job = [
        ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
        ("CIRCLE_SHA1", "7f6e5d4"),
    ];
    run_step(work.path(), "create_repo", &[("repo", &repo)], &job).assert_code(0);
    let local = format!("{}/{repo}:latest", stack.registry);
    let extra = format!("-t {local} --progress plain");
    run_command_alias(
        work.path(),
        "build-image",
        &[
            ("repo", &repo),
            ("region", "AWS_DEFAULT_REGION"),
            ("tag", "${CIRCLE_SHA1}"),
            ("extra-build-args", &extra),
        ],
        &job,
    )
    .assert_code(0)
    .assert_stderr_contains(&format!("--local-tag {local}"))
    .assert_stderr_contains(&format!("tagged {local} locally"));
    run_command_alias(
        work.path(),
        "push-image",
        &[
            ("repo", &repo),
            ("region", "AWS_DEFAULT_REGION"),
            ("tag", "${CIRCLE_SHA1},latest"),
        ],
        &job,
    )
    .assert_code(0);
    let commit = registry.digest(&repo, "7f6e5d4").expect("the commit tag");
    assert_eq!(registry.digest(&repo, "latest"), Some(commit));
    crate::support::docker(&["image", "rm", "-f", &local]);
}
