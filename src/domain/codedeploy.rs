//! CodeDeploy blue/green deployments of ECS services (the CODE_DEPLOY deployment controller):
//! the AppSpec the aws-ecs orb sends, the deployment group's check against the service, and
//! how GetDeployment's and GetDeploymentTarget's answers read, so the waiter stays a loop.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `--codedeploy-capacity-provider NAME[,BASE,WEIGHT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityProvider {
    pub name: String,
    pub base: u32,
    pub weight: u32,
}

/// Parses `NAME[,BASE,WEIGHT]` (base 0 and weight 1 when left out, as ECS defaults them).
pub fn parse_capacity_provider(spec: &str) -> Result<CapacityProvider, String> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    let number = |what: &str, text: &str| {
        text.parse::<u32>()
            .map_err(|_| format!("the capacity provider's {what} {text:?} is not a whole number"))
    };
    match parts.as_slice() {
        [name] if !name.is_empty() => Ok(CapacityProvider {
            name: name.to_string(),
            base: 0,
            weight: 1,
        }),
        [name, base, weight] if !name.is_empty() => Ok(CapacityProvider {
            name: name.to_string(),
            base: number("base", base)?,
            weight: number("weight", weight)?,
        }),
        _ => Err(format!(
            "{spec:?} is not NAME or NAME,BASE,WEIGHT (e.g. FARGATE_SPOT,0,1)"
        )),
    }
}

/// The container and port CodeDeploy shifts traffic for: the flags', or the service's load
/// balancer's (`services[0].loadBalancers[0]`), which the deployment group's target groups serve.
pub fn load_balanced_container(
    service: &Value,
    container: Option<&str>,
    port: Option<i32>,
) -> Result<(String, i32), String> {
    let balanced = service
        .pointer("/loadBalancers/0")
        .cloned()
        .unwrap_or(Value::Null);
    let name = container
        .map(str::to_string)
        .or_else(|| balanced["containerName"].as_str().map(str::to_string));
    let port = port.or_else(|| {
        balanced["containerPort"]
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
    });
    match (name, port) {
        (Some(name), Some(port)) => Ok((name, port)),
        _ => Err(
            "the service has no load balancer to take the container from: pass --codedeploy-container-name and --codedeploy-container-port".to_string(),
        ),
    }
}

/// Checks the container against the task definition to deploy (RegisterTaskDefinition input):
/// CodeDeploy fails the deployment minutes later when it is not there.
pub fn check_container(definition: &Value, container: &str, port: i32) -> Result<(), String> {
    let found = definition["containerDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == container)
        .ok_or_else(|| format!("the task definition has no container {container}"))?;
    let mapped = found["portMappings"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| m["containerPort"].as_i64() == Some(i64::from(port)));
    if !mapped {
        return Err(format!(
            "container {container} of the task definition maps no container port {port}"
        ));
    }
    Ok(())
}

/// The AppSpec's content, as the orb builds it: one AWS::ECS::Service target with the task
/// definition, the load-balanced container and port, and the capacity provider when given.
pub fn appspec(
    task_definition_arn: &str,
    container: &str,
    port: i32,
    capacity_provider: Option<&CapacityProvider>,
) -> String {
    let mut properties = json!({
        "TaskDefinition": task_definition_arn,
        "LoadBalancerInfo": {"ContainerName": container, "ContainerPort": port},
    });
    if let Some(provider) = capacity_provider {
        properties["CapacityProviderStrategy"] = json!([{
            "CapacityProvider": provider.name,
            "Base": provider.base,
            "Weight": provider.weight,
        }]);
    }
    json!({
        "version": 1,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}],
    })
    .to_string()
}

/// The hex SHA-256 of the AppSpec's content, which CodeDeploy checks the content against.
pub fn appspec_sha256(content: &str) -> String {
    Sha256::digest(content.as_bytes())
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Checks GetDeploymentGroup's answer (`deploymentGroupInfo`) deploys this cluster's service on
/// the ECS compute platform; the error says what it deploys instead.
pub fn check_group(group: &Value, cluster: &str, service: &str) -> Result<(), String> {
    let platform = group["computePlatform"].as_str().unwrap_or("ECS");
    if platform != "ECS" {
        return Err(format!(
            "it deploys to the {platform} compute platform, not to ECS services"
        ));
    }
    let services: Vec<(String, String)> = group["ecsServices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                short_name(s["clusterName"].as_str().unwrap_or_default()).to_string(),
                short_name(s["serviceName"].as_str().unwrap_or_default()).to_string(),
            )
        })
        .collect();
    if services
        .iter()
        .any(|(c, s)| c == short_name(cluster) && s == short_name(service))
    {
        return Ok(());
    }
    let deploys = if services.is_empty() {
        "no ECS service".to_string()
    } else {
        services
            .iter()
            .map(|(c, s)| format!("service {s} of cluster {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "it deploys {deploys}, not service {} of cluster {}",
        short_name(service),
        short_name(cluster)
    ))
}

