//! The smoke-test gate (`--smoke-test CMD`): the PAUSE hook a blue/green, linear or canary
//! deployment stops at once test traffic reaches the new revision, the environment CMD runs
//! with, and how its end reads. Pure: the step that runs CMD and calls ECS is
//! `commands/steps/smoke_test.rs`.
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::duration::format_duration;

/// The lifecycle stage the gate pauses at: "the test traffic … routed to the green service
/// revision", before any production traffic shifts (DeploymentLifecycleHook, ECS API reference).
pub const GATE_STAGE: &str = "POST_TEST_TRAFFIC_SHIFT";

/// Minutes added to the smoke test's timeout for the hook deployer adds: the polls that see the
/// pause and the ContinueServiceDeployment call after CMD ends.
pub const HOOK_MARGIN_MINUTES: u64 = 5;

/// `hookDetails` of the hook deployer adds, so a later deploy without `--smoke-test` knows it
/// and takes it out instead of pausing there until the hook's timeout rolls it back.
pub const MARKER_KEY: &str = "addedBy";
pub const MARKER_VALUE: &str = "deployer --smoke-test";

/// How many of CMD's last lines a failure quotes.
pub const QUOTED_LINES: usize = 10;

/// Where the gate's pause comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// The service's own PAUSE hook at POST_TEST_TRAFFIC_SHIFT; its timeout in minutes when set.
    Existing { timeout_minutes: Option<u64> },
    /// Added by deployer to the deployment configuration it sends.
    Added { timeout_minutes: u64 },
}

impl Gate {
    /// The plan's words for it.
    pub fn describe(&self) -> String {
        match self {
            Gate::Existing { timeout_minutes } => format!(
                "the service's PAUSE hook at {GATE_STAGE} (timeout {})",
                timeout_minutes.map_or("1440m, ECS's default".to_string(), |m| format!("{m}m"))
            ),
            Gate::Added { timeout_minutes } => format!(
                "a PAUSE hook deployer adds at {GATE_STAGE} (timeout {timeout_minutes}m, then ROLLBACK)"
            ),
        }
    }
}

/// The timeout of the hook deployer adds: the smoke test's, in whole minutes rounded up, plus
/// [`HOOK_MARGIN_MINUTES`].
pub fn hook_minutes(smoke_test_timeout: Duration) -> u64 {
    smoke_test_timeout.as_secs().div_ceil(60) + HOOK_MARGIN_MINUTES
}

fn is_ours(hook: &Value) -> bool {
    hook.pointer(&format!("/hookDetails/{MARKER_KEY}"))
        .and_then(Value::as_str)
        == Some(MARKER_VALUE)
}

/// The lifecycle stages before the gate's, in ECS's order (DeploymentLifecycleHook, ECS API
/// reference): a PAUSE at one of them stops the deployment before there is test traffic.
const STAGES_BEFORE_GATE: [&str; 4] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
];

/// The stage before the gate's where this hook pauses, if it is a PAUSE hook at one.
fn pause_before_gate(hook: &Value) -> Option<String> {
    if hook.get("targetType").and_then(Value::as_str) != Some("PAUSE") {
        return None;
    }
    hook.get("lifecycleStages")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|stage| STAGES_BEFORE_GATE.contains(stage))
        .map(str::to_string)
}

fn pauses_at_gate(hook: &Value) -> bool {
    hook.get("targetType").and_then(Value::as_str) == Some("PAUSE")
        && hook
            .get("lifecycleStages")
            .and_then(Value::as_array)
            .is_some_and(|stages| stages.iter().any(|stage| stage == GATE_STAGE))
}

