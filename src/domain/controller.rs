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
    /// A strategy newer than deployer.
    Strategy(String),
}

impl fmt::Display for Undrivable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undrivable::Controller(controller) if controller == "CODE_DEPLOY" => write!(
                f,
                "it uses the CODE_DEPLOY deployment controller: CodeDeploy deploys it, and deployer follows CodeDeploy's deployments only when it starts them (update-service, deploy)"
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
                "its deployment strategy is {strategy}, which deployer does not know (it drives ROLLING, BLUE_GREEN, LINEAR and CANARY deployments)"
            ),
        }
    }
}

impl Undrivable {
    /// What the user can do instead.
    pub fn hint(&self) -> &'static str {
        match self {
            Undrivable::Controller(controller) if controller == "CODE_DEPLOY" => {
                "deploy it with deployer update-service (or deploy) --codedeploy-application APP --codedeploy-deployment-group GROUP, which waits for the CodeDeploy deployment"
            }
            Undrivable::Controller(_) => {
                "deploy it with the tooling that manages its task sets, or use a service with the ECS controller"
            }
            Undrivable::Strategy(_) => {
                "deploy it from the ECS console or the AWS CLI, or use a newer deployer"
            }
        }
    }
}

/// The service's deployment controller (`services[0]`): ECS, CODE_DEPLOY or EXTERNAL (ECS when
/// it is not said, as ECS defaults it).
pub fn controller_of(service: &Value) -> &str {
    service
        .pointer("/deploymentController/type")
        .and_then(Value::as_str)
        .unwrap_or("ECS")
}

/// Checks the service as DescribeServices answered it (`services[0]`). A missing controller is
/// ECS's, and a missing strategy is ROLLING, as ECS defaults them.
pub fn check_drivable(service: &Value) -> Result<(), Undrivable> {
    let controller = controller_of(service);
    if controller != "ECS" {
        return Err(Undrivable::Controller(controller.to_string()));
    }
    let strategy = service
        .pointer("/deploymentConfiguration/strategy")
        .and_then(Value::as_str)
        .unwrap_or("ROLLING");
    if !STRATEGIES.contains(&strategy) {
        return Err(Undrivable::Strategy(strategy.to_string()));
    }
    Ok(())
}

/// The deployment strategies ECS has and deployer follows.
pub const STRATEGIES: [&str; 4] = ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"];

/// `--strategy` and its settings, merged into the service's deployment configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StrategyChange {
    /// ROLLING, BLUE_GREEN, LINEAR or CANARY.
    pub strategy: Option<String>,
    pub bake_time_minutes: Option<u64>,
    pub linear_step_percent: Option<f64>,
    pub linear_step_bake_minutes: Option<u64>,
    pub canary_percent: Option<f64>,
    pub canary_bake_minutes: Option<u64>,
    /// `--early-success`: `None` off, else the healthy percent and whether the old tasks are
    /// removed after success (DEFERRED) rather than before (BLOCKING).
    pub early_success: Option<Option<EarlySuccess>>,
}

/// ECS's `deploymentConfiguration.earlySuccessCriteria` (rolling deployments only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlySuccess {
    pub healthy_percent: u8,
    pub deferred_cleanup: bool,
}

/// Reads `--early-success PERCENT[,deferred|,blocking]` or `off`.
pub fn parse_early_success(text: &str) -> Result<Option<EarlySuccess>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (percent, cleanup) = match text.split_once(',') {
        Some((percent, cleanup)) => (percent.trim(), cleanup.trim().to_ascii_lowercase()),
        None => (text, "blocking".to_string()),
    };
    let percent = percent.trim_end_matches('%');
    let healthy_percent = percent
        .parse::<u8>()
        .ok()
        .filter(|percent| *percent <= 100)
        .ok_or_else(|| {
            format!("--early-success {text}: the healthy percent is a whole number from 0 to 100")
        })?;
    let deferred_cleanup = match cleanup.as_str() {
        "deferred" => true,
        "blocking" => false,
        other => {
            return Err(format!(
                "--early-success {text}: {other:?} is not deferred or blocking (when ECS removes the old tasks)"
            ))
        }
    };
    Ok(Some(EarlySuccess {
        healthy_percent,
        deferred_cleanup,
    }))
}

impl StrategyChange {
    pub fn is_empty(&self) -> bool {
        *self == StrategyChange::default()
    }
}

/// ECS's limit on every bake time: 24 hours.
const MAX_BAKE_MINUTES: u64 = 1440;

