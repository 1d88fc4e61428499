//! The command line as clap parses it: flags, their help, defaults and environment variables.
//! Nothing here decides anything; `settings` turns these into the commands' settings. `push`'s
//! flags live in [`push`].
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::adapters::aws::StaticCredentials;
use crate::domain::duration::{parse_duration, parse_positive_duration};
use crate::env;
use crate::orb;

/// Shown under every `--help`: what each exit code promises.
const EXIT_CODES: &str = "Exit codes: 0 done; 1 the work failed (a build step, a push refused, a rollout failed, \
rolled back, replaced or timed out); 2 bad input or refused (flags, files, names, a profile that does not exist), \
nothing was changed; 3 the environment lacks credentials, a region, an OIDC token or a program on PATH, or AWS, Docker or the \
registry refused or could not be reached, nothing was changed; 4 failed after changing something \
(the error lists what); 130 interrupted. run-task --wait alone exits with its container's own exit code when that is not 0.";

/// Build, push and deploy container images to Amazon ECR and ECS.
#[derive(Debug, Parser)]
#[command(name = "deployer", version, about, long_about = None, max_term_width = 100, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log detail: -v deployer's debug log, -vv the SDKs' too, -vvv everything. RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only warnings, errors and data.
    #[arg(short, long, global = true, env = env::DEPLOYER_QUIET)]
    pub quiet: bool,

    /// How data on stdout is printed.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true, env = env::DEPLOYER_OUTPUT)]
    pub output: OutputFormat,

    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// AWS profile from ~/.aws/config (default: AWS_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,

    /// Assume this IAM role with CircleCI's OIDC token (CIRCLE_OIDC_TOKEN_V2 or CIRCLE_OIDC_TOKEN).
    #[arg(long, global = true, env = env::DEPLOYER_ROLE_ARN)]
    pub role_arn: Option<String>,

    /// Session name for --role-arn [default: deployer-$CIRCLE_BUILD_NUM, or deployer].
    #[arg(long, global = true, env = env::DEPLOYER_ROLE_SESSION_NAME)]
    pub role_session_name: Option<String>,

    /// Write one JSON line per AWS call (operation, request, answer, time), tokens, keys and
    /// environment values redacted, for a bug report or a replay test.
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,

    /// Print environment values and secrets' sources in --dry-run plans and run-task's
    /// --output-file, which show them as <set> otherwise.
    #[arg(long, global = true)]
    pub show_values: bool,

    /// Keys an orb step read from the variables its parameters name (never a flag: a secret
    /// on the command line would reach process listings).
    #[arg(skip)]
    pub static_credentials: Option<StaticCredentials>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to ECR, build the image through the Docker daemon, push every tag, print REGISTRY/REPO@DIGEST.
    Push(Box<PushCommand>),
    /// Register a new task-definition revision, roll the service to it, wait until it is really done.
    UpdateService(Box<UpdateServiceCommand>),
    /// push, then update-service with the image just pushed.
    Deploy(Box<DeployCommand>),
    /// What update-service would change, as a unified diff on stdout: exit 0 when nothing, 1
    /// when something would (as diff does).
    Diff(Box<DiffCommand>),
    /// Check that what a revision needs to start exists (every image, secret source, awslogs
    /// group, role and its trust, a Fargate size), one line per check on stdout: exit 0, 1 when
    /// something is missing or invalid, 3 when AWS cannot be asked. Changes nothing.
    Verify(Box<VerifyCommand>),
    /// Re-deploy the revision the service ran before its latest deployment, and wait.
    Rollback(Box<RollbackCommand>),
    /// Wait until the service runs a revision (default: its newest deployment's), as update-service waits.
    Wait(Box<WaitCommand>),
    /// Resume a deployment paused at a PAUSE lifecycle hook (or roll it back with --rollback), then wait as update-service waits.
    Continue(Box<ContinueCommand>),
    /// Run a one-off task (a migration): plan, RunTask, and with --wait its logs and its container's exit code.
    RunTask(Box<RunTaskCommand>),
    /// Print the RegisterTaskDefinition input update-service would send (offline), or with --from-service the revision a service runs as a file to keep.
    #[command(visible_alias = "render")]
    RenderTaskDefinition(Box<RenderCommand>),
    /// Register a new task-definition revision (of the family's latest, or of a file); no service is touched.
    RegisterTaskDefinition(Box<RegisterCommand>),
    /// Deregister a family's old ACTIVE revisions: the newest --keep N and every revision a service, rule or schedule uses are kept.
    Deregister(Box<DeregisterCommand>),
    /// Write ECR credentials into the Docker CLI's config file (mode 0600) for later docker commands.
    EcrLogin(EcrLoginArgs),
    /// Add tags to an image already in ECR without pulling it (an index keeps every platform); print REGISTRY/REPO@DIGEST.
    TagImage(TagImageArgs),
    /// Create an ECR repository, set its policies, or tag it.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// The CircleCI orb's entry point: run a step with its parameters from PARAM_* variables.
    #[command(subcommand)]
    Orb(OrbCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrbCommand {
    /// Run the deployer command of an orb step; its flags come from the step's PARAM_* variables.
    Run {
        #[arg(value_enum)]
        step: orb::Step,
    },
    /// Print every orb parameter and the deployer flags it becomes, as JSON.
    Params,
    /// Print the deployer command line the step's parameters make (PARAM_* variables), as a JSON
    /// list of arguments, and run nothing: what `orb run` would run, with its decisions logged.
    Plan {
        #[arg(value_enum)]
        step: orb::Step,
    },
    /// Print the architectures of the step's platforms (PARAM_PLATFORM) that need QEMU handlers
    /// installed, comma-separated: foreign ones no binfmt_misc handler runs (all foreign ones
    /// for a remote Docker engine); nothing when none do. The orb's binfmt step installs them.
    Binfmt,
    /// Configure the AWS CLI for the job's later steps as the aws-ecs orb's 0.0.x-3.x jobs did:
    /// the region (PARAM_REGION, read through) for the profile PARAM_PROFILE_NAME in the config
    /// file, the keys the variables PARAM_AWS_ACCESS_KEY_ID / PARAM_AWS_SECRET_ACCESS_KEY name
    /// in the credentials file (mode 0600).
    AwsCliConfig,
}

// `push`'s flags (and the registry and repository flags `deploy` and `repo` share with it).
mod push;
mod run_task;
pub use push::*;
pub use run_task::*;

/// The aws-ecs orb's update flags, in its syntax (several containers per value; repeatable).
#[derive(Debug, Args)]
pub struct UpdateFlags {
    /// container=NAME,tag=TAG | image=IMAGE | image-and-tag=IMAGE:TAG | digest=sha256:…
    #[arg(long, value_name = "SPEC")]
    pub container_image_name_updates: Vec<String>,

    /// container=NAME,name=KEY,value=VALUE (upserted by name)
    #[arg(long, value_name = "SPEC")]
    pub container_env_var_updates: Vec<String>,

    /// container=NAME,name=KEY (removes the variable)
    #[arg(long, value_name = "SPEC")]
    pub container_env_var_removals: Vec<String>,

    /// container=NAME,name=KEY,valueFrom=ARN (upserted by name)
    #[arg(long, value_name = "SPEC")]
    pub container_secret_updates: Vec<String>,

    /// container=NAME,KEY=VALUE[,KEY=VALUE…]
    #[arg(long, value_name = "SPEC")]
    pub container_docker_label_updates: Vec<String>,

    /// Tags for the new revision, upserted by key: key=K,value=V [key=K2,value=V2…] or [{"key":…,"value":…}]
    #[arg(long, value_name = "SPEC")]
    pub task_definition_tags: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// The ECS cluster (name or ARN).
    #[arg(long, env = env::DEPLOYER_CLUSTER)]
    pub cluster: String,

    /// The service [default: the family name, as in the aws-ecs orb]. Repeat it (or use
    /// --services) to release several services together: planned together, updated and
    /// followed at once, and put back on their previous revisions when one fails.
    #[arg(long = "service", alias = "service-name", env = env::DEPLOYER_SERVICE)]
    pub service: Vec<String>,

    /// Several services released together, comma-separated (as repeating --service).
    #[arg(long, value_delimiter = ',', value_name = "SERVICE,...")]
    pub services: Vec<String>,

    /// With several services: how many are updated and followed at the same time [default:
    /// all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_parallel: Option<u16>,

    /// With several services: when one fails, leave the others as they end instead of putting
    /// them back on the revision they ran before.
    #[arg(long)]
    pub no_rollback_others: bool,
}

/// What the new revision is made from: the family's latest revision, or a file.
#[derive(Debug, Args)]
pub struct TaskDefinitionArgs {
    /// The task definition family whose latest revision is the base of the new one [default with --task-definition-file: the file's family].
    #[arg(long, env = env::DEPLOYER_FAMILY)]
    pub family: Option<String>,

    /// Register this file instead of the family's latest revision: a RegisterTaskDefinition input or the output of aws ecs describe-task-definition (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub task_definition_file: Option<PathBuf>,
}

/// Scheduled tasks that follow the family to the new revision.
#[derive(Debug, Args)]
pub struct ScheduledTaskArgs {
    /// Point this EventBridge rule's ECS targets of the family at the new revision, every other setting kept (repeatable).
    #[arg(
        long = "update-scheduled-task",
        alias = "rule-name",
        value_name = "RULE"
    )]
    pub rules: Vec<String>,

    /// Point this EventBridge Scheduler schedule's ECS target at the new revision, every other field kept (repeatable).
    #[arg(long = "update-schedule", value_name = "NAME")]
    pub schedules: Vec<String>,

    /// The schedule group of --update-schedule.
    #[arg(long, default_value = "default", value_name = "GROUP")]
    pub schedule_group: String,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub task_definition: TaskDefinitionArgs,

    #[command(flatten)]
    pub service: ServiceArgs,

    #[command(flatten)]
    pub updates: UpdateFlags,

    #[command(flatten)]
    pub scheduled: ScheduledTaskArgs,

    /// Let the service move to --family when it runs another family (without it, that is
    /// refused: a migration family rolled onto the web service by mistake).
    #[arg(long)]
    pub allow_family_change: bool,

    /// Deploy the family's latest revision as it is, registering nothing.
    #[arg(long)]
    pub skip_task_definition_registration: bool,

    /// After a successful deploy, deregister the family's older ACTIVE revisions but the newest
    /// N and those in use (as `deployer deregister --keep N` does, every cluster looked at); a
    /// failure to deregister is a warning, not a failed deploy.
    #[arg(long, value_name = "N")]
    pub keep_revisions: Option<u32>,

    /// Skip the plan's checks that what the revision needs exists (every image, secret source,
    /// awslogs group, role and its trust, a Fargate size: see deployer verify).
    #[arg(long)]
    pub no_verify: bool,

    /// Start new tasks even when the task definition did not change.
    #[arg(long)]
    pub force_new_deployment: bool,

    /// Set the service's desired count (0 to 5000, ECS's limit of tasks per service).
    #[arg(long, allow_negative_numbers = true, value_name = "N")]
    pub desired_count: Option<i64>,

    /// Turn on the deployment circuit breaker with rollback (other deployment settings are kept).
    #[arg(long)]
    pub enable_circuit_breaker: bool,

    /// Change the service's deployment strategy (other deployment settings are kept; without
    /// it the service's own strategy is used). blue-green, linear and canary shift traffic
    /// through the load balancer's alternate target group.
    #[arg(long, value_enum, help_heading = "Deployment strategy")]
    pub strategy: Option<StrategyArg>,

    /// How long both revisions run after production traffic shifted (blue-green, linear,
    /// canary), in whole minutes (e.g. 5m; a bare number is seconds).
    #[arg(long, value_parser = duration, help_heading = "Deployment strategy")]
    pub bake_time: Option<std::time::Duration>,

    /// linear: the share of production traffic each step shifts (3 to 100, in tenths).
    #[arg(
        long,
        help_heading = "Deployment strategy",
        allow_negative_numbers = true
    )]
    pub linear_step_percent: Option<f64>,

    /// linear: how long each step bakes before the next (whole minutes, e.g. 6m).
    #[arg(long, value_parser = duration, help_heading = "Deployment strategy")]
    pub linear_step_bake_time: Option<std::time::Duration>,

    /// canary: the share of production traffic the canary gets first (0.1 to 100, in tenths).
    #[arg(
        long,
        help_heading = "Deployment strategy",
        allow_negative_numbers = true
    )]
    pub canary_percent: Option<f64>,

    /// canary: how long the canary bakes before the rest of the traffic shifts (whole minutes, e.g. 10m).
    #[arg(long, value_parser = duration, help_heading = "Deployment strategy")]
    pub canary_bake_time: Option<std::time::Duration>,

    /// rolling: ECS's early success criteria: the deployment succeeds once PERCENT of the
    /// desired tasks of the new revision are healthy (at least minimumHealthyPercent), the old
    /// tasks removed first, or after with `,deferred`; `off` turns them off.
    #[arg(
        long,
        value_name = "PERCENT[,deferred]|off",
        help_heading = "Deployment strategy"
    )]
    pub early_success: Option<String>,

    /// Once test traffic reaches the new revision (blue-green, linear, canary; for a CODE_DEPLOY
    /// service, the deployment group's ready wait), run this shell command (sh -c) against it:
    /// exit 0 lets the deployment go on; anything else, or its timeout, rolls it back before
    /// production traffic reaches it. CMD gets DEPLOYER_TEST_URL,
    /// DEPLOYER_SERVICE, DEPLOYER_TASK_DEFINITION_ARN, DEPLOYER_IMAGE and
    /// DEPLOYER_SERVICE_DEPLOYMENT_ARN (README: "Smoke tests").
    #[arg(long, value_name = "CMD", help_heading = "Smoke test")]
    pub smoke_test: Option<String>,

    /// How long --smoke-test's command may run before it is stopped and the deployment rolled
    /// back (a bare number is seconds) [default: 10m].
    #[arg(
        long,
        value_parser = positive_duration,
        requires = "smoke_test",
        help_heading = "Smoke test"
    )]
    pub smoke_test_timeout: Option<std::time::Duration>,

    #[command(flatten)]
    pub codedeploy: CodeDeployArgs,

    /// Show the plan (current revision, the new one, what changes) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Create the service, running the new revision, when it does not exist (the orb's create_service).
    #[arg(long)]
    pub create_service: bool,

    /// With --create-service: subnets of the tasks' network interfaces (awsvpc), comma-separated.
    #[arg(long, value_delimiter = ',', requires = "create_service")]
    pub subnets: Vec<String>,

    /// With --create-service: security groups of the tasks' network interfaces, comma-separated.
    #[arg(long, value_delimiter = ',', requires = "create_service")]
    pub security_groups: Vec<String>,

    /// With --create-service: whether tasks get a public IP.
    #[arg(long, value_enum, requires = "create_service")]
    pub assign_public_ip: Option<PublicIp>,

    /// With --create-service: the load balancer's target group ARN (with --container-name and --container-port).
    #[arg(long, requires_all = ["create_service", "container_name", "container_port"])]
    pub target_group: Option<String>,

    /// With --target-group: the container the load balancer sends traffic to.
    #[arg(long, requires = "target_group")]
    pub container_name: Option<String>,

    /// With --target-group: that container's port (1 to 65535).
    #[arg(long, requires = "target_group", allow_negative_numbers = true)]
    pub container_port: Option<i64>,

    /// With --create-service: FARGATE, EC2 or EXTERNAL [default: FARGATE for Fargate-only task definitions].
    #[arg(long, value_enum, requires = "create_service")]
    pub launch_type: Option<LaunchTypeArg>,
}

