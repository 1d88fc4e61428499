//! `deployer render-task-definition`: the renderer offline, on a task-definition file (a
//! RegisterTaskDefinition input, or a DescribeTaskDefinition answer saved by
//! `aws ecs describe-task-definition --include TAGS`); or, with `--from-service`, on the revision
//! a service runs, written as a file to keep in the repository.
use serde_json::{json, Value};

use super::steps::service::described_service;
use crate::adapters::aws::{self, AwsSettings};
use crate::adapters::ecs::Ecs;
use crate::domain::rollout::short_task_definition;
use crate::domain::task_definition;
use crate::domain::task_definition_file::{self, FileShape, TaskDefinitionFile};
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, Result};
use crate::output;

pub fn run(
    file: &TaskDefinitionFile,
    updates: &[ContainerUpdate],
    tags: &[(String, String)],
) -> Result<Value> {
    let mut rendered = task_definition::render(&file.as_described(), updates)
        .map_err(|e| Error::usage(e.to_string()))?;
    task_definition::set_tags(&mut rendered, tags);
    Ok(rendered)
}

/// The revision the service runs (its `taskDefinition`), with its tags, as a registrable file
/// in a stable key order; `updates` and `tags` applied as to a file.
pub async fn from_service(
    aws_settings: &AwsSettings,
    cluster: &str,
    service: &str,
    updates: &[ContainerUpdate],
    tags: &[(String, String)],
) -> Result<Value> {
    let config = aws::load(aws_settings).await?;
    let ecs = Ecs::new(&config);
    let state = described_service(
        &ecs,
        cluster,
        service,
        "check --from-service, --cluster and the region",
    )
    .await?;
    let arn = state.snapshot.task_definition.clone();
    output::step(format!(
        "service {service} runs {}",
        short_task_definition(&arn)
    ));
    let described = ecs.describe_task_definition(&arn).await?;
    let file = task_definition_file::from_described(&described).map_err(Error::environment)?;
    let file = TaskDefinitionFile {
        file: short_task_definition(&arn).to_string(),
        input: file,
        shape: FileShape::DescribeAnswer,
        dropped: Vec::new(),
    };
    let rendered = run(&file, updates, tags)?;
    task_definition_file::from_described(&json!({ "taskDefinition": rendered }))
        .map_err(Error::environment)
}

/// Makes the rendered file a template (`--template`): the image of the chosen containers
/// becomes `{{ image }}`, said on stderr.
pub fn template(
    rendered: &mut Value,
    containers: &[String],
    repositories: &[String],
) -> Result<()> {
    let changed = task_definition_file::template(rendered, containers, repositories)
        .map_err(|why| Error::usage(format!("--template: {why}")))?;
    output::step(format!(
        "template: the image of {} is {}",
        changed.join(", "),
        task_definition::IMAGE_PLACEHOLDER
    ));
    Ok(())
}
