//! The stack as the tests see it: how to run deployer, and how to look into the registry and
//! moto afterwards.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use base64::Engine;

/// Stack addresses, from the environment `scripts/stack.sh` writes.
pub struct Stack {
    pub registry: String,
    pub registry_user: String,
    pub registry_password: String,
    pub moto: String,
    pub emulator: String,
    pub base_image: String,
}

pub fn stack() -> Stack {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: these tests need the local stack; run ./scripts/test.sh (or scripts/stack.sh start && source .stack/env)")
        })
    };
    Stack {
        registry: var("DEPLOYER_STACK_REGISTRY"),
        registry_user: var("DEPLOYER_STACK_REGISTRY_USER"),
        registry_password: var("DEPLOYER_STACK_REGISTRY_PASSWORD"),
        moto: var("DEPLOYER_STACK_MOTO"),
        emulator: var("DEPLOYER_STACK_EMULATOR"),
        base_image: var("DEPLOYER_STACK_BASE_IMAGE"),
    }
}

/// The seed's service on moto, under names no other test uses: a family with one revision, a
/// cluster, and a service running that revision.
pub struct MotoSeed {
    pub ecs: Api,
    pub family: String,
    pub cluster: String,
    pub service: String,
    pub first: String,
}

pub fn moto_seed() -> MotoSeed {
    let ecs = Api::moto(&stack());
    let family = unique_repo("tutorial-site-task");
    let cluster = unique_repo("tutorial-site-cluster");
    let service = unique_repo("tutorial-site-service");
    let first = ecs.register_seed(&family);
    ecs.create_cluster_and_service(&cluster, &service, &first);
    MotoSeed {
        ecs,
        family,
        cluster,
        service,
        first,
    }
}

/// A repository name no other test uses.
pub fn unique_repo(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// What a run of deployer left: exit code, stdout, stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}",
            self.stderr
        );
        self
    }
}

/// `deployer push` of the context in `dir` to `repo`, created if missing, on the stack's registry.
pub fn push(dir: &Path, stack: &Stack, repo: &str) -> Command {
    let mut command = deployer(dir);
    command.args([
        "push",
        "--repo",
        repo,
        "--create-repo",
        "--registry",
        &stack.registry,
    ]);
    command
}

