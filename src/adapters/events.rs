//! Amazon EventBridge rules on the default event bus: their targets as raw JSON, re-sent whole
//! by PutTargets, so a scheduled task keeps every setting (network, overrides, retry policy,
//! dead-letter queue, fields newer than this SDK) when it moves to a new revision.
use super::recorder::Recorder;
use std::sync::Arc;

use serde_json::{json, Value};

use super::aws::{ApiError, ApiErrorKind, AwsConfig};
use super::raw_json::{CaptureBody, ReplaceBody};
use crate::error::Error;

pub struct Events {
    client: aws_sdk_eventbridge::Client,
}

impl Events {
    pub fn new(config: &AwsConfig) -> Self {
        Events {
            client: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
        }
    }

    /// Every target of the rule as ListTargetsByRule answered it; `None` when there is no such rule.
    pub async fn rule_targets(&self, rule: &str) -> Result<Option<Vec<Value>>, Error> {
        let mut targets = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let capture = CaptureBody::default();
            let answer = self
                .client
                .list_targets_by_rule()
                .rule(rule)
                .set_next_token(next_token.clone())
                .customize()
                .interceptor(capture.clone())
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("events:ListTargetsByRule", e));
            match answer {
                Ok(_) => {}
                Err(error) if error.kind == ApiErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(error.into()),
            }
            let raw = capture.json("events:ListTargetsByRule")?;
            targets.extend(raw["Targets"].as_array().cloned().unwrap_or_default());
            next_token = raw["NextToken"]
                .as_str()
                .filter(|token| !token.is_empty())
                .map(str::to_string);
            if next_token.is_none() {
                return Ok(Some(targets));
            }
        }
    }

    /// The name of every rule on the default event bus (ListRules, every page).
    pub async fn rule_names(&self) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_rules()
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("events:ListRules", e))?;
            names.extend(
                page.rules()
                    .iter()
                    .filter_map(|rule| rule.name().map(str::to_string)),
            );
            next_token = page
                .next_token()
                .filter(|token| !token.is_empty())
                .map(str::to_string);
            if next_token.is_none() {
                return Ok(names);
            }
        }
    }

    /// PutTargets with these targets, each exactly as given; fails when EventBridge refuses any.
    pub async fn put_targets(&self, rule: &str, targets: &[Value]) -> Result<(), Error> {
        let body = serde_json::to_vec(&json!({ "Rule": rule, "Targets": targets }))
            .map_err(|e| Error::usage(format!("PutTargets JSON: {e}")))?;
        let answer = self
            .client
            .put_targets()
            .rule(rule)
            .customize()
            .interceptor(ReplaceBody(Arc::new(body)))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("events:PutTargets", e))?;
        if answer.failed_entry_count() > 0 {
            let failures: Vec<String> = answer
                .failed_entries()
                .iter()
                .map(|entry| {
                    format!(
                        "target {}: {}: {}",
                        entry.target_id().unwrap_or("?"),
                        entry.error_code().unwrap_or("?"),
                        entry.error_message().unwrap_or("")
                    )
                })
                .collect();
            return Err(Error::environment(format!(
                "events:PutTargets refused targets of rule {rule}: {}",
                failures.join("; ")
            )));
        }
        Ok(())
    }
}
