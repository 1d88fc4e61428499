//! How long a deployment of a service's deployment configuration takes beyond a rolling update
//! (bake time, linear steps, the canary, PAUSE hooks), for the default timeout, and what a wait
//! on a service with PAUSE hooks should be told up front.
use std::time::Duration;

use serde_json::Value;

use super::duration::format_duration;

fn minutes(configuration: Option<&Value>, pointer: &str) -> Option<u64> {
    configuration?.pointer(pointer)?.as_u64()
}

/// The strategy a deployment configuration names (ROLLING when it names none).
pub fn strategy_of(configuration: Option<&Value>) -> &str {
    configuration
        .and_then(|c| c.get("strategy"))
        .and_then(Value::as_str)
        .unwrap_or("ROLLING")
}

/// The bake time a deployment configuration asks for (blue/green, linear and canary).
pub fn bake_time(configuration: Option<&Value>) -> Option<Duration> {
    minutes(configuration, "/bakeTimeInMinutes").map(|m| Duration::from_secs(m * 60))
}

/// How much longer than a rolling update a deployment of this configuration takes at least:
/// the bake time, the linear steps' or the canary's bake, and the PAUSE hooks' timeouts, with
/// the words that say how it was derived. `None` for a rolling update without any of them.
pub fn strategy_time(configuration: Option<&Value>) -> Option<(Duration, String)> {
    let strategy = strategy_of(configuration);
    let mut total = Duration::ZERO;
    let mut parts = Vec::new();
    if strategy != "ROLLING" {
        if let Some(bake) = bake_time(configuration) {
            total += bake;
            parts.push(format!("bake time {}", format_duration(bake)));
        }
    }
    match strategy {
        "LINEAR" => {
            let step = configuration
                .and_then(|c| c.pointer("/linearConfiguration/stepPercent"))
                .and_then(Value::as_f64)
                .filter(|step| *step > 0.0)
                .unwrap_or(10.0);
            let step_bake =
                minutes(configuration, "/linearConfiguration/stepBakeTimeInMinutes").unwrap_or(6);
            // The step bake is not applied after the step that reaches 100%.
            let steps = (100.0 / step).ceil() as u64;
            let waits = steps.saturating_sub(1);
            let time = Duration::from_secs(waits * step_bake * 60);
            total += time;
            parts.push(format!(
                "{waits} linear step bakes of {}",
                format_duration(Duration::from_secs(step_bake * 60))
            ));
        }
        "CANARY" => {
            let bake = minutes(
                configuration,
                "/canaryConfiguration/canaryBakeTimeInMinutes",
            )
            .unwrap_or(10);
            total += Duration::from_secs(bake * 60);
            parts.push(format!(
                "canary bake {}",
                format_duration(Duration::from_secs(bake * 60))
            ));
        }
        _ => {}
    }
    for hook in pause_hooks(configuration) {
        // Each stage the hook runs at is one pause; PRE_PRODUCTION_TRAFFIC_SHIFT comes before
        // every production step (each linear step, the canary and the rest).
        let pauses: u64 = hook
            .get("lifecycleStages")
            .and_then(Value::as_array)
            .map(|stages| {
                stages
                    .iter()
                    .map(|stage| match stage.as_str() {
                        Some("PRE_PRODUCTION_TRAFFIC_SHIFT") => production_steps(configuration),
                        _ => 1,
                    })
                    .sum()
            })
            .unwrap_or(1)
            .max(1);
        let (timeout, default) = match hook
            .pointer("/timeoutConfiguration/timeoutInMinutes")
            .and_then(Value::as_u64)
        {
            Some(minutes) => (minutes, ""),
            None => (PAUSE_HOOK_DEFAULT_MINUTES, ", ECS's default"),
        };
        total += Duration::from_secs(timeout * 60 * pauses);
        parts.push(format!(
            "pause hook timeout {}{default}{}",
            format_duration(Duration::from_secs(timeout * 60)),
            if pauses > 1 {
                format!(" × {pauses} pauses")
            } else {
                String::new()
            }
        ));
    }
    (!parts.is_empty()).then(|| (total, parts.join(" + ")))
}

/// A PAUSE hook without `timeoutConfiguration.timeoutInMinutes` waits this long: "Default:
/// 1440 (24 hours)", DeploymentLifecycleHookTimeoutConfiguration in the ECS API reference.
pub const PAUSE_HOOK_DEFAULT_MINUTES: u64 = 1440;

