//! The CircleCI orb's steps. The orb's script is one line: it runs `deployer orb run STEP` with
//! the step's parameters in `PARAM_*` environment variables, as CircleCI's orb tooling does.
//! Here each parameter becomes deployer's own flags (the same command line a user would type),
//! which then go through the same clap parser as any other invocation.
//!
//! Every parameter of the aws-ecr and aws-ecs orbs' jobs is listed with what it becomes. Those
//! whose feature deployer lacks are accepted at their default and refused otherwise, naming the
//! feature: never dropped silently. `deployer orb params` prints this table as JSON; the orb's
//! checks read it to prove every parameter reaches a flag the binary really has.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::orb_aliases::{old_build_context, old_dockerfile, old_registry};
use crate::adapters::aws::StaticCredentials;
use crate::commands::aws_cli_config::AwsCliConfig;
use crate::domain::duration::parse_positive_duration;
use crate::domain::old_orb::OldOrb;
use crate::domain::orb_values::{
    empty_references, expand_env, extra_build_args_expanded, is_upper_env_name, named_variable,
    parse_bool, put_image_extra_args, registry_host, split_words, RegistryHost,
};
use crate::domain::platform::{parse_platforms, without_emulation, BinfmtHandler, Platform};
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The orb's commands that run deployer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Step {
    Push,
    UpdateService,
    Deploy,
    Rollback,
    EcrLogin,
    UpdateTaskDefinition,
    UpdateTaskDefinitionFromJson,
    DeployEcsScheduledTask,
    VerifyRevisionIsDeployed,
    RunTask,
    TagImage,
    CreateRepo,
    SetRepoPolicy,
    TagRepo,
    BuildImage,
    PushImage,
    Continue,
}

impl Step {
    pub const ALL: [Step; 17] = [
        Step::Push,
        Step::UpdateService,
        Step::Deploy,
        Step::Rollback,
        Step::EcrLogin,
        Step::UpdateTaskDefinition,
        Step::UpdateTaskDefinitionFromJson,
        Step::DeployEcsScheduledTask,
        Step::VerifyRevisionIsDeployed,
        Step::RunTask,
        Step::TagImage,
        Step::CreateRepo,
        Step::SetRepoPolicy,
        Step::TagRepo,
        Step::BuildImage,
        Step::PushImage,
        Step::Continue,
    ];

    /// The name `deployer orb run` takes (the orb's `DEPLOYER_ORB_STEP`).
    pub fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }

    /// The deployer subcommand the step runs (`repo create`: words separated by a blank).
    pub fn subcommand(self) -> &'static str {
        match self {
            Step::Push => "push",
            Step::UpdateService => "update-service",
            Step::Deploy => "deploy",
            Step::Rollback => "rollback",
            Step::EcrLogin => "ecr-login",
            Step::UpdateTaskDefinition
            | Step::UpdateTaskDefinitionFromJson
            | Step::DeployEcsScheduledTask => "register-task-definition",
            Step::VerifyRevisionIsDeployed => "wait",
            Step::RunTask => "run-task",
            Step::TagImage => "tag-image",
            Step::CreateRepo => "repo create",
            Step::SetRepoPolicy => "repo policy",
            Step::TagRepo => "repo tag",
            Step::BuildImage | Step::PushImage => "push",
            Step::Continue => "continue",
        }
    }

    /// Flags the step always passes: `push_image` pushes what an earlier step built.
    fn fixed_flags(self) -> &'static [&'static str] {
        match self {
            Step::PushImage => &["--no-build"],
            _ => &[],
        }
    }

    /// The orb command's name (CircleCI names use underscores).
    pub fn orb_command(self) -> &'static str {
        match self {
            Step::Push => "push",
            Step::UpdateService => "update_service",
            Step::Deploy => "deploy",
            Step::Rollback => "rollback",
            Step::EcrLogin => "ecr_login",
            Step::UpdateTaskDefinition => "update_task_definition",
            Step::UpdateTaskDefinitionFromJson => "update_task_definition_from_json",
            Step::DeployEcsScheduledTask => "deploy_ecs_scheduled_task",
            Step::VerifyRevisionIsDeployed => "verify_revision_is_deployed",
            Step::RunTask => "run_task",
            Step::TagImage => "tag_image",
            Step::CreateRepo => "create_repo",
            Step::SetRepoPolicy => "set_repo_policy",
            Step::TagRepo => "tag_repo",
            Step::BuildImage => "build_image",
            Step::PushImage => "push_image",
            Step::Continue => "continue",
        }
    }

    /// The step's parameters, in the order their flags are written: the orb command's in
    /// `orb/parameters.json` that deployer reads.
    pub fn params(self) -> Vec<&'static Param> {
        TABLE
            .get(self.orb_command())
            .map(|params| params.iter().collect())
            .unwrap_or_default()
    }

    /// Whether the subcommand takes `--export-env` (the orb points it at `$BASH_ENV`).
    fn exports_env(self) -> bool {
        !matches!(
            self,
            Step::EcrLogin
                | Step::TagImage
                | Step::CreateRepo
                | Step::SetRepoPolicy
                | Step::TagRepo
        )
    }
}

/// One orb parameter and what it becomes.
#[derive(Debug, Serialize)]
pub struct Param {
    pub name: &'static str,
    #[serde(flatten)]
    pub kind: Kind,
}

