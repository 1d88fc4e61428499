//! The parameters that need other parameters, or reading, to become flags (`Derived`): the
//! registry an account, URL and domain name, the build context, the wait's timeout, CodeDeploy's
//! flags and the rest.
use super::aliases::old_build_context;
use super::extra_args::{extra_build_args_expanded, put_image_extra_args};
use super::registry_host::{registry_host, RegistryHost};
use super::steps::Step;
use super::table::{Derived, Kind};
use super::values::{env_name, orb_usage, Values};
use super::variables::expand_env;
use crate::error::Result;

/// A duration as a flag value: whole seconds when it is, else milliseconds.
pub(super) fn duration_flag(duration: std::time::Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

pub(super) fn derive(
    rule: Derived,
    name: &str,
    values: &Values,
    args: &mut Vec<String>,
) -> Result<()> {
    let mut push = |flag: &str, value: String| args.extend([flag.to_string(), value]);
    match rule {
        Derived::Region => {
            let mut region = values.read_through(name);
            if let Some(RegistryHost::Ecr {
                region: registry_region,
                ..
            }) = values.account_url()
            {
                if region.is_empty() {
                    region = registry_region;
                } else if region != registry_region {
                    return Err(orb_usage(
                        "account_url",
                        format!(
                            "account_url names a registry in {registry_region}, but region is \
                             {region}: deployer would log in to and push to {region}'s registry"
                        ),
                    ));
                }
            }
            if !region.is_empty() {
                push("--region", region);
            }
        }
        Derived::AccountUrl => match values.account_url() {
            Some(RegistryHost::Ecr {
                account, domain, ..
            }) => {
                let given = values.read_through("account_id");
                if !given.is_empty() && given != account {
                    return Err(orb_usage(
                        name,
                        format!(
                            "account_url names account {account}'s registry, but account_id is \
                             {given}: give one of them"
                        ),
                    ));
                }
                push("--registry-id", account.clone());
                if domain != "amazonaws.com" {
                    let region = values.read_through("region");
                    let host = values.read_through(name);
                    let region = match registry_host(&host) {
                        RegistryHost::Ecr { region: r, .. } if region.is_empty() => r,
                        _ => region,
                    };
                    push("--registry", format!("{account}.dkr.ecr.{region}.{domain}"));
                }
            }
            Some(RegistryHost::Other(host)) => push("--registry", host),
            None => {}
        },
        Derived::BuildPath => {
            let given = values.get(name);
            let path = values.get("path");
            if !given.is_empty() {
                push("--build-path", given);
            } else if !path.is_empty() {
                let dockerfile = Some(values.get("dockerfile"))
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| "Dockerfile".to_string());
                push("--build-path", old_build_context(&path, &dockerfile)?);
            }
        }
        Derived::Profile => {
            let profile = values.get(name);
            if !profile.is_empty() && profile != "default" {
                push("--profile", profile);
            }
        }
        Derived::Account => {
            let account = values.read_through(name);
            // account_url's own rule gives the registry it names.
            if !account.is_empty()
                && !matches!(values.account_url(), Some(RegistryHost::Ecr { .. }))
            {
                push("--registry-id", account);
            }
        }
        Derived::AwsDomain => {
            let domain = values.get(name);
            if domain.is_empty() || domain == "amazonaws.com" {
                return Ok(());
            }
            if values.account_url().is_some() {
                return Err(orb_usage(
                    name,
                    format!(
                        "aws_domain is {domain:?} and account_url names the registry host: give \
                         one of them"
                    ),
                ));
            }
            let account = values.read_through("account_id");
            let region = values.read_through("region");
            if account.is_empty() || region.is_empty() {
                return Err(orb_usage(
                    name,
                    format!(
                        "aws_domain is {domain:?}, which needs account_id and region to name the \
                         registry, and {} is empty",
                        if account.is_empty() {
                            "account_id"
                        } else {
                            "region"
                        }
                    ),
                ));
            }
            push("--registry", format!("{account}.dkr.ecr.{region}.{domain}"));
        }
        Derived::PublicAlias => {
            let alias = values.get(name);
            if !alias.is_empty() && values.flag("public_registry")? {
                push("--public-registry-alias", alias);
            }
        }
        Derived::RepoPolicy => {
            let path = values.get(name);
            if values.flag("set_repo_policy")? {
                if path.is_empty() {
                    return Err(orb_usage(
                        name,
                        "set_repo_policy is true but repo_policy_path is empty".to_string(),
                    ));
                }
                push("--repo-policy-path", path);
            }
        }
        Derived::ExtraBuildArgs => {
            let written = (values.environment)(&env_name(name)).unwrap_or_default();
            let flags = extra_build_args_expanded(written.trim(), &|word| {
                expand_env(word, values.environment)
            })
            .map_err(|e| orb_usage(name, e))?;
            args.extend(flags);
        }
        Derived::PublicIp => {
            let choice = values.get(name);
            if !choice.is_empty() && values.flag("create_service")? {
                push("--assign-public-ip", choice);
            }
        }
        Derived::ScheduledRule => {
            let rule = values.get(name);
            match (values.flag("deploy_scheduled_task")?, rule.is_empty()) {
                (true, false) => push("--update-scheduled-task", rule),
                (true, true) => {
                    return Err(orb_usage(
                        name,
                        "deploy_scheduled_task is true but rule_name is empty: name the \
                         EventBridge rule whose ECS targets should run the new revision"
                            .to_string(),
                    ))
                }
                (false, false) => {
                    return Err(orb_usage(
                        name,
                        format!(
                            "rule_name is {rule:?} but deploy_scheduled_task is false, so the \
                             rule would not follow the new revision"
                        ),
                    )
                    .with_hint(
                        "set deploy_scheduled_task: true to point the rule at the new revision, \
                         or remove rule_name",
                    ))
                }
                (false, true) => {}
            }
        }
        Derived::ExistingRevision => {
            let revision = values.get(name);
            if revision.is_empty() {
                return Err(orb_usage(
                    name,
                    "there is no task definition revision to point the rule at: \
                     task_definition_arn is empty (DEPLOYER_TASK_DEFINITION_ARN is unset)"
                        .to_string(),
                )
                .with_hint(
                    "run update_task_definition (or update_service) earlier in the job: it \
                     exports DEPLOYER_TASK_DEFINITION_ARN; or set task_definition_arn",
                ));
            }
            push("--existing-revision", revision);
        }
        Derived::ServiceOrFamily => {
            let service = Some(values.get(name))
                .filter(|service| !service.is_empty())
                .unwrap_or_else(|| values.get("family"));
            if !service.is_empty() {
                push("--service", service);
            }
        }
        Derived::LaunchType => {
            let launch_type = values.get(name);
            if launch_type.is_empty() {
                return Ok(());
            }
            if !values.get("capacity_provider_strategy").is_empty() {
                return Err(orb_usage(
                    name,
                    format!(
                        "launch_type is {launch_type:?} and capacity_provider_strategy is set: \
                         RunTask takes one or the other; with a capacity provider strategy, \
                         set launch_type to \"\" (its default is FARGATE)"
                    ),
                ));
            }
            push("--launch-type", launch_type);
        }
        Derived::TaskPublicIp => {
            let choice = values.get(name);
            // DISABLED is what RunTask does without it; ENABLED without subnets is refused by
            // run-task (a public IP needs awsvpc subnets).
            if !choice.is_empty() && (choice != "DISABLED" || !values.get("subnet_ids").is_empty())
            {
                push("--assign-public-ip", choice);
            }
        }
        Derived::PropagateTags => {
            if values.flag(name)? {
                push("--propagate-tags", "TASK_DEFINITION".to_string());
            }
        }
        Derived::ExitCodeFrom => {
            let container = values.get(name);
            if container.is_empty() {
                return Ok(());
            }
            if !values.flag("wait_task_stopped")? {
                return Err(orb_usage(
                    name,
                    format!(
                        "exit_code_from is {container:?} but wait_task_stopped is false: the exit \
                         code comes from a task the step waits for"
                    ),
                )
                .with_hint("set wait_task_stopped: true, or remove exit_code_from"));
            }
            push("--exit-code-from", container);
        }
        Derived::PutImageExtraArgs => {
            let extra = put_image_extra_args(&values.get(name)).map_err(|e| orb_usage(name, e))?;
            for (flag, value) in extra {
                let ours = match flag {
                    "--registry-id" => "account_id",
                    "--profile" => "profile_name",
                    _ => "region",
                };
                match args.iter().position(|arg| arg == flag) {
                    // --region in extra_args is how the aws-ecr orb's tag_image (which has no
                    // region parameter) reaches another region: it wins over ours.
                    Some(at) if flag == "--region" => args[at + 1] = value,
                    Some(at) if args[at + 1] != value => {
                        return Err(orb_usage(
                            name,
                            format!(
                                "extra_args has {flag}={value} and {ours} is {:?}: give it once",
                                args[at + 1]
                            ),
                        ))
                    }
                    Some(_) => {}
                    None => args.extend([flag.to_string(), value]),
                }
            }
        }
        Derived::PollAttempts if values.codedeploy()? => {}
        Derived::PollAttempts => {
            let attempts = values.count(name)?;
            let interval = values.duration("poll_interval")?;
            if let (Some(attempts), Some(interval)) = (attempts, interval) {
                push("--timeout", duration_flag(interval * attempts));
            }
        }
        Derived::Controller if values.codedeploy()? => {
            let missing: Vec<&str> = [
                "codedeploy_application_name",
                "codedeploy_deployment_group_name",
            ]
            .into_iter()
            .filter(|param| values.get(param).is_empty())
            .collect();
            if !missing.is_empty() {
                return Err(orb_usage(
                    missing[0],
                    format!(
                        "deployment_controller is CODE_DEPLOY: CodeDeploy deploys the service, which needs {}",
                        missing.join(" and ")
                    ),
                ));
            }
        }
        Derived::Controller => {}
        Derived::CodeDeploy if values.codedeploy()? => {
            let value = values.get(name);
            if !value.is_empty() {
                let flag = Step::UpdateService
                    .params()
                    .into_iter()
                    .find(|param| param.name == name)
                    .and_then(|param| match &param.kind {
                        Kind::Derived { flags, .. } => flags.first().copied(),
                        _ => None,
                    })
                    .expect("a CodeDeploy parameter has its flag");
                push(flag, value);
            }
        }
        Derived::CapacityProvider
            if name == "codedeploy_capacity_provider_name" && values.codedeploy()? =>
        {
            let provider = values.get(name);
            let base = values.get("codedeploy_capacity_provider_base");
            let weight = values.get("codedeploy_capacity_provider_weight");
            match (provider.is_empty(), base.is_empty() || weight.is_empty()) {
                (true, _) => {}
                (false, true) => {
                    return Err(orb_usage(
                        name,
                        "codedeploy_capacity_provider_name needs codedeploy_capacity_provider_base and codedeploy_capacity_provider_weight too, as the aws-ecs orb does".to_string(),
                    ))
                }
                (false, false) => push(
                    "--codedeploy-capacity-provider",
                    format!("{provider},{base},{weight}"),
                ),
            }
        }
        Derived::VerificationTimeout if values.codedeploy()? => {
            let value = values.get(name);
            if !value.is_empty() {
                push("--timeout", value);
            }
        }
        Derived::CodeDeploy | Derived::CapacityProvider | Derived::VerificationTimeout => {}
    }
    Ok(())
}