/// How a service with the CODE_DEPLOY deployment controller is deployed (the aws-ecs orb's
/// codedeploy_* parameters).
#[derive(Debug, Args)]
pub struct CodeDeployArgs {
    /// The CodeDeploy application (required for a CODE_DEPLOY service).
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "CodeDeploy (services with the CODE_DEPLOY controller)"
    )]
    pub codedeploy_application: Option<String>,

    /// The deployment group, which must deploy this service (required for a CODE_DEPLOY service).
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "CodeDeploy (services with the CODE_DEPLOY controller)"
    )]
    pub codedeploy_deployment_group: Option<String>,

    /// The container the load balancer sends traffic to [default: the service's load balancer's].
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "CodeDeploy (services with the CODE_DEPLOY controller)"
    )]
    pub codedeploy_container_name: Option<String>,

    /// That container's port (1 to 65535) [default: the service's load balancer's].
    #[arg(
        long,
        value_name = "PORT",
        allow_negative_numbers = true,
        help_heading = "CodeDeploy (services with the CODE_DEPLOY controller)"
    )]
    pub codedeploy_container_port: Option<i64>,

    /// The deployment configuration, e.g. CodeDeployDefault.ECSCanary10Percent5Minutes
    /// [default: the deployment group's].
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "CodeDeploy (services with the CODE_DEPLOY controller)"
    )]
    pub codedeploy_deployment_config: Option<String>,

    /// The capacity provider the new tasks run on: NAME or NAME,BASE,WEIGHT.
    #[arg(
        long,
        value_name = "NAME[,BASE,WEIGHT]",
        help_heading = "CodeDeploy (services with the CODE_DEPLOY controller)"
    )]
    pub codedeploy_capacity_provider: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Return once ECS accepted the update, without waiting for the rollout (no wait flag
    /// goes with it).
    #[arg(long, conflicts_with_all = WAIT_FLAGS)]
    pub no_wait: bool,

    #[command(flatten)]
    pub options: WaitOptions,
}

