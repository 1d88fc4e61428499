//! The rest of the aws-ecr orb: `tag-image`, `repo create|policy|tag`, `push --no-build` of the
//! image `push --no-push` left, and `ecr-login --public-registry`. Against moto (an independent
//! ECR) and the emulator, whose ECR is the real registry, so an index stays an index.
use std::path::Path;
use std::process::Command;

use base64::Engine;

use crate::support::{deployer, run, stack, unique_repo, Api, Registry, Run};

/// A minimal image manifest whose bytes differ by `seed`, as ECR's PutImage takes it.
pub(crate) fn manifest(seed: &str) -> serde_json::Value {
    let digest = |c: &str| format!("sha256:{}", c.repeat(64));
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": digest(seed)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3, "digest": digest(seed)}]
    })
}

fn tag_image(endpoint: Option<&str>, repo: &str, args: &[&str]) -> Run {
    let mut command = deployer(Path::new("/"));
    if let Some(endpoint) = endpoint {
        command.env("AWS_ENDPOINT_URL", endpoint);
    }
    run(command.args(["tag-image", "--repo", repo]).args(args))
}

fn image_name(api: &Api, repo: &str) -> String {
    api.repository(repo).repository_uri().unwrap().to_string()
}

#[test]
fn tag_image_promotes_a_commit_tag_without_pulling_and_is_idempotent() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("promote");
    moto.create_repository(&repo, "MUTABLE");
    moto.put_image_manifest(&repo, "abc123", &manifest("1"));
    moto.put_image_manifest(&repo, "old", &manifest("2"));
    let before = moto.tagged_digests(&repo);
    let name = image_name(&moto, &repo);

    let result = tag_image(
        None,
        &repo,
        &[
            "--source-tag",
            "abc123",
            "--target-tag",
            "production,v1.2.0",
        ],
    );
    result.assert_code(0);
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{name}@{}", before["abc123"]),
            format!("{name}:production"),
            format!("{name}:v1.2.0"),
        ]
    );
    let after = moto.tagged_digests(&repo);
    assert_eq!(after["production"], before["abc123"]);
    assert_eq!(after["v1.2.0"], before["abc123"]);
    assert_eq!(after["old"], before["old"]);

    // Again: every tag holds the image already, so no PutImage (ECR would refuse it).
    tag_image(
        None,
        &repo,
        &["--source-tag", "abc123", "--target-tag", "production"],
    )
    .assert_code(0)
    .assert_stderr_contains("holds this image already: left as it is");

    // A mutable tag moves to the next commit's image; the registry named by its account.
    let account = moto.repository(&repo).registry_id().unwrap().to_string();
    tag_image(
        None,
        &repo,
        &[
            "--source-tag",
            "old",
            "--target-tag",
            "production",
            "--registry-id",
            &account,
        ],
    )
    .assert_code(0)
    .assert_stderr_contains(&format!("(moved from {})", before["abc123"]));
    assert_eq!(moto.tagged_digests(&repo)["production"], before["old"]);
}

#[test]
fn tag_image_refuses_a_missing_source_or_repository_with_nothing_changed() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("nosource");
    moto.create_repository(&repo, "MUTABLE");
    moto.put_image_manifest(&repo, "v1", &manifest("3"));
    let before = moto.tagged_digests(&repo);

    tag_image(
        None,
        &repo,
        &["--source-tag", "v9", "--target-tag", "production"],
    )
    .assert_code(2)
    .assert_stderr_contains("tag v9 is not in repository");
    assert_eq!(moto.tagged_digests(&repo), before);

    tag_image(
        None,
        &unique_repo("absent"),
        &["--source-tag", "v1", "--target-tag", "production"],
    )
    .assert_code(2)
    .assert_stderr_contains("does not exist in the ECR registry");

    // One source tag only: a list belongs to --target-tag.
    tag_image(None, &repo, &["--source-tag", "v1,v2"])
        .assert_code(2)
        .assert_stderr_contains("give one tag");
}

