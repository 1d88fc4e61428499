//! The orb's commands that run deployer (`DEPLOYER_ORB_STEP`), the subcommand each runs, and
//! the table `deployer orb params` prints.
use super::table::{params_of, Param};
use super::values::env_name;

/// The orb's commands that run deployer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Push,
    UpdateService,
    Deploy,
    Rollback,
    EcrLogin,
    UpdateTaskDefinition,
    UpdateTaskDefinitionFromJson,
    DeployEcsScheduledTask,
    VerifyRevisionIsDeployed,
    RunTask,
    TagImage,
    CreateRepo,
    SetRepoPolicy,
    TagRepo,
    BuildImage,
    PushImage,
    Continue,
    Deregister,
    Verify,
}

impl Step {
    pub const ALL: [Step; 19] = [
        Step::Push,
        Step::UpdateService,
        Step::Deploy,
        Step::Rollback,
        Step::EcrLogin,
        Step::UpdateTaskDefinition,
        Step::UpdateTaskDefinitionFromJson,
        Step::DeployEcsScheduledTask,
        Step::VerifyRevisionIsDeployed,
        Step::RunTask,
        Step::TagImage,
        Step::CreateRepo,
        Step::SetRepoPolicy,
        Step::TagRepo,
        Step::BuildImage,
        Step::PushImage,
        Step::Continue,
        Step::Deregister,
        Step::Verify,
    ];

    /// The name `deployer orb run` takes (the orb's `DEPLOYER_ORB_STEP`, the table's `step`).
    pub fn name(self) -> &'static str {
        match self {
            Step::Push => "push",
            Step::UpdateService => "update-service",
            Step::Deploy => "deploy",
            Step::Rollback => "rollback",
            Step::EcrLogin => "ecr-login",
            Step::UpdateTaskDefinition => "update-task-definition",
            Step::UpdateTaskDefinitionFromJson => "update-task-definition-from-json",
            Step::DeployEcsScheduledTask => "deploy-ecs-scheduled-task",
            Step::VerifyRevisionIsDeployed => "verify-revision-is-deployed",
            Step::RunTask => "run-task",
            Step::TagImage => "tag-image",
            Step::CreateRepo => "create-repo",
            Step::SetRepoPolicy => "set-repo-policy",
            Step::TagRepo => "tag-repo",
            Step::BuildImage => "build-image",
            Step::PushImage => "push-image",
            Step::Continue => "continue",
            Step::Deregister => "deregister",
            Step::Verify => "verify",
        }
    }

    /// The deployer subcommand the step runs (`repo create`: words separated by a blank).
    pub fn subcommand(self) -> &'static str {
        match self {
            Step::Push => "push",
            Step::UpdateService => "update-service",
            Step::Deploy => "deploy",
            Step::Rollback => "rollback",
            Step::EcrLogin => "ecr-login",
            Step::UpdateTaskDefinition
            | Step::UpdateTaskDefinitionFromJson
            | Step::DeployEcsScheduledTask => "register-task-definition",
            Step::VerifyRevisionIsDeployed => "wait",
            Step::RunTask => "run-task",
            Step::TagImage => "tag-image",
            Step::CreateRepo => "repo create",
            Step::SetRepoPolicy => "repo policy",
            Step::TagRepo => "repo tag",
            Step::BuildImage | Step::PushImage => "push",
            Step::Continue => "continue",
            Step::Deregister => "deregister",
            Step::Verify => "verify",
        }
    }

    /// Flags the step always passes: `push_image` pushes what an earlier step built.
    pub(super) fn fixed_flags(self) -> &'static [&'static str] {
        match self {
            Step::PushImage => &["--no-build"],
            _ => &[],
        }
    }

    /// The orb command's name: the step's, with CircleCI's underscores (`update_service`).
    pub fn orb_command(self) -> String {
        self.name().replace('-', "_")
    }

    /// The step's parameters, in the order their flags are written: the orb command's in
    /// `orb/parameters.json` that deployer reads.
    pub fn params(self) -> Vec<&'static Param> {
        params_of(&self.orb_command()).iter().collect()
    }

    /// Whether the subcommand takes `--export-env` (the orb points it at `$BASH_ENV`).
    pub(super) fn exports_env(self) -> bool {
        !matches!(
            self,
            Step::EcrLogin
                | Step::Deregister
                | Step::Verify
                | Step::TagImage
                | Step::CreateRepo
                | Step::SetRepoPolicy
                | Step::TagRepo
        )
    }
}

/// The table `deployer orb params` prints.
pub fn params_json() -> serde_json::Value {
    let steps: serde_json::Map<String, serde_json::Value> = Step::ALL
        .iter()
        .map(|step| {
            let params: Vec<serde_json::Value> = step
                .params()
                .into_iter()
                .map(|param| {
                    let mut entry = serde_json::to_value(param).unwrap_or_default();
                    entry["env"] = env_name(param.name).into();
                    entry
                })
                .collect();
            (
                step.orb_command(),
                serde_json::json!({
                    "step": step.name(),
                    "subcommand": step.subcommand(),
                    "params": params,
                }),
            )
        })
        .collect();
    serde_json::Value::Object(steps)
}

#[cfg(test)]
mod tests {
    use super::super::table::TABLE_JSON;
    use super::*;

    #[test]
    fn every_step_is_an_orb_command_of_the_table() {
        let table: serde_json::Value = serde_json::from_str(TABLE_JSON).unwrap();
        for step in Step::ALL {
            let command = &table["commands"][step.orb_command().as_str()];
            assert_eq!(command["step"], step.name(), "{step:?}");
            assert!(!step.params().is_empty(), "{step:?} reads no parameter");
        }
    }

    #[test]
    fn the_parameters_that_only_shape_the_wait_are_the_aws_ecs_orbs_and_codedeploys() {
        let shapes = [
            "poll_interval",
            "max_poll_attempts",
            "wait_until",
            "fail_on_placement_errors",
            "rollback_on_cancel",
            "verification_timeout",
            "failure_log_lines",
        ];
        for step in Step::ALL {
            for param in step.params() {
                assert_eq!(
                    param.only_shapes_the_wait,
                    shapes.contains(&param.name),
                    "{step:?} {}",
                    param.name
                );
            }
        }
    }

    #[test]
    fn every_step_names_each_parameter_once() {
        for step in Step::ALL {
            let mut names: Vec<_> = step.params().iter().map(|p| p.name).collect();
            let count = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count, "{step:?} lists a parameter twice");
        }
    }
}