/// Merges `change` into the service's deployment configuration (`services[0]`'s
/// `deploymentConfiguration`), keeping everything else, checked as ECS checks it and against
/// the service: a strategy's settings need that strategy, and traffic-shifting strategies need
/// a load balancer with an alternate target group (or Service Connect) to shift traffic with.
pub fn merge_strategy(service: &Value, change: &StrategyChange) -> Result<Value, String> {
    let mut configuration = service
        .get("deploymentConfiguration")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(strategy) = &change.strategy {
        configuration["strategy"] = Value::String(strategy.clone());
    }
    let strategy = configuration
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("ROLLING")
        .to_string();
    // Another strategy's settings go with it: ECS takes canaryConfiguration only with CANARY,
    // linearConfiguration only with LINEAR and earlySuccessCriteria only with ROLLING
    // (DeploymentConfiguration, ECS API reference).
    for (key, only_with) in [
        ("canaryConfiguration", "CANARY"),
        ("linearConfiguration", "LINEAR"),
        ("earlySuccessCriteria", "ROLLING"),
    ] {
        if strategy != only_with {
            if let Some(settings) = configuration.as_object_mut() {
                settings.remove(key);
            }
        }
    }
    let needs = |flag: &str, wanted: &str| -> Result<(), String> {
        if strategy == wanted {
            Ok(())
        } else {
            Err(format!(
                "{flag} applies to the {wanted} strategy, and the service's is {strategy}: pass --strategy {}",
                wanted.to_lowercase().replace('_', "-")
            ))
        }
    };
    let bake = |flag: &str, minutes: u64| -> Result<Value, String> {
        if minutes > MAX_BAKE_MINUTES {
            Err(format!("{flag} is at most 24h (1440 minutes)"))
        } else {
            Ok(Value::from(minutes))
        }
    };
    if let Some(minutes) = change.bake_time_minutes {
        if strategy == "ROLLING" {
            return Err(
                "--bake-time applies to the blue-green, linear and canary strategies, and the service's is ROLLING: pass --strategy".into(),
            );
        }
        configuration["bakeTimeInMinutes"] = bake("--bake-time", minutes)?;
    }
    if let Some(percent) = change.linear_step_percent {
        needs("--linear-step-percent", "LINEAR")?;
        if !(3.0..=100.0).contains(&percent) || !tenths(percent) {
            return Err(format!(
                "--linear-step-percent {percent}: ECS takes multiples of 0.1 from 3.0 to 100.0"
            ));
        }
        configuration["linearConfiguration"]["stepPercent"] = Value::from(percent);
    }
    if let Some(minutes) = change.linear_step_bake_minutes {
        needs("--linear-step-bake-time", "LINEAR")?;
        configuration["linearConfiguration"]["stepBakeTimeInMinutes"] =
            bake("--linear-step-bake-time", minutes)?;
    }
    if let Some(percent) = change.canary_percent {
        needs("--canary-percent", "CANARY")?;
        if !(0.1..=100.0).contains(&percent) || !tenths(percent) {
            return Err(format!(
                "--canary-percent {percent}: ECS takes multiples of 0.1 from 0.1 to 100.0"
            ));
        }
        configuration["canaryConfiguration"]["canaryPercent"] = Value::from(percent);
    }
    if let Some(minutes) = change.canary_bake_minutes {
        needs("--canary-bake-time", "CANARY")?;
        configuration["canaryConfiguration"]["canaryBakeTimeInMinutes"] =
            bake("--canary-bake-time", minutes)?;
    }
    if let Some(early) = &change.early_success {
        // "You can use early success criteria only with rolling deployment strategy", and the
        // healthy percent "must be greater than or equal to the minimumHealthyPercent value"
        // (DeploymentEarlySuccessCriteria, ECS API reference).
        match early {
            Some(early) => {
                needs("--early-success", "ROLLING")?;
                let minimum = configuration
                    .get("minimumHealthyPercent")
                    .and_then(Value::as_u64)
                    .unwrap_or(100);
                if u64::from(early.healthy_percent) < minimum {
                    return Err(format!(
                        "--early-success {}: ECS takes a healthy percent of at least the service's minimumHealthyPercent ({minimum})",
                        early.healthy_percent
                    ));
                }
                configuration["earlySuccessCriteria"] = serde_json::json!({
                    "enable": true,
                    "healthyPercent": early.healthy_percent,
                    "sourceServiceRevisionCleanup": if early.deferred_cleanup { "DEFERRED" } else { "BLOCKING" },
                });
            }
            None => {
                configuration["earlySuccessCriteria"] = serde_json::json!({"enable": false});
            }
        }
    }
    if strategy != "ROLLING" && !can_shift_traffic(service) {
        return Err(format!(
            "the {strategy} strategy shifts traffic between two target groups, and the service has no load balancer with an alternate target group (loadBalancers[].advancedConfiguration) nor Service Connect"
        ));
    }
    Ok(configuration)
}

