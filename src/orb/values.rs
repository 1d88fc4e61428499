//! The step's parameter values as CircleCI hands them: `PARAM_*` variables with `$VAR`
//! references expanded, read as booleans, counts and durations, and the usage error that
//! names the parameter to fix.
use super::registry_host::{registry_host, RegistryHost};
use super::variables::{expand_env, is_upper_env_name, parse_bool};
use crate::domain::duration::parse_positive_duration;
use crate::error::{Error, Result};

/// The environment variable CircleCI's orb step sets for a parameter.
pub fn env_name(param: &str) -> String {
    format!("PARAM_{}", param.to_ascii_uppercase())
}

/// The parameters' values as the step sees them: read from `PARAM_*`, with `$VAR` references
/// expanded; a parameter whose variable is unset reads as empty.
pub(super) struct Values<'a> {
    pub(super) environment: &'a dyn Fn(&str) -> Option<String>,
}

impl Values<'_> {
    pub(super) fn get(&self, name: &str) -> String {
        expand_env(self.raw(name).trim(), self.environment)
    }

    /// The parameter as the step's environment holds it, references unexpanded.
    pub(super) fn raw(&self, name: &str) -> String {
        (self.environment)(&env_name(name)).unwrap_or_default()
    }

    pub(super) fn flag(&self, name: &str) -> Result<bool> {
        parse_bool(name, &self.get(name)).map_err(|e| orb_usage(name, e))
    }

    /// The value, or the variable it names when it is an upper-case variable name (empty when
    /// that variable is unset: a name is never a region or an account).
    pub(super) fn read_through(&self, name: &str) -> String {
        let value = self.get(name);
        if is_upper_env_name(&value) {
            (self.environment)(&value)
                .unwrap_or_default()
                .trim()
                .to_string()
        } else {
            value
        }
    }

    /// The registry host `account_url` names, read through; `None` when it is empty.
    pub(super) fn account_url(&self) -> Option<RegistryHost> {
        Some(self.read_through("account_url"))
            .filter(|url| !url.is_empty())
            .map(|url| registry_host(&url))
    }

    /// Whether `deployment_controller` is CODE_DEPLOY (empty or absent: ECS).
    pub(super) fn codedeploy(&self) -> Result<bool> {
        match self.get("deployment_controller").as_str() {
            "" | "ECS" => Ok(false),
            "CODE_DEPLOY" => Ok(true),
            other => Err(orb_usage(
                "deployment_controller",
                format!("deployment_controller is {other:?}: expected ECS or CODE_DEPLOY"),
            )),
        }
    }

    /// A count of more than 0 (`max_poll_attempts`).
    pub(super) fn count(&self, name: &str) -> Result<Option<u32>> {
        let value = self.get(name);
        if value.is_empty() {
            return Ok(None);
        }
        match value.parse::<u32>() {
            Ok(count) if count > 0 => Ok(Some(count)),
            _ => Err(orb_usage(
                name,
                format!("parameter {name} is {value:?}: expected a whole number more than 0"),
            )),
        }
    }

    /// A duration of more than 0, in the grammar of deployer's own flags (a bare number is
    /// seconds, as the aws-ecs orb's `poll_interval` is; `5s` is the same).
    pub(super) fn duration(&self, name: &str) -> Result<Option<std::time::Duration>> {
        let value = self.get(name);
        if value.is_empty() {
            return Ok(None);
        }
        parse_positive_duration(&value)
            .map(Some)
            .map_err(|why| orb_usage(name, format!("parameter {name}: {why}")))
    }
}

pub(super) fn orb_usage(param: &str, message: String) -> Error {
    Error::usage(message).with_hint(format!(
        "fix the {param} parameter of this orb step (environment variable {})",
        env_name(param)
    ))
}

/// An unset parameter reads as its default; booleans compare as booleans (`1` is `true`).
pub(super) fn is_default(value: &str, default: &str) -> bool {
    if value.is_empty() || value == default {
        return true;
    }
    !default.is_empty()
        && matches!((parse_bool("", value), parse_bool("", default)), (Ok(a), Ok(b)) if a == b)
}