/// The ids of `WaitOptions`' flags, which `--no-wait` refuses.
const WAIT_FLAGS: [&str; 8] = [
    "timeout",
    "poll_interval",
    "wait_until",
    "rollback_on_cancel",
    "settle_time",
    "fail_on_placement_errors",
    "no_follow_rollback",
    "failure_log_lines",
];

/// How to wait for a deployment: shared by every command that waits for one.
#[derive(Debug, Args)]
pub struct WaitOptions {
    /// Give up waiting after this long (e.g. 90s, 10m, 1h30m; a bare number is seconds; more
    /// than 0). Default: 10m, plus the service's bake time, linear or canary step bakes and
    /// pause-hook timeouts (the log says how it added up).
    #[arg(long, value_parser = positive_duration)]
    pub timeout: Option<std::time::Duration>,

    /// Time between polls of the service (jittered; backs off when throttled; a bare number is
    /// seconds; more than 0).
    #[arg(long, default_value = "5s", value_parser = positive_duration)]
    pub poll_interval: std::time::Duration,

    /// stable: ours done (ServiceDeployment SUCCESSFUL, or COMPLETED with the old deployment
    /// gone); running: ours runs its desired count, every task RUNNING and healthy for
    /// --settle-time; bake-time: production traffic is on ours and it bakes (blue/green, linear,
    /// canary); paused: ours waits at a PAUSE lifecycle hook (approve with `deployer continue`).
    #[arg(long, value_enum, default_value_t = WaitUntilArg::Stable)]
    pub wait_until: WaitUntilArg,

