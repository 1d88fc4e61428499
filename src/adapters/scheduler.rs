//! Amazon EventBridge Scheduler: a schedule as GetSchedule answered it, and UpdateSchedule with
//! a whole JSON document, since UpdateSchedule replaces every field it is not given.
use super::recorder::Recorder;
use std::sync::Arc;

use serde_json::Value;

use super::aws::{ApiError, ApiErrorKind, AwsConfig};
use super::raw_json::{CaptureBody, ReplaceBody};
use crate::error::Error;

pub struct Scheduler {
    client: aws_sdk_scheduler::Client,
}

impl Scheduler {
    pub fn new(config: &AwsConfig) -> Self {
        Scheduler {
            client: aws_sdk_scheduler::Client::from_conf(
                aws_sdk_scheduler::config::Builder::from(config.sdk())
                    .interceptor(Recorder)
                    .build(),
            ),
        }
    }

    /// The schedule exactly as GetSchedule answered it; `None` when it (or its group) does not exist.
    pub async fn schedule(&self, name: &str, group: &str) -> Result<Option<Value>, Error> {
        let capture = CaptureBody::default();
        let answer = self
            .client
            .get_schedule()
            .name(name)
            .group_name(group)
            .customize()
            .interceptor(capture.clone())
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("scheduler:GetSchedule", e));
        match answer {
            Ok(_) => capture.json("scheduler:GetSchedule").map(Some),
            Err(error) if error.kind == ApiErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Every schedule of every group whose target is an ECS cluster, as (group, name)
    /// (ListSchedules, every page; only GetSchedule tells which task definition it runs).
    pub async fn ecs_schedules(&self) -> Result<Vec<(String, String)>, Error> {
        let schedules = self
            .client
            .list_schedules()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| ApiError::from_sdk("scheduler:ListSchedules", e))?;
        Ok(schedules
            .iter()
            .filter(|schedule| {
                schedule
                    .target()
                    .is_some_and(|target| target.arn().contains(":ecs:"))
            })
            .filter_map(|schedule| {
                let group = schedule.group_name().unwrap_or("default").to_string();
                schedule.name().map(|name| (group, name.to_string()))
            })
            .collect())
    }

    /// UpdateSchedule of `name` with `input` as the whole request body.
    pub async fn update_schedule(&self, name: &str, input: &Value) -> Result<(), Error> {
        let body = serde_json::to_vec(input)
            .map_err(|e| Error::usage(format!("UpdateSchedule JSON: {e}")))?;
        self.client
            .update_schedule()
            .name(name)
            .set_group_name(input["GroupName"].as_str().map(str::to_string))
            .customize()
            .interceptor(ReplaceBody(Arc::new(body)))
            .send()
            .await
            .map_err(|e| ApiError::from_sdk("scheduler:UpdateSchedule", e))?;
        Ok(())
    }
}
