//! Switching from the aws-ecr and aws-ecs orbs by the `orbs:` line only (issue 25): configs
//! shaped like real ones, played step by step as CircleCI runs them, against the local stack.
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
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
    let (flag, name) = match name.strip_prefix("job:") {
        Some(job) => (Some("--job"), job),
        None => (None, name),
    };
    let output = Command::new("python3")
        .arg(root().join("scripts/orb.py"))
        .arg("steps")
        .args(flag)
        .arg(name)
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

/// Plays an orb command's steps (a job's, for `job:NAME`) as CircleCI would, in `dir`, with the
/// job's environment under each step's own (`replaced` overrides a step variable where the test
/// cannot let it be: the release URL). Stops at the first step that fails; returns every step's
/// run, in order.
fn play(
    dir: &Path,
    name: &str,
    params: &[(&str, &str)],
    job_env: &[(&str, &str)],
    replaced: &[(&str, &str)],
) -> Vec<(String, Run)> {
    play_without(dir, name, params, job_env, replaced, &[])
}

/// [`play`], with `unset` variables of this machine's environment left out of the job's.
fn play_without(
    dir: &Path,
    name: &str,
    params: &[(&str, &str)],
    job_env: &[(&str, &str)],
    replaced: &[(&str, &str)],
    unset: &[&str],
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
        let mut bash = Command::new("bash");
        bash.args(["-c", &step.command])
            .current_dir(dir)
            .env_remove("DEPLOYER_BIN")
            .env_remove("RUST_LOG");
        for name in unset {
            bash.env_remove(name);
        }
        let result = run(bash.envs(job_env.iter().copied()).envs(&environment));
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

/// aws-ecr 8.0.0-8.1.3's `skip-when-tags-exist: true` never skipped (fixed in 8.2.0). Under the
/// kebab job, the skip happens as documented, and the log says what those versions did.
#[test]
fn a_skip_the_8_0_orb_never_made_is_said_in_the_log() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "Dockerfile",
        &format!("FROM {}\nRUN echo once > /once\n", stack.base_image),
    );
    let repo = unique_repo("skip-80");
    let params = [
        ("repo", repo.as_str()),
        ("create-repo", "true"),
        ("tag", "stable"),
        ("skip-when-tags-exist", "true"),
    ];
    let job = [("AWS_ENDPOINT_URL", stack.emulator.as_str())];
    let first = run_job_step(work.path(), "build-and-push-image", &params, &job);
    first.assert_code(0);
    assert!(!first.stderr.contains("never did"), "{}", first.stderr);
    let pushed = registry
        .digest(&repo, "stable")
        .expect("the first run pushed");
    run_job_step(work.path(), "build-and-push-image", &params, &job)
        .assert_code(0)
        .assert_stderr_contains("skipping build and push")
        .assert_stderr_contains("which the aws-ecr orb 8.0-8.1 never did")
        .assert_stderr_contains(
            "the image deployed next is the one ECR already holds under stable",
        );
    assert_eq!(registry.digest(&repo, "stable"), Some(pushed));
}

