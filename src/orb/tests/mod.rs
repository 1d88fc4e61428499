//! The command lines orb steps make, from the environment CircleCI gives them: the registry
//! steps' (`registry.rs`) and the service and task steps' (`service.rs`).
use std::collections::HashMap;

use super::command_line::command_line;
use super::steps::Step;
use crate::error::Result;

mod registry;
mod service;

pub(super) fn run(step: Step, vars: &[(&str, &str)]) -> Result<Vec<String>> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    command_line(step, &|name| vars.get(name).cloned())
}

/// The environment CircleCI gives the push step of the seed's job, defaults included.
pub(super) fn seed_push() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCOUNT_ID", "123456789012"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("PARAM_ACCOUNT_ID", "${AWS_ACCOUNT_ID}"),
        ("PARAM_REGION", "AWS_DEFAULT_REGION"),
        ("PARAM_PROFILE_NAME", "default"),
        ("PARAM_AWS_DOMAIN", "amazonaws.com"),
        ("PARAM_PUBLIC_REGISTRY", "0"),
        (
            "PARAM_PUBLIC_REGISTRY_ALIAS",
            "${AWS_ECR_PUBLIC_REGISTRY_ALIAS}",
        ),
        ("PARAM_USE_CREDENTIALS_HELPER", "1"),
        ("PARAM_REPO", "tutorial-site-registry"),
        ("PARAM_TAG", "latest,${CIRCLE_SHA1}"),
        ("CIRCLE_SHA1", "0a1b2c3"),
        ("PARAM_CREATE_REPO", "0"),
        ("PARAM_REPO_SCAN_ON_PUSH", "1"),
        ("PARAM_REPO_ENCRYPTION_TYPE", "AES256"),
        ("PARAM_REPO_IMAGE_TAG_MUTABILITY", "MUTABLE"),
        ("PARAM_SET_REPO_POLICY", "0"),
        ("PARAM_BUILD_PATH", "."),
        ("PARAM_PATH", "."),
        ("PARAM_DOCKERFILE", "Dockerfile"),
        ("PARAM_EXTRA_BUILD_ARGS", ""),
        ("PARAM_PLATFORM", "linux/amd64"),
        ("PARAM_SKIP_WHEN_TAGS_EXIST", "0"),
        ("PARAM_PUSH_IMAGE", "1"),
        ("PARAM_BINFMT_VERSION", "qemu-v7.0.0-28"),
        ("BASH_ENV", "/tmp/.bash_env-1"),
    ]
}
