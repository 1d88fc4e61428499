//! `deployer verify`: whatever a revision needs to start, checked without changing anything:
//! the family's latest revision (or `FAMILY:N`), or a task-definition file, with the container
//! updates it would get. The checks are `steps::verify`'s, the ones `update-service` and
//! `deploy` run in their plan.
use serde_json::Value;

use super::steps::image_check::ImageCheck;
use super::steps::registration;
use super::steps::verify::{check, Finding, OnError};
use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecs::Ecs;
use crate::domain::task_definition_file::TaskDefinitionFile;
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, ErrorKind, Result};

#[derive(Debug, Clone)]
pub struct VerifySettings {
    pub aws: AwsSettings,
    /// `FAMILY`, `FAMILY:N` or an ARN; with a file, the file's family.
    pub task_definition: String,
    pub file: Option<TaskDefinitionFile>,
    pub updates: Vec<ContainerUpdate>,
}

/// What was checked and how each check stands.
#[derive(Debug, Clone)]
pub struct VerifyOutcome {
    /// The revision checked (its ARN), or the file's name.
    pub checked: String,
    pub findings: Vec<Finding>,
}

impl VerifyOutcome {
    pub fn json(&self) -> Value {
        serde_json::json!({
            "checked": self.checked,
            "checks": self.findings.iter().map(Finding::json).collect::<Vec<_>>(),
            "failed": self.findings.iter().filter(|f| f.verdict.fails()).count(),
        })
    }

    /// Exit 1 naming the failed checks, when there are any.
    pub fn verdict(&self) -> Result<()> {
        let failed: Vec<&Finding> = self.findings.iter().filter(|f| f.verdict.fails()).collect();
        if failed.is_empty() {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Failed,
            format!(
                "{} would not start: {} of {} checks failed",
                self.checked,
                failed.len(),
                self.findings.len()
            ),
        )
        .with_hint("fix what the lines above say is missing or invalid, then verify again"))
    }
}

pub async fn run(settings: VerifySettings) -> Result<VerifyOutcome> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let (described, checked) = match &settings.file {
        Some(file) => (file.as_described(), file.file.clone()),
        None => {
            let described = ecs
                .describe_task_definition(&settings.task_definition)
                .await
                .map_err(|error| match error.kind {
                    ErrorKind::Usage => error.with_hint(
                        "check --family (FAMILY or FAMILY:REVISION, e.g. tutorial-site-task) and the region",
                    ),
                    _ => error,
                })?;
            let arn = described
                .pointer("/taskDefinition/taskDefinitionArn")
                .and_then(Value::as_str)
                .unwrap_or(&settings.task_definition)
                .to_string();
            (described, arn)
        }
    };
    let definition = if settings.updates.is_empty() {
        described["taskDefinition"].clone()
    } else {
        registration::render(&described, &settings.updates, &[], None)?
            .register_task_definition_input
    };
    let findings = check(
        &config,
        &ImageCheck::new(&config),
        &definition,
        &[],
        OnError::Fail,
    )
    .await?;
    Ok(VerifyOutcome { checked, findings })
}
