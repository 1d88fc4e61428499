//! `deployer deploy` (push + update-service in one run) and `deployer rollback`, against the
//! registry and moto. moto never rolls services, so the waits are off here.
use crate::support::{deployer, run, site_context, stack, unique_repo, Api, Registry};

#[test]
fn deploy_pushes_then_registers_the_pushed_image_pinned_by_digest() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("deploy");
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = ecs.register_seed_with_image(&family, &format!("{}/{repo}:latest", stack.registry));
    ecs.create_cluster_and_service(&cluster, &service, &first);
    let context = site_context(&stack, "");

    let result = run(deployer(context.path())
        .args([
            "deploy",
            "--repo",
            &repo,
            "--tag",
            "v2",
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
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
    let digest = Registry::new(&stack).digest(&repo, "v2").expect("pushed");
    let lines: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(lines[0], format!("{}/{repo}@{digest}", stack.registry));
    let (definition, _) = ecs.describe(lines[1]);
    assert_eq!(
        definition.container_definitions()[0].image(),
        Some(format!("{}/{repo}@{digest}", stack.registry).as_str())
    );
    assert!(ecs
        .service_task_definition(&cluster, &service)
        .ends_with(&format!("{family}:2")));
}

#[test]
fn deploy_checks_the_service_before_building() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("deploy-missing");
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let first = ecs.register_seed(&family);
    ecs.create_cluster_and_service(&cluster, "other-service", &first);
    let context = site_context(&stack, "");
    let result = run(deployer(context.path())
        .args([
            "deploy",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
        .args([
            "--family",
            &family,
            "--cluster",
            &cluster,
            "--service",
            "tutorial-site-service",
            "--no-wait",
        ]));
    result
        .assert_code(2)
        .assert_stderr_contains("service tutorial-site-service does not exist");
    assert!(
        !Api::moto(&stack).repository_exists(&repo),
        "nothing created"
    );
    assert!(!result.stderr.contains("building"), "{}", result.stderr);
    assert_eq!(Registry::new(&stack).digest(&repo, "latest"), None);
}

/// Issue 22: `deploy --smoke-test` on a rolling service (moto's default) is refused in the plan,
/// before the repository is created or anything is built or pushed.
#[test]
fn deploy_refuses_a_smoke_test_on_a_rolling_service_before_building() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("deploy-smoke");
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let first = ecs.register_seed(&family);
    ecs.create_cluster_and_service(&cluster, "tutorial-site-service", &first);
    let context = site_context(&stack, "");
    let result = run(deployer(context.path())
        .args([
            "deploy",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
        .args([
            "--family",
            &family,
            "--cluster",
            &cluster,
            "--service",
            "tutorial-site-service",
            "--smoke-test",
            "curl -fsS \"$DEPLOYER_TEST_URL\"",
        ]));
    result
        .assert_code(2)
        .assert_stderr_contains("deploys ROLLING, which has no test traffic");
    assert!(
        !Api::moto(&stack).repository_exists(&repo),
        "nothing created"
    );
    assert!(!result.stderr.contains("building"), "{}", result.stderr);
    assert_eq!(ecs.revisions(&family).len(), 1, "nothing registered");
}

#[test]
fn rollback_to_a_named_revision_and_a_clear_error_without_history() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = ecs.register_seed(&family);
    ecs.create_cluster_and_service(&cluster, &service, &first);
    run(deployer(std::path::Path::new("/"))
        .args([
            "update-service",
            "--family",
            &family,
            "--cluster",
            &cluster,
            "--service",
            &service,
        ])
        .args([
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
            "--no-wait",
        ]))
    .assert_code(0);

    // moto keeps no deployment history: deployer says so instead of guessing revision - 1.
    let guess = run(deployer(std::path::Path::new("/")).args([
        "rollback",
        "--cluster",
        &cluster,
        "--service",
        &service,
        "--no-wait",
    ]));
    guess
        .assert_code(3)
        .assert_stderr_contains("cannot tell which revision")
        .assert_stderr_contains("--to-revision");

    let result = run(deployer(std::path::Path::new("/")).args([
        "rollback",
        "--cluster",
        &cluster,
        "--service",
        &service,
        "--to-revision",
        "1",
        "--no-wait",
    ]));
    result.assert_code(0).assert_stderr_contains("rolling");
    assert_eq!(result.stdout.trim(), first);
    assert!(ecs
        .service_task_definition(&cluster, &service)
        .ends_with(&format!("{family}:1")));
    assert_eq!(
        ecs.revisions(&family).len(),
        2,
        "a rollback registers nothing"
    );
}
