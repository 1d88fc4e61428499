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
fn on(endpoint: &str) -> Command {
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
        let service = Service::adopt(
            stack,
            endpoint,
            unique_repo("tutorial-site-task"),
            unique_repo("tutorial-site-cluster"),
            unique_repo("tutorial-site-service"),
        );
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

    fn update(&self, flags: &[&str]) -> Run {
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
            .args(["--poll-interval", "500ms"])
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
        .assert_stderr_contains("has reached a steady state")
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
        .assert_stderr_contains("rolled the service back to")
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

/// A second emulator with fault injection, on a port of its own.
struct FaultyEmulator {
    child: Child,
    endpoint: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts an emulator with extra flags and waits until it answers.
fn faulty_emulator(flags: &[String]) -> FaultyEmulator {
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
        .assert_stderr_contains("rolled the service back to");
}
