//! Elastic Load Balancing v2's listener reads, for the emulator's two listeners: the rules ECS
//! services name in `advancedConfiguration` (DescribeRules), their listeners and those CodeDeploy
//! deployment groups route traffic through (DescribeListeners: the production listener's or the
//! test listener's address), and the load balancer they belong to (DescribeLoadBalancers), as
//! deployer's smoke-test gate reads them to find the test URL.
use std::net::SocketAddr;

use serde_json::Value;

use super::elb::NAMESPACE;
use crate::config::Settings;
use crate::protocol::ApiError;
use crate::state::State;

/// The `NAME.member.N` values of a Query request, in N's order.
pub fn members(parameters: &[(String, String)], name: &str) -> Vec<String> {
    let prefix = format!("{name}.member.");
    let mut found: Vec<(u32, String)> = parameters
        .iter()
        .filter_map(|(key, value)| {
            let number = key.strip_prefix(&prefix)?.parse().ok()?;
            Some((number, value.clone()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, value)| value).collect()
}

/// Which of the emulator's listeners a rule ARN belongs to: every service's
/// `productionListenerRule` is on the production listener, its `testListenerRule` on the test one.
fn rule_listener(state: &State, rule_arn: &str) -> Option<Listener> {
    state.services.iter().find_map(|service| {
        service
            .load_balancers
            .as_array()?
            .iter()
            .find_map(|balancer| {
                let advanced = balancer.get("advancedConfiguration")?;
                if advanced.get("testListenerRule").and_then(Value::as_str) == Some(rule_arn) {
                    Some(Listener::Test)
                } else if advanced
                    .get("productionListenerRule")
                    .and_then(Value::as_str)
                    == Some(rule_arn)
                {
                    Some(Listener::Production)
                } else {
                    None
                }
            })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    Production,
    Test,
}

impl Listener {
    fn address(self, settings: &Settings) -> Option<SocketAddr> {
        match self {
            Listener::Production => settings.load_balancer,
            Listener::Test => settings.test_load_balancer,
        }
    }
}

/// `…:listener-rule/app/NAME/LB/LISTENER/RULE` → `…:listener/app/NAME/LB/LISTENER`.
fn listener_of_rule(rule_arn: &str) -> Option<String> {
    let (prefix, path) = rule_arn.split_once(":listener-rule/")?;
    let (listener, _) = path.rsplit_once('/')?;
    Some(format!("{prefix}:listener/{listener}"))
}

/// `…:listener/app/NAME/LB/LISTENER` → `…:loadbalancer/app/NAME/LB`.
fn balancer_of_listener(listener_arn: &str) -> Option<String> {
    let (prefix, path) = listener_arn.split_once(":listener/")?;
    let (balancer, _) = path.rsplit_once('/')?;
    Some(format!("{prefix}:loadbalancer/{balancer}"))
}

/// Every rule services name, with its listener.
fn known_rules(state: &State) -> Vec<(String, Listener)> {
    let mut rules = Vec::new();
    for service in &state.services {
        for balancer in service.load_balancers.as_array().into_iter().flatten() {
            for (field, listener) in [
                ("productionListenerRule", Listener::Production),
                ("testListenerRule", Listener::Test),
            ] {
                if let Some(rule) = balancer
                    .pointer(&format!("/advancedConfiguration/{field}"))
                    .and_then(Value::as_str)
                {
                    rules.push((rule.to_string(), listener));
                }
            }
        }
    }
    rules
}

/// DescribeRules by `RuleArns`: a rule that forwards everything (no conditions).
pub fn describe_rules(
    state: &State,
    parameters: &[(String, String)],
    request_id: &str,
) -> Result<String, ApiError> {
    let mut members_xml = String::new();
    for arn in members(parameters, "RuleArns") {
        rule_listener(state, &arn)
            .ok_or_else(|| ApiError::client("RuleNotFound", "One or more rules not found"))?;
        members_xml.push_str(&format!(
            "<member><RuleArn>{arn}</RuleArn><Priority>1</Priority><IsDefault>false</IsDefault><Conditions/><Actions/></member>"
        ));
    }
    Ok(format!(
        "<DescribeRulesResponse xmlns=\"{NAMESPACE}\"><DescribeRulesResult><Rules>{members_xml}</Rules></DescribeRulesResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></DescribeRulesResponse>"
    ))
}

/// Every listener known: those of the rules services name, and those CodeDeploy deployment
/// groups route production (`prodTrafficRoute`) and test traffic (`testTrafficRoute`) through.
fn known_listeners(state: &State) -> Vec<(String, Listener)> {
    let mut listeners: Vec<(String, Listener)> = known_rules(state)
        .into_iter()
        .filter_map(|(rule, listener)| Some((listener_of_rule(&rule)?, listener)))
        .collect();
    for group in state.codedeploy.groups.values() {
        for pair in group
            .pointer("/loadBalancerInfo/targetGroupPairInfoList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for (route, listener) in [
                ("prodTrafficRoute", Listener::Production),
                ("testTrafficRoute", Listener::Test),
            ] {
                for arn in pair
                    .pointer(&format!("/{route}/listenerArns"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    listeners.push((arn.to_string(), listener));
                }
            }
        }
    }
    listeners
}

/// DescribeListeners by `ListenerArns`: HTTP on the emulator's listener's port.
pub fn describe_listeners(
    state: &State,
    settings: &Settings,
    parameters: &[(String, String)],
    request_id: &str,
) -> Result<String, ApiError> {
    let not_found = || ApiError::client("ListenerNotFound", "One or more listeners not found");
    let listeners = known_listeners(state);
    let mut members_xml = String::new();
    for arn in members(parameters, "ListenerArns") {
        let listener = listeners
            .iter()
            .find(|(known, _)| *known == arn)
            .map(|(_, listener)| *listener)
            .ok_or_else(not_found)?;
        let address = listener.address(settings).ok_or_else(not_found)?;
        let balancer = balancer_of_listener(&arn).ok_or_else(not_found)?;
        members_xml.push_str(&format!(
            "<member><ListenerArn>{arn}</ListenerArn><LoadBalancerArn>{balancer}</LoadBalancerArn><Port>{}</Port><Protocol>HTTP</Protocol></member>",
            address.port()
        ));
    }
    Ok(format!(
        "<DescribeListenersResponse xmlns=\"{NAMESPACE}\"><DescribeListenersResult><Listeners>{members_xml}</Listeners></DescribeListenersResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></DescribeListenersResponse>"
    ))
}

/// DescribeLoadBalancers by `LoadBalancerArns`: its DNS name is the address the emulator's
/// listeners are bound to.
pub fn describe_load_balancers(
    state: &State,
    settings: &Settings,
    parameters: &[(String, String)],
    request_id: &str,
) -> Result<String, ApiError> {
    let not_found = || {
        ApiError::client(
            "LoadBalancerNotFound",
            "One or more load balancers not found",
        )
    };
    let listeners = known_listeners(state);
    let mut members_xml = String::new();
    for arn in members(parameters, "LoadBalancerArns") {
        let listener = listeners
            .iter()
            .find(|(known, _)| balancer_of_listener(known).as_deref() == Some(arn.as_str()))
            .map(|(_, listener)| *listener)
            .ok_or_else(not_found)?;
        let address = listener.address(settings).ok_or_else(not_found)?;
        let name = arn.rsplit('/').nth(1).unwrap_or("emulator");
        members_xml.push_str(&format!(
            "<member><LoadBalancerArn>{arn}</LoadBalancerArn><DNSName>{}</DNSName><LoadBalancerName>{name}</LoadBalancerName><Scheme>internal</Scheme><Type>application</Type></member>",
            address.ip()
        ));
    }
    Ok(format!(
        "<DescribeLoadBalancersResponse xmlns=\"{NAMESPACE}\"><DescribeLoadBalancersResult><LoadBalancers>{members_xml}</LoadBalancers></DescribeLoadBalancersResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_arn_names_its_listener_and_load_balancer() {
        let rule =
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/4/5";
        let listener = listener_of_rule(rule).unwrap();
        assert_eq!(
            listener,
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/site/1/4"
        );
        assert_eq!(
            balancer_of_listener(&listener).unwrap(),
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/site/1"
        );
    }

    #[test]
    fn members_are_read_in_their_order() {
        let parameters = [
            ("RuleArns.member.2".to_string(), "b".to_string()),
            ("Action".to_string(), "DescribeRules".to_string()),
            ("RuleArns.member.1".to_string(), "a".to_string()),
        ];
        assert_eq!(members(&parameters, "RuleArns"), ["a", "b"]);
    }
}