/// The registry variables: 6.x-7.x read AWS_ECR_ACCOUNT_URL, 8.x AWS_ECR_REGISTRY_ID, and one
/// alias serves both. A leftover one never moves the push to another account; the log says
/// which variable decided the registry and the region.
#[test]
fn the_registry_variables_decide_only_where_the_versions_agree() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "Dockerfile",
        &format!("FROM {}\nRUN echo vars > /vars\n", stack.base_image),
    );
    let repo = unique_repo("registry-vars");
    let params = |tag: &'static str| {
        vec![
            ("repo", repo.clone()),
            ("create-repo", "true".to_string()),
            ("tag", tag.to_string()),
        ]
    };
    let run_with = |tag: &'static str, variables: &[(&str, &str)]| {
        let params = params(tag);
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut job = vec![("AWS_ENDPOINT_URL", stack.emulator.as_str())];
        job.extend_from_slice(variables);
        run_job_step(work.path(), "build-and-push-image", &params, &job)
    };
    let ours = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    // A 7.x config: AWS_ECR_ACCOUNT_URL decides (8.x stopped without AWS_ECR_REGISTRY_ID).
    run_with("url", &[("AWS_ECR_ACCOUNT_URL", ours)])
        .assert_code(0)
        .assert_stderr_contains("registry: account 123456789012, named by AWS_ECR_ACCOUNT_URL (read by aws-ecr 1.x-7.x); AWS_ECR_REGISTRY_ID (8.x) is unset")
        .assert_stderr_contains("region: eu-west-1, from AWS_REGION")
        .assert_stderr_contains("--registry-id 123456789012");
    assert!(registry.digest(&repo, "url").is_some());
    // Both, naming one account.
    run_with(
        "both",
        &[
            ("AWS_ECR_ACCOUNT_URL", ours),
            ("AWS_ECR_REGISTRY_ID", "123456789012"),
        ],
    )
    .assert_code(0)
    .assert_stderr_contains(
        "named by AWS_ECR_ACCOUNT_URL (read by aws-ecr 1.x-7.x) and AWS_ECR_REGISTRY_ID (read by aws-ecr 8.x)",
    );
    assert!(registry.digest(&repo, "both").is_some());
    // A leftover one naming another account: nothing pushed anywhere.
    run_with(
        "leftover",
        &[
            ("AWS_ECR_ACCOUNT_URL", ours),
            ("AWS_ECR_REGISTRY_ID", "210987654321"),
        ],
    )
    .assert_code(2)
    .assert_stderr_contains("one is left over");
    assert_eq!(registry.digest(&repo, "leftover"), None);
    // Given in the config, the parameter decides.
    let mut given = params("given");
    given.push(("registry-id", "MY_REGISTRY".to_string()));
    let given: Vec<(&str, &str)> = given.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_job_step(
        work.path(),
        "build-and-push-image",
        &given,
        &[
            ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
            ("MY_REGISTRY", "123456789012"),
            (
                "AWS_ECR_ACCOUNT_URL",
                "210987654321.dkr.ecr.eu-west-1.amazonaws.com",
            ),
        ],
    )
    .assert_code(0)
    .assert_stderr_contains("registry: from account_id (MY_REGISTRY), as the config gives it");
    // 9.x names never read AWS_ECR_REGISTRY_ID: a leftover one is not the account.
    run_job_step(
        work.path(),
        "build_and_push_image",
        &[
            ("repo", &repo),
            ("create_repo", "true"),
            ("tag", "nine"),
            ("account_id", ""),
        ],
        &[
            ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
            ("AWS_ECR_REGISTRY_ID", "210987654321"),
        ],
    )
    .assert_code(0);
    assert!(registry.digest(&repo, "nine").is_some());

    // The job 9.x shares with 0.0.x-5.x (4.0.1 read AWS_ECR_ACCOUNT_URL and AWS_REGION, 9.x reads
    // AWS_ACCOUNT_ID and AWS_DEFAULT_REGION): leftovers that disagree stop it before anything.
    let merged = [
        ("repo", repo.as_str()),
        ("create-repo", "true"),
        ("tag", "merged"),
    ];
    run_job_step(
        work.path(),
        "build_and_push_image",
        &merged,
        &[
            ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
            ("AWS_ECR_ACCOUNT_URL", "210987654321.dkr.ecr.eu-west-1.amazonaws.com"),
        ],
    )
    .assert_code(2)
    .assert_stderr_contains("AWS_ECR_ACCOUNT_URL=210987654321.dkr.ecr.eu-west-1.amazonaws.com (read by aws-ecr 1.x-7.x), AWS_ACCOUNT_ID=123456789012 (read by aws-ecr 9.x)");
    run_job_step(
        work.path(),
        "build_and_push_image",
        &merged,
        &[
            ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
            ("AWS_REGION", "eu-central-1"),
        ],
    )
    .assert_code(2)
    .assert_stderr_contains("AWS_REGION=eu-central-1 (read by aws-ecr 1.x-8.x), AWS_DEFAULT_REGION=eu-west-1 (read by aws-ecr 9.x)");
    assert_eq!(registry.digest(&repo, "merged"), None);
    run_job_step(
        work.path(),
        "build_and_push_image",
        &merged,
        &[("AWS_ENDPOINT_URL", stack.emulator.as_str())],
    )
    .assert_code(0)
    .assert_stderr_contains("region: eu-west-1, from AWS_REGION (read by aws-ecr 1.x-8.x) and AWS_DEFAULT_REGION (read by aws-ecr 9.x)");
    assert!(registry.digest(&repo, "merged").is_some());
}