/// With `DEPLOYER_TEST_RECORD_DIR` set, the `--record` flag that writes this run's AWS calls
/// there, named after the test (how tests/replays is seeded: see its README).
pub fn record_flag() -> Vec<String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let Ok(dir) = std::env::var("DEPLOYER_TEST_RECORD_DIR") else {
        return Vec::new();
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test").replace("::", "-");
    let file = format!(
        "{dir}/{test}-{}.jsonl",
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    vec!["--record".to_string(), file]
}

/// `deployer` with the stack's environment, in `dir`.
pub fn deployer(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deployer"));
    command.current_dir(dir);
    for name in [
        "CIRCLE_OIDC_TOKEN",
        "CIRCLE_OIDC_TOKEN_V2",
        "DEPLOYER_ROLE_ARN",
        "RUST_LOG",
        "AWS_PROFILE",
    ] {
        command.env_remove(name);
    }
    command
}

/// The docker CLI against the stack's engine; panics with its stderr when it fails.
pub fn docker(args: &[&str]) -> Vec<u8> {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The engine's build cache is shared by every test. Pruning it while a build runs crashes the
/// 20.10 engine's BuildKit (a nil reference in its image puller), and that engine cannot prune
/// selectively: every command a test runs holds this lock shared, the prune holds it alone.
static BUILD_CACHE: RwLock<()> = RwLock::new(());

pub fn run(command: &mut Command) -> Run {
    let _shared = BUILD_CACHE.read().unwrap_or_else(PoisonError::into_inner);
    Run::from(command.output().expect("deployer runs"))
}

/// `command` run alone on the engine: it waits until no other test's command runs and holds new
/// ones back until it is done. For the builds whose inline cache a test checks: the 20.10
/// engine's BuildKit exports or imports inline cache unreliably when other builds share its cache
/// (moby/buildkit#1981 and #2274, "--cache-from ... fails every second time", confirmed for the
/// moby integration); under six tests at once, a clean-clone run's `--cache-from` build missed a
/// cache the test had just pushed.
pub fn run_alone(command: &mut Command) -> Run {
    let _alone = BUILD_CACHE.write().unwrap_or_else(PoisonError::into_inner);
    Run::from(command.output().expect("deployer runs"))
}

/// `command` on an empty build cache, as on a fresh CI machine, and alone (`run_alone`): it
/// empties the cache (`docker builder prune -af`) once no other test's command runs, then runs
/// `command` before letting them go.
pub fn run_on_an_empty_build_cache(command: &mut Command) -> Run {
    let _alone = BUILD_CACHE.write().unwrap_or_else(PoisonError::into_inner);
    // The engine releases a finished build's leases in the background: a prune that meets one
    // being released fails with `lease "…": not found`, and the next one does not.
    for attempt in 1..=5 {
        let output = Command::new("docker")
            .args(["builder", "prune", "-af"])
            .output()
            .expect("the docker CLI runs");
        if output.status.success() {
            break;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            attempt < 5 && stderr.contains("lease"),
            "docker builder prune -af: {stderr}"
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    Run::from(command.output().expect("deployer runs"))
}

/// What a later CircleCI step's programs see after `--export-env FILE`: bash sources the file
/// (as CircleCI does with `$BASH_ENV`) and starts a program, whose environment is returned.
pub fn exported_to_later_steps(file: &Path) -> std::collections::BTreeMap<String, String> {
    let output = Command::new("bash")
        .args(["-c", "source \"$1\" && exec env -0", "bash"])
        .arg(file)
        .env_clear()
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "bash cannot source {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .split('\0')
        .filter_map(|entry| entry.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// A build context with the tutorial site's Dockerfile on the imported busybox base.
pub fn site_context(stack: &Stack, extra_dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {}\nARG VERSION=dev\nRUN mkdir -p /www && echo \"tutorial site $VERSION\" > /www/index.html\n{extra_dockerfile}\nEXPOSE 3000\nCMD [\"httpd\", \"-f\", \"-p\", \"3000\", \"-h\", \"/www\"]\n",
        stack.base_image
    );
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

pub fn write(dir: &Path, path: &str, text: &str) -> PathBuf {
    let path = dir.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The registry's HTTP API, with the stack's credentials.
pub struct Registry<'a> {
    stack: &'a Stack,
}

const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

impl<'a> Registry<'a> {
    pub fn new(stack: &'a Stack) -> Self {
        Registry { stack }
    }

    fn get(&self, path: &str) -> Result<ureq::Response, Box<ureq::Error>> {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.stack.registry_user, self.stack.registry_password
        ));
        ureq::get(&format!("http://{}/v2/{path}", self.stack.registry))
            .set("Authorization", &format!("Basic {basic}"))
            .set("Accept", MANIFEST_TYPES)
            .call()
            .map_err(Box::new)
    }

    /// The digest the registry stores for `repo:tag`, or `None` when the tag does not exist.
    pub fn digest(&self, repo: &str, tag: &str) -> Option<String> {
        match self.get(&format!("{repo}/manifests/{tag}")) {
            Ok(response) => Some(
                response
                    .header("Docker-Content-Digest")
                    .expect("digest header")
                    .to_string(),
            ),
            Err(error) if matches!(*error, ureq::Error::Status(404, _)) => None,
            Err(error) => panic!("registry: {error}"),
        }
    }

    /// Stores `manifest` (of `media_type`) as `repo:reference`; returns the digest the registry
    /// gave it.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        manifest: &str,
    ) -> String {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.stack.registry_user, self.stack.registry_password
        ));
        ureq::put(&format!(
            "http://{}/v2/{repo}/manifests/{reference}",
            self.stack.registry
        ))
        .set("Authorization", &format!("Basic {basic}"))
        .set("Content-Type", media_type)
        .send_string(manifest)
        .unwrap()
        .header("Docker-Content-Digest")
        .expect("digest header")
        .to_string()
    }

    pub fn manifest(&self, repo: &str, tag: &str) -> String {
        self.get(&format!("{repo}/manifests/{tag}"))
            .unwrap()
            .into_string()
            .unwrap()
    }

    /// The manifest (or index) `repo:reference` as JSON, and its media type.
    pub fn manifest_json(&self, repo: &str, reference: &str) -> (serde_json::Value, String) {
        let response = self
            .get(&format!("{repo}/manifests/{reference}"))
            .unwrap_or_else(|error| panic!("registry: {repo}:{reference}: {error}"));
        let media_type = response.content_type().to_string();
        let text = response.into_string().unwrap();
        (serde_json::from_str(&text).unwrap(), media_type)
    }

    /// A blob of `repo` (an image config) as JSON.
    pub fn blob_json(&self, repo: &str, digest: &str) -> serde_json::Value {
        let text = self
            .get(&format!("{repo}/blobs/{digest}"))
            .unwrap()
            .into_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The image config (labels, env, cmd) of `repo:tag`.
    pub fn config(&self, repo: &str, tag: &str) -> serde_json::Value {
        let manifest: serde_json::Value = serde_json::from_str(&self.manifest(repo, tag)).unwrap();
        let digest = manifest["config"]["digest"].as_str().unwrap();
        let text = self
            .get(&format!("{repo}/blobs/{digest}"))
            .unwrap()
            .into_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    }
}

/// An AWS API on the stack (moto or the emulator), through the SDK, for setting up and
/// checking state.
pub struct Api {
    runtime: tokio::runtime::Runtime,
    ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub config: aws_config::SdkConfig,
}

impl Api {
    pub fn moto(stack: &Stack) -> Self {
        Self::at(&stack.moto)
    }

    pub fn emulator(stack: &Stack) -> Self {
        Self::at(&stack.emulator)
    }

    pub fn at(endpoint: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .load(),
        );
        Api {
            ecr: aws_sdk_ecr::Client::new(&config),
            ecs: aws_sdk_ecs::Client::new(&config),
            config,
            runtime,
        }
    }

    pub fn create_repository(&self, name: &str, mutability: &str) {
        self.runtime
            .block_on(
                self.ecr
                    .create_repository()
                    .repository_name(name)
                    .image_tag_mutability(mutability.into())
                    .send(),
            )
            .unwrap();
    }

    pub fn repository_exists(&self, name: &str) -> bool {
        self.runtime
            .block_on(
                self.ecr
                    .describe_repositories()
                    .repository_names(name)
                    .send(),
            )
            .is_ok()
    }

    pub fn repository(&self, name: &str) -> aws_sdk_ecr::types::Repository {
        self.runtime
            .block_on(
                self.ecr
                    .describe_repositories()
                    .repository_names(name)
                    .send(),
            )
            .unwrap()
            .repositories()[0]
            .clone()
    }

    pub fn repository_policy(&self, name: &str) -> Option<String> {
        self.runtime
            .block_on(
                self.ecr
                    .get_repository_policy()
                    .repository_name(name)
                    .send(),
            )
            .ok()
            .and_then(|answer| answer.policy_text().map(str::to_string))
    }

    /// Every tag of the repository with the digest ECR reports for it.
    pub fn tagged_digests(&self, name: &str) -> std::collections::BTreeMap<String, String> {
        let answer = self
            .runtime
            .block_on(self.ecr.list_images().repository_name(name).send())
            .unwrap();
        answer
            .image_ids()
            .iter()
            .filter_map(|id| Some((id.image_tag()?.to_string(), id.image_digest()?.to_string())))
            .collect()
    }

    pub fn lifecycle_policy(&self, name: &str) -> Option<String> {
        self.runtime
            .block_on(self.ecr.get_lifecycle_policy().repository_name(name).send())
            .ok()
            .and_then(|answer| answer.lifecycle_policy_text().map(str::to_string))
    }

    /// The repository's resource tags, key to value.
    pub fn repository_tags(&self, name: &str) -> std::collections::BTreeMap<String, String> {
        let arn = self.repository(name).repository_arn().unwrap().to_string();
        self.runtime
            .block_on(self.ecr.list_tags_for_resource().resource_arn(arn).send())
            .unwrap()
            .tags()
            .iter()
            .map(|tag| (tag.key().to_string(), tag.value().to_string()))
            .collect()
    }

    /// Stores `manifest` under `tag` as ECR's PutImage does (the media type from the manifest).
    pub fn put_image_manifest(&self, repo: &str, tag: &str, manifest: &serde_json::Value) {
        self.put_image(repo, tag, &manifest.to_string(), None)
            .unwrap();
    }

    /// The seed's repository with the tags its tests deploy (`latest`, `v2`, `v3`), as ECR would
    /// hold them after the pushes: deployer checks that a new ECR image exists before it
    /// registers a revision naming it. Shared by concurrent tests, so "already there" is fine.
    /// What the seed's tasks need besides images, as the tutorial's account has it: the
    /// execution role (trusting ECS tasks) and the awslogs group in eu-west-1, so that the
    /// plan's checks (deployer verify) find them. Where the endpoint has no IAM or CloudWatch
    /// Logs (the emulator), nothing is made and the checks say "not checked".
    pub fn seed_role_and_log_group(&self) {
        self.create_role(SEED_ROLE, "ecs-tasks.amazonaws.com");
        self.create_log_group("/ecs/tutorial-site-app", "eu-west-1");
    }

    /// An IAM role that `service` may assume (an existing one is kept).
    pub fn create_role(&self, name: &str, service: &str) {
        let iam = aws_sdk_iam::Client::new(&self.config);
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]});
        let _ = self.block_on(
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(trust.to_string())
                .send(),
        );
    }

    /// An SSM String parameter (overwritten when it exists).
    pub fn put_parameter(&self, name: &str, value: &str) {
        let ssm = aws_sdk_ssm::Client::new(&self.config);
        self.block_on(
            ssm.put_parameter()
                .name(name)
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send(),
        )
        .unwrap();
    }

    /// A CloudWatch Logs group in `region` (an existing one is kept).
    pub fn create_log_group(&self, name: &str, region: &str) {
        let config = self
            .config
            .to_builder()
            .region(aws_config::Region::new(region.to_string()))
            .build();
        let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
        let _ = self.block_on(logs.create_log_group().log_group_name(name).send());
    }

    pub fn seed_images_in_ecr(&self) {
        let _ = self.runtime.block_on(
            self.ecr
                .create_repository()
                .repository_name("tutorial-site-registry")
                .send(),
        );
        for tag in ["latest", "v2", "v3"] {
            let _ = self.try_put_manifest("tutorial-site-registry", tag);
        }
    }

    /// Puts a minimal image manifest under `tag`, as a push to ECR would leave one.
    pub fn put_manifest(&self, repo: &str, tag: &str) {
        self.try_put_manifest(repo, tag).unwrap();
    }

    fn try_put_manifest(&self, repo: &str, tag: &str) -> Result<(), String> {
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                       "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
            "layers": []
        });
        self.put_image(repo, tag, &manifest.to_string(), None)
    }

    fn put_image(
        &self,
        repo: &str,
        tag: &str,
        manifest: &str,
        digest: Option<&str>,
    ) -> Result<(), String> {
        self.runtime
            .block_on(
                self.ecr
                    .put_image()
                    .repository_name(repo)
                    .image_tag(tag)
                    .image_manifest(manifest)
                    .set_image_digest(digest.map(str::to_string))
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    /// Records in ECR that `repo:tag` holds `manifest` with `digest`, as a push through ECR would.
    pub fn record_manifest(&self, repo: &str, tag: &str, manifest: &str, digest: &str) {
        self.put_image(repo, tag, manifest, Some(digest)).unwrap();
    }

    /// Does what real ECR does on a push: records the manifest the registry stored under `tag`.
    pub fn record_push(&self, registry: &Registry, repo: &str, tag: &str) {
        let manifest = registry.manifest(repo, tag);
        let digest = registry.digest(repo, tag).unwrap();
        self.record_manifest(repo, tag, &manifest, &digest);
    }
}

/// The seed's task definition (ecs-basics.md), as `aws ecs register-task-definition` takes it.
/// The seed's execution role, which moto's IAM holds once a seed is registered.
pub const SEED_ROLE: &str = "tutorial-site-EcsTaskExecutionRole";

pub fn seed_task_definition(family: &str) -> serde_json::Value {
    serde_json::json!({
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "1024",
        "memory": "2048",
        "executionRoleArn": "arn:aws:iam::123456789012:role/tutorial-site-EcsTaskExecutionRole",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 30},
        "containerDefinitions": [{
            "name": "tutorial-site-app",
            "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:latest",
            "cpu": 1024,
            "memory": 2048,
            "networkMode": "awsvpc",
            "essential": true,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/ecs/tutorial-site-app",
                    "awslogs-region": "eu-west-1",
                    "awslogs-stream-prefix": "ecs"
                }
            },
            "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
            "environment": [{"name": "NODE_ENV", "value": "production"}]
        }],
        "tags": [{"key": "team", "value": "web"}, {"key": "app", "value": "tutorial-site"}]
    })
}

