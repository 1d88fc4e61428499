//! Registration, shared by register-task-definition, update-service and deploy: the new
//! revision rendered from the described one (or a file) with the updates and tags, checked as ECS
//! would check it, and what changes from the family's latest revision.
use serde::Serialize;
use serde_json::Value;

use crate::adapters::ecs::Ecs;
use crate::domain::rollout::short_task_definition;
use crate::domain::task_definition_file::TaskDefinitionFile;
use crate::domain::update_spec::ContainerUpdate;
use crate::domain::{task_definition, task_definition_check, task_definition_diff};
use crate::error::{Error, Result};
use crate::journal;
use crate::output;

/// The revision to register: RegisterTaskDefinition's input and what changes.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub register_task_definition_input: Value,
    pub changes: Vec<String>,
}

/// The RegisterTaskDefinition input for `updates` and `tags` on the described revision (or
/// file), checked as ECS would check it after registration, and what changes from `latest`, the
/// family's latest revision.
pub fn render(
    described: &Value,
    updates: &[ContainerUpdate],
    tags: &[(String, String)],
    latest: Option<&Value>,
) -> Result<Plan> {
    let mut rendered =
        task_definition::render(described, updates).map_err(|e| Error::usage(e.to_string()))?;
    task_definition::set_tags(&mut rendered, tags);
    task_definition_check::validate_for_registration(&rendered).map_err(|e| {
        Error::usage(format!("the new revision would be refused by ECS: {e}"))
            .with_hint("nothing was registered; fix the task definition or the update flags")
    })?;
    let changes = match latest {
        Some(latest) => task_definition_diff::diff(latest, &rendered),
        None => vec!["the family's first revision".to_string()],
    };
    Ok(Plan {
        register_task_definition_input: rendered,
        changes,
    })
}

/// Whether a file's revision is the family's latest as it is (the same RegisterTaskDefinition
/// input, tags included): then there is nothing to register, and deployer says so.
pub fn unchanged(plan: &Plan, latest: Option<&Value>) -> bool {
    let Some(arn) = latest
        .and_then(|latest| latest.pointer("/taskDefinition/taskDefinitionArn"))
        .and_then(Value::as_str)
    else {
        return false;
    };
    if !plan.changes.is_empty() {
        return false;
    }
    output::step(format!(
        "unchanged: the file is {} as it is; registering nothing",
        short_task_definition(arn)
    ));
    true
}

/// Registers the planned revision of `family`, made from `from` (the file, or the revision it
/// starts from), saying so before and after; the new revision's ARN.
pub async fn register(ecs: &Ecs, family: &str, from: &str, plan: &Plan) -> Result<String> {
    output::step(format!(
        "registering a new revision of {family} from {from} ({})",
        if plan.changes.is_empty() {
            "no changes".to_string()
        } else {
            plan.changes.join("; ")
        }
    ));
    let arn = ecs
        .register_task_definition(&plan.register_task_definition_input)
        .await?;
    journal::record(format!("registered {arn}"));
    output::step(format!("registered {}", short_task_definition(&arn)));
    Ok(arn)
}

/// Says which file is registered, and what of it RegisterTaskDefinition does not take.
pub fn show_file(file: &TaskDefinitionFile) {
    if file.dropped.is_empty() {
        output::step(format!("read task definition file {}", file.file));
    } else {
        output::step(format!(
            "read task definition file {}; left out what RegisterTaskDefinition does not take: {}",
            file.file,
            file.dropped.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_plan_names_its_changes() {
        let described = serde_json::json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:1",
            "family": "tutorial-site-task", "revision": 1, "status": "ACTIVE",
            "containerDefinitions": [{"name": "tutorial-site-app", "image": "127.0.0.1:15000/tutorial-site-registry:v1", "memory": 128}]
        }});
        let updates =
            crate::domain::update_spec::parse_image_updates("container=tutorial-site-app,tag=v2")
                .unwrap();
        let plan = render(&described, &updates, &[], Some(&described)).unwrap();
        assert_eq!(
            plan.register_task_definition_input["containerDefinitions"][0]["image"],
            "127.0.0.1:15000/tutorial-site-registry:v2"
        );
        assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
        let unknown =
            crate::domain::update_spec::parse_image_updates("container=typo,tag=v2").unwrap();
        assert_eq!(
            render(&described, &unknown, &[], Some(&described))
                .unwrap_err()
                .kind,
            crate::error::ErrorKind::Usage
        );
    }

    /// A file that renders to the latest revision registers nothing; any change, or no latest
    /// revision, registers.
    #[test]
    fn a_file_equal_to_the_latest_revision_is_unchanged() {
        let described = serde_json::json!({"taskDefinition": {
            "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:7",
            "family": "tutorial-site-task", "revision": 7, "status": "ACTIVE",
            "containerDefinitions": [{"name": "tutorial-site-app", "image": "127.0.0.1:15000/tutorial-site-registry:v1", "memory": 128}]
        }, "tags": [{"key": "team", "value": "web"}]});
        let same = render(&described, &[], &[], Some(&described)).unwrap();
        assert!(unchanged(&same, Some(&described)));
        assert!(!unchanged(&same, None));
        let tagged = render(
            &described,
            &[],
            &[("team".into(), "ops".into())],
            Some(&described),
        )
        .unwrap();
        assert!(!unchanged(&tagged, Some(&described)));
    }
}
