//! `deployer ecr-login` writes credentials the docker CLI can use, in a private file.
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use base64::Engine;

use crate::support::{deployer, run, stack, unique_repo};

#[test]
fn writes_a_private_docker_config_that_the_docker_cli_can_push_with() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("docker");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::write(
        config_dir.join("config.json"),
        r#"{"auths":{"other.example":{"auth":"eDp5"}},"detachKeys":"ctrl-e"}"#,
    )
    .unwrap();
    let result = run(deployer(dir.path())
        .env("DOCKER_CONFIG", &config_dir)
        .args(["ecr-login", "--registry", &stack.registry]));
    result.assert_code(0);
    assert_eq!(result.stdout.trim(), stack.registry);

    let path = config_dir.join("config.json");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(config["detachKeys"], "ctrl-e");
    assert_eq!(config["auths"]["other.example"]["auth"], "eDp5");
    let auth = config["auths"][&stack.registry]["auth"].as_str().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("AWS:{}", stack.registry_password)
    );
    assert!(!result.stderr.contains(&stack.registry_password));

    // The docker CLI pushes with nothing but that file.
    let reference = format!("{}/{}:login", stack.registry, unique_repo("login"));
    let docker = |args: &[&str]| {
        let output = Command::new("docker")
            .arg("--config")
            .arg(&config_dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    docker(&["tag", &stack.base_image, &reference]);
    docker(&["push", &reference]);
}

#[test]
fn refuses_to_overwrite_a_config_that_is_not_json() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, "not json").unwrap();
    let result = run(deployer(dir.path())
        .args([
            "ecr-login",
            "--registry",
            &stack.registry,
            "--docker-config",
        ])
        .arg(&path));
    result
        .assert_code(2)
        .assert_stderr_contains("is not valid JSON");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not json");
}

#[test]
fn credential_helper_mode_stores_no_token_and_the_docker_cli_pushes_through_it() {
    let stack = stack();
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("docker");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let login = |path: &str| {
        run(deployer(dir.path())
            .env("PATH", path)
            .env("DOCKER_CONFIG", &config_dir)
            .args(["ecr-login", "--registry", &stack.registry])
            .arg("--credential-helper"))
    };

    // The Docker CLI could not run a helper that is not on PATH: refused, nothing written.
    let bare_path = std::env::var("PATH").unwrap();
    login(&bare_path)
        .assert_code(3)
        .assert_stderr_contains("docker-credential-deployer is not on PATH");
    assert!(!config_dir.join("config.json").exists());

    let helper = bin.join("docker-credential-deployer");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_deployer"), &helper).unwrap();
    let path = format!("{}:{bare_path}", bin.display());
    login(&path)
        .assert_code(0)
        .assert_stderr_contains("no token is stored");
    let text = std::fs::read_to_string(config_dir.join("config.json")).unwrap();
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(config["credHelpers"][&stack.registry], "deployer");
    assert!(config.get("auths").is_none(), "{text}");
    assert!(!text.contains(&stack.registry_password));

    // The Docker CLI pushes with nothing but the helper, which asks ECR (moto) each time.
    let reference = format!("{}/{}:helper", stack.registry, unique_repo("helper"));
    for args in [
        vec!["tag", stack.base_image.as_str(), reference.as_str()],
        vec!["push", reference.as_str()],
    ] {
        let output = Command::new("docker")
            .env("PATH", &path)
            .arg("--config")
            .arg(&config_dir)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // Issue 20: asked about a host that is not ECR, not on this machine and not named for
    // deployer in the Docker config (a credsStore, a typo'd registry), it hands out no token.
    let asked = |server: &str| {
        let mut child = Command::new(&helper)
            .arg("get")
            .env("DOCKER_CONFIG", &config_dir)
            .env("AWS_ENDPOINT_URL", &stack.moto)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret-example")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(server.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let foreign = asked("https://registry.attacker.example");
    let answer = String::from_utf8_lossy(&foreign.stdout);
    assert_eq!(foreign.status.code(), Some(1), "{answer}");
    assert!(
        answer.contains("does not hand an ECR token to registry.attacker.example"),
        "{answer}"
    );
    assert!(!answer.contains(&stack.registry_password), "{answer}");
    let own = asked(&stack.registry);
    let answer = String::from_utf8_lossy(&own.stdout);
    assert_eq!(own.status.code(), Some(0), "{answer}");
    assert!(
        answer.contains(&stack.registry_password),
        "the registry's own host is answered"
    );

    // The protocol's other actions, and nonsense.
    let list = Command::new(&helper).arg("list").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&list.stdout), "{}");
    let nonsense = Command::new(&helper).arg("frobnicate").output().unwrap();
    assert_eq!(nonsense.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nonsense.stdout).contains("get, store, erase or list"));
}
