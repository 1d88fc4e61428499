//! `deployer push --platform linux/amd64,linux/arm64`: one build per platform through the
//! stack's engine (arm64's RUN steps under QEMU, from the arm64 busybox the stack imports from
//! Debian's busybox-static:arm64), each platform's image pushed, and one manifest list under
//! every tag; the binfmt check before building; `--skip-when-tags-exist`, immutable tags and
//! `deploy --pin-digest` with the index.
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{
    deployer, docker, push, run, stack, unique_repo, write, Api, Registry, Stack,
};

const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A Dockerfile on each platform's own busybox, `deployer-test/busybox:$TARGETARCH`.
fn platform_context(stack: &Stack, steps: &str) -> tempfile::TempDir {
    let base = std::env::var("DEPLOYER_STACK_PLATFORM_BASE").unwrap_or_else(|_| {
        panic!("DEPLOYER_STACK_PLATFORM_BASE is not set: run ./scripts/test.sh (scripts/stack.sh start imports the arm64 base)")
    });
    let _ = stack;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "site/index.html", "tutorial site\n");
    write(
        dir.path(),
        "Dockerfile",
        &format!("FROM {base}:${{TARGETARCH}}\nCOPY site /www\n{steps}\nCMD [\"cat\", \"/www/index.html\"]\n"),
    );
    dir
}

/// The index `repo:tag` points at, checked to be a manifest list of exactly these platforms;
/// returns each platform's manifest digest by architecture.
fn index_platforms(
    registry: &Registry,
    repo: &str,
    tag: &str,
) -> std::collections::BTreeMap<String, String> {
    let (index, media_type) = registry.manifest_json(repo, tag);
    assert_eq!(media_type, MANIFEST_LIST, "{index}");
    assert_eq!(index["mediaType"], MANIFEST_LIST);
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2, "{index}");
    manifests
        .iter()
        .map(|manifest| {
            assert_eq!(manifest["platform"]["os"], "linux");
            let digest = manifest["digest"].as_str().unwrap().to_string();
            // Each one is an image the registry holds, whose config says its architecture.
            let (image, _) = registry.manifest_json(repo, &digest);
            assert_eq!(
                manifest["size"].as_u64().unwrap() as usize,
                registry.manifest(repo, &digest).len()
            );
            let config = registry.blob_json(repo, image["config"]["digest"].as_str().unwrap());
            assert_eq!(config["architecture"], manifest["platform"]["architecture"]);
            (
                manifest["platform"]["architecture"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                digest,
            )
        })
        .collect()
}

fn push_platforms(dir: &Path, stack: &Stack, repo: &str) -> std::process::Command {
    let mut command = push(dir, stack, repo);
    command.args([
        "--platform",
        "linux/amd64,linux/arm64",
        "--tag",
        "v1,latest",
    ]);
    command
}

