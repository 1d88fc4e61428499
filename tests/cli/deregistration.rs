//! `deployer deregister` and `--keep-revisions`: on moto (ListTaskDefinitions,
//! DeregisterTaskDefinition, DeleteTaskDefinitions, EventBridge rules) and on the emulator, whose
//! services stay mid-deployment as long as the test wants (a service whose tasks never place).
use std::path::Path;

use crate::emulator::faulty_emulator;
use crate::register::scheduled_rule;
use crate::support::{deployer, run, stack, unique_repo, Api, Run};

fn deregister(args: &[&str]) -> Run {
    run(deployer(Path::new("/")).arg("deregister").args(args))
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn owned(arns: &[&String]) -> Vec<String> {
    arns.iter().map(|arn| arn.to_string()).collect()
}

/// A family of `count` revisions on `api`, oldest first.
fn family_of(api: &Api, count: usize) -> (String, Vec<String>) {
    let family = unique_repo("tutorial-site-task");
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:latest";
    let arns = (0..count)
        .map(|_| api.register_seed_with_image(&family, image))
        .collect();
    (family, arns)
}

/// The revisions a service runs and a rule targets are kept with the newest; `--dry-run`
/// changes nothing; `--delete` deletes what was deregistered (DeleteTaskDefinitions takes
/// only INACTIVE revisions, ECS API reference).
#[test]
fn keeps_the_newest_the_services_and_the_rules_revisions_and_deletes_the_rest() {
    let api = Api::moto(&stack());
    let (family, arns) = family_of(&api, 6);
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    api.create_cluster_and_service(&cluster, &service, &arns[1]);
    let (rule, _) = scheduled_rule(&family, &arns[2]);
    let flags = ["--family", &family, "--keep", "1", "--cluster", &cluster];

    let planned = deregister(&[&flags[..], &["--dry-run"]].concat());
    planned.assert_code(0);
    assert_eq!(
        lines(&planned.stdout),
        owned(&[&arns[4], &arns[3], &arns[0]])
    );
    planned.assert_stderr_contains(&format!(
        "keeping {family}:2: in use by service {cluster}/{service}"
    ));
    planned.assert_stderr_contains(&format!(
        "keeping {family}:3: in use by rule {rule} target nightly-report"
    ));
    assert_eq!(api.revisions(&family), arns, "--dry-run changed nothing");

    let done = deregister(&[&flags[..], &["--delete", "--output", "json"]].concat());
    done.assert_code(0);
    let outcome: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    let gone = serde_json::json!([&arns[4], &arns[3], &arns[0]]);
    assert_eq!(outcome["deregistered"], gone);
    assert_eq!(outcome["deleted"], gone);
    assert_eq!(
        api.revisions(&family),
        owned(&[&arns[1], &arns[2], &arns[5]])
    );

    // Run again: nothing left to go.
    let again = deregister(&flags);
    again
        .assert_code(0)
        .assert_stderr_contains("nothing to deregister");
    assert_eq!(again.stdout, "");
}

/// A keep of 0 still keeps what a service runs; a family without revisions and a cluster that
/// does not exist are exit 2 with nothing changed.
#[test]
fn refusals_change_nothing_and_a_keep_of_zero_keeps_what_runs() {
    let api = Api::moto(&stack());
    let (family, arns) = family_of(&api, 3);
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    api.create_cluster_and_service(&cluster, &service, &arns[0]);

    deregister(&[
        "--family",
        &unique_repo("tutorial-site-none"),
        "--keep",
        "1",
    ])
    .assert_code(2)
    .assert_stderr_contains("has no ACTIVE revision");
    let missing = unique_repo("tutorial-site-missing");
    let refused = deregister(&[
        "--family",
        &family,
        "--keep",
        "0",
        "--cluster",
        &cluster,
        "--cluster",
        &missing,
    ]);
    refused
        .assert_code(2)
        .assert_stderr_contains(&format!("cluster {missing} does not exist"));
    assert_eq!(refused.stdout, "");
    assert_eq!(api.revisions(&family), arns);

    let done = deregister(&["--family", &family, "--keep", "0", "--cluster", &cluster]);
    done.assert_code(0);
    assert_eq!(lines(&done.stdout), owned(&[&arns[2], &arns[1]]));
    assert_eq!(api.revisions(&family), owned(&[&arns[0]]));
}

/// `update-service --keep-revisions 1`: after the deploy, the family's older revisions go but
/// the one the service now runs.
#[test]
fn update_service_keep_revisions_deregisters_after_the_deploy() {
    let api = Api::moto(&stack());
    api.seed_images_in_ecr();
    let (family, arns) = family_of(&api, 3);
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    api.create_cluster_and_service(&cluster, &service, &arns[2]);
    let result = run(deployer(Path::new("/")).args([
        "update-service",
        "--family",
        &family,
        "--cluster",
        &cluster,
        "--service",
        &service,
        "--container-image-name-updates",
        "container=tutorial-site-app,tag=v2",
        "--no-wait",
        "--keep-revisions",
        "1",
    ]));
    result.assert_code(0);
    let deployed = result.stdout.trim().to_string();
    assert!(deployed.ends_with(&format!("{family}:4")), "{deployed}");
    result.assert_stderr_contains(&format!("deregistered {family}:1"));
    let left = api.revisions(&family);
    assert!(left.contains(&deployed), "{left:?}");
    assert!(
        !left.contains(&arns[0]) && !left.contains(&arns[1]),
        "{left:?}"
    );
}

/// On the emulator, a service mid-deployment from revision 1 to 2 (its tasks never place, so
/// the deployment stays IN_PROGRESS): both its revisions are kept with the newest; every
/// deployment DescribeServices lists counts (ECS API reference, Service.deployments).
/// Without events:ListRules deployer cannot tell whether a rule runs a revision: nothing goes.
#[test]
fn a_service_mid_deployment_keeps_both_revisions_and_a_refused_lookup_keeps_everything() {
    let stack = stack();
    let service = unique_repo("tutorial-site-service");
    let emulator = faulty_emulator(&[
        "--unplaceable-service".into(),
        service.clone(),
        "--deny-operation".into(),
        "ListRules".into(),
    ]);
    let api = Api::at(&emulator.endpoint);
    let (family, arns) = family_of(&api, 2);
    let cluster = unique_repo("tutorial-site-cluster");
    api.create_cluster_and_service(&cluster, &service, &arns[0]);
    api.block_on(
        api.ecs
            .update_service()
            .cluster(&cluster)
            .service(&service)
            .task_definition(&arns[1])
            .send(),
    )
    .unwrap();
    let image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:latest";
    let later: Vec<String> = (0..2)
        .map(|_| api.register_seed_with_image(&family, image))
        .collect();
    let on_emulator = |events_endpoint: &str| {
        let mut command = deployer(Path::new("/"));
        command
            .env("AWS_ENDPOINT_URL", &emulator.endpoint)
            .env("AWS_ENDPOINT_URL_EVENTBRIDGE", events_endpoint)
            .env("AWS_ENDPOINT_URL_SCHEDULER", &stack.moto)
            .args([
                "deregister",
                "--family",
                &family,
                "--keep",
                "1",
                "--cluster",
                &cluster,
            ]);
        run(&mut command)
    };

    let refused = on_emulator(&emulator.endpoint);
    refused
        .assert_code(3)
        .assert_stderr_contains(
            "nothing was deregistered: deployer could not look up the EventBridge rules",
        )
        .assert_stderr_contains("events:ListRules");
    assert_eq!(refused.stdout, "");
    assert_eq!(api.revisions(&family).len(), 4);

    let done = on_emulator(&stack.moto);
    done.assert_code(0)
        .assert_stderr_contains(&format!(
            "keeping {family}:2: in use by service {cluster}/{service}"
        ))
        .assert_stderr_contains("(PRIMARY deployment)")
        .assert_stderr_contains(&format!(
            "keeping {family}:1: in use by service {cluster}/{service} (ACTIVE deployment)"
        ));
    assert_eq!(lines(&done.stdout), owned(&[&later[0]]));
    assert_eq!(
        api.revisions(&family),
        owned(&[&arns[0], &arns[1], &later[1]])
    );
}

/// The orb's `deregister` command: its parameters become the flags (`cluster` comma-separated).
#[test]
fn the_orb_step_deregisters_with_its_parameters() {
    let api = Api::moto(&stack());
    let (family, arns) = family_of(&api, 3);
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    api.create_cluster_and_service(&cluster, &service, &arns[0]);
    let result = run(deployer(Path::new("/"))
        .args(["orb", "run", "deregister"])
        .env("PARAM_REGION", "eu-west-1")
        .env("PARAM_PROFILE_NAME", "default")
        .env("PARAM_FAMILY", &family)
        .env("PARAM_KEEP", "1")
        .env("PARAM_CLUSTER", format!("{cluster},{cluster}"))
        .env("PARAM_DELETE", "0")
        .env("PARAM_DRY_RUN", "1"));
    result.assert_code(0);
    assert_eq!(lines(&result.stdout), owned(&[&arns[1]]));
    assert_eq!(api.revisions(&family), arns, "dry_run changed nothing");
}

/// Without --cluster, every cluster's services are looked at (ListClusters): a revision a
/// service of any cluster runs is kept.
#[test]
fn without_a_cluster_every_clusters_services_are_looked_at() {
    let stack = stack();
    let emulator = faulty_emulator(&[]);
    let api = Api::at(&emulator.endpoint);
    let (family, arns) = family_of(&api, 3);
    for (index, arn) in arns.iter().take(2).enumerate() {
        let cluster = unique_repo(&format!("tutorial-site-cluster-{index}"));
        api.block_on(api.ecs.create_cluster().cluster_name(&cluster).send())
            .unwrap();
        // A service of no tasks: the emulator starts nothing, ECS still lists its deployment.
        api.block_on(
            api.ecs
                .create_service()
                .cluster(&cluster)
                .service_name(unique_repo("tutorial-site-service"))
                .task_definition(arn)
                .desired_count(0)
                .send(),
        )
        .unwrap();
    }
    let done = run(deployer(Path::new("/"))
        .env("AWS_ENDPOINT_URL", &emulator.endpoint)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &stack.moto)
        .env("AWS_ENDPOINT_URL_SCHEDULER", &stack.moto)
        .args(["deregister", "--family", &family, "--keep", "0"]));
    done.assert_code(0);
    assert_eq!(lines(&done.stdout), owned(&[&arns[2]]));
    assert_eq!(api.revisions(&family), owned(&[&arns[0], &arns[1]]));
}

