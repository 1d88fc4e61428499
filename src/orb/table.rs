//! `orb/parameters.json` as deployer reads it: each orb command's parameters that deployer
//! makes something of (a `becomes`), with what each becomes, in the order their flags are
//! written. The same file writes the orb's YAML (`scripts/orb.py generate`).
use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// One orb parameter and what it becomes.
#[derive(Debug, Serialize)]
pub struct Param {
    pub name: &'static str,
    #[serde(flatten)]
    pub kind: Kind,
    /// The table's `only_shapes_the_wait`: left out when the step does not wait
    /// (`verify_revision_is_deployed: false`).
    #[serde(skip)]
    pub only_shapes_the_wait: bool,
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
pub(super) const TABLE_JSON: &str = include_str!("../../orb/parameters.json");

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
    #[serde(default)]
    only_shapes_the_wait: bool,
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
            params.push(Param {
                name,
                kind,
                only_shapes_the_wait: definition.only_shapes_the_wait,
            });
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

/// The parameters of the orb command `orb_command` that deployer reads (none for a command the
/// table does not have).
pub fn params_of(orb_command: &str) -> &'static [Param] {
    TABLE
        .get(orb_command)
        .map(Vec::as_slice)
        .unwrap_or_default()
}