/// The deployment configuration with the gate: the service's own PAUSE hook at
/// POST_TEST_TRAFFIC_SHIFT when it has one (the configuration unchanged), else one added with a
/// timeout of `hook_minutes(timeout)` and ROLLBACK as its timeout action. Refused for a rolling
/// service: ECS sends test traffic only in blue/green, linear and canary deployments.
pub fn with_gate(configuration: &Value, timeout: Duration) -> Result<(Value, Gate), String> {
    let strategy = configuration
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("ROLLING");
    if strategy == "ROLLING" {
        return Err(
            "--smoke-test runs once test traffic reaches the new revision, and the service deploys ROLLING, which has no test traffic: pass --strategy blue-green (or linear, canary) with a load balancer that has an alternate target group and a test listener rule".into(),
        );
    }
    let hooks = configuration
        .get("lifecycleHooks")
        .and_then(Value::as_array);
    if let Some(stage) = hooks.into_iter().flatten().find_map(pause_before_gate) {
        return Err(format!(
            "--smoke-test runs at the pause once test traffic reaches the new revision, and the service's deployments pause earlier, at {stage}, where nobody would continue them: deploy without --smoke-test (--wait-until paused), approve that pause, then run deployer continue --smoke-test at {GATE_STAGE}"
        ));
    }
    if let Some(hook) = hooks
        .into_iter()
        .flatten()
        .find(|hook| pauses_at_gate(hook))
    {
        let timeout_minutes = hook
            .pointer("/timeoutConfiguration/timeoutInMinutes")
            .and_then(Value::as_u64);
        return Ok((configuration.clone(), Gate::Existing { timeout_minutes }));
    }
    let minutes = hook_minutes(timeout);
    let mut gated = configuration.clone();
    let hook = serde_json::json!({
        "targetType": "PAUSE",
        "lifecycleStages": [GATE_STAGE],
        "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": "ROLLBACK"},
        "hookDetails": {MARKER_KEY: MARKER_VALUE},
    });
    match gated
        .get_mut("lifecycleHooks")
        .and_then(Value::as_array_mut)
    {
        Some(hooks) => hooks.push(hook),
        None => gated["lifecycleHooks"] = Value::Array(vec![hook]),
    }
    Ok((
        gated,
        Gate::Added {
            timeout_minutes: minutes,
        },
    ))
}

/// The configuration without the hooks an earlier `--smoke-test` added; `None` when it has none
/// (nothing to send).
pub fn without_added_gate(configuration: &Value) -> Option<Value> {
    let hooks = configuration.get("lifecycleHooks")?.as_array()?;
    if !hooks.iter().any(is_ours) {
        return None;
    }
    let mut cleaned = configuration.clone();
    cleaned["lifecycleHooks"] = Value::Array(
        hooks
            .iter()
            .filter(|hook| !is_ours(hook))
            .cloned()
            .collect(),
    );
    Some(cleaned)
}

/// The configuration without its PAUSE hooks at the gate's stage (which the gate answers), for
/// the warning about the pauses a wait would wait through.
pub fn without_gate_pauses(configuration: &Value) -> Value {
    let mut others = configuration.clone();
    if let Some(hooks) = others
        .get_mut("lifecycleHooks")
        .and_then(Value::as_array_mut)
    {
        hooks.retain(|hook| !pauses_at_gate(hook));
    }
    others
}

/// A warning for the plan when the service's own hook may time out while CMD still runs.
pub fn short_hook_warning(gate: &Gate, timeout: Duration) -> Option<String> {
    let Gate::Existing {
        timeout_minutes: Some(minutes),
    } = gate
    else {
        return None;
    };
    (Duration::from_secs(minutes * 60) < timeout).then(|| {
        format!(
            "the service's PAUSE hook at {GATE_STAGE} times out after {minutes}m, before the --smoke-test-timeout of {}: ECS applies the hook's timeout action if the smoke test runs that long",
            format_duration(timeout)
        )
    })
}

/// Which deployment CMD tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatedDeployment {
    /// ECS's own: the paused ServiceDeployment's ARN.
    Ecs(String),
    /// CodeDeploy's: the deployment id, waiting in Ready.
    CodeDeploy(String),
}

/// What CMD is told about the deployment it tests, as documented in the README.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateFacts {
    pub service: String,
    pub task_definition_arn: String,
    pub image: String,
    pub deployment: GatedDeployment,
    /// `None` when the test listener's address cannot be derived.
    pub test_url: Option<String>,
}

/// Every variable deployer sets for CMD, which are also the names it removes from the
/// environment CMD inherits (a stale `DEPLOYER_TEST_URL` from an earlier step is not ours).
pub const VARIABLES: [&str; 6] = [
    "DEPLOYER_TEST_URL",
    "DEPLOYER_SERVICE",
    "DEPLOYER_TASK_DEFINITION_ARN",
    "DEPLOYER_IMAGE",
    "DEPLOYER_SERVICE_DEPLOYMENT_ARN",
    "DEPLOYER_CODEDEPLOY_DEPLOYMENT_ID",
];

impl GateFacts {
    /// The variables set for CMD (DEPLOYER_TEST_URL only when known; the deployment's under
    /// the name of its kind).
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let mut variables = Vec::new();
        if let Some(url) = &self.test_url {
            variables.push((VARIABLES[0], url.clone()));
        }
        variables.extend([
            (VARIABLES[1], self.service.clone()),
            (VARIABLES[2], self.task_definition_arn.clone()),
            (VARIABLES[3], self.image.clone()),
        ]);
        variables.push(match &self.deployment {
            GatedDeployment::Ecs(arn) => (VARIABLES[4], arn.clone()),
            GatedDeployment::CodeDeploy(id) => (VARIABLES[5], id.clone()),
        });
        variables
    }
}