#[test]
fn a_run_step_on_each_platform_pushed_as_one_index_under_every_tag() {
    let stack = stack();
    let repo = unique_repo("multiplatform-run");
    let context = platform_context(&stack, "RUN uname -m > /arch");
    let result = run(push_platforms(context.path(), &stack, &repo).args(["--output", "json"]));
    result.assert_code(0);
    result.assert_stderr_contains("for linux/arm64");
    let registry = Registry::new(&stack);
    let index_digest = registry.digest(&repo, "v1").expect("v1 pushed");
    assert_eq!(
        registry.digest(&repo, "latest").as_deref(),
        Some(index_digest.as_str())
    );
    let platforms = index_platforms(&registry, &repo, "v1");

    let outcome: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(
        outcome["image"],
        format!("{}/{repo}@{index_digest}", stack.registry)
    );
    assert_eq!(outcome["digest"], index_digest.as_str());
    let listed = outcome["platforms"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for entry in listed {
        let architecture = entry["platform"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        assert_eq!(entry["digest"], platforms[architecture].as_str());
        assert_eq!(entry["tag"], format!("v1-linux-{architecture}"));
    }

    // The images pushed are the ones built here: the daemon knows each by the digest the
    // index lists.
    let local = |architecture: &str| format!("{}/{repo}:v1-linux-{architecture}", stack.registry);
    for architecture in ["amd64", "arm64"] {
        let repo_digests = String::from_utf8(docker(&[
            "image",
            "inspect",
            "-f",
            "{{json .RepoDigests}}",
            &local(architecture),
        ]))
        .unwrap();
        assert!(
            repo_digests.contains(&platforms[architecture]),
            "{repo_digests}"
        );
    }
    docker(&["rmi", &local("amd64"), &local("arm64")]);

    // `docker pull` of the tag on either architecture gets that architecture's image, whose
    // RUN step ran as that architecture (arm64's under QEMU).
    let config = tempfile::tempdir().unwrap();
    let docker_as_user = |args: &[&str]| {
        let output = Command::new("docker")
            .env("DOCKER_CONFIG", config.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let mut login = Command::new("docker")
        .env("DOCKER_CONFIG", config.path())
        .args([
            "login",
            "-u",
            &stack.registry_user,
            "--password-stdin",
            &stack.registry,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    login
        .stdin
        .take()
        .unwrap()
        .write_all(stack.registry_password.as_bytes())
        .unwrap();
    assert!(login.wait().unwrap().success());
    let tagged = format!("{}/{repo}:v1", stack.registry);
    for (platform, machine) in [("linux/arm64", "aarch64"), ("linux/amd64", "x86_64")] {
        docker_as_user(&["pull", "-q", "--platform", platform, &tagged]);
        let arch = docker_as_user(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--platform",
            platform,
            &tagged,
            "cat",
            "/arch",
        ]);
        assert_eq!(arch.trim(), machine, "{platform}");
        docker_as_user(&["rmi", &tagged]);
    }

    // Text output: the index reference first, as a single-platform push prints its image.
    let result = run(&mut push_platforms(context.path(), &stack, &repo));
    result.assert_code(0);
    assert_eq!(
        result.stdout.lines().next(),
        Some(format!("{}/{repo}@{index_digest}", stack.registry).as_str())
    );
    docker(&["rmi", &local("amd64"), &local("arm64")]);
}

#[test]
fn a_copy_only_build_needs_no_emulation() {
    let stack = stack();
    let repo = unique_repo("multiplatform-copy");
    let context = platform_context(&stack, "");
    let no_handlers = tempfile::tempdir().unwrap();
    write(no_handlers.path(), "status", "enabled\n");
    let result = run(push_platforms(context.path(), &stack, &repo)
        .env("DEPLOYER_BINFMT_MISC", no_handlers.path()));
    result.assert_code(0);
    let registry = Registry::new(&stack);
    let platforms = index_platforms(&registry, &repo, "latest");
    assert_eq!(platforms.keys().collect::<Vec<_>>(), ["amd64", "arm64"]);
}

#[test]
fn the_classic_builder_gets_the_target_platform_as_build_arguments() {
    let stack = stack();
    let repo = unique_repo("multiplatform-classic");
    let context = platform_context(&stack, "RUN uname -m > /arch");
    let dockerfile = std::fs::read_to_string(context.path().join("Dockerfile")).unwrap();
    write(
        context.path(),
        "Dockerfile",
        &format!("ARG TARGETARCH\n{dockerfile}"),
    );
    let result = run(push_platforms(context.path(), &stack, &repo).args(["--builder", "classic"]));
    result.assert_code(0);
    result.assert_stderr_contains("builder: classic (--builder classic)");
    let registry = Registry::new(&stack);
    let platforms = index_platforms(&registry, &repo, "v1");
    assert_eq!(platforms.keys().collect::<Vec<_>>(), ["amd64", "arm64"]);
}

#[test]
fn run_steps_for_a_platform_without_a_binfmt_handler_are_refused_before_building() {
    let stack = stack();
    let repo = unique_repo("multiplatform-nobinfmt");
    let context = platform_context(&stack, "RUN uname -m > /arch");
    let no_handlers = tempfile::tempdir().unwrap();
    write(no_handlers.path(), "status", "enabled\n");
    // Handlers for other architectures do not count.
    write(
        no_handlers.path(),
        "qemu-s390x",
        "enabled\ninterpreter /usr/bin/qemu-s390x\nflags: F\noffset 0\nmagic 7f454c4602020100000000000000000000020016\nmask ffffffffffffff00fffffffffffffffffffeffff\n",
    );
    let result = run(push_platforms(context.path(), &stack, &repo)
        .env("DEPLOYER_BINFMT_MISC", no_handlers.path()));
    result.assert_code(3);
    result.assert_stderr_contains("the Dockerfile runs RUN steps for linux/arm64, and the Docker engine's host (amd64) has no binfmt_misc handler to run arm64 binaries");
    result.assert_stderr_contains("apt-get install qemu-user-static binfmt-support");
    result.assert_stderr_contains("docker run --privileged --rm tonistiigi/binfmt --install arm64");
    assert!(!result.stderr.contains("building"), "{}", result.stderr);
    assert!(!Api::moto(&stack).repository_exists(&repo));
    assert_eq!(Registry::new(&stack).digest(&repo, "latest"), None);
}

#[test]
fn skip_when_tags_exist_and_immutable_tags_with_an_index() {
    let stack = stack();
    let api = Api::moto(&stack);
    let registry = Registry::new(&stack);
    let repo = unique_repo("multiplatform-immutable");
    api.create_repository(&repo, "IMMUTABLE");
    let context = platform_context(&stack, "");
    let result = run(&mut push_platforms(context.path(), &stack, &repo));
    result.assert_code(0);
    let index_digest = registry.digest(&repo, "v1").unwrap();
    let image = format!("{}/{repo}@{index_digest}", stack.registry);
    // What ECR records on a push through its registry.
    for tag in ["v1", "latest", "v1-linux-amd64", "v1-linux-arm64"] {
        api.record_push(&registry, &repo, tag);
    }

    // Every tag there: nothing is built, the index is the image.
    let result = run(push_platforms(context.path(), &stack, &repo).arg("--skip-when-tags-exist"));
    result.assert_code(0);
    result.assert_stderr_contains("skipping build and push");
    assert!(!result.stderr.contains("building"), "{}", result.stderr);
    assert_eq!(result.stdout.lines().next(), Some(image.as_str()));

    // The same build again: every immutable tag already holds it, nothing is moved.
    let result = run(&mut push_platforms(context.path(), &stack, &repo));
    result.assert_code(0);
    result.assert_stderr_contains("v1-linux-arm64 already holds this linux/arm64 image in an immutable repository: left as it is");
    result.assert_stderr_contains(
        ":latest already holds this index in an immutable repository: left as it is",
    );
    assert_eq!(result.stdout.lines().next(), Some(image.as_str()));

    // An immutable tag holding something else than an index of these images: refused before
    // any platform image is pushed.
    api.put_manifest(&repo, "v9");
    let result = run(push(context.path(), &stack, &repo).args([
        "--platform",
        "linux/amd64,linux/arm64",
        "--tag",
        "v9",
    ]));
    result.assert_code(1);
    result.assert_stderr_contains("tag v9 already exists in the immutable repository");
    result.assert_stderr_contains("it is not an index of the images this run built");
    assert!(!result.stderr.contains("pushing"), "{}", result.stderr);
    assert_eq!(registry.digest(&repo, "v9-linux-amd64"), None);

    // A platform's tag holding another image: refused the same way.
    api.put_manifest(&repo, "v7-linux-amd64");
    let result = run(push(context.path(), &stack, &repo).args([
        "--platform",
        "linux/amd64,linux/arm64",
        "--tag",
        "v7",
    ]));
    result.assert_code(1);
    result.assert_stderr_contains("tag v7-linux-amd64 already exists in the immutable repository");
    assert!(!result.stderr.contains("pushing"), "{}", result.stderr);
    assert_eq!(registry.digest(&repo, "v7"), None);

    // Another image under the same immutable tags: refused, nothing pushed.
    write(context.path(), "site/index.html", "changed\n");
    let result = run(&mut push_platforms(context.path(), &stack, &repo));
    result.assert_code(1);
    result.assert_stderr_contains("tag v1 already exists in the immutable repository");
    assert!(!result.stderr.contains("pushing"), "{}", result.stderr);
    assert_eq!(
        registry.digest(&repo, "v1").as_deref(),
        Some(index_digest.as_str())
    );
}

#[test]
fn deploy_pins_the_index_digest() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("multiplatform-deploy");
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = ecs.register_seed_with_image(&family, &format!("{}/{repo}:latest", stack.registry));
    ecs.create_cluster_and_service(&cluster, &service, &first);
    let context = platform_context(&stack, "");
    let result = run(deployer(context.path())
        .args(["deploy", "--repo", &repo, "--tag", "v2", "--create-repo"])
        .args(["--registry", &stack.registry])
        .args(["--platform", "linux/amd64", "--platform", "linux/arm64"])
        .args([
            "--family",
            &family,
            "--cluster",
            &cluster,
            "--service",
            &service,
        ])
        .args(["--pin-digest", "--no-wait"]));
    result.assert_code(0);
    let registry = Registry::new(&stack);
    let index_digest = registry.digest(&repo, "v2").expect("pushed");
    index_platforms(&registry, &repo, "v2");
    let lines: Vec<&str> = result.stdout.lines().collect();
    let pinned = format!("{}/{repo}@{index_digest}", stack.registry);
    assert_eq!(lines[0], pinned);
    let (definition, _) = ecs.describe(lines[1]);
    assert_eq!(
        definition.container_definitions()[0].image(),
        Some(pinned.as_str())
    );
}
