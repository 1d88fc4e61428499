//! Several services in one release (issue 22, part 2): `update-service` and `deploy` with
//! `--service` more than once. Every service is planned before anything changes; when one
//! fails, the others end on the revision they ran before.
use crate::emulator::{on, push_broken, push_site, Service};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{deployer, run, stack, unique_repo, write, Api, Run, Stack, StderrSoFar};

/// Three services of their own families in one cluster, each steady on `image`, with the
/// circuit breaker (rollback on).
fn three_services(stack: &Stack, image: &str) -> (String, Vec<Service>) {
    services(stack, image, true)
}

fn services(stack: &Stack, image: &str, circuit_breaker: bool) -> (String, Vec<Service>) {
    let cluster = unique_repo("tutorial-site-cluster");
    let services: Vec<Service> = ["web", "worker", "api"]
        .iter()
        .map(|role| {
            let service = Service::adopt(
                stack,
                &stack.emulator,
                unique_repo(&format!("tutorial-site-{role}-task")),
                cluster.clone(),
                unique_repo(&format!("tutorial-site-{role}")),
            );
            let first = service.api.register_seed_with_image(&service.family, image);
            service.api.create_cluster_and_service_with(
                &service.cluster,
                &service.service,
                &first,
                circuit_breaker,
            );
            service
        })
        .collect();
    for service in &services {
        service
            .update(&["--skip-task-definition-registration", "--timeout", "60s"])
            .assert_code(0);
    }
    (cluster, services)
}

fn running_revision(api: &Api, cluster: &str, service: &str) -> String {
    let described = api
        .block_on(
            api.ecs
                .describe_services()
                .cluster(cluster)
                .services(service)
                .send(),
        )
        .unwrap();
    described.services()[0]
        .task_definition()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string()
}

fn latest_revision(api: &Api, family: &str) -> String {
    let described = api
        .block_on(
            api.ecs
                .describe_task_definition()
                .task_definition(family)
                .send(),
        )
        .unwrap();
    let definition = described.task_definition().unwrap();
    format!("{}:{}", definition.family().unwrap(), definition.revision())
}

/// The others are put back with StopServiceDeployment (stopType ROLLBACK: "the service
/// deployment is rolled back to the service revision that was running before", ECS API
/// reference) while their deployment runs, or UpdateService to the previous revision once it is
/// done: which one depends on the emulator's timing, the end state does not.
#[test]
fn when_one_of_three_services_fails_the_other_two_end_on_their_previous_revisions() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let broken = push_broken(&stack, &stack.emulator, &repo);
    let (cluster, services) = three_services(&stack, &v1);
    let api = &services[0].api;
    // The api family's latest revision is broken (the service still runs revision 1): the
    // release renders its new revision from it, and that one cannot start.
    api.register_seed_with_image(&services[2].family, &broken);

    let result = run(on(&stack.emulator)
        .args(["update-service", "--cluster", &cluster])
        .args(
            services
                .iter()
                .flat_map(|s| ["--service", s.service.as_str()]),
        )
        .args([
            "--container-env-var-updates",
            "container=tutorial-site-app,name=RELEASE,value=2026-12-07",
            "--poll-interval",
            "500ms",
        ]));
    result
        .assert_code(1)
        .assert_stderr_contains(&format!("1 of 3 services failed ({})", services[2].service))
        .assert_stderr_contains("service ")
        .assert_stderr_contains("verdict")
        // Lines are prefixed by service.
        .assert_stderr_contains(&format!("{}: ", services[0].service));
    assert!(
        result.stdout.is_empty(),
        "a failed release prints no data: {}",
        result.stdout
    );
    for service in &services {
        assert_eq!(
            running_revision(api, &cluster, &service.service),
            format!("{}:1", service.family),
            "{} ends on the revision it ran before\n{}",
            service.service,
            result.stderr
        );
    }
    let api_row = result
        .stderr
        .lines()
        .find(|line| line.trim_start().starts_with(&services[2].service))
        .unwrap();
    assert!(
        api_row.contains(&format!("{}:3", services[2].family)) && api_row.contains("failed"),
        "the table names the failed revision: {api_row}"
    );
    for service in &services[..2] {
        assert_eq!(service.pages(), ["version 1"], "{}", service.service);
        let row = result
            .stderr
            .lines()
            .find(|line| line.trim_start().starts_with(&service.service))
            .unwrap_or_else(|| panic!("no row for {}:\n{}", service.service, result.stderr));
        assert!(
            row.contains(&format!("{}:1", service.family)),
            "the table says where it was put back: {row}"
        );
    }
}