impl Api {
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Registers the seed's task definition through the AWS CLI's JSON shape (via deployer's
    /// own renderer would prove nothing), using the SDK's types.
    pub fn register_seed(&self, family: &str) -> String {
        self.seed_images_in_ecr();
        self.seed_role_and_log_group();
        let seed = seed_task_definition(family);
        self.register_seed_with_image(
            family,
            seed["containerDefinitions"][0]["image"].as_str().unwrap(),
        )
    }

    /// The seed's task definition, its container running `image`.
    pub fn register_seed_with_image(&self, family: &str, image: &str) -> String {
        use aws_sdk_ecs::types::*;
        let definition = ContainerDefinition::builder()
            .name("tutorial-site-app")
            .image(image)
            .cpu(1024)
            .memory(2048)
            .essential(true)
            .log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", "/ecs/tutorial-site-app")
                    .options("awslogs-region", "eu-west-1")
                    .options("awslogs-stream-prefix", "ecs")
                    .build()
                    .unwrap(),
            )
            .port_mappings(
                PortMapping::builder()
                    .container_port(3000)
                    .host_port(3000)
                    .protocol(TransportProtocol::Tcp)
                    .build(),
            )
            .environment(
                KeyValuePair::builder()
                    .name("NODE_ENV")
                    .value("production")
                    .build(),
            )
            .build();
        let answer = self
            .block_on(
                self.ecs
                    .register_task_definition()
                    .family(family)
                    .requires_compatibilities(Compatibility::Fargate)
                    .network_mode(NetworkMode::Awsvpc)
                    .cpu("1024")
                    .memory("2048")
                    .execution_role_arn(
                        "arn:aws:iam::123456789012:role/tutorial-site-EcsTaskExecutionRole",
                    )
                    .runtime_platform(
                        RuntimePlatform::builder()
                            .cpu_architecture(CpuArchitecture::Arm64)
                            .operating_system_family(OsFamily::Linux)
                            .build(),
                    )
                    .ephemeral_storage(EphemeralStorage::builder().size_in_gib(30).build())
                    .container_definitions(definition)
                    .tags(Tag::builder().key("team").value("web").build())
                    .tags(Tag::builder().key("app").value("tutorial-site").build())
                    .send(),
            )
            .unwrap();
        answer
            .task_definition()
            .unwrap()
            .task_definition_arn()
            .unwrap()
            .to_string()
    }

