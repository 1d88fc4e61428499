//! Repository work shared by `push` (`--create-repo`, policies) and `deployer repo`: one place
//! that creates repositories, applies their policies and tags them, on private ECR or ECR Public.
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::adapters::ecr::{Ecr, NewRepository, Repository};
use crate::adapters::ecr_public::EcrPublic;
use crate::domain::ecr_token::RegistryCredentials;
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

/// A policy document read and parsed before anything is changed.
#[derive(Debug, Clone)]
pub struct PolicyFile {
    pub path: PathBuf,
    pub text: String,
}

/// The registry API behind a command: private ECR or ECR Public.
pub enum RegistryApi {
    Private(Ecr),
    Public(EcrPublic),
}

impl RegistryApi {
    pub async fn find_repository(&self, name: &str) -> Result<Option<Repository>> {
        match self {
            RegistryApi::Private(ecr) => ecr.find_repository(name).await,
            RegistryApi::Public(ecr) => ecr.find_repository(name).await,
        }
    }

    pub async fn create_repository(&self, new: &NewRepository) -> Result<Repository> {
        match self {
            RegistryApi::Private(ecr) => ecr.create_repository(new).await,
            RegistryApi::Public(ecr) => ecr.create_repository(new).await,
        }
    }

    pub async fn set_repository_policy(&self, name: &str, policy: &str) -> Result<()> {
        match self {
            RegistryApi::Private(ecr) => ecr.set_repository_policy(name, policy).await,
            RegistryApi::Public(ecr) => ecr.set_repository_policy(name, policy).await,
        }
    }

    pub async fn tagged_digests(&self, name: &str) -> Result<BTreeMap<String, String>> {
        match self {
            RegistryApi::Private(ecr) => ecr.tagged_digests(name).await,
            RegistryApi::Public(ecr) => ecr.tagged_digests(name).await,
        }
    }

    pub async fn authorization(&self) -> Result<RegistryCredentials> {
        match self {
            RegistryApi::Private(ecr) => ecr.authorization().await,
            RegistryApi::Public(ecr) => ecr.authorization().await,
        }
    }

    pub async fn tag_resource(&self, arn: &str, tags: &[(String, String)]) -> Result<()> {
        match self {
            RegistryApi::Private(ecr) => ecr.tag_resource(arn, tags).await,
            RegistryApi::Public(ecr) => ecr.tag_resource(arn, tags).await,
        }
    }
}

/// The exit-2 error for a repository that is not there, naming where deployer looked.
pub fn missing(name: &str, registry_id: Option<&str>) -> Error {
    Error::usage(format!(
        "repository {name} does not exist in the ECR registry {}",
        registry_id.unwrap_or("of the current account")
    ))
}

/// Creates the repository, records it, and says so in one line.
pub async fn create(api: &RegistryApi, new: &NewRepository) -> Result<Repository> {
    let created = api.create_repository(new).await?;
    journal::record(format!("created repository {}", created.name));
    let settings = match api {
        RegistryApi::Private(_) => format!(
            "{}, scan on push {}",
            created.tag_mutability,
            if new.scan_on_push { "on" } else { "off" }
        ),
        RegistryApi::Public(_) => "ECR Public".to_string(),
    };
    output::step(format!("created repository {} ({settings})", created.name));
    Ok(created)
}

/// Applies the repository policy and the lifecycle policy that are given (the lifecycle policy
/// only on private ECR: settings refuse it for ECR Public), each recorded as it is done.
pub async fn apply_policies(
    api: &RegistryApi,
    name: &str,
    repository_policy: Option<&PolicyFile>,
    lifecycle_policy: Option<&PolicyFile>,
) -> Result<()> {
    if let Some(policy) = repository_policy {
        api.set_repository_policy(name, &policy.text).await?;
        journal::record(format!("applied the repository policy of {name}"));
        output::step(format!(
            "applied repository policy {}",
            policy.path.display()
        ));
    }
    if let Some(policy) = lifecycle_policy {
        let RegistryApi::Private(ecr) = api else {
            return Err(Error::usage(
                "ECR Public repositories have no lifecycle policy",
            ));
        };
        ecr.put_lifecycle_policy(name, &policy.text).await?;
        journal::record(format!("applied the lifecycle policy of {name}"));
        output::step(format!(
            "applied lifecycle policy {}",
            policy.path.display()
        ));
    }
    Ok(())
}
