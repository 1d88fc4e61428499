//! Plan, then act: every check deployer can make runs before its first side effect, so exit 2
//! means nothing changed (no repository created, nothing pushed, nothing registered, the service
//! untouched), and a failure after a change exits 4 and says what was already done.
use std::path::Path;

use crate::support::{deployer, run, site_context, stack, unique_repo, Api, Registry, Stack};

const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

/// A family, cluster and service on moto running the seed with `image`.
struct Seeded {
    family: String,
    cluster: String,
    service: String,
    first: String,
}

impl Seeded {
    /// update-service of this service with `flags`, not waiting.
    fn update(&self, flags: &[&str]) -> crate::support::Run {
        run(deployer(Path::new("/"))
            .args([
                "update-service",
                "--family",
                &self.family,
                "--cluster",
                &self.cluster,
                "--service",
                &self.service,
                "--no-wait",
            ])
            .args(flags))
    }
}

fn seeded(ecs: &Api, image: &str) -> Seeded {
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = ecs.register_seed_with_image(&family, image);
    ecs.create_cluster_and_service(&cluster, &service, &first);
    Seeded {
        family,
        cluster,
        service,
        first,
    }
}

fn deploy(stack: &Stack, dir: &Path, repo: &str, seeded: &Seeded) -> std::process::Command {
    let mut command = deployer(dir);
    command
        .args([
            "deploy",
            "--repo",
            repo,
            "--tag",
            "v2",
            "--create-repo",
            "--registry",
            &stack.registry,
        ])
        .args([
            "--family",
            &seeded.family,
            "--cluster",
            &seeded.cluster,
            "--service",
            &seeded.service,
            "--no-wait",
        ]);
    command
}

/// Nothing of `repo` exists and the service still runs its first revision, alone.
fn assert_nothing_changed(stack: &Stack, ecs: &Api, repo: &str, seeded: &Seeded) {
    assert!(
        !ecs.repository_exists(repo),
        "repository {repo} was created"
    );
    assert_eq!(
        Registry::new(stack).digest(repo, "v2"),
        None,
        "an image was pushed"
    );
    assert_eq!(
        ecs.revisions(&seeded.family).len(),
        1,
        "a revision was registered"
    );
    assert_eq!(
        ecs.service_task_definition(&seeded.cluster, &seeded.service),
        seeded.first
    );
}

#[test]
fn deploy_to_a_container_the_task_definition_lacks_creates_builds_and_pushes_nothing() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("plan-container");
    let seeded = seeded(&ecs, &format!("{}/{repo}:v1", stack.registry));
    let context = site_context(&stack, "");
    let result = run(deploy(&stack, context.path(), &repo, &seeded).args(["--container", "typo"]));
    result
        .assert_code(2)
        .assert_stderr_contains("--container typo: the task definition has no such container (containers: tutorial-site-app)");
    assert!(!result.stderr.contains("building"), "{}", result.stderr);
    assert_nothing_changed(&stack, &ecs, &repo, &seeded);
}

#[test]
fn deploy_refuses_to_skip_the_registration_of_the_image_it_pushes() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("plan-skip");
    let seeded = seeded(&ecs, &format!("{}/{repo}:v1", stack.registry));
    let context = site_context(&stack, "");
    run(deploy(&stack, context.path(), &repo, &seeded).arg("--skip-task-definition-registration"))
        .assert_code(2)
        .assert_stderr_contains(
            "--skip-task-definition-registration would push the image and deploy the old revision",
        );
    assert_nothing_changed(&stack, &ecs, &repo, &seeded);
}

#[test]
fn deploy_dry_run_shows_the_whole_plan_and_changes_nothing() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("plan-dry");
    let seeded = seeded(&ecs, &format!("{}/{repo}:v1", stack.registry));
    let context = site_context(&stack, "");
    let result =
        run(deploy(&stack, context.path(), &repo, &seeded).args(["--dry-run", "--pin-digest"]));
    result
        .assert_code(0)
        .assert_stderr_contains(&format!("dry run: would create repository {repo}"))
        .assert_stderr_contains(&format!("then push {}/{repo}:v2", stack.registry))
        .assert_stderr_contains("--pin-digest would register")
        .assert_stderr_contains("dry run, nothing changed: would register a new revision");
    // stdout: the RegisterTaskDefinition input, with the image the push will give it.
    let input: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(
        input["containerDefinitions"][0]["image"],
        format!("{}/{repo}:v2", stack.registry)
    );
    assert!(!result.stderr.contains("building"), "{}", result.stderr);
    // The image this run pushes is not looked up: it is not there yet, by design.
    assert!(!result.stderr.contains("not checked"), "{}", result.stderr);
    assert_nothing_changed(&stack, &ecs, &repo, &seeded);
}

type CreateService = aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder;

