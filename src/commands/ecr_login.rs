//! `deployer ecr-login`: writes ECR (or ECR Public) credentials into the Docker CLI's config
//! file (mode 0600) for later `docker` steps. `push` never needs this: it sends credentials per request.
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::steps::credential_helper;
use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecr::Ecr;
use crate::adapters::ecr_public::EcrPublic;
use crate::domain::docker_config::{
    credential_helper_for, with_credential_helper, with_registry_auth,
};
use crate::error::{Error, Result};
use crate::output;

#[derive(Debug, Clone)]
pub struct EcrLoginSettings {
    pub aws: AwsSettings,
    pub registry_id: Option<String>,
    pub registry_override: Option<String>,
    pub docker_config: PathBuf,
    /// Point the Docker CLI at `docker-credential-deployer` instead of storing a token.
    pub credential_helper: bool,
    /// Log in to ECR Public (`public.ecr.aws`) instead of the private registry.
    pub public: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EcrLoginOutcome {
    pub registry: String,
    pub docker_config: PathBuf,
}

pub async fn run(settings: EcrLoginSettings) -> Result<EcrLoginOutcome> {
    if settings.credential_helper && credential_helper::on_path().is_none() {
        return Err(Error::environment(format!(
            "{} is not on PATH, so the Docker CLI could not run it",
            credential_helper::PROGRAM
        ))
        .with_hint(format!(
            "link it to deployer: ln -s \"$(command -v deployer)\" /usr/local/bin/{} (the orb's install command and the deployer image have it)",
            credential_helper::PROGRAM
        )));
    }
    let config = aws::load(&settings.aws).await?;
    // ECR Public's token is the caller's, for every public repository: no registry ID.
    let mut credentials = if settings.public {
        EcrPublic::new(&config, None).authorization().await?
    } else {
        Ecr::new(&config, settings.registry_id.clone())
            .authorization()
            .await?
    };
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
    let updated = if settings.credential_helper {
        with_credential_helper(existing.as_deref(), &credentials.registry, "deployer")
    } else {
        with_registry_auth(
            existing.as_deref(),
            &credentials.registry,
            &credentials.username,
            credentials.password.expose(),
        )
    }
    .map_err(|why| {
        Error::usage(format!(
            "the Docker config {} cannot be updated: {why}",
            path.display()
        ))
        .with_hint("fix or remove the file, or point DOCKER_CONFIG at another directory")
    })?;
    let helper = credential_helper_for(&updated, &credentials.registry);
    if let (Some(helper), false) = (&helper, settings.credential_helper) {
        output::warn(format!(
            "{} names the credential helper {helper:?}; the docker CLI will ask it instead of the credentials written here",
            path.display()
        ));
    }
    write_private(
        path,
        &serde_json::to_string_pretty(&updated).unwrap_or_default(),
    )?;
    if settings.credential_helper {
        output::step(format!(
            "the Docker CLI gets tokens for {} from {} (set in {}); no token is stored",
            credentials.registry,
            credential_helper::PROGRAM,
            path.display()
        ));
    } else {
        output::step(format!(
            "logged in to {}: credentials written to {}",
            credentials.registry,
            path.display()
        ));
    }
    Ok(EcrLoginOutcome {
        registry: credentials.registry,
        docker_config: path.clone(),
    })
}

/// Writes through a temporary file, then renames it into place. The temporary file has a random
/// name and is created exclusively (`O_CREAT|O_EXCL`, which never follows a link planted under
/// its name) with mode 0600, so the token is never readable by others, not even for a moment.
fn write_private(path: &Path, text: &str) -> Result<()> {
    let failed = |e: std::io::Error| {
        Error::environment(format!(
            "cannot write the Docker config {}: {e}",
            path.display()
        ))
    };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(failed)?;
    let mut file = tempfile::Builder::new()
        .prefix(".config.json.deployer-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(parent)
        .map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.write_all(b"\n").map_err(failed)?;
    file.as_file().sync_all().map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}
