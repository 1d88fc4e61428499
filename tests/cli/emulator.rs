//! The seed deployed end to end on the emulator: real containers, real rollouts. Pages are
//! fetched from inside each running task's own network namespace (`docker exec`), so tests
//! running side by side never share a port.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{deployer, run, stack, unique_repo, write, Api, Run, Stack};

pub(crate) fn tutorial_site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/tutorial-site")
}

/// deployer pointed at an emulator endpoint.
pub(crate) fn on(endpoint: &str) -> Command {
    let mut command = deployer(Path::new("/"));
    command.env("AWS_ENDPOINT_URL", endpoint);
    command
}

/// Pushes the tutorial site at `version` (or another context) and returns `REGISTRY/REPO:TAG`.
pub(crate) fn push_site(
    endpoint: &str,
    repo: &str,
    tag: &str,
    version: &str,
    context: Option<&Path>,
) -> String {
    let site = tutorial_site();
    let context = context.unwrap_or(&site);
    let result = run(on(endpoint)
        .args([
            "push",
            "--repo",
            repo,
            "--create-repo",
            "--tag",
            tag,
            "--build-arg",
        ])
        .arg(format!("VERSION={version}"))
        .arg("--build-path")
        .arg(context)
        .arg("--path")
        .arg(context));
    result.assert_code(0);
    result
        .stdout
        .lines()
        .nth(1)
        .expect("the tag's reference")
        .to_string()
}

pub(crate) struct Service {
    pub(crate) api: Api,
    endpoint: String,
    pub(crate) family: String,
    pub(crate) cluster: String,
    pub(crate) service: String,
}

impl Service {
    /// The seed's service on the emulator, running `image`, steady before the test goes on.
    pub(crate) fn start(
        stack: &Stack,
        endpoint: &str,
        image: &str,
        circuit_breaker: bool,
    ) -> Service {
        let service = Service::fresh(stack, endpoint);
        let first = service.api.register_seed_with_image(&service.family, image);
        service.api.create_cluster_and_service_with(
            &service.cluster,
            &service.service,
            &first,
            circuit_breaker,
        );
        service
            .update(&["--skip-task-definition-registration", "--timeout", "60s"])
            .assert_code(0);
        service
    }

    /// A service of names no other test uses on `endpoint`, that the test itself sets up.
    pub(crate) fn fresh(stack: &Stack, endpoint: &str) -> Service {
        Service::adopt(
            stack,
            endpoint,
            unique_repo("tutorial-site-task"),
            unique_repo("tutorial-site-cluster"),
            unique_repo("tutorial-site-service"),
        )
    }

    /// A service of these names on `endpoint` that the test itself sets up (or has deployer create).
    pub(crate) fn adopt(
        stack: &Stack,
        endpoint: &str,
        family: String,
        cluster: String,
        service: String,
    ) -> Service {
        let api = if endpoint == stack.emulator {
            Api::emulator(stack)
        } else {
            Api::at(endpoint)
        };
        Service {
            api,
            endpoint: endpoint.to_string(),
            family,
            cluster,
            service,
        }
    }

    pub(crate) fn update(&self, flags: &[&str]) -> Run {
        run(on(&self.endpoint)
            .args([
                "update-service",
                "--family",
                &self.family,
                "--cluster",
                &self.cluster,
                "--service",
                &self.service,
            ])
            // A wait flag goes with a wait only: --no-wait refuses them.
            .args(if flags.contains(&"--no-wait") {
                &[][..]
            } else {
                &["--poll-interval", "500ms"][..]
            })
            .args(flags))
    }

    /// What each running task serves on port 3000, fetched inside the task.
    pub(crate) fn pages(&self) -> Vec<String> {
        let api = &self.api;
        let arns: Vec<String> = api
            .block_on(
                api.ecs
                    .list_tasks()
                    .cluster(&self.cluster)
                    .service_name(&self.service)
                    .send(),
            )
            .unwrap()
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Vec::new();
        }
        let tasks = api
            .block_on(
                api.ecs
                    .describe_tasks()
                    .cluster(&self.cluster)
                    .set_tasks(Some(arns))
                    .send(),
            )
            .unwrap();
        tasks
            .tasks()
            .iter()
            .filter(|task| task.last_status() == Some("RUNNING"))
            .filter_map(|task| task.containers().first()?.runtime_id().map(str::to_string))
            .map(|container| {
                let output = Command::new("docker")
                    .args([
                        "exec",
                        &container,
                        "wget",
                        "-q",
                        "-O",
                        "-",
                        "http://127.0.0.1:3000/",
                    ])
                    .output()
                    .unwrap();
                let page = String::from_utf8_lossy(&output.stdout);
                page.lines()
                    .find_map(|line| {
                        line.trim()
                            .strip_prefix("<p>")
                            .and_then(|l| l.strip_suffix("</p>"))
                    })
                    .unwrap_or("no page")
                    .to_string()
            })
            .collect()
    }

    fn stopped_reasons(&self) -> Vec<String> {
        let api = &self.api;
        let arns: Vec<String> = api
            .block_on(
                api.ecs
                    .list_tasks()
                    .cluster(&self.cluster)
                    .service_name(&self.service)
                    .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
                    .send(),
            )
            .unwrap()
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Vec::new();
        }
        api.block_on(
            api.ecs
                .describe_tasks()
                .cluster(&self.cluster)
                .set_tasks(Some(arns))
                .send(),
        )
        .unwrap()
        .tasks()
        .iter()
        .filter_map(|task| task.stopped_reason().map(str::to_string))
        .collect()
    }
}

