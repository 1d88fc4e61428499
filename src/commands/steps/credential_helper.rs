//! `docker-credential-deployer`: the Docker CLI's credential-helper protocol, answered with ECR
//! tokens fetched when the CLI asks (ECR Public's for `public.ecr.aws`), so nothing is ever stored on disk (what the aws-ecr orb's
//! `use_credentials_helper` and amazon-ecr-credential-helper are for). `deployer ecr-login
//! --credential-helper` points the Docker config at it; the binary answers under that name
//! (a symlink to `deployer`).
//!
//! The protocol: `get` reads a server URL on stdin and writes `{"ServerURL","Username","Secret"}`
//! on stdout; `store` and `erase` have nothing to do (tokens are never kept); `list` answers
//! `{}`. Failures are one line on stdout and exit 1, which the Docker CLI shows. This is the
//! only output of deployer that carries a secret, to the Docker CLI that asked for it, and never
//! to a terminal.
use std::io::{IsTerminal, Read, Write};

use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecr::Ecr;
use crate::adapters::ecr_public::{EcrPublic, PUBLIC_REGISTRY};
use crate::domain::ecr_token::parse_private_registry;
use crate::domain::reference::{host_of, is_loopback};
use crate::error::{Error, Result};

/// The name the Docker CLI runs for `credHelpers` entries naming `deployer`.
pub const PROGRAM: &str = "docker-credential-deployer";

/// Whether `program` (argv[0]) is the helper's name, as when the Docker CLI runs the symlink.
pub fn invoked_as(program: &std::ffi::OsStr) -> bool {
    std::path::Path::new(program)
        .file_name()
        .is_some_and(|name| name == PROGRAM)
}

/// Where the Docker CLI would find the helper: the first `docker-credential-deployer` on PATH.
pub fn on_path() -> Option<std::path::PathBuf> {
    let path = crate::env::var_os(crate::env::PATH)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(PROGRAM))
        .find(|candidate| candidate.is_file())
}

/// Runs one action of the protocol; returns the process exit code.
pub fn main(action: Option<&str>, mut aws: AwsSettings) -> u8 {
    let mut input = String::new();
    let result = match action {
        Some("get") => match std::io::stdin().read_to_string(&mut input) {
            Ok(_) => answer_get(input.trim(), &mut aws),
            Err(e) => Err(Error::environment(format!(
                "cannot read the server URL: {e}"
            ))),
        },
        Some("store" | "erase") => {
            // The Docker CLI sends what it would store: ECR tokens are fetched, never kept.
            let _ = std::io::stdin().read_to_string(&mut input);
            Ok(String::new())
        }
        Some("list") => Ok("{}".to_string()),
        Some("version") => Ok(format!("{PROGRAM} {}", env!("CARGO_PKG_VERSION"))),
        other => Err(Error::usage(format!(
            "{PROGRAM} is run by the Docker CLI with get, store, erase or list, not {}",
            other.unwrap_or("nothing")
        ))),
    };
    let mut stdout = std::io::stdout().lock();
    match result {
        Ok(text) => {
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
            0
        }
        Err(error) => {
            let hint = error
                .hint
                .map(|hint| format!(" ({hint})"))
                .unwrap_or_default();
            let _ = writeln!(stdout, "{}{hint}", error.message);
            1
        }
    }
}

