//! Whether deployer can drive a service's deployments: its `deploymentController` and its
//! `deploymentConfiguration.strategy`, read in the plan so a service deployer cannot follow is
//! refused before anything is registered.
use std::fmt;

use serde_json::Value;

/// Why deployer will not deploy this service (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undrivable {
    /// CODE_DEPLOY or EXTERNAL.
    Controller(String),
    /// BLUE_GREEN, LINEAR, CANARY, or a strategy newer than deployer.
    Strategy(String),
}

impl fmt::Display for Undrivable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undrivable::Controller(controller) if controller == "CODE_DEPLOY" => write!(
                f,
                "it uses the CODE_DEPLOY deployment controller: its deployments are CodeDeploy blue/green deployments, which deployer does not drive yet"
            ),
            Undrivable::Controller(controller) if controller == "EXTERNAL" => write!(
                f,
                "it uses the EXTERNAL deployment controller: its task sets are managed outside ECS's own deployments, which deployer does not drive"
            ),
            Undrivable::Controller(controller) => write!(
                f,
                "it uses the {controller} deployment controller, which deployer does not know"
            ),
            Undrivable::Strategy(strategy) => write!(
                f,
                "its deployment strategy is {strategy}: deployer drives and waits for ROLLING deployments only so far (it cannot follow traffic shifts, bake time or lifecycle hooks yet)"
            ),
        }
    }
}

impl Undrivable {
    /// What the user can do instead.
    pub fn hint(&self) -> &'static str {
        match self {
            Undrivable::Controller(controller) if controller == "CODE_DEPLOY" => {
                "deploy it with CodeDeploy (aws deploy create-deployment with an AppSpec), or switch the service to the ECS controller"
            }
            Undrivable::Controller(_) => {
                "deploy it with the tooling that manages its task sets, or use a service with the ECS controller"
            }
            Undrivable::Strategy(_) => {
                "deploy it from the ECS console or the AWS CLI, or set the service's strategy to ROLLING"
            }
        }
    }
}

/// Checks the service as DescribeServices answered it (`services[0]`). A missing controller is
/// ECS's, and a missing strategy is ROLLING, as ECS defaults them.
pub fn check_drivable(service: &Value) -> Result<(), Undrivable> {
    let controller = service
        .pointer("/deploymentController/type")
        .and_then(Value::as_str)
        .unwrap_or("ECS");
    if controller != "ECS" {
        return Err(Undrivable::Controller(controller.to_string()));
    }
    let strategy = service
        .pointer("/deploymentConfiguration/strategy")
        .and_then(Value::as_str)
        .unwrap_or("ROLLING");
    if strategy != "ROLLING" {
        return Err(Undrivable::Strategy(strategy.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ecs_rolling_services_are_drivable_with_or_without_the_fields() {
        assert_eq!(
            check_drivable(&json!({"serviceName": "tutorial-site-service"})),
            Ok(())
        );
        let explicit = json!({
            "deploymentController": {"type": "ECS"},
            "deploymentConfiguration": {"strategy": "ROLLING", "maximumPercent": 200, "minimumHealthyPercent": 100}
        });
        assert_eq!(check_drivable(&explicit), Ok(()));
    }

    #[test]
    fn other_controllers_and_strategies_are_named() {
        let code_deploy =
            check_drivable(&json!({"deploymentController": {"type": "CODE_DEPLOY"}})).unwrap_err();
        assert!(
            code_deploy.to_string().contains("CODE_DEPLOY"),
            "{code_deploy}"
        );
        assert!(code_deploy.hint().contains("CodeDeploy"));
        let external =
            check_drivable(&json!({"deploymentController": {"type": "EXTERNAL"}})).unwrap_err();
        assert_eq!(external, Undrivable::Controller("EXTERNAL".into()));
        for strategy in ["BLUE_GREEN", "LINEAR", "CANARY"] {
            let refused = check_drivable(&json!({
                "deploymentController": {"type": "ECS"},
                "deploymentConfiguration": {"strategy": strategy, "bakeTimeInMinutes": 5}
            }))
            .unwrap_err();
            assert!(refused.to_string().contains(strategy), "{refused}");
        }
    }
}