#[test]
fn the_tutorial_site_is_deployed_end_to_end_and_the_old_task_is_gone() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let service = Service::start(&stack, &stack.emulator, &v1, true);
    assert_eq!(service.pages(), ["version 1"]);

    let result = run(on(&stack.emulator)
        .args([
            "deploy",
            "--repo",
            &repo,
            "--tag",
            "v2",
            "--build-arg",
            "VERSION=2",
            "--pin-digest",
        ])
        .arg("--build-path")
        .arg(tutorial_site())
        .arg("--path")
        .arg(tutorial_site())
        .args([
            "--family",
            &service.family,
            "--cluster",
            &service.cluster,
            "--service",
            &service.service,
        ])
        .args(["--poll-interval", "500ms"]));
    result
        .assert_code(0)
        // Only what deployer itself says: ECS's "has reached a steady state" event comes on
        // the emulator's own clock, and may come after deployer saw the deployment complete.
        .assert_stderr_contains("is completed");
    assert_eq!(
        service.pages(),
        ["version 2"],
        "only the new version answers"
    );
    assert!(
        service
            .stopped_reasons()
            .iter()
            .any(|reason| reason.starts_with("Scaling activity initiated by")),
        "the old task was stopped by the deployment"
    );
}

#[test]
fn a_broken_release_fails_with_the_stopped_reason_and_the_old_version_keeps_serving() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let broken_context = tempfile::tempdir().unwrap();
    write(
        broken_context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nCMD [\"sh\", \"-c\", \"echo cannot start; exit 3\"]\n",
            stack.base_image
        ),
    );
    let broken = push_site(
        &stack.emulator,
        &repo,
        "broken",
        "broken",
        Some(broken_context.path()),
    );
    let service = Service::start(&stack, &stack.emulator, &v1, true);

    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={broken}"),
    ]);
    result
        .assert_code(1)
        .assert_stderr_contains("the service back to")
        .assert_stderr_contains("Essential container in task exited")
        .assert_stderr_contains("exited 3");
    assert_eq!(
        service.pages(),
        ["version 1"],
        "the previous version still serves"
    );
}

#[test]
fn a_release_that_never_becomes_healthy_fails_at_the_timeout() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let unhealthy_context = tempfile::tempdir().unwrap();
    write(
        unhealthy_context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false\nCMD [\"sleep\", \"600\"]\n",
            stack.base_image
        ),
    );
    let unhealthy = push_site(
        &stack.emulator,
        &repo,
        "unhealthy",
        "0",
        Some(unhealthy_context.path()),
    );
    let service = Service::start(&stack, &stack.emulator, &v1, false);
    let started = Instant::now();
    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={unhealthy}"),
        "--timeout",
        "15s",
    ]);
    result
        .assert_code(1)
        .assert_stderr_contains("did not finish within 15s")
        .assert_stderr_contains("Task failed container health checks");
    assert!(started.elapsed() < Duration::from_secs(40));
    assert_eq!(service.pages(), ["version 1"]);
}

#[test]
fn rollback_restores_the_revision_that_ran_before() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let v2 = push_site(&stack.emulator, &repo, "v2", "2", None);
    let service = Service::start(&stack, &stack.emulator, &v1, true);
    service
        .update(&[
            "--container-image-name-updates",
            &format!("container=tutorial-site-app,image-and-tag={v2}"),
        ])
        .assert_code(0);
    assert_eq!(service.pages(), ["version 2"]);

    let result = run(on(&stack.emulator).args([
        "rollback",
        "--cluster",
        &service.cluster,
        "--service",
        &service.service,
        "--poll-interval",
        "500ms",
    ]));
    result.assert_code(0).assert_stderr_contains(&format!(
        "back from {}:2 to {}:1",
        service.family, service.family
    ));
    assert_eq!(service.pages(), ["version 1"]);
}

#[test]
fn wait_follows_a_deployment_started_without_waiting_and_refuses_revisions_not_deployed() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let v2 = push_site(&stack.emulator, &repo, "v2", "2", None);
    let service = Service::start(&stack, &stack.emulator, &v1, true);
    let started = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={v2}"),
        "--no-wait",
    ]);
    started.assert_code(0);
    let v2_arn = started.stdout.trim().to_string();
    let wait = |flags: &[&str]| {
        run(on(&stack.emulator)
            .args([
                "wait",
                "--cluster",
                &service.cluster,
                "--service",
                &service.service,
                "--poll-interval",
                "500ms",
                "--timeout",
                "60s",
            ])
            .args(flags))
    };

    let waited = wait(&[]);
    waited
        .assert_code(0)
        .assert_stderr_contains(&format!("of {}:2 is completed", service.family));
    assert_eq!(waited.stdout.trim(), v2_arn);
    assert_eq!(service.pages(), ["version 2"]);

    // The revision that ran before is no longer deployed: that is a failed check, at once.
    wait(&["--task-definition", &format!("{}:1", service.family)])
        .assert_code(1)
        .assert_stderr_contains(&format!(
            "has no deployment of that revision; it runs {}:2",
            service.family
        ));
    // A revision that does not exist is bad input.
    let missing = wait(&["--task-definition", &format!("{}:99", service.family)]);
    missing.assert_code(2);
    assert!(missing.stdout.is_empty(), "{}", missing.stdout);
    // So is a service that does not exist.
    run(on(&stack.emulator).args([
        "wait",
        "--cluster",
        &service.cluster,
        "--service",
        "no-such-service",
    ]))
    .assert_code(2)
    .assert_stderr_contains("service no-such-service does not exist");
}

/// A second emulator with fault injection, on a port of its own.
pub(crate) struct FaultyEmulator {
    child: Child,
    pub(crate) endpoint: String,
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts an emulator with extra flags and waits until it answers.
pub(crate) fn faulty_emulator(flags: &[String]) -> FaultyEmulator {
    let port = free_port();
    let child = Command::new(std::env::var("DEPLOYER_EMULATOR_BIN").unwrap())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--registry",
            &std::env::var("DEPLOYER_STACK_REGISTRY").unwrap(),
        ])
        .args([
            "--registry-password",
            &std::env::var("DEPLOYER_STACK_REGISTRY_PASSWORD").unwrap(),
        ])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let emulator = FaultyEmulator {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the emulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    emulator
}