/// update-service of a service `shape` creates on `endpoint`: what deployer said, and that it
/// registered nothing.
fn update_a_service_shaped(
    endpoint: &str,
    shape: impl FnOnce(CreateService) -> CreateService,
) -> crate::support::Run {
    let ecs = Api::at(endpoint);
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let first = ecs.register_seed(&family);
    ecs.block_on(ecs.ecs.create_cluster().cluster_name(&cluster).send())
        .unwrap();
    let create = ecs
        .ecs
        .create_service()
        .cluster(&cluster)
        .service_name("tutorial-site-service")
        .task_definition(&first)
        .desired_count(0);
    ecs.block_on(shape(create).send()).unwrap();
    let result = run(deployer(Path::new("/"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .args([
            "update-service",
            "--family",
            &family,
            "--cluster",
            &cluster,
            "--service",
            "tutorial-site-service",
            "--container-image-name-updates",
            "container=tutorial-site-app,tag=v2",
            "--no-wait",
        ]));
    assert_eq!(ecs.revisions(&family).len(), 1, "nothing registered");
    result
}

#[test]
fn a_code_deploy_service_without_its_codedeploy_flags_is_refused_before_anything_is_registered() {
    let stack = stack();
    let result = update_a_service_shaped(&stack.moto, |create| {
        create.deployment_controller(
            aws_sdk_ecs::types::DeploymentController::builder()
                .r#type(aws_sdk_ecs::types::DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
    });
    result
        .assert_code(2)
        .assert_stderr_contains("service tutorial-site-service uses the CODE_DEPLOY deployment controller: deploying it needs --codedeploy-application and --codedeploy-deployment-group")
        .assert_stderr_contains("the orb's codedeploy_application_name");
}

#[test]
fn a_tag_missing_from_ecr_is_refused_before_registration_and_one_that_exists_goes_through() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("plan-ecr");
    ecs.create_repository(&repo, "MUTABLE");
    ecs.put_manifest(&repo, "v2");
    let seeded = seeded(&ecs, &format!("{ECR}/{repo}:v1"));
    let update = |tag: &str| {
        seeded.update(&[
            "--container-image-name-updates",
            &format!("container=tutorial-site-app,tag={tag}"),
        ])
    };
    let typo = update("v2-typo");
    typo.assert_code(2).assert_stderr_contains(&format!(
        "container tutorial-site-app: image {ECR}/{repo}:v2-typo does not exist: repository {repo} in registry 123456789012 (eu-west-1) has no tag v2-typo"
    ));
    assert_eq!(ecs.revisions(&seeded.family).len(), 1, "nothing registered");
    assert_eq!(
        ecs.service_task_definition(&seeded.cluster, &seeded.service),
        seeded.first
    );

    let good = update("v2");
    good.assert_code(0).assert_stderr_contains(&format!(
        "tutorial-site-app: {ECR}/{repo}:v2 is in ECR (sha256:"
    ));
    assert_eq!(ecs.revisions(&seeded.family).len(), 2);

    // An image outside ECR is not checked, and the log says so.
    let elsewhere = seeded.update(&[
        "--container-image-name-updates",
        "container=tutorial-site-app,image-and-tag=ghcr.io/deployer-dev/site:v3",
    ]);
    elsewhere.assert_code(0).assert_stderr_contains(
        "ghcr.io/deployer-dev/site:v3 is not in a private ECR registry; not checked",
    );
}

#[test]
fn names_that_do_not_exist_are_bad_input_and_change_nothing() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("plan-names");
    let seeded = seeded(&ecs, &format!("{}/{repo}:v1", stack.registry));
    let update = |cluster: &str, service: &str, family: &str| {
        run(deployer(Path::new("/")).args([
            "update-service",
            "--family",
            family,
            "--cluster",
            cluster,
            "--service",
            service,
            "--no-wait",
        ]))
    };
    update("no-such-cluster", &seeded.service, &seeded.family)
        .assert_code(2)
        .assert_stderr_contains("cluster no-such-cluster does not exist");
    update(&seeded.cluster, "no-such-service", &seeded.family)
        .assert_code(2)
        .assert_stderr_contains("service no-such-service does not exist");
    update(&seeded.cluster, &seeded.service, "no-such-family")
        .assert_code(2)
        .assert_stderr_contains("task definition no-such-family does not exist");
    // A repository that does not exist: push.rs's a_missing_repository_is_an_error_and_nothing_is_created.
    assert_nothing_changed(&stack, &ecs, &repo, &seeded);
}

#[test]
fn an_unreachable_endpoint_is_named_in_words_without_sdk_dumps() {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let result = run(deployer(Path::new("/"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args([
            "update-service",
            "--family",
            "tutorial-site-task",
            "--cluster",
            "tutorial-site-cluster",
            "--no-wait",
        ]));
    result
        .assert_code(3)
        .assert_stderr_contains("AWS could not be reached: ecs:DescribeServices failed")
        .assert_stderr_contains("Connection refused");
    for dump in ["DispatchFailure(", "ConnectorError", "Some(", "source:"] {
        assert!(
            !result.stderr.contains(dump),
            "{dump} in\n{}",
            result.stderr
        );
    }
    assert!(
        result.stderr.lines().count() <= 4,
        "one cause, stated once:\n{}",
        result.stderr
    );
}

#[test]
fn a_revision_ecs_would_refuse_is_not_registered() {
    let stack = stack();
    let ecs = Api::moto(&stack);
    let repo = unique_repo("plan-refused");
    let seeded = seeded(&ecs, &format!("{}/{repo}:v1", stack.registry));
    // One name as both an environment variable and a secret: ECS refuses the registration.
    let result = seeded.update(&[
        "--container-env-var-updates",
        "container=tutorial-site-app,name=DB_PASSWORD,value=from-env",
        "--container-secret-updates",
        "container=tutorial-site-app,name=DB_PASSWORD,valueFrom=arn:aws:secretsmanager:eu-west-1:123456789012:secret:tutorial-site-db",
    ]);
    result
        .assert_code(2)
        .assert_stderr_contains("the new revision would be refused by ECS")
        .assert_stderr_contains("DB_PASSWORD");
    assert!(!result.stderr.contains("from-env"), "{}", result.stderr);
    assert_eq!(ecs.revisions(&seeded.family).len(), 1, "nothing registered");
}