    /// On timeout, Ctrl-C or SIGTERM (a cancelled CI job), ask ECS to roll our deployment back
    /// (StopServiceDeployment ROLLBACK) and wait for the rollback.
    #[arg(long)]
    pub rollback_on_cancel: bool,

    /// When ECS rolls our deployment back, exit 1 at once instead of following the rollback to
    /// its end (ROLLBACK_SUCCESSFUL: the previous revision serves again; ROLLBACK_FAILED: the
    /// service needs a person).
    #[arg(long)]
    pub no_follow_rollback: bool,

    /// With --wait-until running: how long our tasks must stay running and healthy (a bare
    /// number is seconds; 0: healthy once is enough) [default: 15s].
    #[arg(long, value_parser = duration)]
    pub settle_time: Option<std::time::Duration>,

    /// Fail as soon as ECS reports it cannot place tasks.
    #[arg(long)]
    pub fail_on_placement_errors: bool,

    /// When the deployment fails, rolls back or times out: show the last N lines each stopped
    /// task's essential containers wrote to CloudWatch Logs (awslogs), environment values
    /// masked (0: none).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        allow_negative_numbers = true
    )]
    pub failure_log_lines: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    Rolling,
    BlueGreen,
    Linear,
    Canary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaitUntilArg {
    Stable,
    Running,
    BakeTime,
    Paused,
}

