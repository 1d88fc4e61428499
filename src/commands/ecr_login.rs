//! `deployer ecr-login`: writes ECR credentials into the Docker CLI's config file (mode 0600)
//! for later `docker` steps. `push` never needs this: it sends credentials per request.
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use serde::Serialize;

use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecr::Ecr;
use crate::domain::docker_config::{credential_helper_for, with_registry_auth};
use crate::error::{Error, Result};
use crate::output;

#[derive(Debug, Clone)]
pub struct EcrLoginSettings {
    pub aws: AwsSettings,
    pub registry_id: Option<String>,
    pub registry_override: Option<String>,
    pub docker_config: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct EcrLoginOutcome {
    pub registry: String,
    pub docker_config: PathBuf,
}

pub async fn run(settings: EcrLoginSettings) -> Result<EcrLoginOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecr = Ecr::new(&config, settings.registry_id.clone());
    let mut credentials = ecr.authorization().await?;
    if let Some(registry) = &settings.registry_override {
        credentials.registry = registry.clone();
    }
    let path = &settings.docker_config;
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(Error::environment(format!(
                "cannot read the Docker config {}: {e}",
                path.display()
            )))
        }
    };
    let updated = with_registry_auth(
        existing.as_deref(),
        &credentials.registry,
        &credentials.username,
        credentials.password.expose(),
    )
    .map_err(|why| {
        Error::usage(format!(
            "the Docker config {} cannot be updated: {why}",
            path.display()
        ))
        .with_hint("fix or remove the file, or point DOCKER_CONFIG at another directory")
    })?;
    if let Some(helper) = credential_helper_for(&updated, &credentials.registry) {
        output::warn(format!(
            "{} names the credential helper {helper:?}; the docker CLI will ask it instead of the credentials written here",
            path.display()
        ));
    }
    write_private(
        path,
        &serde_json::to_string_pretty(&updated).unwrap_or_default(),
    )?;
    output::step(format!(
        "logged in to {}: credentials written to {}",
        credentials.registry,
        path.display()
    ));
    Ok(EcrLoginOutcome {
        registry: credentials.registry,
        docker_config: path.clone(),
    })
}

/// Writes through a temporary file created with mode 0600, then renames it into place.
fn write_private(path: &PathBuf, text: &str) -> Result<()> {
    let failed = |e: std::io::Error| {
        Error::environment(format!(
            "cannot write the Docker config {}: {e}",
            path.display()
        ))
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let temporary = path.with_extension(format!("json.deployer-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.write_all(b"\n").map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    std::fs::rename(&temporary, path).map_err(failed)
}