fn tenths(percent: f64) -> bool {
    ((percent * 10.0).round() - percent * 10.0).abs() < 1e-6
}

/// Whether the service can shift traffic between revisions: a load balancer with an alternate
/// target group, or Service Connect.
pub fn can_shift_traffic(service: &Value) -> bool {
    let balancers = service
        .get("loadBalancers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let advanced = !balancers.is_empty()
        && balancers.iter().all(|balancer| {
            balancer
                .pointer("/advancedConfiguration/alternateTargetGroupArn")
                .and_then(Value::as_str)
                .is_some_and(|arn| !arn.is_empty())
        });
    let service_connect = service
        .pointer("/serviceConnectConfiguration/enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || service
            .get("deployments")
            .and_then(Value::as_array)
            .and_then(|deployments| deployments.first())
            .and_then(|primary| primary.pointer("/serviceConnectConfiguration/enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
    advanced || service_connect
}

/// What `--wait-until` needs of the service's deployment configuration, checked before
/// anything changes: `paused` a PAUSE lifecycle hook, `bake-time` a strategy with a bake time.
pub fn check_wait_until(until: &str, configuration: Option<&Value>) -> Result<(), String> {
    let strategy = configuration
        .and_then(|c| c.get("strategy"))
        .and_then(Value::as_str)
        .unwrap_or("ROLLING");
    match until {
        "paused" if !crate::domain::strategy_time::has_pause_hook(configuration) => Err(
            "--wait-until paused waits for a PAUSE lifecycle hook, and the service's deployment configuration has none (deploymentConfiguration.lifecycleHooks with targetType PAUSE)".into(),
        ),
        "bake-time" if strategy == "ROLLING" => Err(
            "--wait-until bake-time waits for a blue-green, linear or canary deployment's bake time, and the service deploys ROLLING (pass --strategy, or wait with --wait-until stable)".into(),
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19: `--early-success` merges ECS's earlySuccessCriteria as ECS checks them: rolling
    /// only, a whole percent of at least minimumHealthyPercent.
    #[test]
    fn early_success_is_merged_for_rolling_services_only() {
        let rolling = serde_json::json!({"deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200}});
        let change = StrategyChange {
            early_success: Some(parse_early_success("60,deferred").unwrap()),
            ..StrategyChange::default()
        };
        let merged = merge_strategy(&rolling, &change).unwrap();
        assert_eq!(
            merged["earlySuccessCriteria"],
            serde_json::json!({"enable": true, "healthyPercent": 60, "sourceServiceRevisionCleanup": "DEFERRED"})
        );
        assert_eq!(merged["maximumPercent"], 200);
        let low = StrategyChange {
            early_success: Some(parse_early_success("40").unwrap()),
            ..StrategyChange::default()
        };
        assert!(merge_strategy(&rolling, &low)
            .unwrap_err()
            .contains("at least the service's minimumHealthyPercent (50)"));
        let blue_green = StrategyChange {
            strategy: Some("BLUE_GREEN".into()),
            early_success: Some(parse_early_success("60").unwrap()),
            ..StrategyChange::default()
        };
        assert!(merge_strategy(&blue_green_ready(), &blue_green)
            .unwrap_err()
            .contains("--early-success applies to the ROLLING strategy"));
        let off = StrategyChange {
            early_success: Some(None),
            ..StrategyChange::default()
        };
        assert_eq!(
            merge_strategy(&rolling, &off).unwrap()["earlySuccessCriteria"],
            serde_json::json!({"enable": false})
        );
        assert_eq!(
            parse_early_success("75").unwrap(),
            Some(EarlySuccess {
                healthy_percent: 75,
                deferred_cleanup: false
            })
        );
        assert!(parse_early_success("101").is_err());
        assert!(parse_early_success("50,later").is_err());
    }
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
            assert_eq!(
                check_drivable(&json!({
                    "deploymentController": {"type": "ECS"},
                    "deploymentConfiguration": {"strategy": strategy, "bakeTimeInMinutes": 5}
                })),
                Ok(())
            );
        }
        let newer = check_drivable(&json!({"deploymentConfiguration": {"strategy": "SHADOW"}}))
            .unwrap_err();
        assert!(newer.to_string().contains("SHADOW"), "{newer}");
    }

    /// A service as DescribeServices answers it, behind an ALB with an alternate target group.
    fn blue_green_ready() -> Value {
        json!({
            "serviceName": "tutorial-site-service",
            "loadBalancers": [{
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tutorial-blue/1",
                "containerName": "tutorial-site-app", "containerPort": 3000,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tutorial-green/2",
                    "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/tutorial/1/2/3",
                    "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRole"
                }
            }],
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                "maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "ROLLING"
            }
        })
    }

    #[test]
    fn a_strategy_change_keeps_the_rest_of_the_configuration() {
        let change = StrategyChange {
            strategy: Some("CANARY".into()),
            bake_time_minutes: Some(5),
            canary_percent: Some(10.0),
            canary_bake_minutes: Some(2),
            ..StrategyChange::default()
        };
        assert_eq!(
            merge_strategy(&blue_green_ready(), &change).unwrap(),
            json!({
                "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                "maximumPercent": 200, "minimumHealthyPercent": 100, "strategy": "CANARY",
                "bakeTimeInMinutes": 5,
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 2}
            })
        );
        let linear = StrategyChange {
            strategy: Some("LINEAR".into()),
            linear_step_percent: Some(25.0),
            linear_step_bake_minutes: Some(1),
            ..StrategyChange::default()
        };
        let merged = merge_strategy(&blue_green_ready(), &linear).unwrap();
        assert_eq!(
            merged["linearConfiguration"],
            json!({"stepPercent": 25.0, "stepBakeTimeInMinutes": 1})
        );
    }

    #[test]
    fn a_strategy_setting_needs_its_strategy_and_ecs_limits() {
        let service = blue_green_ready();
        let canary_on_rolling = StrategyChange {
            canary_percent: Some(10.0),
            ..StrategyChange::default()
        };
        let refused = merge_strategy(&service, &canary_on_rolling).unwrap_err();
        assert!(refused.contains("--strategy canary"), "{refused}");
        let bake_on_rolling = StrategyChange {
            bake_time_minutes: Some(5),
            ..StrategyChange::default()
        };
        assert!(merge_strategy(&service, &bake_on_rolling).is_err());
        for (step, ok) in [
            (2.9, false),
            (3.0, true),
            (33.3, true),
            (33.33, false),
            (100.0, true),
        ] {
            let change = StrategyChange {
                strategy: Some("LINEAR".into()),
                linear_step_percent: Some(step),
                ..StrategyChange::default()
            };
            assert_eq!(merge_strategy(&service, &change).is_ok(), ok, "{step}");
        }
        let long = StrategyChange {
            strategy: Some("BLUE_GREEN".into()),
            bake_time_minutes: Some(1441),
            ..StrategyChange::default()
        };
        assert!(merge_strategy(&service, &long).unwrap_err().contains("24h"));
    }

    #[test]
    fn traffic_shifting_needs_an_alternate_target_group() {
        let mut plain = blue_green_ready();
        plain["loadBalancers"][0]
            .as_object_mut()
            .unwrap()
            .remove("advancedConfiguration");
        let change = StrategyChange {
            strategy: Some("BLUE_GREEN".into()),
            ..StrategyChange::default()
        };
        let refused = merge_strategy(&plain, &change).unwrap_err();
        assert!(refused.contains("alternate target group"), "{refused}");
        let rolling = StrategyChange {
            strategy: Some("ROLLING".into()),
            ..StrategyChange::default()
        };
        assert!(merge_strategy(&plain, &rolling).is_ok());
    }

    #[test]
    fn wait_until_paused_needs_a_pause_hook_and_bake_time_a_bake() {
        let rolling = json!({"strategy": "ROLLING"});
        assert!(check_wait_until("paused", Some(&rolling)).is_err());
        assert!(check_wait_until("bake-time", Some(&rolling)).is_err());
        assert!(check_wait_until("stable", None).is_ok());
        let paused = json!({"strategy": "CANARY", "lifecycleHooks": [
            {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]});
        assert!(check_wait_until("paused", Some(&paused)).is_ok());
        assert!(check_wait_until("bake-time", Some(&paused)).is_ok());
    }

    #[test]
    fn switching_strategy_drops_the_settings_of_the_one_left() {
        // A canary service moved to blue/green: canaryConfiguration "is only valid with the
        // CANARY deployment strategy" (DeploymentConfiguration, ECS API reference).
        let service = serde_json::json!({
            "deploymentConfiguration": {
                "strategy": "CANARY",
                "bakeTimeInMinutes": 1,
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 30}
            },
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/blue/1",
                "advancedConfiguration": {"alternateTargetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/green/2"}}]
        });
        let change = StrategyChange {
            strategy: Some("BLUE_GREEN".into()),
            ..Default::default()
        };
        let merged = merge_strategy(&service, &change).unwrap();
        assert_eq!(merged["strategy"], "BLUE_GREEN");
        assert_eq!(merged["bakeTimeInMinutes"], 1);
        assert!(merged.get("canaryConfiguration").is_none(), "{merged}");
        // Kept when the strategy stays.
        let same = merge_strategy(&service, &StrategyChange::default()).unwrap();
        assert_eq!(same["canaryConfiguration"]["canaryPercent"], 10.0);
    }
}