#[derive(Debug, Args)]
pub struct UpdateServiceCommand {
    #[command(flatten)]
    pub update: UpdateArgs,

    #[command(flatten)]
    pub wait: WaitArgs,

    /// Append DEPLOYER_TASK_DEFINITION_ARN=… and friends to this file (e.g. $BASH_ENV).
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyCommand {
    /// The revision to check: --family FAMILY (its latest revision) or FAMILY:REVISION, or
    /// --task-definition-file FILE.
    #[command(flatten)]
    pub task_definition: TaskDefinitionArgs,

    /// Container updates to check the revision with, as update-service would render it.
    #[command(flatten)]
    pub updates: UpdateFlags,
}

#[derive(Debug, Args)]
pub struct DiffCommand {
    /// update-service's flags: the diff is of what it would do with them.
    #[command(flatten)]
    pub update: UpdateArgs,
}

#[derive(Debug, Args)]
pub struct RenderCommand {
    /// A RegisterTaskDefinition input or the output of aws ecs describe-task-definition (`-` for stdin).
    #[arg(
        long = "task-definition-file",
        visible_alias = "input",
        value_name = "FILE",
        required_unless_present = "from_service"
    )]
    pub input: Option<PathBuf>,

    /// Instead of a file: the revision this service runs, with its tags, written as a
    /// registrable file (read-only fields left out, keys in a stable order) to keep in the
    /// repository and deploy with --task-definition-file.
    #[arg(
        long,
        value_name = "SERVICE",
        conflicts_with = "input",
        requires = "cluster"
    )]
    pub from_service: Option<String>,

    /// The cluster of --from-service.
    #[arg(long, value_name = "CLUSTER", requires = "from_service")]
    pub cluster: Option<String>,

    /// Write a template: the image of each --container and of each container whose image is
    /// of a --repo becomes {{ image }}, which update-service's
    /// --container-image-name-updates container=NAME,image-and-tag=… or deploy's pushed image
    /// fills in.
    #[arg(long)]
    pub template: bool,

    /// With --template: a container whose image becomes {{ image }} (repeatable).
    #[arg(long = "container", value_name = "NAME", requires = "template")]
    pub template_containers: Vec<String>,

    /// With --template: every container whose image is of this repository (e.g.
    /// tutorial-site-registry) gets {{ image }} (repeatable).
    #[arg(long = "repo", value_name = "REPOSITORY", requires = "template")]
    pub template_repositories: Vec<String>,

    #[command(flatten)]
    pub updates: UpdateFlags,
}

