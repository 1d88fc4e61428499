//! The deployer command line an orb step's parameters make: each parameter's flag by its kind,
//! the wait's parameters left out when nothing waits, references to unset variables refused.
use std::collections::BTreeMap;

use super::aliases::{old_dockerfile, old_registry};
use super::derive::{derive, duration_flag};
use super::steps::Step;
use super::table::{Derived, Kind, Param};
use super::values::{env_name, is_default, orb_usage, Values};
use super::variables::{empty_references, expand_env};
use crate::domain::old_orb::OldOrb;
use crate::error::{Error, Result};

/// The parameters whose aws orb defaults name a variable that may well be unset
/// (`${AWS_DEFAULT_REGION}`, `${AWS_ACCOUNT_ID}`, `${CIRCLE_JOB}`…): empty, they mean the default
/// (the region of the chain, the caller's account, deployer's session name…). Credentials are
/// checked by `credentials`.
const EMPTY_MEANS_DEFAULT: [&str; 10] = [
    "region",
    "account_id",
    "account_url",
    "profile_name",
    "public_registry_alias",
    "role_session_name",
    "task_definition_arn",
    "aws_access_key_id",
    "aws_secret_access_key",
    "registry_id",
];

/// Refuses a parameter that refers to a variable that is unset or empty: `latest,${CIRCLE_SHA1}`
/// would push `latest` alone, `tag=${CIRCLE_SHA1}` would fail with an empty tag and no word
/// of the variable. A value that is only a reference, to a parameter whose empty value means
/// something (the region of the chain, the caller's account), is left to that meaning.
fn check_references(param: &Param, values: &Values) -> Result<()> {
    let raw = values.raw(param.name);
    let empty = empty_references(raw.trim(), values.environment);
    if empty.is_empty() {
        return Ok(());
    }
    let only_references = expand_env(raw.trim(), |_| None).trim().is_empty();
    if only_references && EMPTY_MEANS_DEFAULT.contains(&param.name) {
        return Ok(());
    }
    let variables = empty.join(", ");
    Err(Error::usage(format!(
        "parameter {} is {:?}, and {variables} {} unset or empty there, so it would be {:?}",
        param.name,
        raw.trim(),
        if empty.len() == 1 { "is" } else { "are" },
        values.get(param.name)
    ))
    .with_hint(format!(
        "set {variables} before this step, or change the {} parameter (environment variable {})",
        param.name,
        env_name(param.name)
    )))
}

/// With `verify_revision_is_deployed: false` nothing waits, and the wait parameters are left
/// out (CircleCI gives them their defaults); one that asks for something a wait would do is
/// refused, as `--no-wait` with a wait flag is. Answers true when the step does not wait.
fn without_wait(step: Step, values: &Values) -> Result<bool> {
    let verify = "verify_revision_is_deployed";
    if !step.params().iter().any(|param| param.name == verify)
        || values.get(verify).is_empty()
        || values.flag(verify)?
    {
        return Ok(false);
    }
    for param in step
        .params()
        .into_iter()
        .filter(|param| param.only_shapes_the_wait)
    {
        let value = values.get(param.name);
        // Left out, but still well-formed: a typo is a typo whether or not the step waits.
        match param.kind {
            Kind::Duration { .. }
            | Kind::Derived {
                rule: Derived::VerificationTimeout,
                ..
            } => {
                values.duration(param.name)?;
            }
            Kind::Derived {
                rule: Derived::PollAttempts,
                ..
            } => {
                values.count(param.name)?;
            }
            _ => {}
        }
        let asks = match param.kind {
            Kind::Switch { .. } => values.flag(param.name)?,
            _ if param.name == "wait_until" => !value.is_empty() && value != "stable",
            _ => false,
        };
        if asks {
            return Err(orb_usage(
                param.name,
                format!(
                    "{} is {value:?}, but verify_revision_is_deployed is false: nothing waits",
                    param.name
                ),
            ));
        }
    }
    Ok(true)
}