/// aws-ecr 8.0-8.1 with `public-registry: true` pushed to public.ecr.aws/<registry-id's
/// value>/<repo>: the value is the ECR Public alias there, not an account ID.
#[test]
fn an_8_0_public_registry_job_takes_registry_id_as_the_public_alias() {
    let stack = stack();
    let work = tempfile::tempdir().unwrap();
    write(
        work.path(),
        "Dockerfile",
        &format!("FROM {}\n", stack.base_image),
    );
    let result = run_job_step(
        work.path(),
        "build-and-push-image",
        &[
            ("repo", "tutorial-site"),
            ("public-registry", "true"),
            ("tag", "latest"),
        ],
        &[
            ("AWS_ENDPOINT_URL", stack.emulator.as_str()),
            ("AWS_ECR_REGISTRY_ID", "k3s7q9x2"),
        ],
    );
    result
        .assert_stderr_contains(
            "registry: ECR Public, alias k3s7q9x2 from AWS_ECR_REGISTRY_ID (registry-id), which aws-ecr 8.0-8.1 used as the public alias: public.ecr.aws/k3s7q9x2/tutorial-site",
        )
        .assert_stderr_contains("--public-registry --public-registry-alias k3s7q9x2");
    assert!(
        !result.stderr.contains("--registry-id") && !result.stderr.contains("12 digits"),
        "{}",
        result.stderr
    );
    // The emulator has no ECR Public: the step asked ECR Public for the repository, where it
    // used to refuse the value as an account ID before anything.
    result.assert_stderr_contains("ecr-public:DescribeRepositories");
}

/// An aws-ecs 0.0.x `deploy-service-update` job whose `post-steps` call `aws ecs
/// describe-services`: the old job left the AWS CLI installed and configured (aws-cli/install,
/// aws-cli/configure with the region and the keys its parameters named), and so does ours.
/// The job's environment has AWS_REGION only (the AWS CLI reads AWS_DEFAULT_REGION) and the keys
/// under other names, as such configs had them: the post-step works only from the files.
#[test]
fn an_aws_ecs_0_0_job_leaves_the_aws_cli_configured_for_its_post_steps() {
    let stack = stack();
    let api = crate::support::Api::moto(&stack);
    let family = unique_repo("post-steps-task");
    let cluster = unique_repo("post-steps-cluster");
    let service = unique_repo("post-steps-service");
    let first = api.register_seed(&family);
    api.create_cluster_and_service(&cluster, &service, &first);

    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let releases = release(false);
    let url = serve(releases.path().to_path_buf());
    let bin = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let key_id = std::env::var("AWS_ACCESS_KEY_ID").unwrap();
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    let job = [
        ("AWS_ENDPOINT_URL", stack.moto.as_str()),
        ("AWS_REGION", "eu-west-1"),
        ("CI_AWS_KEY_ID", key_id.as_str()),
        ("CI_AWS_SECRET", secret.as_str()),
        ("HOME", home.path().to_str().unwrap()),
        ("PATH", path.as_str()),
    ];
    let unset = [
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_PROFILE",
    ];
    let replaced = [
        ("PARAM_RELEASE_URL", url.as_str()),
        ("PARAM_INSTALL_DIR", bin.path().to_str().unwrap()),
    ];
    let runs = play_without(
        work.path(),
        "job:deploy-service-update",
        &[
            ("family", &family),
            ("cluster-name", &cluster),
            ("service-name", &service),
            ("aws-access-key-id", "$CI_AWS_KEY_ID"),
            ("aws-secret-access-key", "$CI_AWS_SECRET"),
            (
                "container-image-name-updates",
                "container=tutorial-site-app,tag=v2",
            ),
        ],
        &job,
        &replaced,
        &unset,
    );
    for (name, result) in &runs {
        assert_eq!(
            result.code, 0,
            "{name} failed: {}{}",
            result.stdout, result.stderr
        );
    }
    let configured = &runs[1].1;
    assert!(
        configured
            .stderr
            .contains("AWS CLI: region eu-west-1 (from AWS_REGION)"),
        "{}",
        configured.stderr
    );
    assert!(!configured.stderr.contains(&secret) && !configured.stdout.contains(&secret));
    let credentials = home.path().join(".aws/credentials");
    let mode = std::fs::metadata(&credentials)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let revisions = api.revisions(&family);
    assert_eq!(revisions.len(), 2);

    // The user's post-step, as written in the config.
    let mut post = Command::new("bash");
    post.args([
        "-c",
        &format!(
            "aws ecs describe-services --cluster {cluster} --services {service} \\
             --query 'services[0].taskDefinition' --output text"
        ),
    ])
    .current_dir(work.path());
    for name in unset {
        post.env_remove(name);
    }
    let described = run(post.envs(job.iter().copied()));
    assert_eq!(described.code, 0, "{}", described.stderr);
    assert_eq!(described.stdout.trim(), revisions[1]);
}