#[test]
fn with_no_rollback_others_the_services_that_completed_stay_on_the_new_revision() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let broken = push_broken(&stack, &stack.emulator, &repo);
    let (cluster, services) = three_services(&stack, &v1);
    let api = &services[0].api;
    api.register_seed_with_image(&services[2].family, &broken);

    let result = run(on(&stack.emulator)
        .args(["update-service", "--cluster", &cluster, "--services"])
        .arg(
            services
                .iter()
                .map(|s| s.service.as_str())
                .collect::<Vec<_>>()
                .join(","),
        )
        .args([
            "--container-env-var-updates",
            "container=tutorial-site-app,name=RELEASE,value=2026-12-07",
            "--poll-interval",
            "500ms",
            "--no-rollback-others",
        ]));
    result
        .assert_code(1)
        .assert_stderr_contains("--no-rollback-others: the other services were left");
    for service in &services[..2] {
        assert_eq!(
            running_revision(api, &cluster, &service.service),
            format!("{}:2", service.family),
            "{}\n{}",
            service.service,
            result.stderr
        );
    }
    // The broken one was rolled back by its own circuit breaker.
    assert_eq!(
        running_revision(api, &cluster, &services[2].service),
        format!("{}:1", services[2].family)
    );
}

#[test]
fn deploy_pushes_once_and_puts_the_image_in_every_service() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let (cluster, services) = three_services(&stack, &v1);
    let two = &services[..2];
    let result = run(on(&stack.emulator)
        .args([
            "deploy",
            "--repo",
            &repo,
            "--tag",
            "v2",
            "--build-arg",
            "VERSION=2",
        ])
        .arg("--build-path")
        .arg(crate::emulator::tutorial_site())
        .arg("--path")
        .arg(crate::emulator::tutorial_site())
        .args(["--cluster", &cluster])
        .args(two.iter().flat_map(|s| ["--service", s.service.as_str()]))
        .args(["--poll-interval", "500ms", "--output", "json"]));
    result.assert_code(0);
    let outcome: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert!(outcome["push"]["image"].as_str().unwrap().contains(&repo));
    let per_service = outcome["services"].as_array().unwrap();
    assert_eq!(per_service.len(), 2, "one object per service");
    for (object, service) in per_service.iter().zip(two) {
        assert_eq!(object["service"], service.service.as_str());
        assert_eq!(object["result"], "completed");
        assert!(object["task_definition_arn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{}:2", service.family)));
        assert_eq!(service.pages(), ["version 2"], "{}", service.service);
    }
    // The third service was not in the release.
    assert_eq!(
        running_revision(&services[2].api, &cluster, &services[2].service),
        format!("{}:1", services[2].family)
    );
}

#[test]
fn one_bad_service_is_exit_2_with_nothing_registered_or_updated() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let (cluster, services) = three_services(&stack, &v1);
    let api = &services[0].api;
    let families: Vec<String> = services
        .iter()
        .map(|s| latest_revision(api, &s.family))
        .collect();
    let base = |extra: &[&str]| {
        let mut command = on(&stack.emulator);
        command
            .args(["update-service", "--cluster", &cluster])
            .args([
                "--service",
                &services[0].service,
                "--service",
                &services[1].service,
            ])
            .args([
                "--container-env-var-updates",
                "container=tutorial-site-app,name=RELEASE,value=2026-12-07",
            ])
            .args(extra);
        command
    };
    // A misspelled third service.
    run(&mut base(&["--service", "tutorial-site-wokrer"]))
        .assert_code(2)
        .assert_stderr_contains("service tutorial-site-wokrer does not exist")
        .assert_stderr_contains("nothing was registered or updated");
    // A container one service lacks.
    run(&mut base(&[
        "--service",
        &services[2].service,
        "--container-image-name-updates",
        "container=no-such-container,image-and-tag=nginx:latest",
    ]))
    .assert_code(2);
    // A service named twice, and flags that name one service's things.
    run(&mut base(&["--service", &services[0].service]))
        .assert_code(2)
        .assert_stderr_contains("is named twice");
    run(&mut base(&["--create-service"]))
        .assert_code(2)
        .assert_stderr_contains("--create-service cannot go with several services");
    for (service, family) in services.iter().zip(&families) {
        assert_eq!(
            &latest_revision(api, &service.family),
            family,
            "nothing registered"
        );
        assert_eq!(
            running_revision(api, &cluster, &service.service),
            format!("{}:1", service.family),
            "nothing updated"
        );
    }
    // --max-parallel and --no-rollback-others with one service are refused.
    run(deployer(std::path::Path::new("/")).args([
        "update-service",
        "--cluster",
        &cluster,
        "--service",
        &services[0].service,
        "--family",
        &services[0].family,
        "--no-rollback-others",
    ]))
    .assert_code(2)
    .assert_stderr_contains("--no-rollback-others applies to a release of several services");
}