/// The traffic routing of CodeDeploy's predefined ECS configurations, as GetDeploymentConfig
/// answers them (`trafficRoutingConfig`), for when that call cannot be made.
/// https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
pub fn predefined_traffic_routing(config_name: &str) -> Option<Value> {
    let name = config_name.strip_prefix("CodeDeployDefault.ECS")?;
    if name == "AllAtOnce" {
        return Some(json!({"type": "AllAtOnce"}));
    }
    let number = |text: &str| text.parse::<u64>().ok();
    if let Some(rest) = name.strip_prefix("Linear") {
        // Linear10PercentEvery3Minutes
        let (percent, rest) = rest.split_once("PercentEvery")?;
        let minutes = rest
            .strip_suffix("Minutes")
            .or(rest.strip_suffix("Minute"))?;
        return Some(json!({"type": "TimeBasedLinear", "timeBasedLinear": {
            "linearPercentage": number(percent)?, "linearInterval": number(minutes)?}}));
    }
    if let Some(rest) = name.strip_prefix("Canary") {
        // Canary10Percent5Minutes
        let (percent, rest) = rest.split_once("Percent")?;
        let minutes = rest
            .strip_suffix("Minutes")
            .or(rest.strip_suffix("Minute"))?;
        return Some(json!({"type": "TimeBasedCanary", "timeBasedCanary": {
            "canaryPercentage": number(percent)?, "canaryInterval": number(minutes)?}}));
    }
    None
}

/// How long a CodeDeploy ECS deployment takes beyond the rollout itself when it goes well:
/// the traffic routing of its configuration (GetDeploymentConfig's `trafficRoutingConfig`: a
/// canary's interval, every linear step's interval, nothing all at once), the group's ready wait
/// (`deploymentReadyOption` with STOP_DEPLOYMENT waits up to `waitTimeInMinutes` for someone to
/// continue) and its termination wait (`terminateBlueInstancesOnDeploymentSuccess`: TERMINATE
/// keeps the deployment open `terminationWaitTimeInMinutes`), with the words that say how it adds
/// up. https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_TrafficRoutingConfig.html,
/// API_BlueGreenDeploymentConfiguration.html
pub fn deployment_time(traffic_routing: Option<&Value>, group: &Value) -> (Duration, String) {
    // Whole numbers in CodeDeploy's answers; read as numbers of any kind (a `10.0` too).
    let minutes = |value: &Value| value.as_f64().map_or(0, |m| m.max(0.0).ceil() as u64);
    let mut total = 0;
    let mut parts = Vec::new();
    match traffic_routing {
        Some(routing) => match routing["type"].as_str().unwrap_or("AllAtOnce") {
            "TimeBasedLinear" => {
                let percent = routing["timeBasedLinear"]["linearPercentage"]
                    .as_f64()
                    .filter(|percent| *percent >= 1.0)
                    .map_or(100, |percent| percent.floor().min(100.0) as u64);
                let interval = minutes(&routing["timeBasedLinear"]["linearInterval"]);
                let steps = 100u64.div_ceil(percent);
                total += steps * interval;
                parts.push(format!("{steps} linear steps of {interval}m"));
            }
            "TimeBasedCanary" => {
                let interval = minutes(&routing["timeBasedCanary"]["canaryInterval"]);
                total += interval;
                parts.push(format!("canary interval {interval}m"));
            }
            _ => parts.push("all at once".to_string()),
        },
        None => parts.push("traffic routing unknown".to_string()),
    }
    let blue_green = &group["blueGreenDeploymentConfiguration"];
    let ready = &blue_green["deploymentReadyOption"];
    if ready["actionOnTimeout"].as_str() == Some("STOP_DEPLOYMENT") {
        let wait = minutes(&ready["waitTimeInMinutes"]);
        total += wait;
        parts.push(format!("ready wait {wait}m"));
    }
    let termination = &blue_green["terminateBlueInstancesOnDeploymentSuccess"];
    if termination["action"].as_str().unwrap_or("TERMINATE") == "TERMINATE" {
        let wait = minutes(&termination["terminationWaitTimeInMinutes"]);
        if wait > 0 {
            total += wait;
            parts.push(format!("termination wait {wait}m"));
        }
    }
    (Duration::from_secs(total * 60), parts.join(" + "))
}