#[test]
fn tag_image_refuses_to_move_an_immutable_tag_before_tagging_anything() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("immutable-tag");
    // Created by deployer: immutable except for tags matching prod*.
    run(deployer(Path::new("/")).args([
        "repo",
        "create",
        "--repo",
        &repo,
        "--repo-tag-mutability",
        "IMMUTABLE_WITH_EXCLUSION",
        "--repo-tag-mutability-exclusion",
        "prod*",
    ]))
    .assert_code(0);
    moto.put_image_manifest(&repo, "v1", &manifest("4"));
    moto.put_image_manifest(&repo, "v2", &manifest("5"));
    moto.put_image_manifest(&repo, "production", &manifest("4"));
    let before = moto.tagged_digests(&repo);

    let result = tag_image(
        None,
        &repo,
        &["--source-tag", "v2", "--target-tag", "new,v1"],
    );
    result
        .assert_code(2)
        .assert_stderr_contains("tag v1 (holds")
        .assert_stderr_contains("immutable repository");
    assert!(result.stdout.is_empty(), "{}", result.stdout);
    // "new" came first and was free: still not tagged, as the plan refused the run.
    assert_eq!(moto.tagged_digests(&repo), before);

    // The excluded tag moves.
    tag_image(
        None,
        &repo,
        &["--source-tag", "v2", "--target-tag", "production"],
    )
    .assert_code(0);
    assert_eq!(moto.tagged_digests(&repo)["production"], before["v2"]);
}

#[test]
fn tag_image_skip_when_tags_exist_leaves_existing_tags_and_dry_run_changes_nothing() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("skip-tags");
    moto.create_repository(&repo, "IMMUTABLE");
    moto.put_image_manifest(&repo, "v2", &manifest("6"));
    moto.put_image_manifest(&repo, "production", &manifest("7"));
    let before = moto.tagged_digests(&repo);

    // Every target exists: nothing to do, even in an immutable repository.
    tag_image(
        None,
        &repo,
        &[
            "--source-tag",
            "v2",
            "--target-tag",
            "production",
            "--skip-when-tags-exist",
        ],
    )
    .assert_code(0)
    .assert_stderr_contains("skipped (--skip-when-tags-exist)");
    assert_eq!(moto.tagged_digests(&repo), before);

    let dry = tag_image(
        None,
        &repo,
        &[
            "--source-tag",
            "v2",
            "--target-tag",
            "production,stable",
            "--skip-when-tags-exist",
            "--dry-run",
        ],
    );
    dry.assert_code(0)
        .assert_stderr_contains("dry run: ")
        .assert_stderr_contains(":stable (new tag)");
    assert_eq!(moto.tagged_digests(&repo), before);

    tag_image(
        None,
        &repo,
        &[
            "--source-tag",
            "v2",
            "--target-tag",
            "production,stable",
            "--skip-when-tags-exist",
        ],
    )
    .assert_code(0);
    let after = moto.tagged_digests(&repo);
    assert_eq!(after["production"], before["production"]);
    assert_eq!(after["stable"], before["v2"]);
}

/// The emulator's ECR is the registry itself: PutImage stores the very bytes, so the registry
/// shows what a `docker pull` of the new tag gets.
#[test]
fn tag_image_on_the_registry_keeps_an_index_an_index() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let emulator = Api::emulator(&stack);
    let repo = unique_repo("tag-index");
    run(deployer(Path::new("/"))
        .env("AWS_ENDPOINT_URL", &stack.emulator)
        .args(["push", "--repo", &repo, "--create-repo", "--tag", "base"])
        .args(["--no-build", "--image", &stack.base_image]))
    .assert_code(0);
    let base = registry.manifest(&repo, "base");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
             "digest": registry.digest(&repo, "base").unwrap(), "size": base.len(),
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
             "digest": registry.digest(&repo, "base").unwrap(), "size": base.len(),
             "platform": {"architecture": "arm64", "os": "linux"}}
        ]
    })
    .to_string();
    let index_digest = registry.put_manifest(
        &repo,
        "sha-1",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        &index,
    );

    let result = tag_image(
        Some(&stack.emulator),
        &repo,
        &["--source-tag", "sha-1", "--target-tag", "production"],
    );
    result
        .assert_code(0)
        .assert_stderr_contains("a Docker manifest list");
    let name = image_name(&emulator, &repo);
    assert_eq!(
        result.stdout.lines().collect::<Vec<_>>(),
        [
            format!("{name}@{index_digest}"),
            format!("{name}:production")
        ]
    );
    assert_eq!(
        registry.digest(&repo, "production").as_deref(),
        Some(index_digest.as_str())
    );
    assert_eq!(registry.manifest(&repo, "production"), index);

    // A plain image by tag, then the immutable refusal, on the real registry.
    let locked = unique_repo("tag-locked");
    emulator.create_repository(&locked, "IMMUTABLE");
    for tag in ["v1", "v2"] {
        run(deployer(Path::new("/"))
            .env("AWS_ENDPOINT_URL", &stack.emulator)
            .args(["push", "--repo", &locked, "--tag", tag])
            .args(["--no-build", "--image", &stack.base_image]))
        .assert_code(0);
    }
    registry.put_manifest(
        &locked,
        "v2",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        &index,
    );
    let v1 = registry.digest(&locked, "v1").unwrap();
    tag_image(
        Some(&stack.emulator),
        &locked,
        &["--source-tag", "v1", "--target-tag", "stable"],
    )
    .assert_code(0);
    assert_eq!(registry.digest(&locked, "stable"), Some(v1.clone()));
    tag_image(
        Some(&stack.emulator),
        &locked,
        &["--source-tag", "v1", "--target-tag", "v2"],
    )
    .assert_code(2)
    .assert_stderr_contains("immutable repository");
    assert_ne!(registry.digest(&locked, "v2"), Some(v1));
}