#[derive(Debug, Args)]
pub struct DeregisterCommand {
    /// The task definition family whose old revisions go (e.g. tutorial-site-task).
    #[arg(long, env = env::DEPLOYER_FAMILY)]
    pub family: String,

    /// How many of the newest ACTIVE revisions to keep; 0 keeps only those in use. A revision
    /// in use is kept whatever this says.
    #[arg(long, value_name = "N")]
    pub keep: u32,

    /// A cluster whose services' revisions (every deployment, every task set) are kept
    /// (repeatable) [default: every cluster of the account in the region].
    #[arg(long = "cluster", value_name = "CLUSTER")]
    pub clusters: Vec<String>,

    /// Also delete the deregistered revisions (DeleteTaskDefinitions); they cannot be used again.
    #[arg(long)]
    pub delete: bool,

    /// Show what would be deregistered (on stdout) and what is kept, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RegisterCommand {
    #[command(flatten)]
    pub task_definition: TaskDefinitionArgs,

    #[command(flatten)]
    pub updates: UpdateFlags,

    #[command(flatten)]
    pub scheduled: ScheduledTaskArgs,

    /// Register nothing: point --update-scheduled-task / --update-schedule at this existing revision (FAMILY:REVISION or ARN), e.g. the one an earlier step registered.
    #[arg(long, value_name = "REVISION", conflicts_with = "task_definition_file")]
    pub existing_revision: Option<String>,

