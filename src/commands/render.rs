//! `deployer render-task-definition`: the renderer offline, on a task-definition file (a
//! RegisterTaskDefinition input, or a DescribeTaskDefinition answer saved by
//! `aws ecs describe-task-definition --include TAGS`).
use serde_json::Value;

use crate::domain::task_definition;
use crate::domain::task_definition_file::TaskDefinitionFile;
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, Result};

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