/// The comparison of orb/versions/behaviour.yml runs as `scripts/orb.py check` does, covers every
/// record, and fails when an old invocation's meaning and ours part: an 8.2.1 record claiming the
/// old job built from path is caught.
#[test]
fn the_behaviour_comparison_covers_every_record_and_catches_a_difference() {
    let records = std::fs::read_to_string(root().join("orb/versions/behaviour.yml")).unwrap();
    let count = records
        .lines()
        .filter(|line| line.starts_with("  - name: "))
        .count();
    let compare = |file: &Path| {
        run(Command::new("python3")
            .arg(root().join("scripts/orb.py"))
            .args([
                "behaviour",
                "--deployer",
                env!("CARGO_BIN_EXE_deployer"),
                "--records",
            ])
            .arg(file))
    };
    let result = compare(&root().join("orb/versions/behaviour.yml"));
    result.assert_code(0);
    assert!(
        result.stdout.contains(&format!(
            "behaviour: {count} old invocations compared, 0 differences not kept on purpose"
        )),
        "{}",
        result.stdout
    );

    let wrong = records.replace(
        "--progress plain --push .\n\n  - name: 8.1 job with a nested path",
        "--progress plain --push ./backend/docker/nginx\n\n  - name: 8.1 job with a nested path",
    );
    assert_ne!(wrong, records, "the 8.2.1 record moved");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "behaviour.yml", &wrong);
    compare(&file)
        .assert_code(1)
        .assert_stderr_contains("8.2.1 jobs/build-and-push-image")
        .assert_stderr_contains("context: the old orb 'backend/docker/nginx', ours '.'");
}

/// aws-ecr 0.0.x-6.5 read `dockerfile` from the working directory (`docker build -f DOCKERFILE
/// PATH`): where only that one exists, it is built with PATH the context; where PATH holds one
/// too, the step stops before building, naming the way to say which.
#[test]
fn a_dockerfile_in_the_working_directory_is_the_one_0_0_to_6_5_built() {
    let checkout = tempfile::tempdir().unwrap();
    write(
        checkout.path(),
        "Dockerfile",
        "FROM busybox\nCOPY main.sh /\n",
    );
    write(checkout.path(), "app/main.sh", "echo hi\n");
    let env = crate::orb::expanded_env(
        "--steps",
        "build-image",
        &[("repo", "app"), ("path", "./app")],
    );
    let plan = || {
        run(Command::new(env!("CARGO_BIN_EXE_deployer"))
            .args(["orb", "plan", "build-image"])
            .current_dir(checkout.path())
            .env_remove("AWS_ECR_ACCOUNT_URL")
            .env_remove("AWS_ECR_REGISTRY_ID")
            .envs(&env))
    };
    let result = plan();
    result.assert_code(0).assert_stderr_contains(
        "Dockerfile Dockerfile, relative to the working directory as aws-ecr 0.0.x-6.5 read it",
    );
    let args: Vec<String> = serde_json::from_str(&result.stdout).unwrap();
    let line = args.join(" ");
    assert!(
        line.contains("--build-path ./app --path . --dockerfile Dockerfile"),
        "{line}"
    );

    write(checkout.path(), "app/Dockerfile", "FROM busybox\n");
    plan()
        .assert_code(2)
        .assert_stderr_contains("both ./app/Dockerfile and Dockerfile exist")
        .assert_stderr_contains("set build-path: ./app");
}

