//! deployer's own image, built offline by deployer: `scripts/image-bases.sh` imports the
//! Dockerfile's base images from this machine's Debian packages and Rust toolchain, `cargo build
//! --release` builds deployer (releases use `--profile dist`, the same code linked for size),
//! `deployer push` builds the multi-stage Dockerfile around that binary (its `BINARY=prebuilt`,
//! so the image's build stage does not compile it a second time) and pushes it to the stack's
//! registry through the emulator's ECR, and the pulled image runs. Its own test binary, so cargo
//! runs it after the others rather than beside them.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[allow(dead_code)]
#[path = "cli/support.rs"]
mod support;

use support::{deployer, run, stack, unique_repo};

const MAX_IMAGE_BYTES: u64 = 60 * 1024 * 1024;

#[test]
fn the_dockerfile_builds_offline_with_deployer_and_the_image_runs() {
    let stack = stack();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let bases = run(Command::new("bash").arg(root.join("scripts/image-bases.sh")));
    bases.assert_code(0);
    eprintln!(
        "bases ready in {:.1} s:\n{}",
        started.elapsed().as_secs_f64(),
        bases.stderr.trim_end()
    );

    let started = Instant::now();
    let binary = release_binary(root);
    eprintln!(
        "{} built in {:.1} s",
        binary.display(),
        started.elapsed().as_secs_f64()
    );
    // The context is that one file; the Dockerfile stays the repository's.
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, context.path().join("deployer")).unwrap();

    let repo = unique_repo("deployer");
    let started = Instant::now();
    let pushed = run(deployer(root)
        .env("AWS_ENDPOINT_URL", &stack.emulator)
        .args(["push", "--repo", &repo, "--create-repo", "--tag", "test"])
        .arg("--build-path")
        .arg(context.path())
        .args(["--path", "."])
        .args(["--build-arg", "BINARY=prebuilt"])
        .args(["--build-arg", "RUST_IMAGE=deployer-test/rust:local"])
        .args(["--build-arg", "RUNTIME_IMAGE=deployer-test/runtime:local"])
        .args([
            "--build-arg",
            concat!("VERSION=", env!("CARGO_PKG_VERSION")),
        ]));
    pushed.assert_code(0);
    eprintln!(
        "built and pushed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let image = pushed.stdout.lines().next().unwrap().to_string();
    assert!(
        image.starts_with(&format!("{}/{repo}@sha256:", stack.registry)),
        "{image}"
    );

    // Pull it back as a user would: with the credentials `deployer ecr-login` writes.
    let config = tempfile::tempdir().unwrap();
    run(deployer(root)
        .env("AWS_ENDPOINT_URL", &stack.emulator)
        .env("DOCKER_CONFIG", config.path())
        .arg("ecr-login"))
    .assert_code(0);
    let docker = |args: &[&str]| {
        let output = Command::new("docker")
            .arg("--config")
            .arg(config.path())
            .args(args)
            .output()
            .expect("the docker CLI runs");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        assert!(
            output.status.success(),
            "docker {args:?} failed: {}",
            text(&output.stderr)
        );
        text(&output.stdout)
    };
    docker(&["pull", "--quiet", &image]);

    let version = docker(&["run", "--rm", "--network", "none", &image, "--version"]);
    assert_eq!(
        version.trim(),
        concat!("deployer ", env!("CARGO_PKG_VERSION"))
    );
    // A shell for CircleCI's Docker executor, with deployer on its PATH.
    let shell = docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/bin/sh",
        &image,
        "-c",
        "deployer orb params >/dev/null && test -s /etc/ssl/certs/ca-certificates.crt \
         && test -L /usr/local/bin/docker-credential-deployer && echo ok",
    ]);
    assert_eq!(shell.trim(), "ok");

    let inspect = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Entrypoint}} {{.Size}} {{index .Config.Labels \"org.opencontainers.image.version\"}}",
        &image,
    ]);
    let fields: Vec<&str> = inspect.split_whitespace().collect();
    assert_eq!(fields[0], r#"["/usr/local/bin/deployer"]"#);
    let size: u64 = fields[1].parse().unwrap();
    assert!(
        size < MAX_IMAGE_BYTES,
        "the image is {size} bytes, over {MAX_IMAGE_BYTES}"
    );
    assert_eq!(fields[2], env!("CARGO_PKG_VERSION"));
    eprintln!(
        "image {image}: {:.1} MiB on the imported runtime base",
        size as f64 / 1048576.0
    );
}

/// deployer built with `cargo build --release --locked` into this checkout's target directory
/// (incremental: only what changed since the last run compiles). The release job builds with
/// `--profile dist`, the same code with fat LTO for size: the image test checks the Dockerfile
/// and `deployer push` around a binary, not the linker's settings, and the dist profile's
/// single-threaded link would cost the suite minutes on every change.
fn release_binary(root: &Path) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--locked",
            "--quiet",
            "-p",
            "deployer",
        ])
        .args([
            "--bin",
            "deployer",
            "--message-format=json-render-diagnostics",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo build --release failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "deployer"
        })
        .find_map(|artifact| artifact["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the deployer binary it built")
}