fn short_name(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

/// Where a CodeDeploy deployment is, from GetDeployment's `deploymentInfo`.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeDeployVerdict {
    /// Created, Queued, InProgress, Baking or Ready (waiting for traffic to be rerouted).
    InProgress(String),
    Succeeded,
    /// Failed or Stopped: CodeDeploy's error information and what it did about it.
    Failed(String),
}

/// Reads GetDeployment's `deploymentInfo`.
pub fn verdict(info: &Value) -> CodeDeployVerdict {
    let status = info["status"].as_str().unwrap_or("Created");
    match status {
        "Succeeded" => CodeDeployVerdict::Succeeded,
        "Failed" | "Stopped" => CodeDeployVerdict::Failed(failure(info)),
        other => CodeDeployVerdict::InProgress(other.to_string()),
    }
}

/// A failed or stopped deployment in words: status, error code and message, the rollback.
pub fn failure(info: &Value) -> String {
    let status = info["status"].as_str().unwrap_or("Failed");
    let id = info["deploymentId"].as_str().unwrap_or("the deployment");
    let mut text = format!("CodeDeploy deployment {id} is {status}");
    let error = &info["errorInformation"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => {
            let _ = write!(text, ": {code}: {message}");
        }
        (None, Some(message)) | (Some(message), None) => {
            let _ = write!(text, ": {message}");
        }
        (None, None) => {}
    }
    let rollback = &info["rollbackInfo"];
    match (
        rollback["rollbackDeploymentId"].as_str(),
        rollback["rollbackMessage"].as_str(),
    ) {
        (Some(deployment), Some(message)) => {
            let _ = write!(text, " (rolled back by deployment {deployment}: {message})");
        }
        (Some(deployment), None) => {
            let _ = write!(text, " (rolled back by deployment {deployment})");
        }
        (None, Some(message)) => {
            let _ = write!(text, " ({message})");
        }
        (None, None) => {}
    }
    text
}

/// The order CodeDeploy runs an ECS deployment's lifecycle events in.
pub const LIFECYCLE_EVENTS: [&str; 8] = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
];

/// What has been printed of a deployment: its status, each lifecycle event's status and the
/// traffic weights, so each change is one line, once.
#[derive(Debug, Default)]
pub struct CodeDeployLog {
    status: Option<String>,
    events: BTreeMap<String, String>,
    traffic: Option<String>,
    messages: Vec<String>,
}

impl CodeDeployLog {
    /// Lines for what changed in GetDeployment's `deploymentInfo`.
    pub fn observe_deployment(&mut self, info: &Value) -> Vec<String> {
        let mut lines = Vec::new();
        let status = info["status"].as_str().unwrap_or("Created").to_string();
        if self.status.as_deref() != Some(status.as_str()) {
            lines.push(format!("CodeDeploy deployment is {status}"));
            self.status = Some(status);
        }
        for message in info["deploymentStatusMessages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !self.messages.iter().any(|m| m == message) {
                self.messages.push(message.to_string());
                lines.push(format!("CodeDeploy: {message}"));
            }
        }
        lines
    }

    /// Lines for what changed in GetDeploymentTarget's `deploymentTarget.ecsTarget`: each
    /// lifecycle event's status, and the task sets' traffic weights.
    pub fn observe_target(&mut self, target: &Value) -> Vec<String> {
        let mut lines = Vec::new();
        for event in target["lifecycleEvents"].as_array().into_iter().flatten() {
            let name = event["lifecycleEventName"].as_str().unwrap_or_default();
            let status = event["status"].as_str().unwrap_or("Pending");
            // Pending is where every event starts: not news.
            if name.is_empty() || (status == "Pending" && !self.events.contains_key(name)) {
                continue;
            }
            if self.events.get(name).map(String::as_str) != Some(status) {
                self.events.insert(name.to_string(), status.to_string());
                let mut line = format!("lifecycle event {name}: {status}");
                if let Some(message) = event
                    .pointer("/diagnostics/message")
                    .and_then(Value::as_str)
                    .filter(|m| !m.is_empty())
                {
                    let _ = write!(line, " ({message})");
                }
                lines.push(line);
            }
        }
        let traffic = traffic(target);
        if traffic.is_some() && traffic != self.traffic {
            lines.push(format!("traffic: {}", traffic.clone().unwrap_or_default()));
            self.traffic = traffic;
        }
        lines
    }

    /// A one-line summary for the heartbeat.
    pub fn summary(&self) -> String {
        let status = self.status.as_deref().unwrap_or("Created");
        let last = LIFECYCLE_EVENTS
            .iter()
            .rev()
            .find_map(|name| self.events.get(*name).map(|s| format!("{name} {s}")));
        match last {
            Some(last) => format!("CodeDeploy deployment {status}, {last}"),
            None => format!("CodeDeploy deployment {status}"),
        }
    }
}