#[test]
fn repo_create_policy_and_tag_leave_their_state_in_ecr() {
    let stack = stack();
    let moto = Api::moto(&stack);
    let repo = unique_repo("repo-cmds");
    let dir = tempfile::tempdir().unwrap();
    let deployer_repo = |args: &[&str]| run(deployer(dir.path()).arg("repo").args(args));

    let created = deployer_repo(&[
        "create",
        "--repo",
        &repo,
        "--repo-scan-on-push",
        "false",
        "--repo-tag-mutability",
        "IMMUTABLE",
        "--repo-tags",
        r#"[{"Key":"team","Value":"web"}]"#,
    ]);
    created.assert_code(0);
    let repository = moto.repository(&repo);
    assert_eq!(created.stdout.trim(), repository.repository_uri().unwrap());
    assert_eq!(
        repository.image_tag_mutability().unwrap().as_str(),
        "IMMUTABLE"
    );
    assert!(!repository
        .image_scanning_configuration()
        .unwrap()
        .scan_on_push());
    assert_eq!(moto.repository_tags(&repo)["team"], "web");

    // As in the orb, a repository that exists is left as it is; a different setting is named.
    deployer_repo(&["create", "--repo", &repo])
        .assert_code(0)
        .assert_stderr_contains("exists already (IMMUTABLE): left as it is")
        .assert_stderr_contains("not the MUTABLE asked for");
    assert_eq!(
        moto.repository(&repo)
            .image_tag_mutability()
            .unwrap()
            .as_str(),
        "IMMUTABLE"
    );

    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["ecr:BatchGetImage"]}]}"#;
    let lifecycle = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
    std::fs::write(dir.path().join("policy.json"), policy).unwrap();
    std::fs::write(dir.path().join("lifecycle.json"), lifecycle).unwrap();
    std::fs::write(dir.path().join("broken.json"), "{").unwrap();
    deployer_repo(&[
        "policy",
        "--repo",
        &repo,
        "--repo-policy-path",
        "broken.json",
    ])
    .assert_code(2)
    .assert_stderr_contains("not valid JSON");
    assert_eq!(moto.repository_policy(&repo), None);
    deployer_repo(&[
        "policy",
        "--repo",
        &repo,
        "--repo-policy-path",
        "policy.json",
        "--lifecycle-policy-path",
        "lifecycle.json",
    ])
    .assert_code(0)
    .assert_stderr_contains("applied repository policy policy.json");
    let applied: serde_json::Value =
        serde_json::from_str(&moto.repository_policy(&repo).unwrap()).unwrap();
    assert_eq!(applied["Statement"][0]["Sid"], "pull");
    let applied: serde_json::Value =
        serde_json::from_str(&moto.lifecycle_policy(&repo).unwrap()).unwrap();
    assert_eq!(applied["rules"][0]["rulePriority"], 1);

    deployer_repo(&[
        "tag",
        "--repo",
        &repo,
        "--repo-tags",
        "team=platform,cost-center=42",
    ])
    .assert_code(0);
    let tags = moto.repository_tags(&repo);
    assert_eq!(tags["team"], "platform");
    assert_eq!(tags["cost-center"], "42");

    // A repository that does not exist: exit 2, nothing created.
    let absent = unique_repo("absent");
    deployer_repo(&["tag", "--repo", &absent, "--repo-tags", "a=b"])
        .assert_code(2)
        .assert_stderr_contains("does not exist");
    deployer_repo(&[
        "policy",
        "--repo",
        &absent,
        "--repo-policy-path",
        "policy.json",
    ])
    .assert_code(2);
    assert!(!moto.repository_exists(&absent));
    deployer_repo(&["create", "--repo", &absent, "--dry-run"])
        .assert_code(0)
        .assert_stderr_contains("dry run: would create repository");
    assert!(!moto.repository_exists(&absent));
}