/// The deployer command line (without the program name) for a step, from its parameters.
pub fn command_line(
    step: Step,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    let old_orb = Some(
        environment(&env_name("old_orb"))
            .unwrap_or_default()
            .trim()
            .to_string(),
    )
    .filter(|text| !text.is_empty())
    .map(|text| OldOrb::parse(&text).map_err(|e| orb_usage("old_orb", e)))
    .transpose()?;
    let decided = match &old_orb {
        Some(old) => {
            let values = Values { environment };
            let mut decided = old_registry(old, &values)?;
            decided.extend(old_dockerfile(old, &values)?);
            decided
        }
        None => BTreeMap::new(),
    };
    let environment = &|name: &str| match decided.get(name) {
        Some(value) => Some(value.clone()),
        None => environment(name),
    };
    let values = Values { environment };
    let mut args: Vec<String> = step
        .subcommand()
        .split(' ')
        .chain(step.fixed_flags().iter().copied())
        .map(str::to_string)
        .collect();
    let no_wait = without_wait(step, &values)?;
    for param in step.params() {
        let value = values.get(param.name);
        if no_wait && param.only_shapes_the_wait {
            // CircleCI fills every parameter with its default: with no wait they say nothing.
            continue;
        }
        check_references(param, &values)?;
        match &param.kind {
            Kind::Value { flag } => {
                if !value.is_empty() {
                    args.extend([flag.to_string(), value]);
                }
            }
            Kind::EachOf { flag } => {
                for item in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    args.extend([flag.to_string(), item.to_string()]);
                }
            }
            Kind::Switch { flag } => {
                if values.flag(param.name)? {
                    args.push(flag.to_string());
                }
            }
            Kind::SwitchWhenFalse { flag } => {
                if !value.is_empty() && !values.flag(param.name)? {
                    args.push(flag.to_string());
                }
            }
            Kind::Bool { flag } => {
                if !value.is_empty() {
                    args.push(format!("{flag}={}", values.flag(param.name)?));
                }
            }
            Kind::Duration { flag } => {
                if let Some(duration) = values.duration(param.name)? {
                    args.extend([flag.to_string(), duration_flag(duration)]);
                }
            }
            Kind::Required { flag } => {
                if value.is_empty() {
                    return Err(orb_usage(
                        param.name,
                        format!(
                            "parameter {} is empty: the {} step needs it",
                            param.name,
                            step.orb_command()
                        ),
                    ));
                }
                args.extend([flag.to_string(), value]);
            }
            Kind::Private {
                flag,
                default,
                boolean,
            } => {
                if value.is_empty() {
                    continue;
                }
                if values.flag("public_registry")? {
                    if is_default(&value, default) {
                        continue;
                    }
                    return Err(orb_usage(
                        param.name,
                        format!(
                            "{} is {value:?}, but ECR Public repositories have no such setting \
                             (public_registry is true)",
                            param.name
                        ),
                    ));
                }
                if *boolean {
                    args.push(format!("{flag}={}", values.flag(param.name)?));
                } else {
                    args.extend([flag.to_string(), value]);
                }
            }
            Kind::Derived { rule, .. } => derive(*rule, param.name, &values, &mut args)?,
            Kind::Lacking { default, feature } => {
                if !is_default(&value, default) {
                    return Err(Error::usage(format!(
                        "the {} parameter is {value:?}, but deployer does not support {feature} yet",
                        param.name
                    ))
                    .with_hint(format!(
                        "remove {} (its default is {default:?}) or keep using the aws-ecs/aws-ecr \
                         orb for this job",
                        param.name
                    )));
                }
            }
            Kind::NoFlag { .. } | Kind::Credential { .. } => {}
        }
    }
    if step.exports_env() {
        if let Some(bash_env) = environment("BASH_ENV").filter(|v| !v.is_empty()) {
            args.extend(["--export-env".to_string(), bash_env]);
        }
    }
    Ok(args)
}