/// The task sets' traffic weights (`Green 100% / Blue 0%`), when CodeDeploy reports them.
fn traffic(target: &Value) -> Option<String> {
    let sets: Vec<String> = target["taskSetsInfo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|set| {
            let weight = set["trafficWeight"].as_f64()?;
            let label = set["taskSetLabel"].as_str().unwrap_or("task set");
            Some(format!("{label} {weight}%"))
        })
        .collect();
    (!sets.is_empty()).then(|| sets.join(" / "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CodeDeploy's own answers spell `identifer` in `taskSetsInfo` (sic), and after a rollback
    /// a task set labelled Blue may sit in the target group named green: the traffic line reads
    /// CodeDeploy's labels and weights, and nothing is decided on names.
    #[test]
    fn task_sets_as_codedeploy_writes_them() {
        let target = json!({"taskSetsInfo": [
            {"identifer": "ecs-svc/3", "trafficWeight": 0, "targetGroup": {"name": "green"}, "taskSetLabel": "Blue"},
            {"identifer": "ecs-svc/4", "trafficWeight": 100.0, "targetGroup": {"name": "blue"}, "taskSetLabel": "Green"}
        ]});
        assert_eq!(traffic(&target).as_deref(), Some("Blue 0% / Green 100%"));
        assert_eq!(traffic(&json!({"taskSetsInfo": []})), None);
    }

    /// Issue 19: the wait lasts as long as the deployment itself. A group on
    /// ECSLinear10PercentEvery3Minutes with a 5-minute termination wait takes 35 minutes beyond
    /// the rollout; the flat 10-minute default stopped it at minute 10.
    #[test]
    fn a_codedeploy_deployment_takes_its_traffic_routing_ready_and_termination_waits() {
        let group = json!({"blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT", "waitTimeInMinutes": 0},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5}
        }});
        let linear =
            predefined_traffic_routing("CodeDeployDefault.ECSLinear10PercentEvery3Minutes");
        assert_eq!(
            linear,
            Some(
                json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 3}})
            )
        );
        let (time, how) = deployment_time(linear.as_ref(), &group);
        assert_eq!(time, Duration::from_secs(35 * 60));
        assert_eq!(how, "10 linear steps of 3m + termination wait 5m");

        // A group that waits in Ready for someone to continue, then a canary.
        let waits_ready = json!({"blueGreenDeploymentConfiguration": {
            "deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 60},
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "KEEP_ALIVE"}
        }});
        let canary = predefined_traffic_routing("CodeDeployDefault.ECSCanary10Percent15Minutes");
        let (time, how) = deployment_time(canary.as_ref(), &waits_ready);
        assert_eq!(time, Duration::from_secs(75 * 60));
        assert_eq!(how, "canary interval 15m + ready wait 60m");

        // Numbers written as floats read the same.
        let floats = json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10.0, "linearInterval": 3.0}});
        assert_eq!(
            deployment_time(Some(&floats), &json!({})).0,
            Duration::from_secs(30 * 60)
        );
        // GetDeploymentConfig's answer for a custom config, and all at once.
        let custom = json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 33, "linearInterval": 2}});
        assert_eq!(
            deployment_time(Some(&custom), &json!({})).0,
            Duration::from_secs(8 * 60)
        );
        let all = predefined_traffic_routing("CodeDeployDefault.ECSAllAtOnce");
        assert_eq!(
            deployment_time(all.as_ref(), &json!({})),
            (Duration::ZERO, "all at once".to_string())
        );
        assert_eq!(predefined_traffic_routing("Custom.Config"), None);
        assert_eq!(
            predefined_traffic_routing("CodeDeployDefault.ECSLinear10PercentEvery1Minutes"),
            Some(
                json!({"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1}})
            )
        );
    }

    /// GetDeployment's answer for a failed ECS deployment, in the API reference's shape.
    fn failed_deployment() -> Value {
        json!({"deploymentInfo": {
            "applicationName": "tutorial-app",
            "deploymentGroupName": "tutorial-group",
            "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce",
            "deploymentId": "d-4P2Q9XV3A",
            "status": "Failed",
            "errorInformation": {"code": "ECS_UPDATE_ERROR", "message": "The ECS service cannot reach a steady state: the replacement tasks failed their health checks"},
            "createTime": 1_764_158_000.5,
            "creator": "user",
            "rollbackInfo": {"rollbackDeploymentId": "d-8VQ1M2P0B", "rollbackMessage": "Automatic rollback triggered by failure"},
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
            "deploymentStatusMessages": [],
            "computePlatform": "ECS"
        }})
    }

    #[test]
    fn the_appspec_is_the_orbs() {
        let content = appspec(
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/site:7",
            "web",
            3000,
            None,
        );
        let parsed: Value = serde_json::from_str(&content).unwrap();
        assert_eq!(parsed["version"], 1);
        let properties = &parsed["Resources"][0]["TargetService"]["Properties"];
        assert_eq!(
            parsed["Resources"][0]["TargetService"]["Type"],
            "AWS::ECS::Service"
        );
        assert_eq!(
            properties["TaskDefinition"],
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/site:7"
        );
        assert_eq!(
            properties["LoadBalancerInfo"],
            json!({"ContainerName": "web", "ContainerPort": 3000})
        );
        assert!(properties.get("CapacityProviderStrategy").is_none());
        let provider = parse_capacity_provider("FARGATE_SPOT,1,2").unwrap();
        let with_provider: Value =
            serde_json::from_str(&appspec("arn", "web", 80, Some(&provider))).unwrap();
        assert_eq!(
            with_provider["Resources"][0]["TargetService"]["Properties"]
                ["CapacityProviderStrategy"],
            json!([{"CapacityProvider": "FARGATE_SPOT", "Base": 1, "Weight": 2}])
        );
        assert_eq!(
            appspec_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn capacity_providers_are_name_or_name_base_weight() {
        assert_eq!(
            parse_capacity_provider("FARGATE").unwrap(),
            CapacityProvider {
                name: "FARGATE".into(),
                base: 0,
                weight: 1
            }
        );
        assert!(parse_capacity_provider("FARGATE,1").is_err());
        assert!(parse_capacity_provider("FARGATE,x,1")
            .unwrap_err()
            .contains("base"));
        assert!(parse_capacity_provider("").is_err());
    }

    #[test]
    fn the_container_defaults_to_the_services_load_balancer() {
        let service = json!({"loadBalancers": [{"targetGroupArn": "arn:tg/blue", "containerName": "web", "containerPort": 3000}]});
        assert_eq!(
            load_balanced_container(&service, None, None).unwrap(),
            ("web".to_string(), 3000)
        );
        assert_eq!(
            load_balanced_container(&service, Some("api"), Some(8080)).unwrap(),
            ("api".to_string(), 8080)
        );
        assert!(load_balanced_container(&json!({"loadBalancers": []}), None, None).is_err());
        let definition = json!({"containerDefinitions": [{"name": "web", "portMappings": [{"containerPort": 3000}]}]});
        assert!(check_container(&definition, "web", 3000).is_ok());
        assert!(check_container(&definition, "web", 80)
            .unwrap_err()
            .contains("port 80"));
        assert!(check_container(&definition, "api", 3000).is_err());
    }

    #[test]
    fn a_group_must_deploy_this_service() {
        let group = json!({
            "applicationName": "tutorial-app", "deploymentGroupName": "tutorial-group",
            "computePlatform": "ECS",
            "ecsServices": [{"serviceName": "site", "clusterName": "tutorial"}],
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
        });
        assert!(check_group(&group, "tutorial", "site").is_ok());
        assert!(check_group(
            &group,
            "arn:aws:ecs:eu-west-1:123456789012:cluster/tutorial",
            "site"
        )
        .is_ok());
        let other = check_group(&group, "tutorial", "api").unwrap_err();
        assert!(
            other.contains("service site of cluster tutorial"),
            "{other}"
        );
        let lambda = json!({"computePlatform": "Lambda"});
        assert!(check_group(&lambda, "tutorial", "site")
            .unwrap_err()
            .contains("Lambda"));
    }

    #[test]
    fn statuses_read_as_verdicts_with_the_error_and_the_rollback() {
        let info = failed_deployment()["deploymentInfo"].clone();
        let CodeDeployVerdict::Failed(why) = verdict(&info) else {
            panic!("failed");
        };
        assert!(why.contains("ECS_UPDATE_ERROR"), "{why}");
        assert!(why.contains("health checks"), "{why}");
        assert!(
            why.contains("rolled back by deployment d-8VQ1M2P0B"),
            "{why}"
        );
        for status in ["Created", "Queued", "InProgress", "Baking", "Ready"] {
            assert_eq!(
                verdict(&json!({"status": status})),
                CodeDeployVerdict::InProgress(status.into())
            );
        }
        assert_eq!(
            verdict(&json!({"status": "Succeeded"})),
            CodeDeployVerdict::Succeeded
        );
        assert!(matches!(
            verdict(&json!({"status": "Stopped", "errorInformation": {"code": "DEPLOYMENT_STOPPED", "message": "stopped by user"}})),
            CodeDeployVerdict::Failed(why) if why.contains("stopped by user")
        ));
    }

    #[test]
    fn each_lifecycle_event_and_traffic_change_is_one_line() {
        // GetDeploymentTarget's ecsTarget, as the API reference shapes it.
        let target = |install: &str, allow: &str, green: f64| {
            json!({
                "deploymentId": "d-4P2Q9XV3A",
                "targetId": "tutorial:site",
                "targetArn": "arn:aws:ecs:eu-west-1:123456789012:service/tutorial/site",
                "lastUpdatedAt": 1_764_158_030.0,
                "status": "InProgress",
                "lifecycleEvents": [
                    {"lifecycleEventName": "BeforeInstall", "status": "Succeeded", "startTime": 1_764_158_001.0, "endTime": 1_764_158_002.0},
                    {"lifecycleEventName": "Install", "status": install},
                    {"lifecycleEventName": "AllowTraffic", "status": allow},
                ],
                "taskSetsInfo": [
                    {"identifer": "ecs-svc/1", "desiredCount": 1, "pendingCount": 0, "runningCount": 1, "status": "PRIMARY", "trafficWeight": 100.0 - green, "targetGroup": {"name": "blue"}, "taskSetLabel": "Blue"},
                    {"identifer": "ecs-svc/2", "desiredCount": 1, "pendingCount": 0, "runningCount": 1, "status": "ACTIVE", "trafficWeight": green, "targetGroup": {"name": "green"}, "taskSetLabel": "Green"}
                ]
            })
        };
        let mut log = CodeDeployLog::default();
        let first = log.observe_target(&target("InProgress", "Pending", 0.0));
        assert_eq!(
            first,
            vec![
                "lifecycle event BeforeInstall: Succeeded",
                "lifecycle event Install: InProgress",
                "traffic: Blue 100% / Green 0%"
            ]
        );
        assert!(log
            .observe_target(&target("InProgress", "Pending", 0.0))
            .is_empty());
        let later = log.observe_target(&target("Succeeded", "Succeeded", 100.0));
        assert_eq!(
            later,
            vec![
                "lifecycle event Install: Succeeded",
                "lifecycle event AllowTraffic: Succeeded",
                "traffic: Blue 0% / Green 100%"
            ]
        );
        assert_eq!(
            log.observe_deployment(&json!({"status": "InProgress"})),
            vec!["CodeDeploy deployment is InProgress"]
        );
        assert!(log
            .observe_deployment(&json!({"status": "InProgress"}))
            .is_empty());
        assert_eq!(
            log.summary(),
            "CodeDeploy deployment InProgress, AllowTraffic Succeeded"
        );
    }
}
