//! ECS Express Mode services on the emulator: update-service and deploy change the primary
//! container's image through UpdateExpressGatewayService (ECS registers the revision), wait for
//! the deployment it starts, fail when ECS rolls it back, and refuse what Express Mode manages
//! with nothing changed. moto has no Express Mode calls: these run on the emulator only.
use std::process::Command;

use serde_json::Value;

use crate::emulator::{faulty_emulator, on, push_broken, push_site};
use crate::support::{run, stack, unique_repo, Api, Run};

/// An Express service of one task running `image` (port 3000, as the tutorial site serves),
/// steady before the test goes on.
struct Express {
    api: Api,
    endpoint: String,
    cluster: String,
    service: String,
    arn: String,
}

impl Express {
    fn start(endpoint: &str, image: &str) -> Express {
        let api = Api::at(endpoint);
        let cluster = unique_repo("tutorial-site-cluster");
        let service = unique_repo("tutorial-site-service");
        api.block_on(api.ecs.create_cluster().cluster_name(&cluster).send())
            .unwrap();
        let created = api
            .block_on(
                api.ecs
                    .create_express_gateway_service()
                    .cluster(&cluster)
                    .service_name(&service)
                    .execution_role_arn("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
                    .infrastructure_role_arn(
                        "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices",
                    )
                    .primary_container(
                        aws_sdk_ecs::types::ExpressGatewayContainer::builder()
                            .image(image)
                            .container_port(3000)
                            .environment(
                                aws_sdk_ecs::types::KeyValuePair::builder()
                                    .name("NODE_ENV")
                                    .value("production")
                                    .build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .send(),
            )
            .unwrap();
        let arn = created
            .service()
            .unwrap()
            .service_arn()
            .unwrap()
            .to_string();
        let express = Express {
            api,
            endpoint: endpoint.to_string(),
            cluster,
            service,
            arn,
        };
        express.wait(&[]).assert_code(0);
        express
    }

    fn deployer(&self, verb: &str) -> Command {
        let mut command = on(&self.endpoint);
        command.args([verb, "--cluster", &self.cluster, "--service", &self.service]);
        command
    }

    fn update(&self, flags: &[&str]) -> Run {
        run(self
            .deployer("update-service")
            .args(["--family", &self.service])
            .args(if flags.contains(&"--no-wait") {
                &[][..]
            } else {
                &["--poll-interval", "500ms", "--timeout", "60s"][..]
            })
            .args(flags))
    }

    fn wait(&self, flags: &[&str]) -> Run {
        run(self
            .deployer("wait")
            .args(["--poll-interval", "500ms", "--timeout", "60s"])
            .args(flags))
    }

    /// DescribeExpressGatewayService's primary container images, one per active configuration.
    fn active_images(&self) -> Vec<String> {
        let answer = self
            .api
            .block_on(
                self.api
                    .ecs
                    .describe_express_gateway_service()
                    .service_arn(&self.arn)
                    .send(),
            )
            .unwrap();
        answer
            .service()
            .unwrap()
            .active_configurations()
            .iter()
            .map(|c| c.primary_container().unwrap().image().to_string())
            .collect()
    }

    fn running(&self) -> (String, String) {
        let arn = self
            .api
            .service_task_definition(&self.cluster, &self.service);
        let (definition, _) = self.api.describe(&arn);
        let image = definition.container_definitions()[0]
            .image()
            .unwrap()
            .to_string();
        (arn, image)
    }

    fn revisions(&self) -> usize {
        self.api.revisions(&self.service).len()
    }
}

#[test]
fn update_service_changes_the_primary_image_and_ecs_registers_the_revision() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let v2 = push_site(&stack.emulator, &repo, "v2", "2", None);
    let express = Express::start(&stack.emulator, &v1);
    let (before, _) = express.running();
    assert!(
        before.ends_with(&format!("{}:1", express.service)),
        "{before}"
    );

    // --dry-run: the call it would make, nothing changed.
    let planned = express.update(&[
        "--container-image-name-updates",
        &format!("container=Main,image-and-tag={v2}"),
        "--dry-run",
        "--output",
        "json",
    ]);
    planned
        .assert_code(0)
        .assert_stderr_contains("would call UpdateExpressGatewayService")
        .assert_stderr_contains(&format!("{v1} -> {v2}"));
    let shown: Value = serde_json::from_str(&planned.stdout).unwrap();
    assert_eq!(shown["express_update"]["serviceArn"], express.arn.as_str());
    assert_eq!(
        shown["express_update"]["primaryContainer"]["image"],
        v2.as_str()
    );
    assert_eq!(
        shown["express_update"]["primaryContainer"]["environment"][0]["name"], "NODE_ENV",
        "the whole primary container is sent"
    );
    assert_eq!(
        shown["express_update"]["primaryContainer"]["environment"][0]["value"], "<set>",
        "environment values are not shown"
    );
    assert!(!planned.stdout.contains("production") && !planned.stderr.contains("production"));
    assert_eq!(express.revisions(), 1, "a dry run registers nothing");

    let result = express.update(&[
        "--container-image-name-updates",
        &format!("container=Main,image-and-tag={v2}"),
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains("ECS registered")
        .assert_stderr_contains("is completed");
    let (after, image) = express.running();
    assert_eq!(result.stdout.trim(), after);
    assert!(
        after.ends_with(&format!("{}:2", express.service)),
        "{after}"
    );
    assert_eq!(image, v2);
    assert_eq!(express.active_images(), std::slice::from_ref(&v2));
    assert_eq!(
        express.revisions(),
        2,
        "ECS registered one revision, deployer none"
    );
}

#[test]
fn a_broken_image_is_rolled_back_by_ecs_and_fails() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let broken = push_broken(&stack, &stack.emulator, &repo);
    let express = Express::start(&stack.emulator, &v1);
    let (before, _) = express.running();

    express
        .update(&[
            "--container-image-name-updates",
            &format!("container=Main,image-and-tag={broken}"),
        ])
        .assert_code(1)
        .assert_stderr_contains("exited 3");
    let (after, image) = express.running();
    assert_eq!(after, before, "ECS put the service back on its revision");
    assert_eq!(image, v1);
}

#[test]
fn what_express_mode_manages_is_refused_with_nothing_changed() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let express = Express::start(&stack.emulator, &v1);
    let (before, _) = express.running();
    let v2_update = format!("container=Main,image-and-tag={v1}-v2");

    for (flags, expected) in [
        (
            vec![
                "--container-image-name-updates",
                &v2_update,
                "--desired-count",
                "3",
            ],
            "--desired-count",
        ),
        (
            vec![
                "--container-image-name-updates",
                &v2_update,
                "--force-new-deployment",
            ],
            "--force-new-deployment",
        ),
        (
            vec!["--skip-task-definition-registration"],
            "--skip-task-definition-registration",
        ),
        (
            vec!["--container-image-name-updates", "container=sidecar,tag=v2"],
            "container sidecar is not the Express service's primary container (Main)",
        ),
        (
            vec![
                "--container-env-var-updates",
                "container=Main,name=A,value=b",
            ],
            "changes only the image",
        ),
        (vec![], "nothing to deploy"),
    ] {
        let refused = express.update(&flags);
        refused.assert_code(2).assert_stderr_contains(expected);
        assert!(refused.stdout.is_empty(), "{flags:?}: {}", refused.stdout);
    }
    assert_eq!(express.running().0, before);
    assert_eq!(express.revisions(), 1, "no revision was registered");
    assert_eq!(express.active_images(), [v1]);
}

#[test]
fn without_permission_for_update_express_gateway_service_the_error_names_the_action() {
    let stack = stack();
    let emulator = faulty_emulator(&[
        "--deny-operation".into(),
        "UpdateExpressGatewayService".into(),
    ]);
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
    let v2 = push_site(&emulator.endpoint, &repo, "v2", "2", None);
    let express = Express::start(&emulator.endpoint, &v1);
    let (before, _) = express.running();

    express
        .update(&[
            "--container-image-name-updates",
            &format!("container=Main,image-and-tag={v2}"),
        ])
        .assert_code(3)
        .assert_stderr_contains("ecs:UpdateExpressGatewayService")
        .assert_stderr_contains("the service was not updated");
    assert_eq!(express.running().0, before);
    assert_eq!(express.revisions(), 1);
    drop(stack);
}

#[test]
fn wait_diff_and_rollback_follow_an_express_service_and_run_task_refuses_its_family() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let v2 = push_site(&stack.emulator, &repo, "v2", "2", None);
    let express = Express::start(&stack.emulator, &v1);

    let started = express.update(&[
        "--container-image-name-updates",
        &format!("container=Main,image-and-tag={v2}"),
        "--no-wait",
    ]);
    started.assert_code(0);
    let v2_arn = started.stdout.trim().to_string();
    assert!(
        v2_arn.ends_with(&format!("{}:2", express.service)),
        "{v2_arn}"
    );
    let waited = express.wait(&[]);
    waited.assert_code(0);
    assert_eq!(waited.stdout.trim(), v2_arn);
    assert_eq!(express.running().1, v2);

    // diff: the image change ECS would register, exit 1; nothing changes.
    let diff = run(express
        .deployer("diff")
        .args(["--family", &express.service])
        .args([
            "--container-image-name-updates",
            &format!("container=Main,image-and-tag={v1}"),
        ]));
    diff.assert_code(1);
    assert!(
        diff.stdout
            .lines()
            .any(|l| l.starts_with('-') && l.contains(&v2)),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .lines()
            .any(|l| l.starts_with('+') && l.contains(&v1)),
        "{}",
        diff.stdout
    );
    assert_eq!(express.revisions(), 2);

    // rollback: v1's image back through UpdateExpressGatewayService (ECS registers :3).
    let rolled =
        run(express
            .deployer("rollback")
            .args(["--poll-interval", "500ms", "--timeout", "60s"]));
    rolled.assert_code(0);
    let (after, image) = express.running();
    assert_eq!(image, v1);
    assert!(
        after.ends_with(&format!("{}:3", express.service)),
        "{after}"
    );
    assert_eq!(rolled.stdout.trim(), after);
    assert_eq!(express.active_images(), std::slice::from_ref(&v1));

    // run-task: the family is Express Mode's.
    let refused = run(on(&express.endpoint).args([
        "run-task",
        "--cluster",
        &express.cluster,
        "--task-definition",
        &express.service,
        "--subnets",
        "subnet-12345678",
    ]));
    refused
        .assert_code(2)
        .assert_stderr_contains("is the one ECS Express Mode manages for service");
    let tasks = express
        .api
        .block_on(
            express
                .api
                .ecs
                .list_tasks()
                .cluster(&express.cluster)
                .send(),
        )
        .unwrap();
    assert_eq!(tasks.task_arns().len(), 1, "only the service's task runs");
}

#[test]
fn deploy_pushes_and_updates_the_primary_container_of_an_express_service() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let express = Express::start(&stack.emulator, &v1);
    let site = crate::emulator::tutorial_site();

