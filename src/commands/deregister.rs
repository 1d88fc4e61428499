//! `deployer deregister`: lets a family's old ACTIVE revisions go, keeping the newest N and every
//! revision a service, a rule or a schedule still uses; `--dry-run` shows what would go.
use serde::Serialize;

use super::steps::deregistration::{self, Deregistration};
use crate::adapters::aws::{self, AwsSettings};
use crate::error::Result;

/// Everything `deregister` needs, resolved by the CLI layer.
#[derive(Debug, Clone)]
pub struct DeregisterSettings {
    pub aws: AwsSettings,
    pub request: Deregistration,
    pub delete: bool,
    pub dry_run: bool,
}

/// A kept revision and why, for `--output json`.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub task_definition_arn: String,
    pub why: String,
}

/// What happened, for stdout.
#[derive(Debug, Clone, Serialize)]
pub struct DeregisterOutcome {
    pub family: String,
    /// Deregistered now, or with `--dry-run` what would be.
    pub deregistered: Vec<String>,
    pub deleted: Vec<String>,
    pub kept: Vec<Kept>,
    pub dry_run: bool,
}

pub async fn run(settings: DeregisterSettings) -> Result<DeregisterOutcome> {
    let config = aws::load(&settings.aws).await?;
    let plan = deregistration::plan(&config, &settings.request).await?;
    deregistration::show(&plan, settings.delete);
    let kept = plan
        .kept
        .iter()
        .map(|(arn, why)| Kept {
            task_definition_arn: arn.clone(),
            why: why.clone(),
        })
        .collect();
    let family = settings.request.family.clone();
    if settings.dry_run {
        return Ok(DeregisterOutcome {
            family,
            deregistered: plan.deregister,
            deleted: Vec::new(),
            kept,
            dry_run: true,
        });
    }
    let done = deregistration::apply(&config, &plan, settings.delete).await?;
    Ok(DeregisterOutcome {
        family,
        deregistered: done.deregistered,
        deleted: done.deleted,
        kept,
        dry_run: false,
    })
}
