//! `deployer render-task-definition`: the renderer offline, on a DescribeTaskDefinition answer
//! saved by `aws ecs describe-task-definition --include TAGS`.
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::domain::task_definition;
use crate::domain::update_spec::ContainerUpdate;
use crate::error::{Error, Result};

pub fn run(input: &Path, updates: &[ContainerUpdate], tags: &[(String, String)]) -> Result<Value> {
    let text = if input == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Error::usage(format!("cannot read the task definition from stdin: {e}"))
        })?;
        text
    } else {
        std::fs::read_to_string(input)
            .map_err(|e| Error::usage(format!("--input {}: {e}", input.display())))?
    };
    let described: Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("--input {}: not JSON: {e}", input.display())))?;
    if described.get("taskDefinition").is_none() {
        return Err(Error::usage(format!(
            "--input {} has no \"taskDefinition\": expected the output of aws ecs describe-task-definition",
            input.display()
        )));
    }
    let mut rendered =
        task_definition::render(&described, updates).map_err(|e| Error::usage(e.to_string()))?;
    task_definition::set_tags(&mut rendered, tags);
    Ok(rendered)
}