    let deployed = run(express
        .deployer("deploy")
        .args(["--family", &express.service, "--container", "Main"])
        .args(["--repo", &repo, "--tag", "v2", "--build-arg", "VERSION=2"])
        .arg("--build-path")
        .arg(&site)
        .arg("--path")
        .arg(&site)
        .args(["--poll-interval", "500ms", "--timeout", "60s"]));
    deployed
        .assert_code(0)
        .assert_stderr_contains("UpdateExpressGatewayService");
    let (after, image) = express.running();
    assert!(image.ends_with(&format!("{repo}:v2")), "{image}");
    assert_eq!(deployed.stdout.lines().last(), Some(after.as_str()));
    assert_eq!(express.revisions(), 2);
}

#[test]
fn a_release_of_several_services_refuses_an_express_one_before_building() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let express = Express::start(&stack.emulator, &v1);
    let family = unique_repo("tutorial-site-task");
    let regular = unique_repo("tutorial-site-service");
    let first = express.api.register_seed_with_image(&family, &v1);
    express
        .api
        .create_cluster_and_service(&express.cluster, &regular, &first);
    let site = crate::emulator::tutorial_site();

    let refused = run(on(&express.endpoint)
        .args(["deploy", "--cluster", &express.cluster])
        .args(["--service", &express.service, "--service", &regular])
        .args(["--repo", &repo, "--tag", "v2", "--build-arg", "VERSION=2"])
        .arg("--build-path")
        .arg(&site)
        .arg("--path")
        .arg(&site));
    refused
        .assert_code(2)
        .assert_stderr_contains("not in a release of several services");
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert_eq!(express.revisions(), 1);
    assert_eq!(express.api.revisions(&family).len(), 1);
    let tags = express.api.tagged_digests(&repo);
    assert!(!tags.contains_key("v2"), "nothing was pushed: {tags:?}");
}