    pub fn create_cluster_and_service(&self, cluster: &str, service: &str, task_definition: &str) {
        self.create_cluster_and_service_with(cluster, service, task_definition, false);
    }

    /// The cluster and a one-task service, with the circuit breaker (and rollback) if asked.
    pub fn create_cluster_and_service_with(
        &self,
        cluster: &str,
        service: &str,
        task_definition: &str,
        circuit_breaker: bool,
    ) {
        self.block_on(self.ecs.create_cluster().cluster_name(cluster).send())
            .unwrap();
        self.block_on(
            self.ecs
                .create_service()
                .cluster(cluster)
                .service_name(service)
                .task_definition(task_definition)
                .desired_count(1)
                .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
                .deployment_configuration(
                    aws_sdk_ecs::types::DeploymentConfiguration::builder()
                        .maximum_percent(200)
                        .minimum_healthy_percent(50)
                        .set_deployment_circuit_breaker(circuit_breaker.then(|| {
                            aws_sdk_ecs::types::DeploymentCircuitBreaker::builder()
                                .enable(true)
                                .rollback(true)
                                .build()
                        }))
                        .build(),
                )
                .send(),
        )
        .unwrap();
    }

    /// The raw-ish view of a revision: the SDK's Debug of the task definition.
    pub fn describe(
        &self,
        task_definition: &str,
    ) -> (
        aws_sdk_ecs::types::TaskDefinition,
        Vec<aws_sdk_ecs::types::Tag>,
    ) {
        let answer = self
            .block_on(
                self.ecs
                    .describe_task_definition()
                    .task_definition(task_definition)
                    .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                    .send(),
            )
            .unwrap();
        (
            answer.task_definition().unwrap().clone(),
            answer.tags().to_vec(),
        )
    }