/// An image without the AWS CLI (the aws-ecs 0.0.x jobs' own ran aws-cli/install): the alias job's
/// step installs it from PyPI with the image's Python, puts it on PATH for later steps through
/// BASH_ENV, and configures it. Python here is a stand-in that records what it is asked and
/// installs a stand-in `aws`; the real install is pip's.
#[test]
fn the_aws_cli_is_installed_when_the_image_lacks_it() {
    let bin = tempfile::tempdir().unwrap();
    let user_base = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let calls = bin.path().join("calls");
    let script = |name: &str, body: String| {
        let path = bin.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "python3",
        format!(
            "echo \"python3 $*\" >> {calls}\n\
             case \"$*\" in\n\
             '-m site --user-base') echo {base} ;;\n\
             '-m pip install --quiet --user awscli')\n\
               mkdir -p {base}/bin\n\
               printf '#!/bin/sh\\necho aws-cli/1.0 stand-in\\n' > {base}/bin/aws\n\
               chmod 755 {base}/bin/aws ;;\n\
             *) exit 3 ;;\n\
             esac",
            calls = calls.display(),
            base = user_base.path().display()
        ),
    );
    // The rest of an image without the AWS CLI: bash, the tools the script uses, deployer.
    for tool in ["bash", "mkdir", "chmod", "printf", "cat", "dirname"] {
        if let Ok(found) = which(tool) {
            std::os::unix::fs::symlink(found, bin.path().join(tool)).unwrap();
        }
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_deployer"), bin.path().join("deployer"))
        .unwrap();
    let bash_env = home.path().join("bash_env");
    let job_steps = steps(
        "job:deploy-service-update",
        &[("family", "site"), ("cluster-name", "prod")],
    );
    let step = job_steps
        .iter()
        .find(|step| step.name.starts_with("The AWS CLI"))
        .expect("the job has the AWS CLI step");
    let result = run(Command::new(which("bash").unwrap())
        .args(["-c", &step.command])
        .env_clear()
        .env("PATH", bin.path())
        .env("HOME", home.path())
        .env("BASH_ENV", &bash_env)
        .env("AWS_REGION", "eu-west-1")
        .envs(&step.environment));
    assert_eq!(result.code, 0, "{}{}", result.stdout, result.stderr);
    assert!(
        result.stdout.contains("Installing the AWS CLI from PyPI"),
        "{}",
        result.stdout
    );
    assert!(result.stdout.contains("aws-cli/1.0 stand-in"));
    let asked = std::fs::read_to_string(&calls).unwrap();
    assert!(
        asked.contains("python3 -m pip install --quiet --user awscli"),
        "{asked}"
    );
    let exported = std::fs::read_to_string(&bash_env).unwrap();
    assert!(
        exported.contains(&format!("{}/bin", user_base.path().display())),
        "{exported}"
    );
    let config = std::fs::read_to_string(home.path().join(".aws/config")).unwrap();
    assert_eq!(config, "[default]\nregion = eu-west-1\n");

    // aws-ecr 6.x-8.x's job and ecr-login ran aws-cli/setup too: their aliases end the same way,
    // after deployer is installed.
    for name in [
        "job:build-and-push-image",
        "ecr-login",
        "build-and-push-image",
    ] {
        let names: Vec<String> =
            steps(name, &[("repo", "web")][..usize::from(name != "ecr-login")])
                .into_iter()
                .map(|step| step.builtin.unwrap_or(step.name))
                .collect();
        let cli = names
            .iter()
            .position(|step| step.starts_with("The AWS CLI"))
            .unwrap_or_else(|| panic!("{name} leaves no AWS CLI: {names:?}"));
        let install = names
            .iter()
            .position(|step| step.starts_with("Install deployer"))
            .unwrap();
        assert!(install < cli, "{name}: {names:?}");
    }
}

fn which(tool: &str) -> Result<std::path::PathBuf, String> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|dir| Path::new(dir).join(tool))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("{tool} is not on PATH"))
}