/// A push through a registry that cuts the first `failures` uploads half-way.
fn push_through_failing_registry(failures: u64) -> (Run, Stack, String, String) {
    let stack = stack();
    let proxy = format!("127.0.0.1:{}", free_port());
    let emulator = faulty_emulator(&[
        "--registry-proxy".into(),
        proxy.clone(),
        "--registry-proxy-failures".into(),
        failures.to_string(),
    ]);
    let repo = unique_repo("mid-push");
    let context = tempfile::tempdir().unwrap();
    // A layer of its own, so there is something to upload.
    write(
        context.path(),
        "Dockerfile",
        &format!("FROM {}\nRUN echo {repo} > /layer\n", stack.base_image),
    );
    let result = run(on(&emulator.endpoint)
        .args([
            "push",
            "--repo",
            &repo,
            "--create-repo",
            "--registry",
            &proxy,
            "--build-path",
        ])
        .arg(context.path())
        .arg("--path")
        .arg(context.path()));
    (result, stack, repo, proxy)
}

#[test]
fn a_registry_failing_mid_push_once_is_retried_by_the_engine() {
    let (result, stack, repo, _) = push_through_failing_registry(1);
    result
        .assert_code(0)
        .assert_stderr_contains("a layer upload failed; the Docker engine retries it");
    assert!(crate::support::Registry::new(&stack)
        .digest(&repo, "latest")
        .is_some());
}

#[test]
fn a_registry_failing_every_upload_fails_the_push_clearly() {
    let (result, stack, repo, proxy) = push_through_failing_registry(1000);
    result
        .assert_code(1)
        .assert_stderr_contains(&format!("error: pushing {proxy}/{repo}:latest failed"))
        .assert_stderr_contains("hint: the Docker engine already retried");
    assert!(result.stdout.is_empty());
    assert_eq!(
        crate::support::Registry::new(&stack).digest(&repo, "latest"),
        None
    );
}

impl Drop for FaultyEmulator {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn throttling_and_server_errors_during_the_wait_are_retried() {
    let stack = stack();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let registry = std::env::var("DEPLOYER_STACK_REGISTRY").unwrap();
    let child = Command::new(std::env::var("DEPLOYER_EMULATOR_BIN").unwrap())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--registry",
            &registry,
        ])
        .args([
            "--registry-password",
            &std::env::var("DEPLOYER_STACK_REGISTRY_PASSWORD").unwrap(),
        ])
        .args(["--throttle-every", "4", "--fail-every", "7"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let emulator = FaultyEmulator {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the emulator did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
    let v2 = push_site(&emulator.endpoint, &repo, "v2", "2", None);
    let service = Service::start(&stack, &emulator.endpoint, &v1, true);
    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={v2}"),
    ]);
    result.assert_code(0);
    assert_eq!(service.pages(), ["version 2"]);
}

/// The tutorial site with a second container, `page-watcher`, running `command` in the same task.
fn register_with_sidecar(
    api: &Api,
    family: &str,
    app_image: &str,
    sidecar_image: &str,
    command: &str,
    sidecar_essential: bool,
) -> String {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode, PortMapping};
    let app = ContainerDefinition::builder()
        .name("tutorial-site-app")
        .image(app_image)
        .essential(true)
        .memory(512)
        .port_mappings(PortMapping::builder().container_port(3000).build())
        .build();
    let sidecar = ContainerDefinition::builder()
        .name("page-watcher")
        .image(sidecar_image)
        .essential(sidecar_essential)
        .memory(64)
        .command("sh")
        .command("-c")
        .command(command)
        .build();
    let answer = api
        .block_on(
            api.ecs
                .register_task_definition()
                .family(family)
                .requires_compatibilities(Compatibility::Fargate)
                .network_mode(NetworkMode::Awsvpc)
                .cpu("1024")
                .memory("2048")
                .container_definitions(app)
                .container_definitions(sidecar)
                .send(),
        )
        .unwrap();
    answer
        .task_definition()
        .and_then(|definition| definition.task_definition_arn())
        .unwrap()
        .to_string()
}

#[test]
fn every_container_of_a_task_runs_in_its_namespace_and_an_essential_one_exiting_stops_it() {
    let stack = stack();
    let api = Api::emulator(&stack);
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    // The sidecar reads the app's page over the task's own loopback, then stays.
    let watcher =
        "until wget -q -O /tmp/page http://127.0.0.1:3000/; do sleep 0.2; done; sleep 600";
    let first = register_with_sidecar(&api, &family, &v1, &stack.base_image, watcher, false);
    api.create_cluster_and_service_with(&cluster, &service, &first, true);
    let deploy = || {
        run(on(&stack.emulator)
            .args(["update-service", "--family", &family, "--cluster", &cluster])
            .args(["--service", &service, "--skip-task-definition-registration"])
            .args(["--poll-interval", "500ms", "--timeout", "90s"]))
    };
    deploy().assert_code(0);

    let tasks = api
        .block_on(
            api.ecs
                .list_tasks()
                .cluster(&cluster)
                .service_name(&service)
                .send(),
        )
        .unwrap();
    let described = api
        .block_on(
            api.ecs
                .describe_tasks()
                .cluster(&cluster)
                .set_tasks(Some(tasks.task_arns().to_vec()))
                .send(),
        )
        .unwrap();
    let task = described.tasks().first().expect("a running task");
    let names: Vec<&str> = task.containers().iter().filter_map(|c| c.name()).collect();
    assert_eq!(names, ["tutorial-site-app", "page-watcher"]);
    let watcher_id = task.containers()[1].runtime_id().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let output = Command::new("docker")
            .args(["exec", &watcher_id, "cat", "/tmp/page"])
            .output()
            .unwrap();
        let page = String::from_utf8_lossy(&output.stdout).into_owned();
        if page.contains("version 1") || Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        page.contains("version 1"),
        "the sidecar did not reach the app on the task's loopback: {page:?}"
    );

    // An essential sidecar that exits fails the release, named, and the breaker rolls back.
    register_with_sidecar(&api, &family, &v1, &stack.base_image, "exit 3", true);
    deploy()
        .assert_code(1)
        .assert_stderr_contains("Essential container in task exited")
        .assert_stderr_contains("container page-watcher exited 3")
        .assert_stderr_contains("the service back to");
}