#[test]
fn sigterm_with_rollback_on_cancel_puts_every_service_back() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    // Never healthy: without a circuit breaker the deployments stay in progress.
    let unhealthy = tempfile::tempdir().unwrap();
    write(
        unhealthy.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false\nCMD [\"sleep\", \"600\"]\n",
            stack.base_image
        ),
    );
    let never = push_site(
        &stack.emulator,
        &repo,
        "never",
        "never",
        Some(unhealthy.path()),
    );
    let (cluster, services) = services(&stack, &v1, false);
    let two = &services[..2];
    let mut child = on(&stack.emulator)
        .args(["update-service", "--cluster", &cluster])
        .args(two.iter().flat_map(|s| ["--service", s.service.as_str()]))
        .args(["--container-image-name-updates"])
        .arg(format!("container=tutorial-site-app,image-and-tag={never}"))
        .args(["--poll-interval", "500ms", "--rollback-on-cancel"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = StderrSoFar::read(&mut child);
    for service in two {
        stderr.wait_for(
            &format!("{}: following service deployment", service.service),
            Duration::from_secs(60),
        );
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let result = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: stderr.until_exit(),
    };
    result
        .assert_code(130)
        .assert_stderr_contains("interrupted by SIGTERM")
        .assert_stderr_contains("cancelled");
    let api = &services[0].api;
    for service in two {
        assert_eq!(
            running_revision(api, &cluster, &service.service),
            format!("{}:1", service.family),
            "{}\n{}",
            service.service,
            result.stderr
        );
        let row = result
            .stderr
            .lines()
            .find(|line| line.trim_start().starts_with(&service.service))
            .unwrap();
        assert!(
            row.contains("rolled back to") || row.contains("put back on"),
            "{row}"
        );
    }
}

/// moto checks the requests: both revisions registered from each family's latest, both
/// services updated, with `--no-wait` (moto never rolls services).
#[test]
fn moto_a_release_registers_and_updates_every_service() {
    let stack = stack();
    let api = Api::moto(&stack);
    let cluster = unique_repo("tutorial-site-cluster");
    let pairs: Vec<(String, String)> = ["web", "worker"]
        .iter()
        .map(|role| {
            let family = unique_repo(&format!("tutorial-site-{role}-task"));
            let service = unique_repo(&format!("tutorial-site-{role}"));
            let first = api.register_seed(&family);
            api.create_cluster_and_service(&cluster, &service, &first);
            (family, service)
        })
        .collect();
    let result = run(deployer(std::path::Path::new("/"))
        .args(["update-service", "--cluster", &cluster])
        .args(pairs.iter().flat_map(|(_, s)| ["--service", s.as_str()]))
        .args([
            "--container-env-var-updates",
            "container=tutorial-site-app,name=RELEASE,value=2026-12-07",
            "--no-wait",
        ]));
    result.assert_code(0);
    let arns: Vec<&str> = result.stdout.lines().collect();
    assert_eq!(arns.len(), 2, "one revision per service: {}", result.stdout);
    for ((family, service), arn) in pairs.iter().zip(arns) {
        assert!(arn.ends_with(&format!("{family}:2")), "{arn}");
        assert_eq!(
            running_revision(&api, &cluster, service),
            format!("{family}:2")
        );
        let (definition, _) = api.describe(arn);
        assert!(definition.container_definitions()[0]
            .environment()
            .iter()
            .any(|pair| pair.name() == Some("RELEASE")));
    }
}

#[test]
fn max_parallel_1_releases_one_service_after_the_other() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let (cluster, services) = three_services(&stack, &v1);
    let two = &services[..2];
    let result = run(on(&stack.emulator)
        .args(["update-service", "--cluster", &cluster])
        .args(two.iter().flat_map(|s| ["--service", s.service.as_str()]))
        .args([
            "--container-env-var-updates",
            "container=tutorial-site-app,name=RELEASE,value=2026-12-07",
            "--poll-interval",
            "500ms",
            "--max-parallel",
            "1",
        ]));
    result
        .assert_code(0)
        .assert_stderr_contains("releasing 2 services")
        .assert_stderr_contains("(1 at a time)");
    let first_done = result
        .stderr
        .lines()
        .position(|line| {
            line.contains(&format!("{}: ", two[0].service)) && line.contains("completed")
        })
        .unwrap_or_else(|| panic!("the first service's completion:\n{}", result.stderr));
    let second_updated = result
        .stderr
        .lines()
        .position(|line| line.contains(&format!("{}: updated", two[1].service)))
        .unwrap();
    assert!(first_done < second_updated, "{}", result.stderr);
    for service in two {
        assert_eq!(
            running_revision(&service.api, &cluster, &service.service),
            format!("{}:2", service.family)
        );
    }
}