#[test]
fn push_no_build_sends_the_image_push_no_push_tagged() {
    let stack = stack();
    let registry = Registry::new(&stack);
    let moto = Api::moto(&stack);
    let repo = unique_repo("push-image");
    let local = |tag: &str| format!("{}/{repo}:{tag}", stack.registry);
    let docker = |args: &[&str]| {
        let output = Command::new("docker").args(args).output().unwrap();
        assert!(output.status.success(), "docker {args:?}");
    };
    let push = |tags: &str| {
        run(deployer(Path::new("/"))
            .args(["push", "--repo", &repo, "--create-repo", "--no-build"])
            .args(["--registry", &stack.registry, "--tag", tags]))
    };

    // Nothing tagged locally: refused before the repository is created.
    push("v1")
        .assert_code(2)
        .assert_stderr_contains("build it first");
    assert!(!moto.repository_exists(&repo));

    // What the orb's build_image (push_image: false) leaves, pushed as its push_image does.
    docker(&["tag", &stack.base_image, &local("v1")]);
    docker(&["tag", &stack.base_image, &local("latest")]);
    let pushed = push("v1,latest");
    pushed.assert_code(0);
    let digest = registry.digest(&repo, "v1").unwrap();
    assert_eq!(registry.digest(&repo, "latest"), Some(digest.clone()));
    assert!(pushed
        .stdout
        .starts_with(&format!("{}/{repo}@{digest}", stack.registry)));

    // Tags naming two different local images cannot be one push.
    let label = format!("LABEL deployer-test={repo}");
    let output = Command::new("bash")
        .args([
            "-c",
            "printf 'FROM %s\\n%s\\n' \"$1\" \"$2\" | docker build -q -t \"$3\" -",
            "bash",
        ])
        .args([
            stack.base_image.as_str(),
            label.as_str(),
            local("v2").as_str(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    push("v1,v2")
        .assert_code(2)
        .assert_stderr_contains("is another image than");
    for tag in ["v1", "latest", "v2"] {
        docker(&["rmi", &local(tag)]);
    }
}

#[test]
fn ecr_login_public_registry_writes_the_public_ecr_entry() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let login = |extra: &[&str]| {
        run(deployer(dir.path())
            .env("AWS_ENDPOINT_URL", &stack.emulator)
            .args(["ecr-login", "--public-registry", "--docker-config"])
            .arg(&config)
            .args(extra))
    };
    let result = login(&[]);
    result.assert_code(0);
    assert_eq!(result.stdout.trim(), "public.ecr.aws");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let auth = written["auths"]["public.ecr.aws"]["auth"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("{}:{}", stack.registry_user, stack.registry_password)
    );
    assert!(!result.stderr.contains(&stack.registry_password));

    // The credential helper answers public.ecr.aws with ECR Public's token.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-deployer");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_deployer"), &helper).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    run(deployer(dir.path())
        .env("PATH", &path)
        .env("AWS_ENDPOINT_URL", &stack.emulator)
        .args([
            "ecr-login",
            "--public-registry",
            "--credential-helper",
            "--docker-config",
        ])
        .arg(&config))
    .assert_code(0);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(written["credHelpers"]["public.ecr.aws"], "deployer");
    use std::io::Write;
    let mut child = Command::new(&helper)
        .arg("get")
        .env("AWS_ENDPOINT_URL", &stack.emulator)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"public.ecr.aws")
        .unwrap();
    let answer = child.wait_with_output().unwrap();
    assert!(answer.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&answer.stdout).unwrap();
    assert_eq!(answer["ServerURL"], "public.ecr.aws");
    assert_eq!(answer["Secret"], stack.registry_password.as_str());
}