fn pause_hooks(configuration: Option<&Value>) -> Vec<&Value> {
    configuration
        .and_then(|c| c.get("lifecycleHooks"))
        .and_then(Value::as_array)
        .map(|hooks| {
            hooks
                .iter()
                .filter(|hook| hook.get("targetType").and_then(Value::as_str) == Some("PAUSE"))
                .collect()
        })
        .unwrap_or_default()
}

/// How many production traffic shifts a deployment of this configuration makes: one per linear
/// step, two for a canary (its share, then the rest), one otherwise.
fn production_steps(configuration: Option<&Value>) -> u64 {
    match strategy_of(configuration) {
        "LINEAR" => {
            let step = configuration
                .and_then(|c| c.pointer("/linearConfiguration/stepPercent"))
                .and_then(Value::as_f64)
                .filter(|step| *step > 0.0)
                .unwrap_or(10.0);
            (100.0 / step).ceil() as u64
        }
        "CANARY" => 2,
        _ => 1,
    }
}

/// What a `stable` (or `running`) wait on a service with PAUSE hooks should be told up front:
/// the deployment stops at each until someone continues it, and the wait waits through it.
pub fn pause_warning(configuration: Option<&Value>) -> Option<String> {
    let hooks = pause_hooks(configuration);
    if hooks.is_empty() {
        return None;
    }
    let stages: Vec<&str> = hooks
        .iter()
        .flat_map(|hook| {
            hook.get("lifecycleStages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
        })
        .collect();
    Some(format!(
        "its deployments pause at a PAUSE lifecycle hook ({}) until someone runs deployer \
         continue or the hook's timeout applies its action; this wait waits through the pause. \
         To end this step at the pause and approve in a later job, pass --wait-until paused",
        if stages.is_empty() {
            "no stage named".to_string()
        } else {
            stages.join(", ")
        }
    ))
}

/// Whether the configuration has a PAUSE lifecycle hook (what `--wait-until paused` needs).
pub fn has_pause_hook(configuration: Option<&Value>) -> bool {
    configuration
        .and_then(|c| c.get("lifecycleHooks"))
        .and_then(Value::as_array)
        .is_some_and(|hooks| {
            hooks
                .iter()
                .any(|hook| hook.get("targetType").and_then(Value::as_str) == Some("PAUSE"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_strategy_time_is_derived_from_the_configuration() {
        assert_eq!(strategy_time(None), None);
        assert_eq!(strategy_time(Some(&json!({"maximumPercent": 200}))), None);
        let linear = json!({"strategy": "LINEAR", "bakeTimeInMinutes": 5,
            "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}});
        assert_eq!(
            strategy_time(Some(&linear)),
            Some((
                Duration::from_secs((5 + 3 * 2) * 60),
                "bake time 5m00s + 3 linear step bakes of 2m00s".to_string()
            ))
        );
        let canary = json!({"strategy": "CANARY", "bakeTimeInMinutes": 1,
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 30, "action": "ROLLBACK"}}]});
        assert_eq!(
            strategy_time(Some(&canary)),
            Some((
                Duration::from_secs((1 + 10 + 30) * 60),
                "bake time 1m00s + canary bake 10m00s + pause hook timeout 30m00s".to_string()
            ))
        );
        assert!(has_pause_hook(Some(&canary)));
        assert!(!has_pause_hook(Some(&linear)));
    }

    /// Issue 19, defect 6: a PAUSE hook without a timeout waits ECS's documented default, 1440
    /// minutes (DeploymentLifecycleHookTimeoutConfiguration), and a PRE_PRODUCTION_TRAFFIC_SHIFT
    /// hook pauses before every production step: 4 linear steps of 25%, 2 for a canary.
    #[test]
    fn pause_hooks_count_ecs_default_timeout_and_every_production_step() {
        let linear = json!({"strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 0},
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 5}}]});
        let (time, how) = strategy_time(Some(&linear)).unwrap();
        assert_eq!(time, Duration::from_secs(4 * 5 * 60));
        assert!(
            how.ends_with("pause hook timeout 5m00s × 4 pauses"),
            "{how}"
        );
        let canary = json!({"strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 0},
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT"]}]});
        let (time, how) = strategy_time(Some(&canary)).unwrap();
        assert_eq!(time, Duration::from_secs(3 * 1440 * 60));
        assert!(
            how.ends_with("pause hook timeout 1440m00s, ECS's default × 3 pauses"),
            "{how}"
        );
        let warning = pause_warning(Some(&canary)).unwrap();
        assert!(
            warning.contains("(PRE_PRODUCTION_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT)")
                && warning.ends_with("pass --wait-until paused"),
            "{warning}"
        );
        assert_eq!(
            pause_warning(Some(&json!({"strategy": "BLUE_GREEN"}))),
            None
        );
    }
}