    /// Show the plan (the base revision, the new one, what changes, the scheduled tasks) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Append DEPLOYER_TASK_DEFINITION_ARN=… to this file (e.g. $BASH_ENV).
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackCommand {
    #[command(flatten)]
    pub service: RollbackServiceArgs,

    /// Go back to this revision of the service's family instead of the one that ran before:
    /// N, FAMILY:N or the revision's ARN.
    #[arg(long, value_name = "N|FAMILY:N|ARN")]
    pub to_revision: Option<String>,

    #[command(flatten)]
    pub wait: WaitArgs,

    /// Append DEPLOYER_TASK_DEFINITION_ARN=… and friends to this file.
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RollbackServiceArgs {
    /// The ECS cluster (name or ARN).
    #[arg(long, env = env::DEPLOYER_CLUSTER)]
    pub cluster: String,

    /// The service.
    #[arg(long = "service", alias = "service-name", env = env::DEPLOYER_SERVICE)]
    pub service: String,
}

#[derive(Debug, Args)]
pub struct WaitCommand {
    #[command(flatten)]
    pub service: RollbackServiceArgs,

    /// The revision to wait for: ARN, FAMILY:REVISION or FAMILY (its latest revision)
    /// [default: the revision of the service's newest deployment].
    #[arg(long)]
    pub task_definition: Option<String>,

    #[command(flatten)]
    pub wait: WaitOptions,

    /// Append DEPLOYER_TASK_DEFINITION_ARN=… and friends to this file.
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ContinueCommand {
    #[command(flatten)]
    pub service: RollbackServiceArgs,

    /// Reject: roll the paused deployment back (ContinueServiceDeployment ROLLBACK) and wait
    /// for the rollback.
    #[arg(long)]
    pub rollback: bool,

    /// The paused service deployment (ARN or its id) [default: the service's current one].
    #[arg(long, env = env::DEPLOYER_SERVICE_DEPLOYMENT_ARN)]
    pub deployment: Option<String>,

    /// The paused lifecycle hook [default: the one the deployment waits at].
    #[arg(long, env = env::DEPLOYER_HOOK_ID)]
    pub hook_id: Option<String>,

    /// Show what would be resumed, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// For a deployment paused once test traffic reached it (POST_TEST_TRAFFIC_SHIFT): run this
    /// shell command (sh -c) first; exit 0 resumes the deployment, anything else rolls it back
    /// (README: "Smoke tests").
    #[arg(
        long,
        value_name = "CMD",
        conflicts_with = "rollback",
        help_heading = "Smoke test"
    )]
    pub smoke_test: Option<String>,

    /// How long --smoke-test's command may run before it is stopped and the deployment rolled
    /// back (a bare number is seconds) [default: 10m].
    #[arg(
        long,
        value_parser = positive_duration,
        requires = "smoke_test",
        help_heading = "Smoke test"
    )]
    pub smoke_test_timeout: Option<std::time::Duration>,

    #[command(flatten)]
    pub wait: WaitArgs,

    /// Append DEPLOYER_SERVICE_DEPLOYMENT_ARN=…, DEPLOYER_HOOK_ID=… (the next pause) and friends to this file.
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeployCommand {
    #[command(flatten)]
    pub push: PushArgs,

    #[command(flatten)]
    pub update: UpdateArgs,

    #[command(flatten)]
    pub wait: WaitArgs,

    /// The container that gets the pushed image [default: every container running an image of --repo].
    #[arg(long)]
    pub container: Option<String>,

    /// Register the image by the digest just pushed (repo@sha256:…), not by its first tag.
    #[arg(long)]
    pub pin_digest: bool,

    /// Append the push's and the update's KEY=value lines to this file (e.g. $BASH_ENV).
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,
}