/// A cluster and a service of `desired` tasks with this rolling-update configuration: the
/// circuit breaker on (with rollback or not) when `breaker` says, and a health-check grace period.
#[allow(clippy::too_many_arguments)]
fn create_service(
    api: &Api,
    cluster: &str,
    service: &str,
    task_definition: &str,
    desired: i32,
    (maximum_percent, minimum_healthy_percent): (i32, i32),
    breaker: Option<bool>,
    grace_period: Option<i32>,
) {
    use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration, LaunchType};
    api.block_on(api.ecs.create_cluster().cluster_name(cluster).send())
        .unwrap();
    api.block_on(
        api.ecs
            .create_service()
            .cluster(cluster)
            .service_name(service)
            .task_definition(task_definition)
            .desired_count(desired)
            .launch_type(LaunchType::Fargate)
            .set_health_check_grace_period_seconds(grace_period)
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .maximum_percent(maximum_percent)
                    .minimum_healthy_percent(minimum_healthy_percent)
                    .set_deployment_circuit_breaker(breaker.map(|rollback| {
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(rollback)
                            .build()
                    }))
                    .build(),
            )
            .send(),
    )
    .unwrap();
}

fn described(api: &Api, cluster: &str, service: &str) -> aws_sdk_ecs::types::Service {
    api.block_on(
        api.ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send(),
    )
    .unwrap()
    .services()[0]
        .clone()
}

fn event_messages(service: &aws_sdk_ecs::types::Service) -> Vec<String> {
    service
        .events()
        .iter()
        .filter_map(|event| event.message().map(str::to_string))
        .collect()
}