/// `--keep-revisions` when deregistering fails (events:ListRules refused): the deploy still
/// succeeds, with one warning, and nothing is deregistered.
#[test]
fn a_failed_deregistration_after_a_deploy_is_a_warning() {
    let service = unique_repo("tutorial-site-service");
    let emulator = faulty_emulator(&[
        "--unplaceable-service".into(),
        service.clone(),
        "--deny-operation".into(),
        "ListRules".into(),
    ]);
    let api = Api::at(&emulator.endpoint);
    let (family, arns) = family_of(&api, 3);
    let cluster = unique_repo("tutorial-site-cluster");
    api.create_cluster_and_service(&cluster, &service, &arns[0]);
    let result = run(deployer(Path::new("/"))
        .env("AWS_ENDPOINT_URL", &emulator.endpoint)
        .args([
            "update-service",
            "--family",
            &family,
            "--cluster",
            &cluster,
            "--service",
            &service,
            "--skip-task-definition-registration",
            "--no-wait",
            // The seed's image is not in the emulator's registry: the plan's checks would stop it.
            "--no-verify",
            "--keep-revisions",
            "1",
        ]));
    result
        .assert_code(0)
        .assert_stderr_contains(&format!(
            "--keep-revisions 1: the deploy succeeded, but deregistering old revisions of {family} did not"
        ))
        .assert_stderr_contains("events:ListRules");
    assert_eq!(result.stdout.trim(), arns[2]);
    assert_eq!(api.revisions(&family), arns);
}
