//! The push, login, repository and image steps.
use super::{run, seed_push};
use crate::error::ErrorKind;
use crate::orb::display::display;
use crate::orb::steps::Step;

#[test]
fn the_seeds_push_becomes_deployer_flags() {
    let args = run(Step::Push, &seed_push()).unwrap();
    assert_eq!(
        args,
        [
            "push",
            "--region",
            "eu-west-1",
            "--registry-id",
            "123456789012",
            "--repo",
            "tutorial-site-registry",
            "--tag",
            "latest,0a1b2c3",
            "--repo-scan-on-push=true",
            "--repo-encryption-type",
            "AES256",
            "--repo-tag-mutability",
            "MUTABLE",
            "--build-path",
            ".",
            "--path",
            ".",
            "--dockerfile",
            "Dockerfile",
            "--platform",
            "linux/amd64",
            "--export-env",
            "/tmp/.bash_env-1"
        ]
    );
}

#[test]
fn repository_options_and_build_flags() {
    let mut vars = seed_push();
    vars.extend([
        ("PARAM_CREATE_REPO", "true"),
        ("PARAM_REPO_SCAN_ON_PUSH", "false"),
        (
            "PARAM_REPO_IMAGE_TAG_MUTABILITY",
            "IMMUTABLE_WITH_EXCLUSION",
        ),
        ("PARAM_REPO_IMAGE_TAG_EXCLUSION_FILTERS", "latest, dev-*"),
        ("PARAM_SET_REPO_POLICY", "true"),
        ("PARAM_REPO_POLICY_PATH", "policy.json"),
        (
            "PARAM_EXTRA_BUILD_ARGS",
            "--build-arg VERSION=${CIRCLE_SHA1} --no-cache",
        ),
        ("PARAM_PROFILE_NAME", "ci"),
    ]);
    let args = run(Step::Push, &vars).unwrap().join(" ");
    for expected in [
        "--profile ci",
        "--create-repo",
        "--repo-scan-on-push=false",
        "--repo-tag-mutability-exclusion latest --repo-tag-mutability-exclusion dev-*",
        "--repo-policy-path policy.json",
        "--build-arg VERSION=0a1b2c3 --no-cache",
    ] {
        assert!(args.contains(expected), "{expected:?} missing from {args}");
    }
}

