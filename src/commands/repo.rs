//! `deployer repo create|policy|tag`: the aws-ecr orb's `create_repo`, `set_repo_policy` and
//! `tag_repo`, on the code `push --create-repo` uses. Creating a repository that exists is a
//! no-op, as in the orb; a policy or tags for a repository that does not exist is exit 2.
use serde::Serialize;

use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecr::{Ecr, NewRepository, Repository};
use crate::adapters::ecr_public::EcrPublic;
use crate::commands::steps::repository::{self, PolicyFile, RegistryApi};
use crate::error::Result;
use crate::journal;
use crate::output;

#[derive(Debug, Clone)]
pub struct RepoSettings {
    pub aws: AwsSettings,
    pub repository: String,
    pub registry_id: Option<String>,
    /// ECR Public (its API in us-east-1) instead of the private registry.
    pub public: bool,
    pub action: RepoAction,
    pub dry_run: bool,
}

#[derive(Debug, Clone)]
pub enum RepoAction {
    Create(NewRepository),
    Policy {
        repository_policy: Option<PolicyFile>,
        lifecycle_policy: Option<PolicyFile>,
    },
    Tag(Vec<(String, String)>),
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoOutcome {
    pub repository: String,
    /// The repository's URI (`REGISTRY/NAME`); empty for a dry run of a creation.
    pub uri: String,
    pub arn: String,
    /// True when this run created the repository.
    pub created: bool,
    pub dry_run: bool,
}

pub async fn run(settings: RepoSettings) -> Result<RepoOutcome> {
    let config = aws::load(&settings.aws).await?;
    let api = if settings.public {
        RegistryApi::Public(EcrPublic::new(&config, settings.registry_id.clone()))
    } else {
        RegistryApi::Private(Ecr::new(&config, settings.registry_id.clone()))
    };
    let name = &settings.repository;
    let found = api.find_repository(name).await?;
    let outcome = |repository: &Repository, created: bool| RepoOutcome {
        repository: name.clone(),
        uri: repository.uri.clone(),
        arn: repository.arn.clone(),
        created,
        dry_run: settings.dry_run,
    };
    if let RepoAction::Create(new) = &settings.action {
        return match found {
            Some(existing) => {
                output::step(format!(
                    "repository {name} exists already ({}): left as it is",
                    existing.tag_mutability
                ));
                if !settings.public && existing.tag_mutability != new.tag_mutability {
                    output::warn(format!(
                        "{name} has tag mutability {}, not the {} asked for: repo create does not change an existing repository",
                        existing.tag_mutability, new.tag_mutability
                    ));
                }
                Ok(outcome(&existing, false))
            }
            None if settings.dry_run => {
                output::step(format!("dry run: would create repository {name}"));
                Ok(RepoOutcome {
                    repository: name.clone(),
                    uri: String::new(),
                    arn: String::new(),
                    created: false,
                    dry_run: true,
                })
            }
            None => {
                let created = repository::create(&api, new).await?;
                Ok(outcome(&created, true))
            }
        };
    }
    let found = found.ok_or_else(|| {
        repository::missing(name, settings.registry_id.as_deref())
            .with_hint("create it first: deployer repo create --repo NAME")
    })?;
    match &settings.action {
        RepoAction::Create(_) => {}
        RepoAction::Policy {
            repository_policy,
            lifecycle_policy,
        } => {
            if settings.dry_run {
                for (policy, what) in [
                    (repository_policy, "repository policy"),
                    (lifecycle_policy, "lifecycle policy"),
                ] {
                    if let Some(policy) = policy {
                        output::step(format!(
                            "dry run: would apply {what} {} to {name}",
                            policy.path.display()
                        ));
                    }
                }
            } else {
                repository::apply_policies(
                    &api,
                    name,
                    repository_policy.as_ref(),
                    lifecycle_policy.as_ref(),
                )
                .await?;
            }
        }
        RepoAction::Tag(tags) => {
            let list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if settings.dry_run {
                output::step(format!(
                    "dry run: would tag {name} with {}",
                    list.join(", ")
                ));
            } else {
                api.tag_resource(&found.arn, tags).await?;
                journal::record(format!("tagged repository {name} ({})", list.join(", ")));
                output::step(format!("tagged repository {name}: {}", list.join(", ")));
            }
        }
    }
    Ok(outcome(&found, false))
}