/// The orb's `service_names` (update_service, deploy, deploy_service_update) becomes
/// `--services`, and `family` may then be left empty.
#[test]
fn the_orbs_service_names_become_services_and_family_may_be_empty() {
    let names = (
        "service_names",
        "tutorial-site-service,tutorial-site-worker",
    );
    let cluster = ("cluster", "tutorial-site-cluster");
    for (flag, step, params) in [
        (None, "update_service", vec![cluster, names]),
        (
            None,
            "deploy",
            vec![
                cluster,
                names,
                ("repo", "tutorial-site-registry"),
                ("tag", "v2"),
            ],
        ),
        (Some("--job"), "deploy_service_update", vec![cluster, names]),
    ] {
        let output = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/orb.py"))
            .arg("env")
            .args(flag)
            .arg(step)
            .args(params.iter().map(|(k, v)| format!("{k}={v}")))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let env: std::collections::BTreeMap<String, String> =
            serde_json::from_slice(&output.stdout).unwrap();
        let result = run(Command::new(env!("CARGO_BIN_EXE_deployer"))
            .args(["orb", "plan", &env["DEPLOYER_ORB_STEP"]])
            .envs(&env));
        result.assert_code(0);
        let args: Vec<String> = serde_json::from_str(&result.stdout).unwrap();
        let line = args.join(" ");
        assert!(
            line.contains("--services tutorial-site-service,tutorial-site-worker"),
            "{step}: {line}"
        );
        assert!(!line.contains("--family"), "{step}: {line}");
        // A step that waits shows the failed tasks' last lines; one that does not, no wait flag.
        assert_eq!(
            line.contains("--failure-log-lines 20"),
            !line.contains("--no-wait"),
            "{step}: {line}"
        );
    }
}

/// A CODE_DEPLOY service in a release whose other service fails is put back through CodeDeploy
/// (StopDeployment with autoRollbackEnabled while it runs, CodeDeploy API reference):
/// its deployment stopped with automatic rollback while it runs, or the previous revision
/// deployed again once it succeeded. Either way it ends serving v1 on revision 1.
#[test]
fn a_codedeploy_service_of_a_failed_release_is_put_back_through_codedeploy() {
    let stack = stack();
    let site = crate::strategies::Site::start_codedeploy(&[], None);
    let (application, group) = crate::codedeploy::codedeploy_for(&site, 0);
    let first = site.task_definition();
    let endpoint = &site.emulator.endpoint;
    // An ECS service beside it, in its cluster, whose family's latest revision cannot start.
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(endpoint, &repo, "v1", "1", None);
    let broken = push_broken(&stack, endpoint, &repo);
    let worker = Service::adopt(
        &stack,
        endpoint,
        unique_repo("tutorial-site-worker-task"),
        site.cluster.clone(),
        unique_repo("tutorial-site-worker"),
    );
    let worker_first = worker.api.register_seed_with_image(&worker.family, &v1);
    worker.api.create_cluster_and_service_with(
        &worker.cluster,
        &worker.service,
        &worker_first,
        true,
    );
    worker
        .update(&["--skip-task-definition-registration", "--timeout", "60s"])
        .assert_code(0);
    worker.api.register_seed_with_image(&worker.family, &broken);

    let result = run(on(endpoint)
        .args(["update-service", "--cluster", &site.cluster])
        .args(["--service", &site.service, "--service", &worker.service])
        .args([
            "--container-env-var-updates",
            "container=tutorial-site-app,name=RELEASE,value=2026-12-07",
            "--codedeploy-application",
            &application,
            "--codedeploy-deployment-group",
            &group,
            "--poll-interval",
            "300ms",
        ]));
    result
        .assert_code(1)
        .assert_stderr_contains(&format!("1 of 2 services failed ({})", worker.service));
    let row = result
        .stderr
        .lines()
        .find(|line| line.trim_start().starts_with(&site.service))
        .unwrap_or_else(|| panic!("no row for {}:\n{}", site.service, result.stderr));
    assert!(row.contains("CodeDeploy deployment"), "{row}");
    site.wait(Duration::from_secs(60), "v1 serving again", |site| {
        site.pages(&site.production, 2) == ["version 1", "version 1"]
    });
    assert_eq!(site.task_definition(), first, "{}", result.stderr);
    assert_eq!(
        running_revision(&worker.api, &worker.cluster, &worker.service),
        format!("{}:1", worker.family)
    );
}