#[test]
fn aws_domain_names_the_registry_as_the_orb_does() {
    let mut vars = seed_push();
    vars.push(("PARAM_AWS_DOMAIN", "amazonaws.com.cn"));
    vars.push(("AWS_DEFAULT_REGION", "cn-north-1"));
    let args = run(Step::Push, &vars).unwrap().join(" ");
    assert!(
        args.contains("--registry 123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
        "{args}"
    );
}

#[test]
fn public_alias_only_with_public_registry() {
    let mut vars = seed_push();
    vars.push(("AWS_ECR_PUBLIC_REGISTRY_ALIAS", "tutorial"));
    let args = run(Step::Push, &vars).unwrap();
    assert!(!args.contains(&"--public-registry-alias".to_string()));
    vars.push(("PARAM_PUBLIC_REGISTRY", "true"));
    let args = run(Step::Push, &vars).unwrap().join(" ");
    assert!(
        args.contains("--public-registry --public-registry-alias tutorial"),
        "{args}"
    );
}

#[test]
fn the_printed_command_hides_values_that_may_be_secret() {
    let args: Vec<String> = [
        "push",
        "--repo",
        "tutorial-site-registry",
        "--build-arg",
        "NPM_TOKEN=s3cr3t",
        "--container-env-var-updates",
        "container=app,name=DB_PASSWORD,value=hunter2",
        "--label",
        "title=a b",
    ]
    .map(String::from)
    .to_vec();
    let shown = display(&args);
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(shown.contains("--build-arg NPM_TOKEN=…"), "{shown}");
    assert!(shown.contains("--label 'title=a b'"), "{shown}");
    // Issue 20: run-task's overrides and --env, after the step expanded "$DB_PASSWORD".
    let args: Vec<String> = [
            "run-task",
            "--overrides",
            r#"{"containerOverrides":[{"name":"migrate","command":["./migrate"],"environment":[{"name":"DB_PASSWORD","value":"hunter2"}]}]}"#,
            "--env",
            "API_KEY=s3cr3t",
            "--overrides",
            "not json hunter2",
        ]
        .map(String::from)
        .to_vec();
    let shown = display(&args);
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(
        shown.contains(r#""environment":[{"name":"DB_PASSWORD","value":"<set>"}]"#)
            && shown.contains(r#""command":["./migrate"]"#)
            && shown.contains("--env API_KEY=…"),
        "{shown}"
    );
}

#[test]
fn the_aws_ecr_orbs_repository_commands_become_repo_subcommands() {
    let create = [
        ("PARAM_REPO", "tutorial-site-registry"),
        ("PARAM_PROFILE_NAME", "default"),
        ("PARAM_REPO_SCAN_ON_PUSH", "1"),
        ("PARAM_PUBLIC_REGISTRY", "0"),
        ("PARAM_REPO_ENCRYPTION_TYPE", "KMS"),
        ("PARAM_ENCRYPTION_KMS_KEY", "alias/ecr"),
        ("PARAM_IMAGE_TAG_MUTABILITY", "IMMUTABLE_WITH_EXCLUSION"),
        ("PARAM_IMAGE_TAG_EXCLUSION_FILTERS", "latest,dev-*"),
        ("PARAM_REPO_TAG", r#"[{"Key":"team","Value":"web"}]"#),
    ];
    assert_eq!(
        run(Step::CreateRepo, &create).unwrap(),
        [
            "repo",
            "create",
            "--repo",
            "tutorial-site-registry",
            "--repo-scan-on-push=true",
            "--repo-encryption-type",
            "KMS",
            "--repo-kms-key",
            "alias/ecr",
            "--repo-tag-mutability",
            "IMMUTABLE_WITH_EXCLUSION",
            "--repo-tag-mutability-exclusion",
            "latest",
            "--repo-tag-mutability-exclusion",
            "dev-*",
            "--repo-tags",
            r#"[{"Key":"team","Value":"web"}]"#
        ]
    );
    let policy = [
        ("PARAM_REPO", "tutorial-site-registry"),
        ("PARAM_REPO_POLICY_PATH", "policy.json"),
    ];
    assert_eq!(
        run(Step::SetRepoPolicy, &policy).unwrap(),
        [
            "repo",
            "policy",
            "--repo",
            "tutorial-site-registry",
            "--repo-policy-path",
            "policy.json"
        ]
    );
    let error = run(Step::SetRepoPolicy, &policy[..1]).unwrap_err();
    assert!(
        error.message.contains("repo_policy_path is empty"),
        "{}",
        error.message
    );
    let tag = [
        ("PARAM_ACCOUNT_ID", "${AWS_ACCOUNT_ID}"),
        ("AWS_ACCOUNT_ID", "123456789012"),
        ("PARAM_REPO", "tutorial-site-registry"),
        ("PARAM_TAG", r#"[{"Key":"team","Value":"web"}]"#),
    ];
    assert_eq!(
        run(Step::TagRepo, &tag).unwrap(),
        [
            "repo",
            "tag",
            "--registry-id",
            "123456789012",
            "--repo",
            "tutorial-site-registry",
            "--repo-tags",
            r#"[{"Key":"team","Value":"web"}]"#
        ]
    );
}

#[test]
fn ecr_public_repositories_leave_private_settings_at_their_default_out() {
    let public = [
        ("PARAM_REPO", "tutorial-site"),
        ("PARAM_PUBLIC_REGISTRY", "1"),
        ("PARAM_REPO_SCAN_ON_PUSH", "1"),
        ("PARAM_REPO_ENCRYPTION_TYPE", "AES256"),
        ("PARAM_IMAGE_TAG_MUTABILITY", "MUTABLE"),
    ];
    assert_eq!(
        run(Step::CreateRepo, &public).unwrap(),
        [
            "repo",
            "create",
            "--repo",
            "tutorial-site",
            "--public-registry"
        ]
    );
    let mut immutable = public.to_vec();
    immutable.push(("PARAM_IMAGE_TAG_MUTABILITY", "IMMUTABLE"));
    let error = run(Step::CreateRepo, &immutable).unwrap_err();
    assert!(
        error.message.contains("image_tag_mutability") && error.message.contains("ECR Public"),
        "{}",
        error.message
    );
    let mut push = seed_push();
    push.push(("PARAM_PUBLIC_REGISTRY", "1"));
    let args = run(Step::Push, &push).unwrap().join(" ");
    assert!(
        !args.contains("--repo-encryption-type") && !args.contains("--repo-scan-on-push"),
        "{args}"
    );
}

#[test]
fn tag_image_takes_the_put_image_extra_args_that_mean_something() {
    let vars = [
        ("PARAM_ACCOUNT_ID", ""),
        ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("PARAM_REPO", "tutorial-site-registry"),
        ("PARAM_SOURCE_TAG", "${CIRCLE_SHA1}"),
        ("CIRCLE_SHA1", "0a1b2c3"),
        ("PARAM_TARGET_TAG", "production,stable"),
        ("PARAM_SKIP_WHEN_TAGS_EXIST", "1"),
        (
            "PARAM_EXTRA_ARGS",
            "--region=eu-central-1 --registry-id=210987654321 --no-cli-pager",
        ),
    ];
    assert_eq!(
        run(Step::TagImage, &vars).unwrap(),
        [
            "tag-image",
            "--region",
            "eu-central-1",
            "--repo",
            "tutorial-site-registry",
            "--source-tag",
            "0a1b2c3",
            "--target-tag",
            "production,stable",
            "--skip-when-tags-exist",
            "--registry-id",
            "210987654321"
        ]
    );
    let mut twice = vars.to_vec();
    twice.push(("PARAM_ACCOUNT_ID", "123456789012"));
    let error = run(Step::TagImage, &twice).unwrap_err();
    assert!(error.message.contains("give it once"), "{}", error.message);
    let mut no_source = vars.to_vec();
    no_source.push(("PARAM_SOURCE_TAG", ""));
    let error = run(Step::TagImage, &no_source).unwrap_err();
    assert!(
        error.message.contains("source_tag is empty"),
        "{}",
        error.message
    );
}

#[test]
fn build_image_and_push_image_split_the_push() {
    let build = [
        ("PARAM_ACCOUNT_ID", "123456789012"),
        ("PARAM_REPO", "tutorial-site-registry"),
        ("PARAM_TAG", "latest,v2"),
        ("PARAM_PLATFORM", "linux/amd64,linux/arm64"),
        ("PARAM_PUSH_IMAGE", "0"),
        (
            "PARAM_EXTRA_BUILD_ARGS",
            "--progress plain --add-host db:10.0.0.5",
        ),
        ("PARAM_BINFMT_VERSION", "qemu-v7.0.0-28"),
    ];
    assert_eq!(
        run(Step::BuildImage, &build).unwrap(),
        [
            "push",
            "--registry-id",
            "123456789012",
            "--repo",
            "tutorial-site-registry",
            "--tag",
            "latest,v2",
            "--add-host",
            "db:10.0.0.5",
            "--platform",
            "linux/amd64,linux/arm64",
            "--no-push"
        ]
    );
    assert_eq!(
        run(Step::PushImage, &build[..3]).unwrap(),
        [
            "push",
            "--no-build",
            "--registry-id",
            "123456789012",
            "--repo",
            "tutorial-site-registry",
            "--tag",
            "latest,v2"
        ]
    );
}

#[test]
fn account_url_names_the_registry_host_read_through() {
    let mut vars = seed_push();
    vars.retain(|(k, _)| !matches!(*k, "PARAM_REGION" | "PARAM_ACCOUNT_ID"));
    vars.extend([
        ("PARAM_ACCOUNT_URL", "AWS_ECR_ACCOUNT_URL"),
        (
            "AWS_ECR_ACCOUNT_URL",
            "https://210987654321.dkr.ecr.us-west-2.amazonaws.com",
        ),
    ]);
    let args = run(Step::Push, &vars).unwrap().join(" ");
    assert!(
        args.starts_with("push --region us-west-2 --registry-id 210987654321 --repo"),
        "{args}"
    );
    assert!(!args.contains("--registry "), "{args}");

    // 0.0.x: the host itself; another registry is --registry.
    vars.retain(|(k, _)| *k != "PARAM_ACCOUNT_URL");
    vars.push(("PARAM_ACCOUNT_URL", "127.0.0.1:5000"));
    let args = run(Step::Push, &vars).unwrap().join(" ");
    assert!(args.contains("--registry 127.0.0.1:5000"), "{args}");

    // An unset variable: ECR's own registry, as if account_url were not given.
    vars.retain(|(k, _)| *k != "PARAM_ACCOUNT_URL");
    vars.push(("PARAM_ACCOUNT_URL", "UNSET_ACCOUNT_URL"));
    let args = run(Step::Push, &vars).unwrap().join(" ");
    assert!(!args.contains("--registry"), "{args}");

    // Disagreeing with region or account_id is refused, naming account_url.
    vars.retain(|(k, _)| *k != "PARAM_ACCOUNT_URL");
    vars.extend([
        ("PARAM_ACCOUNT_URL", "AWS_ECR_ACCOUNT_URL"),
        ("PARAM_REGION", "eu-west-1"),
    ]);
    let error = run(Step::Push, &vars).unwrap_err();
    assert_eq!(error.kind, ErrorKind::Usage);
    assert!(
        error.to_string().contains("registry in us-west-2"),
        "{error}"
    );
    vars.retain(|(k, _)| *k != "PARAM_REGION");
    vars.push(("PARAM_ACCOUNT_ID", "123456789012"));
    let error = run(Step::Push, &vars).unwrap_err();
    assert!(error.to_string().contains("give one of them"), "{error}");
}

#[test]
fn an_empty_build_path_is_the_path_as_before_aws_ecr_8_2() {
    let mut vars = seed_push();
    vars.retain(|(k, _)| !matches!(*k, "PARAM_BUILD_PATH" | "PARAM_PATH"));
    vars.extend([("PARAM_BUILD_PATH", ""), ("PARAM_PATH", "app")]);
    let args = run(Step::Push, &vars).unwrap().join(" ");
    assert!(args.contains("--build-path app --path app"), "{args}");
}

#[test]
fn an_unset_variable_name_is_no_region() {
    let mut vars = seed_push();
    vars.retain(|(k, _)| *k != "PARAM_REGION");
    vars.push(("PARAM_REGION", "AWS_REGION"));
    let args = run(Step::Push, &vars).unwrap().join(" ");
    assert!(!args.contains("--region"), "{args}");
}