/// What a parameter becomes: the table's `becomes`. Its strings are borrowed from the embedded
/// table (a JSON escape in one fails the table's unit test, not a user's step).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Kind {
    /// `FLAG VALUE` when the value is not empty.
    Value { flag: &'static str },
    /// Comma-separated values, each as `FLAG VALUE`.
    EachOf { flag: &'static str },
    /// A boolean: `FLAG` when true.
    Switch { flag: &'static str },
    /// A boolean: `FLAG` when false.
    SwitchWhenFalse { flag: &'static str },
    /// A boolean as `FLAG=true|false`.
    Bool { flag: &'static str },
    /// A duration more than 0, in deployer's grammar (a bare number is seconds), as `FLAG Ns`.
    Duration { flag: &'static str },
    /// `FLAG VALUE`; the step cannot run without it, so an empty value is refused.
    Required { flag: &'static str },
    /// A private repository's setting, as `Value` (or `Bool` when `boolean`). ECR Public has no
    /// such setting: with `public_registry` it is left out at its default, as the aws-ecr orb
    /// leaves it, and refused otherwise.
    Private {
        flag: &'static str,
        /// The parameter's default in the table.
        #[serde(default)]
        default: &'static str,
        /// Whether the parameter's type is boolean.
        #[serde(default)]
        boolean: bool,
    },
    /// A value that needs other parameters or reading: see `Derived`.
    Derived {
        #[serde(borrow)]
        flags: Vec<&'static str>,
        rule: Derived,
    },
    /// A feature deployer lacks so far: accepted at its default, refused otherwise.
    Lacking {
        /// The parameter's default in the table.
        #[serde(default)]
        default: &'static str,
        feature: &'static str,
    },
    /// Deployer always behaves as the best value of this parameter would ask.
    NoFlag { why: &'static str },
    /// The name of the variable holding an access key (the aws orbs' `aws-access-key-id`):
    /// another than `standard` makes the step authenticate with the keys the named variables
    /// hold. Never a flag: the keys go to the AWS configuration, not the command line.
    Credential { standard: &'static str },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derived {
    /// `--region`; an old-style variable name (`AWS_DEFAULT_REGION`) is read through; empty,
    /// the region of an ECR host `account_url` names.
    Region,
    /// The aws-ecr orb's `account-url` (0.0.x-7.x): the registry host, or the name of the
    /// variable holding it. An ECR host gives `--registry-id` (and the region; another domain
    /// than amazonaws.com, `--registry`); any other host is `--registry HOST`.
    AccountUrl,
    /// `--build-path`; empty (the aliases of aws-ecr 0.0.x-8.x, where one name served both
    /// eras) means `path` or `.`, whichever holds the Dockerfile's COPY and ADD sources.
    BuildPath,
    /// `--profile`, left out for `default` so the SDK's own profile selection stays.
    Profile,
    /// `--registry-id`, left out when empty (the caller's account); a variable name is read through.
    Account,
    /// `--registry ACCOUNT.dkr.ecr.REGION.DOMAIN` when the domain is not `amazonaws.com`.
    AwsDomain,
    /// `--public-registry-alias` when `public_registry` is on.
    PublicAlias,
    /// `--repo-policy-path` when `set_repo_policy` is on.
    RepoPolicy,
    /// The aws-ecr orb's raw `docker build` flags, each mapped to deployer's.
    ExtraBuildArgs,
    /// `--timeout` = `max_poll_attempts` × `poll_interval`, as the aws-ecs orb's wait lasts
    /// (with `deployment_controller` CODE_DEPLOY, `verification_timeout` is the wait's).
    PollAttempts,
    /// `deployment_controller`: ECS or CODE_DEPLOY, checked; deployer reads the service's own.
    Controller,
    /// A CodeDeploy parameter's flag, with `deployment_controller` CODE_DEPLOY only.
    CodeDeploy,
    /// `--codedeploy-capacity-provider NAME,BASE,WEIGHT` from the three parameters, which the
    /// orb needs all together.
    CapacityProvider,
    /// `--timeout` from `verification_timeout` with CODE_DEPLOY (the orb's step timeout).
    VerificationTimeout,
    /// `--assign-public-ip` when `create_service` is on.
    PublicIp,
    /// `--update-scheduled-task RULE` when `deploy_scheduled_task` is on.
    ScheduledRule,
    /// `--existing-revision`: the revision an earlier step registered.
    ExistingRevision,
    /// `--service`: `service_name`, or the family as the aws-ecs orb assumes.
    ServiceOrFamily,
    /// `--launch-type`, empty with a capacity provider strategy as in the aws-ecs orb.
    LaunchType,
    /// `--assign-public-ip` with subnets (deployer's RunTask needs them for it).
    TaskPublicIp,
    /// `--propagate-tags TASK_DEFINITION` when on, as the aws-ecs orb passes it.
    PropagateTags,
    /// `--exit-code-from`, which needs `wait_task_stopped`.
    ExitCodeFrom,
    /// The aws-ecr orb's `extra_args` of `aws ecr put-image`, each mapped or refused.
    PutImageExtraArgs,
}

/// `orb/parameters.json`: the orb's parameters, written once. `scripts/orb.py generate` writes
/// the orb's YAML from it; here each orb command's parameters that deployer reads (those with
/// a `becomes`), in the table's order.
const TABLE_JSON: &str = include_str!("../../orb/parameters.json");

static TABLE: LazyLock<BTreeMap<&'static str, Vec<Param>>> =
    LazyLock::new(|| parse_table(TABLE_JSON).expect("orb/parameters.json is deployer's table"));

#[derive(Deserialize)]
struct Table {
    #[serde(borrow)]
    parameters: BTreeMap<&'static str, Definition>,
    #[serde(borrow)]
    commands: BTreeMap<&'static str, CommandEntry>,
}

#[derive(Deserialize)]
struct Definition {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(default)]
    default: serde_json::Value,
    becomes: Option<Kind>,
}

#[derive(Deserialize)]
struct CommandEntry {
    #[serde(borrow)]
    parameters: Vec<&'static str>,
}

fn parse_table(
    text: &'static str,
) -> std::result::Result<BTreeMap<&'static str, Vec<Param>>, String> {
    let table: Table = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let definitions = table.parameters;
    let mut commands = BTreeMap::new();
    for (command, entry) in table.commands {
        let mut params = Vec::new();
        for key in entry.parameters {
            let definition = definitions
                .get(key)
                .ok_or_else(|| format!("{command} lists {key}, which has no definition"))?;
            let Some(kind) = &definition.becomes else {
                continue;
            };
            let mut kind = kind.clone();
            let default = default_text(&definition.default);
            match &mut kind {
                Kind::Private {
                    default: text,
                    boolean,
                    ..
                } => {
                    *text = default;
                    *boolean = definition.kind == "boolean";
                }
                Kind::Lacking { default: text, .. } => *text = default,
                _ => {}
            }
            let name = key.split('/').next().unwrap_or(key);
            params.push(Param { name, kind });
        }
        commands.insert(command, params);
    }
    Ok(commands)
}

/// A default as the step's environment holds it (`true`, `AES256`, empty when there is none).
fn default_text(default: &serde_json::Value) -> &'static str {
    match default {
        serde_json::Value::Bool(true) => "true",
        serde_json::Value::Bool(false) => "false",
        serde_json::Value::String(text) => Box::leak(text.clone().into_boxed_str()),
        serde_json::Value::Number(number) => Box::leak(number.to_string().into_boxed_str()),
        _ => "",
    }
}

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
    fn account_url(&self) -> Option<RegistryHost> {
        Some(self.read_through("account_url"))
            .filter(|url| !url.is_empty())
            .map(|url| registry_host(&url))
    }

    /// Whether `deployment_controller` is CODE_DEPLOY (empty or absent: ECS).
    fn codedeploy(&self) -> Result<bool> {
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
    fn count(&self, name: &str) -> Result<Option<u32>> {
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
    fn duration(&self, name: &str) -> Result<Option<std::time::Duration>> {
        let value = self.get(name);
        if value.is_empty() {
            return Ok(None);
        }
        parse_positive_duration(&value)
            .map(Some)
            .map_err(|why| orb_usage(name, format!("parameter {name}: {why}")))
    }
}

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

/// The parameters that shape the wait: the aws-ecs orb's (`verify_revision_is_deployed` turns
/// it on) and CodeDeploy's `verification_timeout`.
const WAIT_SHAPES: [&str; 8] = [
    "verify_revision_is_deployed",
    "poll_interval",
    "max_poll_attempts",
    "fail_on_verification_timeout",
    "wait_until",
    "fail_on_placement_errors",
    "rollback_on_cancel",
    "verification_timeout",
];

/// The parameters that only shape the wait (`verification_timeout` included).
fn waits(name: &str) -> bool {
    name != "verify_revision_is_deployed"
        && name != "fail_on_verification_timeout"
        && WAIT_SHAPES.contains(&name)
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
    for param in step.params().into_iter().filter(|param| waits(param.name)) {
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

/// A duration as a flag value: whole seconds when it is, else milliseconds.
fn duration_flag(duration: std::time::Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

fn orb_usage(param: &str, message: String) -> Error {
    Error::usage(message).with_hint(format!(
        "fix the {param} parameter of this orb step (environment variable {})",
        env_name(param)
    ))
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
        if no_wait && waits(param.name) {
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

/// An unset parameter reads as its default; booleans compare as booleans (`1` is `true`).
fn is_default(value: &str, default: &str) -> bool {
    if value.is_empty() || value == default {
        return true;
    }
    !default.is_empty()
        && matches!((parse_bool("", value), parse_bool("", default)), (Ok(a), Ok(b)) if a == b)
}

fn derive(rule: Derived, name: &str, values: &Values, args: &mut Vec<String>) -> Result<()> {
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

/// The architectures of the step's `platform` list that need QEMU handlers installed: those
/// foreign to `machine` (Docker's name for the engine host's architecture) that none of
/// `handlers` runs; every foreign one when the handlers are unknown (a remote engine).
pub fn binfmt_needed(
    environment: &dyn Fn(&str) -> Option<String>,
    machine: &str,
    handlers: Option<&[BinfmtHandler]>,
) -> Result<Vec<String>> {
    let values = Values { environment };
    let list = values.get("platform");
    let platforms =
        parse_platforms(std::slice::from_ref(&list)).map_err(|e| orb_usage("platform", e))?;
    let missing: Vec<&Platform> = match handlers {
        Some(handlers) => without_emulation(machine, &platforms, handlers),
        None => platforms
            .iter()
            .filter(|platform| platform.architecture != machine)
            .collect(),
    };
    let mut architectures: Vec<String> = Vec::new();
    for platform in missing {
        if !architectures.contains(&platform.architecture) {
            architectures.push(platform.architecture.clone());
        }
    }
    Ok(architectures)
}

/// The access keys a step authenticates with when its `aws_access_key_id` /
/// `aws_secret_access_key` parameters name other variables than the standard ones (which the
/// SDK reads itself): the aws orbs' `env_var_name` parameters, or their 0.0.x `$NAME` values.
pub fn credentials(
    step: Step,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<StaticCredentials>> {
    let mut named = Vec::new();
    for param in step.params() {
        let Kind::Credential { standard } = param.kind else {
            continue;
        };
        let raw = environment(&env_name(param.name)).unwrap_or_default();
        let variable = if raw.trim().is_empty() {
            standard.to_string()
        } else {
            named_variable(&raw)
                .ok_or_else(|| {
                    orb_usage(
                        param.name,
                        format!(
                            "{} is not the name of a variable (NAME or $NAME): it names the \
                             variable that holds the key, not the key",
                            param.name
                        ),
                    )
                })?
                .to_string()
        };
        named.push((param.name, standard, variable));
    }
    if named
        .iter()
        .all(|(_, standard, variable)| variable == standard)
    {
        return Ok(None);
    }
    let mut keys = named.into_iter().map(|(param, _, variable)| {
        environment(&variable)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                // The parameter's value is never printed: a key pasted where a variable's name
                // belongs reads as a name too. It is masked from here on, in case it is one.
                crate::output::register_secret(&Secret::new(variable.clone()));
                Error::usage(format!("the variable named in {param} is not set or empty"))
                    .with_hint(format!(
                        "{param} takes the name of the variable that holds the key (such as \
                     AWS_SECRET_ACCESS_KEY), never the key itself: set that variable in the \
                     job's environment or context, or point {param} at the one that is set"
                    ))
            })
    });
    let (Some(access_key_id), Some(secret_access_key)) = (keys.next(), keys.next()) else {
        return Ok(None);
    };
    Ok(Some(StaticCredentials {
        access_key_id: access_key_id?,
        secret_access_key: Secret::new(secret_access_key?),
    }))
}

/// What the AWS CLI gets for the job's later steps (`deployer orb aws-cli-config`): the region
/// read as the update_service step reads it, the keys the credential parameters' variables hold
/// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when they name none).
pub fn aws_cli_config(environment: &dyn Fn(&str) -> Option<String>) -> Result<AwsCliConfig> {
    let values = Values { environment };
    let written = environment(&env_name("region")).unwrap_or_default();
    let region = Some(values.read_through("region"))
        .filter(|region| !region.is_empty())
        .map(|region| {
            let from = named_variable(&written)
                .map_or_else(|| "the region parameter".to_string(), str::to_string);
            (region, from)
        });
    let profile = Some(values.get("profile_name"))
        .filter(|profile| !profile.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let variable = |param: &str, standard: &str| -> Result<String> {
        let raw = environment(&env_name(param)).unwrap_or_default();
        if raw.trim().is_empty() {
            return Ok(standard.to_string());
        }
        named_variable(&raw).map(str::to_string).ok_or_else(|| {
            orb_usage(
                param,
                format!("{param} is not the name of a variable (NAME or $NAME)"),
            )
        })
    };
    let key_variable = variable("aws_access_key_id", "AWS_ACCESS_KEY_ID")?;
    let secret_variable = variable("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY")?;
    let value = |name: &str| {
        environment(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let keys = value(&key_variable)
        .zip(value(&secret_variable))
        .map(|(access_key_id, secret)| {
            (
                access_key_id,
                Secret::new(secret),
                format!("{key_variable} and {secret_variable}"),
            )
        });
    let home = || Path::new(&crate::env::var(crate::env::HOME).unwrap_or_default()).join(".aws");
    let file = |variable: &'static str, name: &str| {
        crate::env::var(variable)
            .filter(|path| !path.is_empty())
            .map_or_else(|| home().join(name), std::path::PathBuf::from)
    };
    Ok(AwsCliConfig {
        profile,
        region,
        keys,
        config_file: file(crate::env::AWS_CONFIG_FILE, "config"),
        credentials_file: file(crate::env::AWS_SHARED_CREDENTIALS_FILE, "credentials"),
    })
}

/// The command line as the step prints it: values that may carry secrets (build arguments,
/// environment variables) show their names only.
pub fn display(args: &[String]) -> String {
    std::iter::once("deployer".to_string())
        .chain(displayed_args(args).iter().map(|arg| shell_quote(arg)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments with the values that may carry secrets shown as `…` (`NAME=…` for build
/// arguments and run-task's `--env`; run-task's `--overrides` with environment values `<set>`).
pub fn displayed_args(args: &[String]) -> Vec<String> {
    let mut shown = Vec::new();
    let mut masked_next: Option<&str> = None;
    for arg in args {
        let text = match masked_next.take() {
            Some("--build-arg" | "--env") => match arg.split_once('=') {
                Some((key, _)) => format!("{key}=…"),
                None => arg.clone(),
            },
            // JSON that may hold a task's environment: shown with its values hidden.
            Some("--overrides") => match serde_json::from_str::<serde_json::Value>(arg) {
                Ok(mut overrides) => {
                    crate::domain::hidden_values::hide_values(&mut overrides);
                    overrides.to_string()
                }
                Err(_) => "…".to_string(),
            },
            Some(_) => "…".to_string(),
            None => arg.clone(),
        };
        if matches!(
            arg.as_str(),
            "--build-arg"
                | "--container-env-var-updates"
                | "--container-secret-updates"
                | "--overrides"
                | "--env"
        ) {
            masked_next = Some(arg.as_str());
        }
        shown.push(text);
    }
    shown
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+…".contains(c));
    if plain && split_words(word).is_ok() {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The table `deployer orb params` prints.
pub fn params_json() -> serde_json::Value {
    let steps: serde_json::Map<String, serde_json::Value> = Step::ALL
        .iter()
        .map(|step| {
            let params: Vec<serde_json::Value> = step
                .params()
                .into_iter()
                .map(|param| {
                    let mut entry = serde_json::to_value(param).unwrap_or_default();
                    entry["env"] = env_name(param.name).into();
                    entry
                })
                .collect();
            (
                step.orb_command().to_string(),
                serde_json::json!({
                    "step": step.name(),
                    "subcommand": step.subcommand(),
                    "params": params,
                }),
            )
        })
        .collect();
    serde_json::Value::Object(steps)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::error::ErrorKind;

    fn run(step: Step, vars: &[(&str, &str)]) -> Result<Vec<String>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        command_line(step, &|name| vars.get(name).cloned())
    }

    /// The environment CircleCI gives the push step of the seed's job, defaults included.
    fn seed_push() -> Vec<(&'static str, &'static str)> {
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

    #[test]
    fn the_seeds_push_becomes_deployer_flags() {
        let args = run(Step::Push, &seed_push()).unwrap();
        assert_eq!(
            args,
            [
                "push",
                "--region",
                "eu-west-1",
                "--registry-id",
                "123456789012",
                "--repo",
                "tutorial-site-registry",
                "--tag",
                "latest,0a1b2c3",
                "--repo-scan-on-push=true",
                "--repo-encryption-type",
                "AES256",
                "--repo-tag-mutability",
                "MUTABLE",
                "--build-path",
                ".",
                "--path",
                ".",
                "--dockerfile",
                "Dockerfile",
                "--platform",
                "linux/amd64",
                "--export-env",
                "/tmp/.bash_env-1"
            ]
        );
    }

    #[test]
    fn repository_options_and_build_flags() {
        let mut vars = seed_push();
        vars.extend([
            ("PARAM_CREATE_REPO", "true"),
            ("PARAM_REPO_SCAN_ON_PUSH", "false"),
            (
                "PARAM_REPO_IMAGE_TAG_MUTABILITY",
                "IMMUTABLE_WITH_EXCLUSION",
            ),
            ("PARAM_REPO_IMAGE_TAG_EXCLUSION_FILTERS", "latest, dev-*"),
            ("PARAM_SET_REPO_POLICY", "true"),
            ("PARAM_REPO_POLICY_PATH", "policy.json"),
            (
                "PARAM_EXTRA_BUILD_ARGS",
                "--build-arg VERSION=${CIRCLE_SHA1} --no-cache",
            ),
            ("PARAM_PROFILE_NAME", "ci"),
        ]);
        let args = run(Step::Push, &vars).unwrap().join(" ");
        for expected in [
            "--profile ci",
            "--create-repo",
            "--repo-scan-on-push=false",
            "--repo-tag-mutability-exclusion latest --repo-tag-mutability-exclusion dev-*",
            "--repo-policy-path policy.json",
            "--build-arg VERSION=0a1b2c3 --no-cache",
        ] {
            assert!(args.contains(expected), "{expected:?} missing from {args}");
        }
    }

    #[test]
    fn aws_domain_names_the_registry_as_the_orb_does() {
        let mut vars = seed_push();
        vars.push(("PARAM_AWS_DOMAIN", "amazonaws.com.cn"));
        vars.push(("AWS_DEFAULT_REGION", "cn-north-1"));
        let args = run(Step::Push, &vars).unwrap().join(" ");
        assert!(
            args.contains("--registry 123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            "{args}"
        );
    }

    #[test]
    fn public_alias_only_with_public_registry() {
        let mut vars = seed_push();
        vars.push(("AWS_ECR_PUBLIC_REGISTRY_ALIAS", "tutorial"));
        let args = run(Step::Push, &vars).unwrap();
        assert!(!args.contains(&"--public-registry-alias".to_string()));
        vars.push(("PARAM_PUBLIC_REGISTRY", "true"));
        let args = run(Step::Push, &vars).unwrap().join(" ");
        assert!(
            args.contains("--public-registry --public-registry-alias tutorial"),
            "{args}"
        );
    }

    #[test]
    fn lacking_features_fail_only_off_their_default() {
        let mut vars = seed_push();
        vars.push(("PARAM_PUSH_IMAGE", "false"));
        assert!(run(Step::Push, &vars)
            .unwrap()
            .contains(&"--no-push".to_string()));

        // The binfmt step reads binfmt_version; deployer's command line does not change.
        let mut vars = seed_push();
        vars.push(("PARAM_BINFMT_VERSION", "qemu-v8.1.5"));
        assert_eq!(
            run(Step::Push, &vars).unwrap(),
            run(Step::Push, &seed_push()).unwrap()
        );

        let created = run(
            Step::UpdateService,
            &[
                ("PARAM_CREATE_SERVICE", "true"),
                ("PARAM_FAMILY", "f"),
                ("PARAM_SUBNETS", "subnet-1,subnet-2"),
                ("PARAM_PUBLIC_IP", "DISABLED"),
            ],
        )
        .unwrap()
        .join(" ");
        assert!(
            created.contains(
                "--create-service --subnets subnet-1,subnet-2 --assign-public-ip DISABLED"
            ),
            "{created}"
        );
        // At their defaults, the same parameters pass.
        run(
            Step::UpdateService,
            &[
                ("PARAM_FAMILY", "f"),
                ("PARAM_DEPLOYMENT_CONTROLLER", "ECS"),
                ("PARAM_CREATE_SERVICE", "false"),
                ("PARAM_PUBLIC_IP", "DISABLED"),
                ("PARAM_CODEDEPLOY_LOAD_BALANCED_CONTAINER_PORT", "80"),
                ("PARAM_FAIL_ON_VERIFICATION_TIMEOUT", "true"),
                ("PARAM_VERIFICATION_TIMEOUT", "10m"),
            ],
        )
        .unwrap();
    }

    #[test]
    fn codedeploy_parameters_become_flags_only_with_the_code_deploy_controller() {
        let codedeploy = [
            ("PARAM_FAMILY", "tutorial-site-task"),
            ("PARAM_CLUSTER", "tutorial-site-cluster"),
            ("PARAM_CODEDEPLOY_APPLICATION_NAME", "site-app"),
            ("PARAM_CODEDEPLOY_DEPLOYMENT_GROUP_NAME", "site-group"),
            (
                "PARAM_CODEDEPLOY_LOAD_BALANCED_CONTAINER_NAME",
                "tutorial-site-app",
            ),
            ("PARAM_CODEDEPLOY_LOAD_BALANCED_CONTAINER_PORT", "3000"),
            ("PARAM_CODEDEPLOY_CAPACITY_PROVIDER_NAME", "FARGATE_SPOT"),
            ("PARAM_CODEDEPLOY_CAPACITY_PROVIDER_BASE", "0"),
            ("PARAM_CODEDEPLOY_CAPACITY_PROVIDER_WEIGHT", "1"),
            (
                "PARAM_DEPLOYMENT_CONFIG_NAME",
                "CodeDeployDefault.ECSCanary10Percent5Minutes",
            ),
            ("PARAM_VERIFICATION_TIMEOUT", "20m"),
            ("PARAM_POLL_INTERVAL", "20"),
            ("PARAM_MAX_POLL_ATTEMPTS", "50"),
        ];
        let mut on = codedeploy.to_vec();
        on.push(("PARAM_DEPLOYMENT_CONTROLLER", "CODE_DEPLOY"));
        let line = run(Step::UpdateService, &on).unwrap().join(" ");
        for expected in [
            "--codedeploy-application site-app",
            "--codedeploy-deployment-group site-group",
            "--codedeploy-container-name tutorial-site-app",
            "--codedeploy-container-port 3000",
            "--codedeploy-capacity-provider FARGATE_SPOT,0,1",
            "--codedeploy-deployment-config CodeDeployDefault.ECSCanary10Percent5Minutes",
            "--timeout 20m",
        ] {
            assert!(line.contains(expected), "{expected}: {line}");
        }
        assert_eq!(line.matches("--timeout").count(), 1, "{line}");
        // With the ECS controller the orb ignores them, and so does deployer.
        let mut ecs = codedeploy.to_vec();
        ecs.push(("PARAM_DEPLOYMENT_CONTROLLER", "ECS"));
        let line = run(Step::UpdateService, &ecs).unwrap().join(" ");
        assert!(!line.contains("--codedeploy"), "{line}");
        assert!(line.contains("--timeout 1000s"), "{line}");
        let mut typo = codedeploy.to_vec();
        typo.push(("PARAM_DEPLOYMENT_CONTROLLER", "CODEDEPLOY"));
        let error = run(Step::UpdateService, &typo).unwrap_err();
        assert!(
            error.message.contains("expected ECS or CODE_DEPLOY"),
            "{}",
            error.message
        );
        let mut unnamed = on.clone();
        unnamed.retain(|(name, _)| *name != "PARAM_CODEDEPLOY_APPLICATION_NAME");
        let error = run(Step::UpdateService, &unnamed).unwrap_err();
        assert!(
            error.message.contains("needs codedeploy_application_name"),
            "{}",
            error.message
        );
        let mut half = on.clone();
        half.retain(|(name, _)| *name != "PARAM_CODEDEPLOY_CAPACITY_PROVIDER_WEIGHT");
        let error = run(Step::UpdateService, &half).unwrap_err();
        assert!(error.message.contains("weight"), "{}", error.message);
    }

    #[test]
    fn early_success_and_allow_family_change_become_their_flags() {
        let vars = [
            ("PARAM_REGION", "eu-west-1"),
            ("PARAM_FAMILY", "tutorial-site-task"),
            ("PARAM_CLUSTER", "tutorial-site-cluster"),
            ("PARAM_SERVICE_NAME", "tutorial-site-service"),
            ("PARAM_EARLY_SUCCESS", "50,deferred"),
            ("PARAM_ALLOW_FAMILY_CHANGE", "1"),
        ];
        let args = run(Step::UpdateService, &vars).unwrap().join(" ");
        assert!(args.contains("--early-success 50,deferred"), "{args}");
        assert!(args.contains("--allow-family-change"), "{args}");
    }

    #[test]
    fn the_seeds_service_update_waits_as_long_as_the_orb() {
        let vars = [
            ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("PARAM_FAMILY", "tutorial-site-task"),
            ("PARAM_CLUSTER", "tutorial-site-cluster"),
            ("PARAM_SERVICE_NAME", "tutorial-site-service"),
            (
                "PARAM_CONTAINER_IMAGE_NAME_UPDATES",
                "container=tutorial-site-app,tag=latest",
            ),
            ("PARAM_FORCE_NEW_DEPLOYMENT", "0"),
            ("PARAM_VERIFY_REVISION_IS_DEPLOYED", "1"),
            ("PARAM_MAX_POLL_ATTEMPTS", "50"),
            ("PARAM_POLL_INTERVAL", "20"),
        ];
        let args = run(Step::UpdateService, &vars).unwrap();
        assert_eq!(
            args,
            [
                "update-service",
                "--region",
                "eu-west-1",
                "--family",
                "tutorial-site-task",
                "--cluster",
                "tutorial-site-cluster",
                "--service",
                "tutorial-site-service",
                "--container-image-name-updates",
                "container=tutorial-site-app,tag=latest",
                "--poll-interval",
                "20s",
                "--timeout",
                "1000s"
            ]
        );
        let mut no_wait = vars.to_vec();
        no_wait.push(("PARAM_VERIFY_REVISION_IS_DEPLOYED", "false"));
        // Without a wait, the wait's parameters (CircleCI's defaults) are left out: --no-wait
        // refuses them.
        let args = run(Step::UpdateService, &no_wait).unwrap();
        assert!(args.contains(&"--no-wait".to_string()));
        assert!(!args
            .iter()
            .any(|arg| arg == "--poll-interval" || arg == "--timeout"));
        let mut asks_a_wait = no_wait.clone();
        asks_a_wait.push(("PARAM_WAIT_UNTIL", "running"));
        let error = run(Step::UpdateService, &asks_a_wait).unwrap_err();
        assert!(
            error
                .message
                .contains("wait_until is \"running\", but verify_revision_is_deployed is false"),
            "{}",
            error.message
        );
        // The poll interval takes deployer's duration grammar: 5s is 5 seconds, as 5 is.
        let mut with_unit = vars.to_vec();
        with_unit.retain(|(name, _)| *name != "PARAM_POLL_INTERVAL");
        with_unit.push(("PARAM_POLL_INTERVAL", "5s"));
        let args = run(Step::UpdateService, &with_unit).unwrap();
        assert!(args.ends_with(&[
            "--poll-interval".to_string(),
            "5s".to_string(),
            "--timeout".to_string(),
            "250s".to_string()
        ]));
    }

    #[test]
    fn a_parameter_naming_an_unset_variable_names_it() {
        let error = run(
            Step::Push,
            &[
                ("PARAM_REPO", "tutorial-site-registry"),
                ("PARAM_TAG", "latest,${CIRCLE_SHA1}"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            "parameter tag is \"latest,${CIRCLE_SHA1}\", and CIRCLE_SHA1 is unset or empty there, so it would be \"latest,\""
        );
        assert!(error
            .hint
            .unwrap()
            .contains("set CIRCLE_SHA1 before this step"));
        let error = run(
            Step::UpdateService,
            &[
                ("PARAM_FAMILY", "tutorial-site-task"),
                ("PARAM_CLUSTER", "tutorial-site-cluster"),
                (
                    "PARAM_CONTAINER_IMAGE_NAME_UPDATES",
                    "container=tutorial-site-app,tag=${CIRCLE_SHA1}",
                ),
            ],
        )
        .unwrap_err();
        assert!(
            error.message.contains("CIRCLE_SHA1 is unset"),
            "{}",
            error.message
        );
        // Defaults that name a variable mean the default when it is unset.
        assert!(run(
            Step::Push,
            &[
                ("PARAM_REPO", "tutorial-site-registry"),
                ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
                ("PARAM_ACCOUNT_ID", "${AWS_ACCOUNT_ID}"),
                ("PARAM_ROLE_SESSION_NAME", "${CIRCLE_JOB}"),
            ],
        )
        .is_ok());
    }

    #[test]
    fn malformed_values_name_the_parameter() {
        let error = run(Step::Push, &[("PARAM_CREATE_REPO", "yes")]).unwrap_err();
        assert!(error.message.contains("create_repo"), "{}", error.message);
        assert!(error.hint.unwrap().contains("PARAM_CREATE_REPO"));
        let error = run(
            Step::UpdateService,
            &[
                ("PARAM_POLL_INTERVAL", "0s"),
                ("PARAM_MAX_POLL_ATTEMPTS", "5"),
            ],
        )
        .unwrap_err();
        assert!(error.message.contains("poll_interval"), "{}", error.message);
        assert!(
            error.message.contains("give more than 0"),
            "{}",
            error.message
        );
        let error = run(
            Step::UpdateService,
            &[
                ("PARAM_POLL_INTERVAL", "5"),
                ("PARAM_MAX_POLL_ATTEMPTS", "five"),
            ],
        )
        .unwrap_err();
        assert!(
            error.message.contains("max_poll_attempts"),
            "{}",
            error.message
        );
        let error = run(
            Step::Push,
            &[("PARAM_EXTRA_BUILD_ARGS", "--build-arg A=1 --squash")],
        )
        .unwrap_err();
        assert!(error.message.contains("--squash"), "{}", error.message);
    }

    #[test]
    fn the_printed_command_hides_values_that_may_be_secret() {
        let args: Vec<String> = [
            "push",
            "--repo",
            "tutorial-site-registry",
            "--build-arg",
            "NPM_TOKEN=s3cr3t",
            "--container-env-var-updates",
            "container=app,name=DB_PASSWORD,value=hunter2",
            "--label",
            "title=a b",
        ]
        .map(String::from)
        .to_vec();
        let shown = display(&args);
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(shown.contains("--build-arg NPM_TOKEN=…"), "{shown}");
        assert!(shown.contains("--label 'title=a b'"), "{shown}");
        // Issue 20: run-task's overrides and --env, after the step expanded "$DB_PASSWORD".
        let args: Vec<String> = [
            "run-task",
            "--overrides",
            r#"{"containerOverrides":[{"name":"migrate","command":["./migrate"],"environment":[{"name":"DB_PASSWORD","value":"hunter2"}]}]}"#,
            "--env",
            "API_KEY=s3cr3t",
            "--overrides",
            "not json hunter2",
        ]
        .map(String::from)
        .to_vec();
        let shown = display(&args);
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(
            shown.contains(r#""environment":[{"name":"DB_PASSWORD","value":"<set>"}]"#)
                && shown.contains(r#""command":["./migrate"]"#)
                && shown.contains("--env API_KEY=…"),
            "{shown}"
        );
    }

    /// The aws-ecs orb's run_task defaults as CircleCI places them (booleans as 1/0).
    fn run_task_defaults() -> Vec<(&'static str, &'static str)> {
        vec![
            ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("PARAM_PROFILE_NAME", "default"),
            ("PARAM_CLUSTER", "tutorial-site-cluster"),
            ("PARAM_TASK_DEFINITION", "tutorial-site-migrate"),
            ("PARAM_COUNT", "1"),
            ("PARAM_LAUNCH_TYPE", "FARGATE"),
            ("PARAM_AWSVPC", "1"),
            ("PARAM_ASSIGN_PUBLIC_IP", "DISABLED"),
            ("PARAM_ENABLE_ECS_MANAGED_TAGS", "0"),
            ("PARAM_ENABLE_EXECUTE_COMMAND", "0"),
            ("PARAM_PROPAGATE_TAGS", "0"),
            ("PARAM_WAIT_TASK_STOPPED", "0"),
        ]
    }

    #[test]
    fn run_task_takes_the_aws_ecs_orbs_parameters() {
        let args = run(Step::RunTask, &run_task_defaults()).unwrap();
        assert_eq!(
            args,
            [
                "run-task",
                "--region",
                "eu-west-1",
                "--cluster",
                "tutorial-site-cluster",
                "--task-definition",
                "tutorial-site-migrate",
                "--count",
                "1",
                "--launch-type",
                "FARGATE"
            ]
        );
        let mut vars = run_task_defaults();
        vars.extend([
            ("PARAM_SUBNET_IDS", "subnet-0a1b,subnet-2c3d"),
            ("PARAM_SECURITY_GROUP_IDS", "sg-0a1b"),
            ("PARAM_PROPAGATE_TAGS", "1"),
            ("PARAM_WAIT_TASK_STOPPED", "1"),
            ("PARAM_EXIT_CODE_FROM", "migrate"),
            ("PARAM_RUN_TASK_OUTPUT", "run-task.json"),
            ("PARAM_TAGS", "key=team,value=web"),
        ]);
        let args = run(Step::RunTask, &vars).unwrap().join(" ");
        for expected in [
            "--subnets subnet-0a1b,subnet-2c3d --security-groups sg-0a1b --assign-public-ip DISABLED",
            "--tags key=team,value=web",
            "--propagate-tags TASK_DEFINITION",
            "--output-file run-task.json --wait --exit-code-from migrate",
        ] {
            assert!(args.contains(expected), "{expected:?} missing from {args}");
        }
    }

    #[test]
    fn run_task_refuses_what_the_orb_would_not_run() {
        let mut vars = run_task_defaults();
        vars.push((
            "PARAM_CAPACITY_PROVIDER_STRATEGY",
            "capacityProvider=spot,weight=1",
        ));
        let error = run(Step::RunTask, &vars).unwrap_err();
        assert!(error.message.contains("launch_type"), "{}", error.message);
        vars.push(("PARAM_LAUNCH_TYPE", ""));
        let args = run(Step::RunTask, &vars).unwrap();
        assert!(!args.contains(&"--launch-type".to_string()), "{args:?}");

        let mut vars = run_task_defaults();
        vars.push(("PARAM_EXIT_CODE_FROM", "migrate"));
        let error = run(Step::RunTask, &vars).unwrap_err();
        assert!(
            error.message.contains("wait_task_stopped"),
            "{}",
            error.message
        );
    }

    #[test]
    fn update_task_definition_points_the_rule_only_when_asked() {
        let base = [
            ("PARAM_FAMILY", "tutorial-site-task"),
            ("PARAM_CONTAINER_IMAGE_NAME_UPDATES", "container=app,tag=v2"),
            ("PARAM_DEPLOY_SCHEDULED_TASK", "0"),
            ("PARAM_PREVIOUS_REVISION_NUMBER", ""),
        ];
        let args = run(Step::UpdateTaskDefinition, &base).unwrap();
        assert_eq!(
            args,
            [
                "register-task-definition",
                "--family",
                "tutorial-site-task",
                "--container-image-name-updates",
                "container=app,tag=v2"
            ]
        );
        let mut vars = base.to_vec();
        vars.extend([
            ("PARAM_DEPLOY_SCHEDULED_TASK", "1"),
            ("PARAM_RULE_NAME", "nightly"),
        ]);
        assert!(run(Step::UpdateTaskDefinition, &vars)
            .unwrap()
            .join(" ")
            .ends_with("--update-scheduled-task nightly"));
        vars.push(("PARAM_RULE_NAME", ""));
        let error = run(Step::UpdateTaskDefinition, &vars).unwrap_err();
        assert!(
            error.message.contains("rule_name is empty"),
            "{}",
            error.message
        );
        let mut vars = base.to_vec();
        vars.push(("PARAM_RULE_NAME", "nightly"));
        let error = run(Step::UpdateTaskDefinition, &vars).unwrap_err();
        assert!(
            error.message.contains("deploy_scheduled_task is false"),
            "{}",
            error.message
        );
        let mut vars = base.to_vec();
        vars.push(("PARAM_PREVIOUS_REVISION_NUMBER", "3"));
        let error = run(Step::UpdateTaskDefinition, &vars).unwrap_err();
        assert!(
            error.message.contains("older revision"),
            "{}",
            error.message
        );
    }

    #[test]
    fn the_scheduled_task_step_follows_the_exported_revision() {
        let arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/nightly:7";
        let vars = [
            ("PARAM_RULE_NAME", "nightly"),
            (
                "PARAM_TASK_DEFINITION_ARN",
                "${DEPLOYER_TASK_DEFINITION_ARN}",
            ),
            ("DEPLOYER_TASK_DEFINITION_ARN", arn),
        ];
        let args = run(Step::DeployEcsScheduledTask, &vars).unwrap();
        assert_eq!(
            args,
            [
                "register-task-definition",
                "--update-scheduled-task",
                "nightly",
                "--existing-revision",
                arn
            ]
        );
        let error = run(Step::DeployEcsScheduledTask, &vars[..2]).unwrap_err();
        assert!(
            error.message.contains("DEPLOYER_TASK_DEFINITION_ARN"),
            "{}",
            error.message
        );
    }

    #[test]
    fn verify_revision_is_deployed_waits_for_the_service_named_by_the_family() {
        let vars = [
            ("PARAM_FAMILY", "tutorial-site"),
            ("PARAM_CLUSTER", "tutorial-site-cluster"),
            ("PARAM_SERVICE_NAME", ""),
            ("PARAM_TASK_DEFINITION_ARN", "tutorial-site:4"),
            ("PARAM_MAX_POLL_ATTEMPTS", "50"),
            ("PARAM_POLL_INTERVAL", "20"),
            ("PARAM_FAIL_ON_VERIFICATION_TIMEOUT", "1"),
        ];
        let args = run(Step::VerifyRevisionIsDeployed, &vars).unwrap();
        assert_eq!(
            args,
            [
                "wait",
                "--cluster",
                "tutorial-site-cluster",
                "--service",
                "tutorial-site",
                "--task-definition",
                "tutorial-site:4",
                "--poll-interval",
                "20s",
                "--timeout",
                "1000s"
            ]
        );
        let mut vars = vars.to_vec();
        vars.push(("PARAM_FAIL_ON_VERIFICATION_TIMEOUT", "0"));
        let error = run(Step::VerifyRevisionIsDeployed, &vars).unwrap_err();
        assert!(error.message.contains("times out"), "{}", error.message);
    }

    #[test]
    fn every_step_is_an_orb_command_of_the_table() {
        let table: serde_json::Value = serde_json::from_str(TABLE_JSON).unwrap();
        for step in Step::ALL {
            let command = &table["commands"][step.orb_command()];
            assert_eq!(command["step"], step.name().as_str(), "{step:?}");
            assert!(!step.params().is_empty(), "{step:?} reads no parameter");
        }
    }

    #[test]
    fn every_step_names_each_parameter_once() {
        for step in Step::ALL {
            let mut names: Vec<_> = step.params().iter().map(|p| p.name).collect();
            let count = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), count, "{step:?} lists a parameter twice");
        }
    }
    #[test]
    fn the_aws_ecr_orbs_repository_commands_become_repo_subcommands() {
        let create = [
            ("PARAM_REPO", "tutorial-site-registry"),
            ("PARAM_PROFILE_NAME", "default"),
            ("PARAM_REPO_SCAN_ON_PUSH", "1"),
            ("PARAM_PUBLIC_REGISTRY", "0"),
            ("PARAM_REPO_ENCRYPTION_TYPE", "KMS"),
            ("PARAM_ENCRYPTION_KMS_KEY", "alias/ecr"),
            ("PARAM_IMAGE_TAG_MUTABILITY", "IMMUTABLE_WITH_EXCLUSION"),
            ("PARAM_IMAGE_TAG_EXCLUSION_FILTERS", "latest,dev-*"),
            ("PARAM_REPO_TAG", r#"[{"Key":"team","Value":"web"}]"#),
        ];
        assert_eq!(
            run(Step::CreateRepo, &create).unwrap(),
            [
                "repo",
                "create",
                "--repo",
                "tutorial-site-registry",
                "--repo-scan-on-push=true",
                "--repo-encryption-type",
                "KMS",
                "--repo-kms-key",
                "alias/ecr",
                "--repo-tag-mutability",
                "IMMUTABLE_WITH_EXCLUSION",
                "--repo-tag-mutability-exclusion",
                "latest",
                "--repo-tag-mutability-exclusion",
                "dev-*",
                "--repo-tags",
                r#"[{"Key":"team","Value":"web"}]"#
            ]
        );
        let policy = [
            ("PARAM_REPO", "tutorial-site-registry"),
            ("PARAM_REPO_POLICY_PATH", "policy.json"),
        ];
        assert_eq!(
            run(Step::SetRepoPolicy, &policy).unwrap(),
            [
                "repo",
                "policy",
                "--repo",
                "tutorial-site-registry",
                "--repo-policy-path",
                "policy.json"
            ]
        );
        let error = run(Step::SetRepoPolicy, &policy[..1]).unwrap_err();
        assert!(
            error.message.contains("repo_policy_path is empty"),
            "{}",
            error.message
        );
        let tag = [
            ("PARAM_ACCOUNT_ID", "${AWS_ACCOUNT_ID}"),
            ("AWS_ACCOUNT_ID", "123456789012"),
            ("PARAM_REPO", "tutorial-site-registry"),
            ("PARAM_TAG", r#"[{"Key":"team","Value":"web"}]"#),
        ];
        assert_eq!(
            run(Step::TagRepo, &tag).unwrap(),
            [
                "repo",
                "tag",
                "--registry-id",
                "123456789012",
                "--repo",
                "tutorial-site-registry",
                "--repo-tags",
                r#"[{"Key":"team","Value":"web"}]"#
            ]
        );
    }

    #[test]
    fn ecr_public_repositories_leave_private_settings_at_their_default_out() {
        let public = [
            ("PARAM_REPO", "tutorial-site"),
            ("PARAM_PUBLIC_REGISTRY", "1"),
            ("PARAM_REPO_SCAN_ON_PUSH", "1"),
            ("PARAM_REPO_ENCRYPTION_TYPE", "AES256"),
            ("PARAM_IMAGE_TAG_MUTABILITY", "MUTABLE"),
        ];
        assert_eq!(
            run(Step::CreateRepo, &public).unwrap(),
            [
                "repo",
                "create",
                "--repo",
                "tutorial-site",
                "--public-registry"
            ]
        );
        let mut immutable = public.to_vec();
        immutable.push(("PARAM_IMAGE_TAG_MUTABILITY", "IMMUTABLE"));
        let error = run(Step::CreateRepo, &immutable).unwrap_err();
        assert!(
            error.message.contains("image_tag_mutability") && error.message.contains("ECR Public"),
            "{}",
            error.message
        );
        let mut push = seed_push();
        push.push(("PARAM_PUBLIC_REGISTRY", "1"));
        let args = run(Step::Push, &push).unwrap().join(" ");
        assert!(
            !args.contains("--repo-encryption-type") && !args.contains("--repo-scan-on-push"),
            "{args}"
        );
    }

    #[test]
    fn tag_image_takes_the_put_image_extra_args_that_mean_something() {
        let vars = [
            ("PARAM_ACCOUNT_ID", ""),
            ("PARAM_REGION", "${AWS_DEFAULT_REGION}"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("PARAM_REPO", "tutorial-site-registry"),
            ("PARAM_SOURCE_TAG", "${CIRCLE_SHA1}"),
            ("CIRCLE_SHA1", "0a1b2c3"),
            ("PARAM_TARGET_TAG", "production,stable"),
            ("PARAM_SKIP_WHEN_TAGS_EXIST", "1"),
            (
                "PARAM_EXTRA_ARGS",
                "--region=eu-central-1 --registry-id=210987654321 --no-cli-pager",
            ),
        ];
        assert_eq!(
            run(Step::TagImage, &vars).unwrap(),
            [
                "tag-image",
                "--region",
                "eu-central-1",
                "--repo",
                "tutorial-site-registry",
                "--source-tag",
                "0a1b2c3",
                "--target-tag",
                "production,stable",
                "--skip-when-tags-exist",
                "--registry-id",
                "210987654321"
            ]
        );
        let mut twice = vars.to_vec();
        twice.push(("PARAM_ACCOUNT_ID", "123456789012"));
        let error = run(Step::TagImage, &twice).unwrap_err();
        assert!(error.message.contains("give it once"), "{}", error.message);
        let mut no_source = vars.to_vec();
        no_source.push(("PARAM_SOURCE_TAG", ""));
        let error = run(Step::TagImage, &no_source).unwrap_err();
        assert!(
            error.message.contains("source_tag is empty"),
            "{}",
            error.message
        );
    }

    #[test]
    fn build_image_and_push_image_split_the_push() {
        let build = [
            ("PARAM_ACCOUNT_ID", "123456789012"),
            ("PARAM_REPO", "tutorial-site-registry"),
            ("PARAM_TAG", "latest,v2"),
            ("PARAM_PLATFORM", "linux/amd64,linux/arm64"),
            ("PARAM_PUSH_IMAGE", "0"),
            (
                "PARAM_EXTRA_BUILD_ARGS",
                "--progress plain --add-host db:10.0.0.5",
            ),
            ("PARAM_BINFMT_VERSION", "qemu-v7.0.0-28"),
        ];
        assert_eq!(
            run(Step::BuildImage, &build).unwrap(),
            [
                "push",
                "--registry-id",
                "123456789012",
                "--repo",
                "tutorial-site-registry",
                "--tag",
                "latest,v2",
                "--add-host",
                "db:10.0.0.5",
                "--platform",
                "linux/amd64,linux/arm64",
                "--no-push"
            ]
        );
        assert_eq!(
            run(Step::PushImage, &build[..3]).unwrap(),
            [
                "push",
                "--no-build",
                "--registry-id",
                "123456789012",
                "--repo",
                "tutorial-site-registry",
                "--tag",
                "latest,v2"
            ]
        );
    }

    /// Debian's qemu-user-static handler for arm64 and tonistiigi/binfmt's for amd64.
    fn handlers() -> Vec<BinfmtHandler> {
        vec![
            BinfmtHandler::parse(
                "qemu-aarch64",
                "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n",
            )
            .unwrap(),
        ]
    }

    #[test]
    fn binfmt_needs_handlers_only_for_foreign_platforms_without_one() {
        let platforms = |list: &'static str| {
            move |name: &str| (name == "PARAM_PLATFORM").then(|| list.to_string())
        };
        let needed = |list: &'static str, handlers: Option<&[BinfmtHandler]>| {
            binfmt_needed(&platforms(list), "amd64", handlers).unwrap()
        };
        assert!(needed("linux/amd64", Some(&[])).is_empty());
        assert_eq!(
            needed("linux/amd64, linux/arm64,linux/arm/v7", Some(&[])),
            ["arm64", "arm"]
        );
        assert_eq!(
            needed("linux/amd64,linux/arm64,linux/arm/v7", Some(&handlers())),
            ["arm"]
        );
        // A remote engine's handlers are unknown here: every foreign one is installed.
        assert_eq!(needed("linux/arm64", None), ["arm64"]);
        let error = binfmt_needed(&platforms("linux"), "amd64", Some(&[])).unwrap_err();
        assert!(error.message.contains("linux"), "{}", error.message);
    }

    #[test]
    fn account_url_names_the_registry_host_read_through() {
        let mut vars = seed_push();
        vars.retain(|(k, _)| !matches!(*k, "PARAM_REGION" | "PARAM_ACCOUNT_ID"));
        vars.extend([
            ("PARAM_ACCOUNT_URL", "AWS_ECR_ACCOUNT_URL"),
            (
                "AWS_ECR_ACCOUNT_URL",
                "https://210987654321.dkr.ecr.us-west-2.amazonaws.com",
            ),
        ]);
        let args = run(Step::Push, &vars).unwrap().join(" ");
        assert!(
            args.starts_with("push --region us-west-2 --registry-id 210987654321 --repo"),
            "{args}"
        );
        assert!(!args.contains("--registry "), "{args}");

        // 0.0.x: the host itself; another registry is --registry.
        vars.retain(|(k, _)| *k != "PARAM_ACCOUNT_URL");
        vars.push(("PARAM_ACCOUNT_URL", "127.0.0.1:5000"));
        let args = run(Step::Push, &vars).unwrap().join(" ");
        assert!(args.contains("--registry 127.0.0.1:5000"), "{args}");

        // An unset variable: ECR's own registry, as if account_url were not given.
        vars.retain(|(k, _)| *k != "PARAM_ACCOUNT_URL");
        vars.push(("PARAM_ACCOUNT_URL", "UNSET_ACCOUNT_URL"));
        let args = run(Step::Push, &vars).unwrap().join(" ");
        assert!(!args.contains("--registry"), "{args}");

        // Disagreeing with region or account_id is refused, naming account_url.
        vars.retain(|(k, _)| *k != "PARAM_ACCOUNT_URL");
        vars.extend([
            ("PARAM_ACCOUNT_URL", "AWS_ECR_ACCOUNT_URL"),
            ("PARAM_REGION", "eu-west-1"),
        ]);
        let error = run(Step::Push, &vars).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(
            error.to_string().contains("registry in us-west-2"),
            "{error}"
        );
        vars.retain(|(k, _)| *k != "PARAM_REGION");
        vars.push(("PARAM_ACCOUNT_ID", "123456789012"));
        let error = run(Step::Push, &vars).unwrap_err();
        assert!(error.to_string().contains("give one of them"), "{error}");
    }

    #[test]
    fn an_empty_build_path_is_the_path_as_before_aws_ecr_8_2() {
        let mut vars = seed_push();
        vars.retain(|(k, _)| !matches!(*k, "PARAM_BUILD_PATH" | "PARAM_PATH"));
        vars.extend([("PARAM_BUILD_PATH", ""), ("PARAM_PATH", "app")]);
        let args = run(Step::Push, &vars).unwrap().join(" ");
        assert!(args.contains("--build-path app --path app"), "{args}");
    }

    #[test]
    fn an_unset_variable_name_is_no_region() {
        let mut vars = seed_push();
        vars.retain(|(k, _)| *k != "PARAM_REGION");
        vars.push(("PARAM_REGION", "AWS_REGION"));
        let args = run(Step::Push, &vars).unwrap().join(" ");
        assert!(!args.contains("--region"), "{args}");
    }

    fn keys(vars: &[(&str, &str)]) -> Result<Option<StaticCredentials>> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        credentials(Step::UpdateService, &|name| vars.get(name).cloned())
    }

    #[test]
    fn credentials_come_from_the_variables_the_parameters_name() {
        // The standard names (or none): the SDK's own chain reads them.
        assert_eq!(keys(&[]).unwrap(), None);
        assert_eq!(
            keys(&[
                ("PARAM_AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
                ("PARAM_AWS_SECRET_ACCESS_KEY", "$AWS_SECRET_ACCESS_KEY"),
            ])
            .unwrap(),
            None
        );
        let named = keys(&[
            ("PARAM_AWS_ACCESS_KEY_ID", "PROD_KEY_ID"),
            ("PARAM_AWS_SECRET_ACCESS_KEY", "${PROD_SECRET}"),
            ("PROD_KEY_ID", "AKIAPROD"),
            ("PROD_SECRET", "prod-secret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(named.access_key_id, "AKIAPROD");
        assert_eq!(named.secret_access_key.expose(), "prod-secret");
        // One named, the other standard: both are read.
        let mixed = keys(&[
            ("PARAM_AWS_ACCESS_KEY_ID", "PROD_KEY_ID"),
            ("PROD_KEY_ID", "AKIAPROD"),
            ("AWS_SECRET_ACCESS_KEY", "standard-secret"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(mixed.secret_access_key.expose(), "standard-secret");
    }

    #[test]
    fn credentials_refuse_unset_variables_and_keys_given_as_values() {
        let error = keys(&[("PARAM_AWS_ACCESS_KEY_ID", "PROD_KEY_ID")]).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Usage);
        assert!(
            error
                .to_string()
                .contains("the variable named in aws_access_key_id is not set"),
            "{error}"
        );
        // Issue 20: a letters-and-digits secret key given where a variable's name belongs reads
        // as a name; it is never printed.
        let error = keys(&[
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            (
                "PARAM_AWS_SECRET_ACCESS_KEY",
                "WJALRXUTNFEMIK7MDENGBPXRFICY",
            ),
        ])
        .unwrap_err();
        let text = format!("{error} {:?}", error);
        assert!(!text.contains("WJALRXUTNFEMIK7MDENGBPXRFICY"), "{text}");
        assert!(
            text.contains("the variable named in aws_secret_access_key is not set"),
            "{text}"
        );
        let error = keys(&[("PARAM_AWS_SECRET_ACCESS_KEY", "wJalr/K7MDENG+bPxRfiCY")]).unwrap_err();
        let text = format!("{error} {:?}", error);
        assert!(text.contains("is not the name of a variable"), "{text}");
        assert!(
            !text.contains("wJalr"),
            "the value never reaches the message: {text}"
        );
    }
}