/// Polls DescribeServices until `done` holds, or fails after `limit`.
fn wait_until(
    api: &Api,
    cluster: &str,
    service: &str,
    limit: Duration,
    done: impl Fn(&aws_sdk_ecs::types::Service) -> bool,
) -> aws_sdk_ecs::types::Service {
    let deadline = Instant::now() + limit;
    loop {
        let now = described(api, cluster, service);
        if done(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not get there within {limit:?}: {now:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// An image whose container exits 3 at once.
pub(crate) fn push_broken(stack: &Stack, endpoint: &str, repo: &str) -> String {
    let context = tempfile::tempdir().unwrap();
    write(
        context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nCMD [\"sh\", \"-c\", \"echo cannot start; exit 3\"]\n",
            stack.base_image
        ),
    );
    push_site(endpoint, repo, "broken", "broken", Some(context.path()))
}

#[test]
fn a_circuit_breaker_rollback_makes_the_previous_deployment_primary_again_under_its_own_id() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let broken = push_broken(&stack, &stack.emulator, &repo);
    let service = Service::start(&stack, &stack.emulator, &v1, true);
    let api = &service.api;
    let before = described(api, &service.cluster, &service.service);
    let old_id = before.deployments()[0].id().unwrap().to_string();
    let first = before.task_definition().unwrap().to_string();
    let second = api.register_seed_with_image(&service.family, &broken);

    let updated = api
        .block_on(
            api.ecs
                .update_service()
                .cluster(&service.cluster)
                .service(&service.service)
                .task_definition(&second)
                .send(),
        )
        .unwrap();
    let failed_id = updated.service().unwrap().deployments()[0]
        .id()
        .unwrap()
        .to_string();
    assert_ne!(failed_id, old_id);

    let after = wait_until(
        api,
        &service.cluster,
        &service.service,
        Duration::from_secs(120),
        |now| {
            now.deployments().len() == 1
                && now.deployments()[0].rollout_state()
                    == Some(&aws_sdk_ecs::types::DeploymentRolloutState::Completed)
                && now.task_definition() == Some(first.as_str())
        },
    );
    let primary = &after.deployments()[0];
    assert_eq!(primary.id(), Some(old_id.as_str()), "no new deployment id");
    assert_eq!(primary.status(), Some("PRIMARY"));
    assert_eq!(primary.task_definition(), Some(first.as_str()));
    assert_eq!(
        primary.rollout_state_reason(),
        Some(
            format!("ECS deployment circuit breaker: rolling back to deploymentId {old_id}")
                .as_str()
        )
    );
    let events = event_messages(&after);
    let name = &service.service;
    let failed_event = format!(
        "(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."
    );
    let rollback_event = format!("(service {name}) rolling back to deployment {old_id}.");
    let position = |wanted: &str| events.iter().position(|message| message == wanted);
    let (Some(failed_at), Some(rollback_at)) = (position(&failed_event), position(&rollback_event))
    else {
        panic!("events lack {failed_event:?} or {rollback_event:?}: {events:#?}");
    };
    assert!(
        rollback_at < failed_at,
        "newest first: the rollback follows the failure"
    );

    let listed = api
        .block_on(
            api.ecs
                .list_service_deployments()
                .cluster(&service.cluster)
                .service(&service.service)
                .send(),
        )
        .unwrap();
    let statuses: Vec<(String, String)> = listed
        .service_deployments()
        .iter()
        .map(|d| {
            (
                d.service_deployment_arn().unwrap_or_default().to_string(),
                d.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let failed_number = failed_id.trim_start_matches("ecs-svc/");
    assert!(
        statuses
            .iter()
            .any(|(arn, status)| arn.ends_with(failed_number) && status == "ROLLBACK_SUCCESSFUL"),
        "{statuses:?}"
    );
    assert_eq!(
        service.pages(),
        ["version 1"],
        "the previous version serves"
    );
}

#[test]
fn without_rollback_a_tripped_breaker_leaves_the_deployment_primary_and_failed() {
    let stack = stack();
    // The breaker trips at the first failed task here: the emulator's setting, not ECS's 3.
    let emulator = faulty_emulator(&["--breaker-threshold".into(), "1".into()]);
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
    let broken = push_broken(&stack, &emulator.endpoint, &repo);
    let service = Service::fresh(&stack, &emulator.endpoint);
    let api = &service.api;
    let first = api.register_seed_with_image(&service.family, &v1);
    create_service(
        api,
        &service.cluster,
        &service.service,
        &first,
        1,
        (200, 100),
        Some(false),
        None,
    );
    service
        .update(&["--skip-task-definition-registration", "--timeout", "60s"])
        .assert_code(0);

    service
        .update(&[
            "--container-image-name-updates",
            &format!("container=tutorial-site-app,image-and-tag={broken}"),
            "--timeout",
            "90s",
        ])
        .assert_code(1);
    let after = described(api, &service.cluster, &service.service);
    let primary = &after.deployments()[0];
    assert_eq!(primary.status(), Some("PRIMARY"));
    assert_eq!(
        primary.rollout_state(),
        Some(&aws_sdk_ecs::types::DeploymentRolloutState::Failed)
    );
    assert_eq!(
        primary.rollout_state_reason(),
        Some("ECS deployment circuit breaker: tasks failed to start.")
    );
    assert_eq!(
        primary.failed_tasks(),
        1,
        "the configured threshold tripped it"
    );
    assert!(after.task_definition().unwrap().ends_with(":2"));
    assert_eq!(
        after.deployments().len(),
        2,
        "the old deployment is still ACTIVE"
    );
    assert_eq!(service.pages(), ["version 1"]);
}

/// Samples DescribeServices on its own thread until told to stop: (tasks running or pending
/// across deployments, tasks running, deployments with running tasks) per sample.
fn sample_counts(
    endpoint: String,
    cluster: String,
    service: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(i32, i32, usize)>> {
    std::thread::spawn(move || {
        let api = Api::at(&endpoint);
        let mut samples = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let now = described(&api, &cluster, &service);
            let live = now
                .deployments()
                .iter()
                .map(|d| d.running_count() + d.pending_count())
                .sum();
            let running = now.deployments().iter().map(|d| d.running_count()).sum();
            let serving = now
                .deployments()
                .iter()
                .filter(|d| d.running_count() > 0)
                .count();
            samples.push((live, running, serving));
            std::thread::sleep(Duration::from_millis(100));
        }
        samples
    })
}

#[test]
fn a_rolling_update_stays_within_the_maximum_and_the_healthy_minimum() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let v2 = push_site(&stack.emulator, &repo, "v2", "2", None);
    let service = Service::fresh(&stack, &stack.emulator);
    let first = service.api.register_seed_with_image(&service.family, &v1);
    // Two tasks, at most two at a time, at least one healthy: one old task makes room at a time.
    create_service(
        &service.api,
        &service.cluster,
        &service.service,
        &first,
        2,
        (100, 50),
        Some(true),
        None,
    );
    service
        .update(&["--skip-task-definition-registration", "--timeout", "90s"])
        .assert_code(0);
    assert_eq!(service.pages(), ["version 1", "version 1"]);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_counts(
        stack.emulator.clone(),
        service.cluster.clone(),
        service.service.clone(),
        stop.clone(),
    );
    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={v2}"),
        "--timeout",
        "120s",
    ]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let samples = sampler.join().unwrap();
    result.assert_code(0);
    assert!(samples.len() > 5, "too few samples: {samples:?}");
    assert!(
        samples.iter().all(|(live, _, _)| *live <= 2),
        "more than maximumPercent's 2 tasks: {samples:?}"
    );
    assert!(
        samples.iter().all(|(_, running, _)| *running >= 1),
        "fewer than minimumHealthyPercent's 1 healthy task: {samples:?}"
    );
    assert!(
        samples.iter().any(|(_, _, serving)| *serving == 2),
        "the old and the new deployment never ran side by side: {samples:?}"
    );
    assert_eq!(service.pages(), ["version 2", "version 2"]);
}

#[test]
fn health_check_failures_during_the_grace_period_do_not_stop_the_task() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    // Unhealthy for its first seconds, then ready and serving.
    let context = tempfile::tempdir().unwrap();
    write(
        context.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nRUN mkdir -p /www && echo '<p>version slow</p>' > /www/index.html\n\
             HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD test -f /tmp/ready\n\
             CMD [\"sh\", \"-c\", \"sleep 5; echo > /tmp/ready; exec httpd -f -p 3000 -h /www\"]\n",
            stack.base_image
        ),
    );
    let slow = push_site(&stack.emulator, &repo, "slow", "slow", Some(context.path()));
    let service = Service::fresh(&stack, &stack.emulator);
    let api = &service.api;
    let first = api.register_seed_with_image(&service.family, &v1);
    create_service(
        api,
        &service.cluster,
        &service.service,
        &first,
        1,
        (200, 100),
        Some(true),
        None,
    );
    service
        .update(&["--skip-task-definition-registration", "--timeout", "60s"])
        .assert_code(0);
    let release = || {
        service.update(&[
            "--container-image-name-updates",
            &format!("container=tutorial-site-app,image-and-tag={slow}"),
            "--timeout",
            "120s",
        ])
    };

    // No grace period: the first failed check stops each task and the breaker rolls back.
    release().assert_code(1);
    assert!(service
        .stopped_reasons()
        .iter()
        .any(|reason| reason == "Task failed container health checks"));
    assert_eq!(service.pages(), ["version 1"]);

    // With one, the same release becomes healthy and replaces version 1.
    api.block_on(
        api.ecs
            .update_service()
            .cluster(&service.cluster)
            .service(&service.service)
            .health_check_grace_period_seconds(30)
            .send(),
    )
    .unwrap();
    let health_stops = || {
        service
            .stopped_reasons()
            .iter()
            .filter(|reason| *reason == "Task failed container health checks")
            .count()
    };
    let stopped_before = health_stops();
    release().assert_code(0);
    assert_eq!(service.pages(), ["version slow"]);
    assert_eq!(
        health_stops(),
        stopped_before,
        "a task was stopped for its health checks during the grace period"
    );
    assert_eq!(
        described(api, &service.cluster, &service.service).health_check_grace_period_seconds(),
        Some(30)
    );
}

#[test]
fn the_stale_fault_answers_describe_services_as_before_the_update_for_a_few_polls() {
    let stack = stack();
    let emulator = faulty_emulator(&["--stale-describe-polls".into(), "3".into()]);
    let api = Api::at(&emulator.endpoint);
    let family = unique_repo("tutorial-site-task");
    let (cluster, service) = (unique_repo("stale-cluster"), unique_repo("stale-service"));
    let first = api.register_seed_with_image(&family, &stack.base_image);
    let second = api.register_seed_with_image(&family, &stack.base_image);
    // No tasks: what is looked at is the answer, not the rollout.
    create_service(&api, &cluster, &service, &first, 0, (200, 100), None, None);
    let old_id = described(&api, &cluster, &service).deployments()[0]
        .id()
        .unwrap()
        .to_string();
    let updated = api
        .block_on(
            api.ecs
                .update_service()
                .cluster(&cluster)
                .service(&service)
                .task_definition(&second)
                .send(),
        )
        .unwrap();
    let new_id = updated.service().unwrap().deployments()[0]
        .id()
        .unwrap()
        .to_string();
    for poll in 1..=3 {
        let stale = described(&api, &cluster, &service);
        assert_eq!(stale.task_definition(), Some(first.as_str()), "poll {poll}");
        let ids: Vec<&str> = stale.deployments().iter().filter_map(|d| d.id()).collect();
        assert_eq!(
            ids,
            [old_id.as_str()],
            "poll {poll}: our deployment is not listed yet"
        );
    }
    let fresh = described(&api, &cluster, &service);
    assert_eq!(fresh.task_definition(), Some(second.as_str()));
    assert_eq!(fresh.deployments()[0].id(), Some(new_id.as_str()));
}

/// The seed's service, running v1 with the circuit breaker, on an emulator that fails to place
/// its first `unplaceable` tasks (ECS's "unable to place a task" events).
fn unplaceable_service(unplaceable: u32) -> (FaultyEmulator, Service) {
    let stack = stack();
    let (family, cluster, name) = (
        unique_repo("tutorial-site-task"),
        unique_repo("tutorial-site-cluster"),
        unique_repo("tutorial-site-service"),
    );
    let emulator = faulty_emulator(&[
        "--unplaceable-service".into(),
        format!("{name}:{unplaceable}"),
    ]);
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
    let service = Service::adopt(&stack, &emulator.endpoint, family, cluster, name.clone());
    let first = service.api.register_seed_with_image(&service.family, &v1);
    create_service(
        &service.api,
        &service.cluster,
        &name,
        &first,
        1,
        (200, 100),
        Some(true),
        None,
    );
    (emulator, service)
}

#[test]
fn the_placement_fault_writes_ecs_event_and_the_rollout_goes_on_once_tasks_fit() {
    let (_emulator, service) = unplaceable_service(2);
    let name = service.service.clone();
    let message = format!(
        "(service {name}) was unable to place a task because no container instance met all of its requirements."
    );
    service
        .update(&["--skip-task-definition-registration", "--timeout", "60s"])
        .assert_code(0)
        .assert_stderr_contains(&message);
    let events = event_messages(&described(&service.api, &service.cluster, &name));
    assert_eq!(
        events.iter().filter(|m| **m == message).count(),
        2,
        "{events:#?}"
    );
    assert_eq!(service.pages(), ["version 1"]);
}

#[test]
fn wait_until_running_returns_once_our_tasks_are_running_and_settled() {
    let stack = stack();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&stack.emulator, &repo, "v1", "1", None);
    let v2 = push_site(&stack.emulator, &repo, "v2", "2", None);
    let service = Service::start(&stack, &stack.emulator, &v1, true);
    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={v2}"),
        "--wait-until",
        "running",
        "--settle-time",
        "2s",
        "--timeout",
        "60s",
        "--output",
        "json",
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains("is running and healthy; settling for 2s");
    let outcome: serde_json::Value = serde_json::from_str(&result.stdout).unwrap();
    assert_eq!(outcome["result"], "running");
    assert!(
        service.pages().contains(&"version 2".to_string()),
        "{:?}",
        service.pages()
    );
}

const TARGET_GROUP: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tutorial-site-tg/0123456789abcdef";

/// The seed's service running v1 behind `TARGET_GROUP`, on an emulator whose targets stay
/// `initial` for `delay_ms` after their task is healthy; and the repository v1 came from.
fn service_behind_a_slow_load_balancer(delay_ms: u64) -> (FaultyEmulator, Service, String) {
    let stack = stack();
    let emulator = faulty_emulator(&["--target-health-delay-ms".into(), delay_ms.to_string()]);
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
    let service = Service::fresh(&stack, &emulator.endpoint);
    let api = &service.api;
    let first = api.register_seed_with_image(&service.family, &v1);
    api.block_on(
        api.ecs
            .create_cluster()
            .cluster_name(&service.cluster)
            .send(),
    )
    .unwrap();
    api.block_on(
        api.ecs
            .create_service()
            .cluster(&service.cluster)
            .service_name(&service.service)
            .task_definition(&first)
            .desired_count(1)
            .load_balancers(
                aws_sdk_ecs::types::LoadBalancer::builder()
                    .target_group_arn(TARGET_GROUP)
                    .container_name("tutorial-site-app")
                    .container_port(3000)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    (emulator, service, repo)
}

#[test]
fn wait_until_running_waits_for_the_load_balancer_to_find_our_tasks_healthy() {
    // A load balancer slow to pass its health checks: initial for 4s after a task is healthy.
    let (emulator, service, repo) = service_behind_a_slow_load_balancer(4000);
    let v2 = push_site(&emulator.endpoint, &repo, "v2", "2", None);
    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={v2}"),
        "--wait-until",
        "running",
        "--settle-time",
        "1s",
        "--timeout",
        "90s",
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains("in tutorial-site-tg is initial (Elb.InitialHealthChecking)")
        .assert_stderr_contains("is running and healthy; settling for 1s");
    // The wait saw the target unhealthy before it said ready.
    let initial_at = result.stderr.find("is initial").unwrap();
    let ready_at = result.stderr.find("running and healthy").unwrap();
    assert!(initial_at < ready_at, "{}", result.stderr);
}

#[test]
fn a_deployment_the_first_answers_do_not_list_yet_is_waited_for_not_reported_gone() {
    let stack = stack();
    let emulator = faulty_emulator(&["--stale-describe-polls".into(), "3".into()]);
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
    let v2 = push_site(&emulator.endpoint, &repo, "v2", "2", None);
    let service = Service::start(&stack, &emulator.endpoint, &v1, true);
    let result = service.update(&[
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={v2}"),
        "--timeout",
        "60s",
    ]);
    result
        .assert_code(0)
        .assert_stderr_contains("does not list deployment")
        .assert_stderr_contains("is completed");
    assert_eq!(service.pages(), ["version 2"]);
}

#[test]
fn placement_failures_stop_the_wait_only_when_they_are_of_this_deployment() {
    let (_emulator, service) = unplaceable_service(4);
    let name = service.service.clone();
    // This deployment's own placement failure stops the wait when asked.
    service
        .update(&[
            "--skip-task-definition-registration",
            "--fail-on-placement-errors",
            "--timeout",
            "60s",
        ])
        .assert_code(1)
        .assert_stderr_contains(&format!("ECS cannot place tasks of {name}"));
    // ECS goes on and places the task once it fits.
    service
        .update(&["--skip-task-definition-registration", "--timeout", "60s"])
        .assert_code(0);
    let placement = format!("(service {name}) was unable to place a task");
    let events = event_messages(&described(&service.api, &service.cluster, &name));
    assert!(
        events.iter().any(|message| message.starts_with(&placement)),
        "the service starts with old placement events: {events:#?}"
    );
    // A new deployment is not failed by them.
    let result = service.update(&[
        "--skip-task-definition-registration",
        "--force-new-deployment",
        "--fail-on-placement-errors",
        "--timeout",
        "60s",
    ]);
    result.assert_code(0);
    assert!(
        !result.stderr.contains("cannot place tasks"),
        "{}",
        result.stderr
    );
    assert_eq!(service.pages(), ["version 1"]);
}

fn labelled_containers(instance: &str) -> Vec<String> {
    let output = Command::new("docker")
        .args(["ps", "-aq", "--filter"])
        .arg(format!("label=deployer-emulator.instance={instance}"))
        .output()
        .unwrap();
    assert!(output.status.success(), "docker ps: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// An emulator whose task containers take 30 s from creation to start, with a service that
/// wants one: returns once that container exists, the task still being started.
fn emulator_starting_a_task(instance: &str) -> FaultyEmulator {
    let emulator = faulty_emulator(&[
        "--instance".into(),
        instance.into(),
        "--launch-delay-ms".into(),
        "30000".into(),
    ]);
    let api = Api::at(&emulator.endpoint);
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
    let family = unique_repo("tutorial-site-task");
    let first = api.register_seed_with_image(&family, &v1);
    create_service(
        &api,
        &unique_repo("cleanup-cluster"),
        &unique_repo("cleanup-service"),
        &first,
        1,
        (200, 100),
        None,
        None,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while labelled_containers(instance).is_empty() {
        assert!(Instant::now() < deadline, "no task container was created");
        std::thread::sleep(Duration::from_millis(100));
    }
    emulator
}

#[test]
fn an_emulator_stopped_while_starting_a_task_leaves_no_container() {
    stack();
    let instance = unique_repo("cleanup-term");
    let mut emulator = emulator_starting_a_task(&instance);
    Command::new("kill")
        .args(["-TERM", &emulator.child.id().to_string()])
        .status()
        .unwrap();
    emulator.child.wait().unwrap();
    assert_eq!(labelled_containers(&instance), Vec::<String>::new());
}

#[test]
fn containers_of_a_killed_emulator_are_removed_by_the_stack_cleanup() {
    stack();
    let instance = unique_repo("cleanup-kill");
    let mut emulator = emulator_starting_a_task(&instance);
    emulator.child.kill().unwrap();
    emulator.child.wait().unwrap();
    assert!(
        !labelled_containers(&instance).is_empty(),
        "a killed emulator cannot clean up: its container is still there"
    );
    let cleanup = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/stack.sh"))
        .args(["remove-task-containers", &instance])
        .status()
        .unwrap();
    assert!(cleanup.success());
    assert_eq!(labelled_containers(&instance), Vec::<String>::new());
}

/// The service's one task once it runs (healthy, as the emulator judges it), from DescribeTasks.
fn running_task(api: &Api, cluster: &str, service: &str) -> aws_sdk_ecs::types::Task {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let arns = api
            .block_on(
                api.ecs
                    .list_tasks()
                    .cluster(cluster)
                    .service_name(service)
                    .send(),
            )
            .unwrap()
            .task_arns()
            .to_vec();
        if !arns.is_empty() {
            let tasks = api
                .block_on(
                    api.ecs
                        .describe_tasks()
                        .cluster(cluster)
                        .set_tasks(Some(arns))
                        .send(),
                )
                .unwrap();
            if let Some(task) = tasks
                .tasks()
                .iter()
                .find(|task| task.last_status() == Some("RUNNING"))
            {
                return task.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no task of {service} ran within 60s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// ELBv2 on `endpoint`, built as the tests build their ECS and ECR clients.
fn load_balancing(api: &Api, endpoint: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    let config = api.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .load(),
    );
    aws_sdk_elasticloadbalancingv2::Client::new(&config)
}

#[test]
fn target_health_names_each_task_by_its_private_address_initial_then_healthy() {
    use aws_sdk_elasticloadbalancingv2::types::{TargetHealthReasonEnum, TargetHealthStateEnum};
    // A load balancer slow to pass its health checks: initial for 5s after the task is healthy.
    let (emulator, service, _) = service_behind_a_slow_load_balancer(5000);
    let api = &service.api;
    let group = TARGET_GROUP;
    let load_balancer = aws_sdk_ecs::types::LoadBalancer::builder()
        .target_group_arn(group)
        .container_name("tutorial-site-app")
        .container_port(3000)
        .build();
    assert_eq!(
        described(api, &service.cluster, &service.service).load_balancers(),
        [load_balancer]
    );

    let task = running_task(api, &service.cluster, &service.service);
    let seen_running = Instant::now();
    let attachment = &task.attachments()[0];
    assert_eq!(attachment.r#type(), Some("ElasticNetworkInterface"));
    assert_eq!(attachment.status(), Some("ATTACHED"));
    let address = attachment
        .details()
        .iter()
        .find(|detail| detail.name() == Some("privateIPv4Address"))
        .and_then(|detail| detail.value())
        .expect("the ENI's address")
        .to_string();
    assert!(address.starts_with("10.0."), "{address}");
    let interface = &task.containers()[0].network_interfaces()[0];
    assert_eq!(interface.private_ipv4_address(), Some(address.as_str()));
    assert_eq!(interface.attachment_id(), attachment.id());

    let elb = load_balancing(api, &emulator.endpoint);
    let health = || {
        let answer = api
            .block_on(elb.describe_target_health().target_group_arn(group).send())
            .unwrap();
        let [target] = answer.target_health_descriptions() else {
            panic!("one target: {answer:#?}");
        };
        target.clone()
    };
    let initial = health();
    let target = initial.target().unwrap();
    assert_eq!(
        (target.id(), target.port(), initial.health_check_port()),
        (Some(address.as_str()), Some(3000), Some("3000"))
    );
    let target_health = initial.target_health().unwrap();
    assert_eq!(
        (target_health.state(), target_health.reason()),
        (
            Some(&TargetHealthStateEnum::Initial),
            Some(&TargetHealthReasonEnum::InitialHealthChecking)
        ),
        "the running task's target is still being checked: {initial:#?}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let healthy = loop {
        let now = health();
        if now.target_health().unwrap().state() == Some(&TargetHealthStateEnum::Healthy) {
            break now;
        }
        assert!(Instant::now() < deadline, "never healthy: {now:#?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        seen_running.elapsed() >= Duration::from_secs(2),
        "healthy after {:?}, before the slow health check could pass",
        seen_running.elapsed()
    );
    assert_eq!(healthy.target().unwrap().id(), Some(address.as_str()));
    assert_eq!(healthy.target_health().unwrap().reason(), None);

    let error = api
        .block_on(
            elb.describe_target_health()
                .target_group_arn(group.replace("tutorial-site", "nobody"))
                .send(),
        )
        .unwrap_err()
        .into_service_error();
    assert!(error.is_target_group_not_found_exception(), "{error:#?}");
}

/// Issue 19: ECS Managed Instances. A task definition that requires MANAGED_INSTANCES renders,
/// registers and rolls out like any other: the new revision keeps the requirement, the wait
/// ends when it is deployed, and the new version serves.
#[test]
fn a_managed_instances_revision_renders_registers_and_rolls_out() {
    let stack = stack();
    // An emulator of this checkout's own, whatever the stack's was started from.
    let emulator = faulty_emulator(&[]);
    let endpoint = emulator.endpoint.clone();
    let repo = unique_repo("tutorial-site-registry");
    let v1 = push_site(&endpoint, &repo, "v1", "1", None);
    let v2 = push_site(&endpoint, &repo, "v2", "2", None);
    let service = Service::fresh(&stack, &endpoint);
    let mut definition = crate::support::seed_task_definition(&service.family);
    definition["requiresCompatibilities"] = serde_json::json!(["MANAGED_INSTANCES"]);
    definition["containerDefinitions"][0]["image"] = serde_json::json!(v1);
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::write(dir.path(), "managed.json", &definition.to_string());
    let registered = run(on(&endpoint)
        .args(["register-task-definition", "--task-definition-file"])
        .arg(&file));
    registered.assert_code(0);
    let first = registered.stdout.trim().to_string();
    service
        .api
        .create_cluster_and_service(&service.cluster, &service.service, &first);
    let result = run(on(&endpoint).args([
        "update-service",
        "--family",
        &service.family,
        "--cluster",
        &service.cluster,
        "--service",
        &service.service,
        "--container-image-name-updates",
        &format!("container=tutorial-site-app,image-and-tag={v2}"),
        "--poll-interval",
        "500ms",
    ]));
    result.assert_code(0).assert_stderr_contains("is completed");
    let arn = result.stdout.trim();
    let (described, _) = service.api.describe(arn);
    assert_eq!(
        described
            .requires_compatibilities()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["MANAGED_INSTANCES"]
    );
    assert_eq!(service.pages(), ["version 2"]);
}