/// A CodeDeploy deployment group's ready wait in minutes: with `deploymentReadyOption`
/// `actionOnTimeout` STOP_DEPLOYMENT, the deployment waits in Ready for ContinueDeployment
/// (and stops when the wait passes); `None` when it reroutes traffic on its own
/// (CONTINUE_DEPLOYMENT, CodeDeploy's default). CodeDeploy API reference, DeploymentReadyOption.
pub fn codedeploy_ready_wait(group: &Value) -> Option<u64> {
    let ready = group.pointer("/blueGreenDeploymentConfiguration/deploymentReadyOption")?;
    (ready.get("actionOnTimeout").and_then(Value::as_str) == Some("STOP_DEPLOYMENT")).then(|| {
        ready
            .get("waitTimeInMinutes")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    })
}

/// The test listener of a CodeDeploy deployment group
/// (`loadBalancerInfo.targetGroupPairInfoList[].testTrafficRoute.listenerArns[0]`).
pub fn codedeploy_test_listener(group: &Value) -> Option<String> {
    group
        .pointer("/loadBalancerInfo/targetGroupPairInfoList")?
        .as_array()?
        .iter()
        .find_map(|pair| pair.pointer("/testTrafficRoute/listenerArns/0"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The image CMD tests: that of the container the load balancer sends traffic to (the service's
/// first load balancer's `containerName`), else the first container's.
pub fn tested_image(service: &Value, task_definition: &Value) -> String {
    let containers: Vec<&Value> = task_definition
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|containers| containers.iter().collect())
        .unwrap_or_default();
    let balanced = service
        .pointer("/loadBalancers/0/containerName")
        .and_then(Value::as_str);
    containers
        .iter()
        .find(|container| {
            balanced.is_some() && container.get("name").and_then(Value::as_str) == balanced
        })
        .or(containers.first())
        .and_then(|container| container.get("image"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The test listener rule of the service's first load balancer with one
/// (`loadBalancers[].advancedConfiguration.testListenerRule`).
pub fn test_listener_rule(service: &Value) -> Option<String> {
    service
        .get("loadBalancers")?
        .as_array()?
        .iter()
        .find_map(|balancer| balancer.pointer("/advancedConfiguration/testListenerRule"))
        .and_then(Value::as_str)
        .filter(|rule| !rule.is_empty())
        .map(str::to_string)
}

/// The listener a listener rule belongs to, from the rule's ARN
/// (`…:listener-rule/app/NAME/LB/LISTENER/RULE` → `…:listener/app/NAME/LB/LISTENER`, the
/// Elastic Load Balancing resource types in the Service Authorization Reference): DescribeRules
/// does not answer it.
pub fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let (prefix, path) = rule_arn.split_once(":listener-rule/")?;
    let (listener, _rule) = path.rsplit_once('/')?;
    Some(format!("{prefix}:listener/{listener}"))
}

/// The URL of a listener: its protocol (HTTP or HTTPS) as the scheme, the load balancer's DNS
/// name and the listener's port, and the rule's first `path-pattern` up to its first wildcard
/// (`/` without one). `None` for a listener that is not HTTP(S).
pub fn listener_url(
    protocol: &str,
    dns_name: &str,
    port: i32,
    path_pattern: Option<&str>,
) -> Option<String> {
    let scheme = match protocol {
        "HTTP" => "http",
        "HTTPS" => "https",
        _ => return None,
    };
    let path = path_pattern
        .map(|pattern| pattern.split(['*', '?']).next().unwrap_or_default())
        .filter(|path| path.starts_with('/'))
        .unwrap_or("/");
    Some(format!("{scheme}://{dns_name}:{port}{path}"))
}

/// How CMD ended, when it did not exit 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmokeFailure {
    Exited(i32),
    /// Killed by a signal it did not get from deployer.
    Signalled(i32),
    TimedOut(Duration),
    NotStarted(String),
}

impl fmt::Display for SmokeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmokeFailure::Exited(code) => write!(f, "exited with code {code}"),
            SmokeFailure::Signalled(signal) => write!(f, "was killed by signal {signal}"),
            SmokeFailure::TimedOut(timeout) => write!(
                f,
                "did not finish within the --smoke-test-timeout of {} and was killed",
                format_duration(*timeout)
            ),
            SmokeFailure::NotStarted(why) => write!(f, "could not be started: {why}"),
        }
    }
}

/// The last lines of CMD's output (stdout and stderr as they came), for the failure.
#[derive(Debug, Clone)]
pub struct Tail {
    lines: VecDeque<String>,
    limit: usize,
}

impl Tail {
    pub fn new(limit: usize) -> Self {
        Tail {
            lines: VecDeque::with_capacity(limit),
            limit,
        }
    }

    pub fn push(&mut self, line: &str) {
        if self.limit == 0 {
            return;
        }
        if self.lines.len() == self.limit {
            self.lines.pop_front();
        }
        self.lines.push_back(line.to_string());
    }

    pub fn lines(&self) -> impl Iterator<Item = &String> {
        self.lines.iter()
    }
}

/// The gate's failure: the command, how it ended and its last lines.
pub fn failure_message(command: &str, failure: &SmokeFailure) -> String {
    format!("the smoke test `{command}` {failure}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A blue/green service as DescribeServices answers it, with the tutorial's names.
    fn service(configuration: Value) -> Value {
        json!({
            "serviceName": "tutorial-site-service",
            "deploymentConfiguration": configuration,
            "loadBalancers": [{
                "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/site-blue/1",
                "containerName": "tutorial-site-app",
                "containerPort": 3000,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/site-green/2",
                    "productionListenerRule": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/2/3",
                    "testListenerRule": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/4/5",
                    "roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"
                }
            }]
        })
    }

    #[test]
    fn a_service_without_a_pause_at_test_traffic_gets_one_that_rolls_back_on_timeout() {
        let configuration = json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5,
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_PRODUCTION_TRAFFIC_SHIFT"]}]});
        let (gated, gate) = with_gate(&configuration, Duration::from_secs(600)).unwrap();
        assert_eq!(
            gate,
            Gate::Added {
                timeout_minutes: 15
            }
        );
        assert_eq!(gated["bakeTimeInMinutes"], 5, "the rest is kept");
        let hooks = gated["lifecycleHooks"].as_array().unwrap();
        assert_eq!(hooks.len(), 2, "the service's own hook is kept");
        assert_eq!(
            hooks[1],
            json!({"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 15, "action": "ROLLBACK"},
                "hookDetails": {"addedBy": "deployer --smoke-test"}})
        );
        let others = without_gate_pauses(&gated);
        assert_eq!(others["lifecycleHooks"], configuration["lifecycleHooks"]);
        // Taken out again by a deploy without --smoke-test; the service's own hook stays.
        let cleaned = without_added_gate(&gated).unwrap();
        assert_eq!(cleaned, configuration);
        assert_eq!(without_added_gate(&configuration), None);
    }

    #[test]
    fn the_service_own_pause_at_test_traffic_is_used_as_it_is() {
        let configuration = json!({"strategy": "CANARY",
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 3, "action": "ROLLBACK"}}]});
        let (gated, gate) = with_gate(&configuration, Duration::from_secs(600)).unwrap();
        assert_eq!(gated, configuration);
        assert_eq!(
            gate,
            Gate::Existing {
                timeout_minutes: Some(3)
            }
        );
        assert!(short_hook_warning(&gate, Duration::from_secs(600))
            .unwrap()
            .contains("times out after 3m"));
        assert_eq!(short_hook_warning(&gate, Duration::from_secs(120)), None);
    }

    #[test]
    fn a_service_that_pauses_before_test_traffic_is_refused() {
        let configuration = json!({"strategy": "BLUE_GREEN",
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}]});
        let why = with_gate(&configuration, Duration::from_secs(600)).unwrap_err();
        assert!(why.contains("at POST_SCALE_UP"), "{why}");
        // A Lambda hook there does not pause the deployment.
        let lambda = json!({"strategy": "BLUE_GREEN",
            "lifecycleHooks": [{"targetType": "AWS_LAMBDA", "lifecycleStages": ["POST_SCALE_UP"],
                "hookTargetArn": "arn:aws:lambda:eu-west-1:123456789012:function:tutorial-site-check"}]});
        assert!(with_gate(&lambda, Duration::from_secs(600)).is_ok());
    }

    #[test]
    fn a_rolling_service_is_refused_saying_which_setting_to_change() {
        for configuration in [json!({}), json!({"strategy": "ROLLING"})] {
            let why = with_gate(&configuration, Duration::from_secs(600)).unwrap_err();
            assert!(why.contains("--strategy blue-green"), "{why}");
        }
    }

    #[test]
    fn the_hook_timeout_is_the_smoke_test_timeout_in_minutes_rounded_up_plus_the_margin() {
        assert_eq!(hook_minutes(Duration::from_secs(1)), 6);
        assert_eq!(hook_minutes(Duration::from_secs(60)), 6);
        assert_eq!(hook_minutes(Duration::from_secs(61)), 7);
    }

    #[test]
    fn cmd_tests_the_load_balanced_container_image_and_is_told_the_deployment() {
        let definition = json!({"containerDefinitions": [
            {"name": "log-router", "image": "fluent-bit:2"},
            {"name": "tutorial-site-app", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2"}
        ]});
        let image = tested_image(&service(json!({})), &definition);
        assert_eq!(
            image,
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry:v2"
        );
        assert_eq!(tested_image(&json!({}), &definition), "fluent-bit:2");
        let facts = GateFacts {
            service: "tutorial-site-service".into(),
            task_definition_arn:
                "arn:aws:ecs:eu-west-1:123456789012:task-definition/tutorial-site-task:2".into(),
            image,
            deployment: GatedDeployment::Ecs(
                "arn:aws:ecs:eu-west-1:123456789012:service-deployment/c/s/abc".into(),
            ),
            test_url: None,
        };
        let names: Vec<&str> = facts.environment().iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            &VARIABLES[1..5],
            "no DEPLOYER_TEST_URL when it is not known"
        );
        let codedeploy = GateFacts {
            deployment: GatedDeployment::CodeDeploy("d-ABCDEF123".into()),
            test_url: Some("http://site-123.eu-west-1.elb.amazonaws.com:8080/".into()),
            ..facts
        };
        let names: Vec<&str> = codedeploy
            .environment()
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(
            names,
            [
                "DEPLOYER_TEST_URL",
                "DEPLOYER_SERVICE",
                "DEPLOYER_TASK_DEFINITION_ARN",
                "DEPLOYER_IMAGE",
                "DEPLOYER_CODEDEPLOY_DEPLOYMENT_ID"
            ]
        );
    }

    /// GetDeploymentGroup's shape; DeploymentReadyOption in the CodeDeploy API reference:
    /// STOP_DEPLOYMENT waits for ContinueDeployment, CONTINUE_DEPLOYMENT reroutes at once.
    #[test]
    fn a_codedeploy_group_gates_only_with_a_ready_wait_that_stops() {
        let group = |ready: Value| {
            json!({"deploymentGroupName": "tutorial-site-group",
                "blueGreenDeploymentConfiguration": {"deploymentReadyOption": ready},
                "loadBalancerInfo": {"targetGroupPairInfoList": [{
                    "targetGroups": [{"name": "site-blue"}, {"name": "site-green"}],
                    "prodTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/site/1/80"]},
                    "testTrafficRoute": {"listenerArns": ["arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/site/1/8080"]}}]}})
        };
        let waits = group(json!({"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}));
        assert_eq!(codedeploy_ready_wait(&waits), Some(30));
        assert_eq!(
            codedeploy_test_listener(&waits).as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/site/1/8080")
        );
        let at_once =
            group(json!({"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0}));
        assert_eq!(codedeploy_ready_wait(&at_once), None);
        assert_eq!(codedeploy_ready_wait(&json!({})), None);
    }

    #[test]
    fn the_test_url_is_the_test_listener_address_and_the_rule_path() {
        assert_eq!(
            test_listener_rule(&service(json!({}))).as_deref(),
            Some(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/4/5"
            )
        );
        assert_eq!(
            test_listener_rule(&json!({"loadBalancers": [{"containerName": "a"}]})),
            None
        );
        assert_eq!(
            listener_of_rule(
                "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/4/5"
            )
            .as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/site/1/4")
        );
        assert_eq!(
            listener_of_rule("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1"),
            None
        );
        let dns = "site-123.eu-west-1.elb.amazonaws.com";
        assert_eq!(
            listener_url("HTTP", dns, 8080, None).unwrap(),
            format!("http://{dns}:8080/")
        );
        assert_eq!(
            listener_url("HTTPS", dns, 443, Some("/api/*")).unwrap(),
            format!("https://{dns}:443/api/")
        );
        assert_eq!(listener_url("TCP", dns, 80, None), None);
    }

    #[test]
    fn a_failure_names_the_command_and_how_it_ended() {
        assert_eq!(
            failure_message("curl -fsS $DEPLOYER_TEST_URL", &SmokeFailure::Exited(22)),
            "the smoke test `curl -fsS $DEPLOYER_TEST_URL` exited with code 22"
        );
        assert!(SmokeFailure::TimedOut(Duration::from_secs(600))
            .to_string()
            .contains("10m00s"));
        let mut tail = Tail::new(2);
        for line in ["one", "two", "three"] {
            tail.push(line);
        }
        assert_eq!(tail.lines().collect::<Vec<_>>(), ["two", "three"]);
    }
}