fn answer_get(server: &str, aws: &mut AwsSettings) -> Result<String> {
    if std::io::stdout().is_terminal() {
        return Err(Error::usage(format!(
            "{PROGRAM} answers the Docker CLI; it does not print registry credentials on a terminal"
        )));
    }
    if server.is_empty() {
        return Err(Error::usage("no server URL on stdin"));
    }
    let host = server_host(server);
    let named = named_in_docker_config(&host);
    if let Err(why) = may_answer(&host, named) {
        return Err(Error::usage(format!(
            "{PROGRAM} does not hand an ECR token to {host}: {why}"
        ))
        .with_hint(
            "it answers for ECR hosts, public.ecr.aws, registries on this machine and the hosts \
             `deployer ecr-login --registry HOST --credential-helper` set in the Docker config's \
             credHelpers",
        ));
    }
    let public = is_public_registry(server);
    // An ECR host names its account and region; any other (a VPC endpoint alias, a local
    // registry) is the caller's own registry in the configured region.
    let registry_id = match parse_private_registry(server) {
        Some((account, region)) => {
            aws.region.get_or_insert(region);
            Some(account)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::environment(format!("cannot start the async runtime: {e}")))?;
    let credentials = runtime.block_on(async {
        let config = aws::load(aws).await?;
        if public {
            EcrPublic::new(&config, None).authorization().await
        } else {
            Ecr::new(&config, registry_id).authorization().await
        }
    })?;
    let answer = serde_json::json!({
        "ServerURL": server,
        "Username": credentials.username,
        "Secret": credentials.password.expose(),
    });
    Ok(answer.to_string())
}

/// The host (and port) of a server URL as the Docker CLI sends it: `host`, `https://host/path`.
fn server_host(server: &str) -> String {
    let rest = server.split_once("://").map_or(server, |(_, rest)| rest);
    rest.split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Whether the Docker config the CLI reads by default (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`) sends this host to deployer by name in `credHelpers`, as
/// `ecr-login --registry HOST --credential-helper` writes it (a `credsStore` sending every host
/// does not count).
fn named_in_docker_config(host: &str) -> bool {
    let path = match crate::env::var_os(crate::env::DOCKER_CONFIG) {
        Some(dir) => std::path::PathBuf::from(dir).join("config.json"),
        None => match crate::env::var_os(crate::env::HOME) {
            Some(home) => std::path::PathBuf::from(home).join(".docker/config.json"),
            None => return false,
        },
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|config| config.get("credHelpers")?.as_object().cloned())
        .is_some_and(|helpers| {
            helpers.iter().any(|(registry, helper)| {
                server_host(registry) == host && helper.as_str() == Some("deployer")
            })
        })
}

/// Whether a token may be handed to `host`: an AWS ECR endpoint (its own or a VPC endpoint's
/// name) or ECR Public, a registry on this machine, or a host the Docker config names for
/// deployer. Any other host would receive the account's push rights.
fn may_answer(host: &str, named_in_config: bool) -> std::result::Result<(), String> {
    let name = host_of(host);
    let aws = name.ends_with(".amazonaws.com") || name.ends_with(".amazonaws.com.cn");
    let ecr = aws && (name.contains(".dkr.ecr.") || name.contains(".ecr."));
    if name == PUBLIC_REGISTRY || ecr || is_loopback(name) || named_in_config {
        Ok(())
    } else {
        Err("it is not an ECR host and the Docker config does not name it for deployer".into())
    }
}

/// Whether the Docker CLI asks for ECR Public: `public.ecr.aws`, with or without a scheme or
/// a path (`https://public.ecr.aws/ALIAS`).
fn is_public_registry(server: &str) -> bool {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    host.split('/').next() == Some(PUBLIC_REGISTRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20: the helper hands the account's token only to AWS's ECR endpoints, ECR Public,
    /// registries on this machine and hosts the Docker config names for deployer.
    #[test]
    fn tokens_go_to_ecr_local_and_named_hosts_only() {
        for host in [
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "vpce-0a1b2c3d-4e5f6g7h.dkr.ecr.eu-west-1.vpce.amazonaws.com",
            "public.ecr.aws",
            "127.0.0.1:15000",
            "localhost:5000",
            "[::1]:5000",
        ] {
            assert!(may_answer(host, false).is_ok(), "{host}");
        }
        for host in [
            "registry.attacker.example",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com.attacker.example",
            "10.0.0.8:5000",
            "ghcr.io",
        ] {
            assert!(may_answer(host, false).is_err(), "{host}");
        }
        assert!(may_answer("registry.example.com", true).is_ok());
        assert_eq!(
            server_host("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/"),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn public_ecr_is_recognised_however_the_cli_names_it() {
        assert!(is_public_registry("public.ecr.aws"));
        assert!(is_public_registry("https://public.ecr.aws"));
        assert!(is_public_registry("public.ecr.aws/a1b2c3d4"));
        assert!(!is_public_registry(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        ));
        assert!(!is_public_registry("public.ecr.aws.example.com"));
    }
}
