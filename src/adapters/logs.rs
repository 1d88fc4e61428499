//! Amazon CloudWatch Logs: the lines a task's containers wrote through the `awslogs` driver,
//! read forward from the start of their stream, page by page, or the last lines of a stream.
use super::aws::{ApiError, AwsConfig};
use super::recorder::Recorder;

/// One page of a stream: its events in order and the token that reads on after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    /// Each event's time (milliseconds since the epoch) and message.
    pub events: Vec<(i64, String)>,
    /// Equal to the token sent when there is nothing newer yet.
    pub next_forward_token: Option<String>,
}

pub struct Logs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl Logs {
    pub fn new(config: &AwsConfig) -> Self {
        Logs::in_region(config, None)
    }

    /// A client for `region` (a container's `awslogs-region`), or the configuration's region.
    pub fn in_region(config: &AwsConfig, region: Option<&str>) -> Self {
        let mut builder =
            aws_sdk_cloudwatchlogs::config::Builder::from(config.sdk()).interceptor(Recorder);
        if let Some(region) = region {
            builder = builder.region(aws_sdk_cloudwatchlogs::config::Region::new(
                region.to_string(),
            ));
        }
        Logs {
            client: aws_sdk_cloudwatchlogs::Client::from_conf(builder.build()),
        }
    }

    /// The last `lines` messages of `stream`, oldest first. GetLogEvents without
    /// `startFromHead` answers the newest events, in time order (CloudWatch Logs API reference,
    /// GetLogEvents); a page can come back empty while older events exist, so up to three pages
    /// are read backward. A stream never created is `ApiErrorKind::NotFound`.
    pub async fn tail(
        &self,
        group: &str,
        stream: &str,
        lines: usize,
    ) -> Result<Vec<String>, ApiError> {
        let mut messages: Vec<String> = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..3 {
            let wanted = lines.saturating_sub(messages.len()).clamp(1, 10_000);
            let answer = self
                .client
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(false)
                .limit(wanted as i32)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| ApiError::from_sdk("logs:GetLogEvents", e))?;
            let mut page: Vec<String> = answer
                .events()
                .iter()
                .map(|event| event.message().unwrap_or_default().to_string())
                .collect();
            page.append(&mut messages);
            messages = page;
            let backward = answer.next_backward_token().map(str::to_string);
            if messages.len() >= lines || backward.is_none() || backward == token {
                break;
            }
            if !answer.events().is_empty() && token.is_none() {
                // A first page with events holds the newest ones: short of `lines`, it is all.
                break;
            }
            token = backward;
        }
        let skip = messages.len().saturating_sub(lines);
        Ok(messages.split_off(skip))
    }

    /// The events of `stream` after `token` (from its first event without one). A stream the
    /// driver has not created yet is `ApiErrorKind::NotFound`.
    pub async fn events(
        &self,
        group: &str,
        stream: &str,
        token: Option<&str>,
    ) -> Result<LogPage, ApiError> {
        let answer = self
            .client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.map(str::to_string))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("logs:GetLogEvents", e))?;
        Ok(LogPage {
            events: answer
                .events()
                .iter()
                .map(|event| {
                    (
                        event.timestamp().unwrap_or_default(),
                        event.message().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            next_forward_token: answer.next_forward_token().map(str::to_string),
        })
    }

    /// Whether the log group `name` exists: DescribeLogGroups by prefix, its pages read until
    /// the name shows (CloudWatch Logs API reference, DescribeLogGroups).
    pub async fn group_exists(&self, name: &str) -> Result<bool, ApiError> {
        let mut pages = self
            .client
            .describe_log_groups()
            .log_group_name_prefix(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ApiError::from_sdk("logs:DescribeLogGroups", e))?;
            if page
                .log_groups()
                .iter()
                .any(|group| group.log_group_name() == Some(name))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