    pub fn revisions(&self, family: &str) -> Vec<String> {
        self.block_on(
            self.ecs
                .list_task_definitions()
                .family_prefix(family)
                .send(),
        )
        .unwrap()
        .task_definition_arns()
        .to_vec()
    }

    pub fn service_task_definition(&self, cluster: &str, service: &str) -> String {
        let answer = self
            .block_on(
                self.ecs
                    .describe_services()
                    .cluster(cluster)
                    .services(service)
                    .send(),
            )
            .unwrap();
        answer.services()[0].task_definition().unwrap().to_string()
    }
}

/// A DescribeTaskDefinition answer as moto sends it on the wire (moto does not check
/// signatures), so tests compare revisions as JSON without deployer's or the SDK's parsing.
pub fn describe_task_definition_json(stack: &Stack, task_definition: &str) -> serde_json::Value {
    let body =
        serde_json::json!({ "taskDefinition": task_definition, "include": ["TAGS"] }).to_string();
    let response = ureq::post(&stack.moto)
        .set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition")
        .set("Content-Type", "application/x-amz-json-1.1")
        .set(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send_string(&body)
        .expect("moto answers DescribeTaskDefinition");
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

/// IDs that moto's EC2 answers for `action` (DescribeSubnets, DescribeSecurityGroups) in the
/// default VPC: moto checks the subnets and security groups a service is created with.
pub fn moto_ec2_ids(stack: &Stack, action: &str, element: &str) -> Vec<String> {
    let response = ureq::post(&stack.moto)
        .set(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send_form(&[("Action", action), ("Version", "2016-11-15")])
        .expect("moto answers EC2")
        .into_string()
        .unwrap();
    let open = format!("<{element}>");
    response
        .split(&open)
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_string)
        .collect()
}

/// One call to moto, unsigned (moto does not check signatures): `target` names a JSON 1.1
/// action (`AWSEvents.PutRule`), or none for a REST call (Scheduler). Answers the status and
/// the JSON body, so tests seed and read EventBridge state without deployer's code.
pub fn moto_call(
    stack: &Stack,
    service: &str,
    target: Option<&str>,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut request = ureq::request(method, &format!("{}{path}", stack.moto)).set(
        "Authorization",
        &format!("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/eu-west-1/{service}/aws4_request, SignedHeaders=host, Signature=0"),
    );
    request = match target {
        Some(target) => request
            .set("X-Amz-Target", target)
            .set("Content-Type", "application/x-amz-json-1.1"),
        None => request.set("Content-Type", "application/json"),
    };
    let response = if method == "GET" {
        request.call()
    } else {
        request.send_string(&body.to_string())
    };
    let response = match response {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("moto {service} {path}: {error}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// `deployer ARGS --help`, as the user reads it.
pub fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(args)
        .arg("--help")
        .output()
        .expect("deployer runs");
    assert!(output.status.success(), "deployer {args:?} --help failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every `--flag` in `text`.
pub fn flags_named(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let after = &rest[at + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(after.len());
        let name = after[..len].trim_end_matches('-');
        let starts_a_word = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric());
        if starts_a_word && !name.is_empty() && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            flags.push(format!("--{name}"));
        }
        rest = &after[len..];
    }
    flags
}

/// The hints of a run name only flags the user can pass: those of `command` (as `deployer
/// COMMAND --help` lists them), or, after "deployer OTHER" in a hint, those of OTHER.
pub fn assert_hints_name_own_flags(command: &[&str], run: &Run) {
    let hints: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("hint: "))
        .collect();
    for hint in hints {
        for (index, part) in hint.split("deployer ").enumerate() {
            let owner: Vec<&str> = if index == 0 {
                command.to_vec()
            } else {
                let words: Vec<&str> = part.split_whitespace().take(2).collect();
                match words.as_slice() {
                    // `repo` and `orb` have subcommands of their own.
                    [group @ ("repo" | "orb"), verb, ..] => vec![*group, *verb],
                    [other, ..] if other.chars().all(|c| c.is_ascii_lowercase() || c == '-') => {
                        vec![*other]
                    }
                    _ => command.to_vec(),
                }
            };
            let help = help(&owner);
            for flag in flags_named(part) {
                let listed = help
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .any(|word| word == flag);
                assert!(
                    listed,
                    "hint names {flag}, which `deployer {} --help` does not list:\n{hint}",
                    owner.join(" ")
                );
            }
        }
    }
}

/// A child's stderr as it is written, read on a thread of its own: a test waits for the line
/// deployer prints once it is where the test needs it (following a deployment, its signal
/// handler claimed), instead of sleeping for a time it does not control, then reads the whole of
/// it once the child has exited.
pub struct StderrSoFar {
    text: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl StderrSoFar {
    pub fn read(child: &mut std::process::Child) -> StderrSoFar {
        use std::io::BufRead;
        let stderr = child.stderr.take().expect("stderr piped");
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let written = text.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut text = written.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        StderrSoFar { text, reader }
    }

    /// Waits until the child has written `expected`, failing after `limit`.
    pub fn wait_for(&self, expected: &str, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        while !self.text.lock().unwrap().contains(expected) {
            assert!(
                std::time::Instant::now() < deadline,
                "deployer never wrote {expected:?}: {}",
                self.text.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// All the child wrote to stderr (it has exited).
    pub fn until_exit(self) -> String {
        self.reader.join().expect("the stderr reader ends");
        std::sync::Arc::try_unwrap(self.text)
            .map(|text| text.into_inner().unwrap())
            .unwrap_or_else(|shared| shared.lock().unwrap().clone())
    }
}
