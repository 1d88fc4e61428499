//! The stack as the tests see it: how to run deployer, and how to look into the registry and
//! moto afterwards.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;

/// Stack addresses, from the environment `scripts/stack.sh` writes.
pub struct Stack {
    pub registry: String,
    pub registry_user: String,
    pub registry_password: String,
    pub moto: String,
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
        base_image: var("DEPLOYER_STACK_BASE_IMAGE"),
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

pub fn run(command: &mut Command) -> Run {
    Run::from(command.output().expect("deployer runs"))
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

const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json";

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

    pub fn manifest(&self, repo: &str, tag: &str) -> String {
        self.get(&format!("{repo}/manifests/{tag}"))
            .unwrap()
            .into_string()
            .unwrap()
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

/// moto's ECR, through the AWS SDK, for setting up and checking state.
pub struct Moto {
    runtime: tokio::runtime::Runtime,
    ecr: aws_sdk_ecr::Client,
}

impl Moto {
    pub fn new(stack: &Stack) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&stack.moto)
                .load(),
        );
        Moto {
            ecr: aws_sdk_ecr::Client::new(&config),
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

    /// Does what real ECR does on a push: records the manifest the registry stored under `tag`.
    pub fn record_push(&self, registry: &Registry, repo: &str, tag: &str) {
        let manifest = registry.manifest(repo, tag);
        let digest = registry.digest(repo, tag).unwrap();
        self.runtime
            .block_on(
                self.ecr
                    .put_image()
                    .repository_name(repo)
                    .image_tag(tag)
                    .image_manifest(manifest)
                    .image_digest(digest)
                    .send(),
            )
            .unwrap();
    }
}