pub fn duration(value: &str) -> std::result::Result<std::time::Duration, String> {
    parse_duration(value)
}

pub fn positive_duration(value: &str) -> std::result::Result<std::time::Duration, String> {
    parse_positive_duration(value)
}

#[derive(Debug, Args)]
pub struct EcrLoginArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// The Docker CLI config file to write [default: $DOCKER_CONFIG/config.json or ~/.docker/config.json].
    #[arg(long, value_name = "FILE")]
    pub docker_config: Option<PathBuf>,

    /// Store no token: have the Docker CLI fetch one when it needs it from docker-credential-deployer.
    #[arg(long)]
    pub credential_helper: bool,

    /// Log in to ECR Public (public.ecr.aws) with ecr-public:GetAuthorizationToken in us-east-1, instead of the private registry.
    #[arg(long)]
    pub public_registry: bool,
}

#[derive(Debug, Args)]
pub struct TagImageArgs {
    /// ECR repository name.
    #[arg(long, env = env::DEPLOYER_REPO)]
    pub repo: String,

    /// The tag of the image to tag, e.g. $CIRCLE_SHA1.
    #[arg(long)]
    pub source_tag: String,

    /// Tags to add: repeat the flag or separate with commas.
    #[arg(long = "target-tag", default_value = "latest")]
    pub target_tags: Vec<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Leave every target tag that already exists as it is (whatever image it holds).
    #[arg(long)]
    pub skip_when_tags_exist: bool,

    /// Show what would be tagged and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Create the repository (a repository that exists is left as it is); print its URI.
    Create(RepoCreateArgs),
    /// Apply a repository policy (ecr:SetRepositoryPolicy) and/or a lifecycle policy.
    Policy(RepoPolicyArgs),
    /// Add resource tags to the repository (ecr:TagResource; existing keys get the new value).
    Tag(RepoTagArgs),
}

/// The repository every `repo` subcommand works on.
#[derive(Debug, Args)]
pub struct RepoTarget {
    /// ECR repository name.
    #[arg(long, env = env::DEPLOYER_REPO)]
    pub repo: String,

    /// The account ID of the registry (default: the caller's account).
    #[arg(long, env = env::AWS_ECR_REGISTRY_ID)]
    pub registry_id: Option<String>,

    /// An ECR Public repository (its API is in us-east-1).
    #[arg(long)]
    pub public_registry: bool,

    /// Show what would change and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RepoCreateArgs {
    #[command(flatten)]
    pub target: RepoTarget,

    #[command(flatten)]
    pub new_repository: NewRepositoryArgs,
}

#[derive(Debug, Args)]
pub struct RepoPolicyArgs {
    #[command(flatten)]
    pub target: RepoTarget,

    /// A JSON repository policy (ecr:SetRepositoryPolicy).
    #[arg(long, required_unless_present = "lifecycle_policy_path")]
    pub repo_policy_path: Option<PathBuf>,

    /// A JSON lifecycle policy (ecr:PutLifecyclePolicy).
    #[arg(long)]
    pub lifecycle_policy_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RepoTagArgs {
    #[command(flatten)]
    pub target: RepoTarget,

    /// Resource tags, as Key=Value,Key=Value or a JSON list of {"Key","Value"}.
    #[arg(long)]
    pub repo_tags: String,
}

/// `deployer orb run STEP` takes the steps by their names (`update-service`), in the order the
/// orb lists them.
impl ValueEnum for orb::Step {
    fn value_variants<'a>() -> &'a [Self] {
        &orb::Step::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}
