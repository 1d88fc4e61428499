//! The command line: clap types, their resolution into plain settings structs, and `run`, which
//! owns the runtime, signals, logging, printing and the exit code. clap stops here.
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::adapters::aws::AwsSettings;
use crate::adapters::ecr::NewRepository;
use crate::adapters::ecs::ServiceCreation;
use crate::build_context;
use crate::commands::wait::WaitSettings;
use crate::commands::{
    credential_helper, deploy, ecr_login, push, render, rollback, update_service,
};
use crate::domain::build_inputs::{
    parse_build_args, parse_key_values, parse_platform, parse_resource_tags, parse_tags,
};
use crate::domain::duration::parse_duration;
use crate::domain::reference::{validate_registry_host, validate_repository};
use crate::domain::rollout::WaitUntil;
use crate::domain::update_spec::{self, ContainerUpdate};
use crate::error::{Error, ErrorKind, Result};
use crate::orb;
use crate::output;
use crate::secret::Secret;

/// Build, push and deploy container images to Amazon ECR and ECS.
///
/// Exit codes: 0 success; 1 the work failed (build step, push refused, rollout failed);
/// 2 bad usage or input, nothing changed; 3 AWS or Docker refused or could not be reached;
/// 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "deployer", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    #[command(flatten)]
    global: GlobalArgs,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// More log detail: -v deployer's debug log, -vv the SDKs' too, -vvv everything. RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    /// Only warnings, errors and data.
    #[arg(short, long, global = true, env = "DEPLOYER_QUIET")]
    quiet: bool,

    /// How data on stdout is printed.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true, env = "DEPLOYER_OUTPUT")]
    output: OutputFormat,

    /// AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile's region).
    #[arg(long, global = true)]
    region: Option<String>,

    /// AWS profile from ~/.aws/config (default: AWS_PROFILE).
    #[arg(long, global = true)]
    profile: Option<String>,

    /// Assume this IAM role with CircleCI's OIDC token (CIRCLE_OIDC_TOKEN_V2 or CIRCLE_OIDC_TOKEN).
    #[arg(long, global = true, env = "DEPLOYER_ROLE_ARN")]
    role_arn: Option<String>,

    /// Session name for --role-arn [default: deployer-$CIRCLE_BUILD_NUM, or deployer].
    #[arg(long, global = true, env = "DEPLOYER_ROLE_SESSION_NAME")]
    role_session_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in to ECR, build the image through the Docker daemon, push every tag, print REGISTRY/REPO@DIGEST.
    Push(Box<PushCommand>),
    /// Register a new task-definition revision, roll the service to it, wait until it is really done.
    UpdateService(Box<UpdateServiceCommand>),
    /// push, then update-service with the image just pushed.
    Deploy(Box<DeployCommand>),
    /// Re-deploy the revision the service ran before its latest deployment, and wait.
    Rollback(Box<RollbackCommand>),
    /// Print the RegisterTaskDefinition input update-service would send (offline).
    RenderTaskDefinition(Box<RenderCommand>),
    /// Write ECR credentials into the Docker CLI's config file (mode 0600) for later docker commands.
    EcrLogin(EcrLoginArgs),
    /// The CircleCI orb's entry point: run a step with its parameters from PARAM_* variables.
    #[command(subcommand)]
    Orb(OrbCommand),
}

#[derive(Debug, Subcommand)]
enum OrbCommand {
    /// Run the deployer command of an orb step; its flags come from the step's PARAM_* variables.
    Run {
        #[arg(value_enum)]
        step: orb::Step,
    },
    /// Print every orb parameter and the deployer flags it becomes, as JSON.
    Params,
}

#[derive(Debug, Args)]
struct RegistryArgs {
    /// The account ID of the registry (default: the caller's account). Cross-account registries work in every call.
    #[arg(long, env = "AWS_ECR_REGISTRY_ID")]
    registry_id: Option<String>,

    /// Registry HOST[:PORT] to push to instead of the one ECR names (VPC endpoints, tests).
    #[arg(long, env = "DEPLOYER_REGISTRY")]
    registry: Option<String>,
}

#[derive(Debug, Args)]
struct PushArgs {
    /// ECR repository name, e.g. tutorial-site-registry.
    #[arg(long, env = "DEPLOYER_REPO")]
    repo: String,

    /// Tags to push: repeat the flag or separate with commas.
    #[arg(long = "tag", default_value = "latest", env = "DEPLOYER_TAG")]
    tags: Vec<String>,

    #[command(flatten)]
    registry: RegistryArgs,

    /// Push to ECR Public (public.ecr.aws; its API is in us-east-1).
    #[arg(long)]
    public_registry: bool,

    /// With --public-registry: the registry alias in the image name [default: the repository's own].
    #[arg(long, requires = "public_registry")]
    public_registry_alias: Option<String>,

    /// Skip the build and push when every tag already exists in the repository.
    #[arg(long)]
    skip_when_tags_exist: bool,

    /// Create the repository when it does not exist.
    #[arg(long)]
    create_repo: bool,

    /// With --create-repo: scan images on push.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    repo_scan_on_push: bool,

    /// With --create-repo: tag mutability.
    #[arg(long, value_enum, default_value_t = TagMutability::Mutable)]
    repo_tag_mutability: TagMutability,

    /// With --create-repo and a *_WITH_EXCLUSION mutability: wildcard filters of the tags that are excepted (repeatable).
    #[arg(long = "repo-tag-mutability-exclusion", value_name = "FILTER")]
    repo_tag_mutability_exclusions: Vec<String>,

    /// With --create-repo: encryption type.
    #[arg(long, value_enum)]
    repo_encryption_type: Option<EncryptionType>,

    /// With --create-repo and --repo-encryption-type KMS or KMS_DSSE: the KMS key ARN or alias.
    #[arg(long)]
    repo_kms_key: Option<String>,

    /// With --create-repo: resource tags, as Key=Value,Key=Value or a JSON list of {"Key","Value"}.
    #[arg(long)]
    repo_tags: Option<String>,

    /// A JSON repository policy to apply (ecr:SetRepositoryPolicy).
    #[arg(long)]
    repo_policy_path: Option<PathBuf>,

    /// A JSON lifecycle policy to apply (ecr:PutLifecyclePolicy).
    #[arg(long)]
    lifecycle_policy_path: Option<PathBuf>,

    /// The build context directory.
    #[arg(long, default_value = ".")]
    build_path: PathBuf,

    /// The directory holding the Dockerfile.
    #[arg(long, default_value = ".")]
    path: PathBuf,

    /// The Dockerfile's name inside --path (it may lie outside the build context).
    #[arg(long, default_value = "Dockerfile")]
    dockerfile: String,

    /// Build argument K=V, or K to take the value from the environment (repeatable).
    #[arg(long = "build-arg", value_name = "K=V")]
    build_args: Vec<String>,

    /// Build stage to stop at.
    #[arg(long)]
    target: Option<String>,

    /// Build for this platform (os/arch[/variant]); one per run.
    #[arg(long)]
    platform: Option<String>,

    /// Image label K=V (repeatable).
    #[arg(long = "label", value_name = "K=V")]
    labels: Vec<String>,

    /// Image to use as a cache source (repeatable).
    #[arg(long = "cache-from", value_name = "IMAGE")]
    cache_from: Vec<String>,

    /// Do not use the build cache.
    #[arg(long)]
    no_cache: bool,

    /// Always pull newer versions of base images.
    #[arg(long)]
    pull: bool,

    /// Do not build: push the local image named by --image.
    #[arg(long, requires = "image")]
    no_build: bool,

    /// With --no-build: the local image to push (name[:tag] or ID).
    #[arg(long, requires = "no_build")]
    image: Option<String>,

    /// Build and tag REGISTRY/REPO:TAG locally, push nothing (the aws-ecr orb's push_image: false).
    #[arg(long, conflicts_with = "no_build")]
    no_push: bool,
}

#[derive(Debug, Args)]
struct PushCommand {
    #[command(flatten)]
    push: PushArgs,

    /// Append DEPLOYER_IMAGE=… and friends to this file (e.g. $BASH_ENV).
    #[arg(long, value_name = "FILE")]
    export_env: Option<PathBuf>,
}

/// The aws-ecs orb's update flags, in its syntax (several containers per value; repeatable).
#[derive(Debug, Args)]
struct UpdateFlags {
    /// container=NAME,tag=TAG | image=IMAGE | image-and-tag=IMAGE:TAG | digest=sha256:…
    #[arg(long, value_name = "SPEC")]
    container_image_name_updates: Vec<String>,

    /// container=NAME,name=KEY,value=VALUE (upserted by name)
    #[arg(long, value_name = "SPEC")]
    container_env_var_updates: Vec<String>,

    /// container=NAME,name=KEY (removes the variable)
    #[arg(long, value_name = "SPEC")]
    container_env_var_removals: Vec<String>,

    /// container=NAME,name=KEY,valueFrom=ARN (upserted by name)
    #[arg(long, value_name = "SPEC")]
    container_secret_updates: Vec<String>,

    /// container=NAME,KEY=VALUE[,KEY=VALUE…]
    #[arg(long, value_name = "SPEC")]
    container_docker_label_updates: Vec<String>,

    /// Tags for the new revision, upserted by key: key=K,value=V [key=K2,value=V2…] or [{"key":…,"value":…}]
    #[arg(long, value_name = "SPEC")]
    task_definition_tags: Vec<String>,
}

#[derive(Debug, Args)]
struct ServiceArgs {
    /// The ECS cluster (name or ARN).
    #[arg(long, env = "DEPLOYER_CLUSTER")]
    cluster: String,

    /// The service [default: the family name, as in the aws-ecs orb].
    #[arg(long = "service", alias = "service-name", env = "DEPLOYER_SERVICE")]
    service: Option<String>,
}

#[derive(Debug, Args)]
struct UpdateArgs {
    /// The task definition family whose latest revision is the base of the new one.
    #[arg(long, env = "DEPLOYER_FAMILY")]
    family: String,

    #[command(flatten)]
    service: ServiceArgs,

    #[command(flatten)]
    updates: UpdateFlags,

    /// Deploy the family's latest revision as it is, registering nothing.
    #[arg(long)]
    skip_task_definition_registration: bool,

    /// Start new tasks even when the task definition did not change.
    #[arg(long)]
    force_new_deployment: bool,

    /// Set the service's desired count.
    #[arg(long)]
    desired_count: Option<i32>,

    /// Turn on the deployment circuit breaker with rollback (other deployment settings are kept).
    #[arg(long)]
    enable_circuit_breaker: bool,

    /// Show the plan (current revision, the new one, what changes) and change nothing.
    #[arg(long)]
    dry_run: bool,

    /// Create the service, running the new revision, when it does not exist (the orb's create_service).
    #[arg(long)]
    create_service: bool,

    /// With --create-service: subnets of the tasks' network interfaces (awsvpc), comma-separated.
    #[arg(long, value_delimiter = ',', requires = "create_service")]
    subnets: Vec<String>,

    /// With --create-service: security groups of the tasks' network interfaces, comma-separated.
    #[arg(long, value_delimiter = ',', requires = "create_service")]
    security_groups: Vec<String>,

    /// With --create-service: whether tasks get a public IP.
    #[arg(long, value_enum, requires = "create_service")]
    assign_public_ip: Option<PublicIp>,

    /// With --create-service: the load balancer's target group ARN (with --container-name and --container-port).
    #[arg(long, requires_all = ["create_service", "container_name", "container_port"])]
    target_group: Option<String>,

    /// With --target-group: the container the load balancer sends traffic to.
    #[arg(long, requires = "target_group")]
    container_name: Option<String>,

    /// With --target-group: that container's port.
    #[arg(long, requires = "target_group")]
    container_port: Option<i32>,

    /// With --create-service: FARGATE, EC2 or EXTERNAL [default: FARGATE for Fargate-only task definitions].
    #[arg(long, value_enum, requires = "create_service")]
    launch_type: Option<LaunchTypeArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
enum PublicIp {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
enum LaunchTypeArg {
    Fargate,
    Ec2,
    External,
}

#[derive(Debug, Args)]
struct WaitArgs {
    /// Return once ECS accepted the update, without waiting for the rollout.
    #[arg(long)]
    no_wait: bool,

    /// Give up waiting after this long (e.g. 90s, 10m).
    #[arg(long, default_value = "10m", value_parser = duration)]
    timeout: std::time::Duration,

    /// Time between polls of the service (jittered; backs off when throttled).
    #[arg(long, default_value = "5s", value_parser = duration)]
    poll_interval: std::time::Duration,

    /// stable: the old deployment is gone and ours COMPLETED; running: ours runs its desired count.
    #[arg(long, value_enum, default_value_t = WaitUntilArg::Stable)]
    wait_until: WaitUntilArg,

    /// Fail as soon as ECS reports it cannot place tasks.
    #[arg(long)]
    fail_on_placement_errors: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WaitUntilArg {
    Stable,
    Running,
}

#[derive(Debug, Args)]
struct UpdateServiceCommand {
    #[command(flatten)]
    update: UpdateArgs,

    #[command(flatten)]
    wait: WaitArgs,

    /// Append DEPLOYER_TASK_DEFINITION_ARN=… and friends to this file (e.g. $BASH_ENV).
    #[arg(long, value_name = "FILE")]
    export_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RenderCommand {
    /// A DescribeTaskDefinition answer as the AWS CLI prints it (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    input: PathBuf,

    #[command(flatten)]
    updates: UpdateFlags,
}

#[derive(Debug, Args)]
struct RollbackCommand {
    #[command(flatten)]
    service: RollbackServiceArgs,

    /// Go back to this revision of the service's family instead of the one that ran before.
    #[arg(long, value_name = "N")]
    to_revision: Option<u32>,

    #[command(flatten)]
    wait: WaitArgs,

    /// Append DEPLOYER_TASK_DEFINITION_ARN=… and friends to this file.
    #[arg(long, value_name = "FILE")]
    export_env: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RollbackServiceArgs {
    /// The ECS cluster (name or ARN).
    #[arg(long, env = "DEPLOYER_CLUSTER")]
    cluster: String,

    /// The service.
    #[arg(long = "service", alias = "service-name", env = "DEPLOYER_SERVICE")]
    service: String,
}

#[derive(Debug, Args)]
struct DeployCommand {
    #[command(flatten)]
    push: PushArgs,

    #[command(flatten)]
    update: UpdateArgs,

    #[command(flatten)]
    wait: WaitArgs,

    /// The container that gets the pushed image [default: every container running an image of --repo].
    #[arg(long)]
    container: Option<String>,

    /// Register the image by the digest just pushed (repo@sha256:…), not by its first tag.
    #[arg(long)]
    pin_digest: bool,

    /// Append the push's and the update's KEY=value lines to this file (e.g. $BASH_ENV).
    #[arg(long, value_name = "FILE")]
    export_env: Option<PathBuf>,
}

fn duration(value: &str) -> std::result::Result<std::time::Duration, String> {
    parse_duration(value)
}

#[derive(Debug, Args)]
struct EcrLoginArgs {
    #[command(flatten)]
    registry: RegistryArgs,

    /// The Docker CLI config file to write [default: $DOCKER_CONFIG/config.json or ~/.docker/config.json].
    #[arg(long, value_name = "FILE")]
    docker_config: Option<PathBuf>,

    /// Store no token: have the Docker CLI fetch one when it needs it from docker-credential-deployer.
    #[arg(long)]
    credential_helper: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
enum TagMutability {
    Mutable,
    Immutable,
    ImmutableWithExclusion,
    MutableWithExclusion,
}

impl TagMutability {
    fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
            TagMutability::ImmutableWithExclusion => "IMMUTABLE_WITH_EXCLUSION",
            TagMutability::MutableWithExclusion => "MUTABLE_WITH_EXCLUSION",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
enum EncryptionType {
    #[value(name = "AES256")]
    Aes256,
    Kms,
    KmsDsse,
}

impl EncryptionType {
    fn as_str(self) -> &'static str {
        match self {
            EncryptionType::Aes256 => "AES256",
            EncryptionType::Kms => "KMS",
            EncryptionType::KmsDsse => "KMS_DSSE",
        }
    }
}

/// Parses arguments, runs the command on a Tokio runtime, prints the result, returns the exit code.
pub fn run() -> ExitCode {
    if std::env::args_os()
        .next()
        .is_some_and(|program| credential_helper::invoked_as(&program))
    {
        return credential_helper_main();
    }
    let cli = match Cli::parse() {
        Cli {
            command: Command::Orb(command),
            global,
        } => match orb_command_line(command, global) {
            Ok(cli) => cli,
            Err(code) => return code,
        },
        cli => cli,
    };
    output::start_clock();
    output::set_quiet(cli.global.quiet);
    init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output::error(&Error::environment(format!(
                "cannot start the async runtime: {e}"
            )));
            return ExitCode::from(ErrorKind::Environment.exit_code());
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = dispatch(cli) => result,
            signal = interrupted() => Err(Error::new(ErrorKind::Interrupted, format!("interrupted by {signal}"))
                .with_hint(output::interrupt_hint().unwrap_or_else(|| "nothing more was started".to_string()))),
        }
    });
    // Do not wait for the blocking context writer: the daemon connection is gone.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::error(&error);
            error.exit_code()
        }
    }
}

/// Run as `docker-credential-deployer ACTION` by the Docker CLI: AWS settings come from the
/// environment only (DEPLOYER_ROLE_ARN with the OIDC token, or the standard chain).
fn credential_helper_main() -> ExitCode {
    init_logging(0);
    let global = GlobalArgs {
        verbose: 0,
        quiet: true,
        output: OutputFormat::Text,
        region: None,
        profile: None,
        role_arn: std::env::var("DEPLOYER_ROLE_ARN").ok(),
        role_session_name: std::env::var("DEPLOYER_ROLE_SESSION_NAME").ok(),
    };
    let action = std::env::args().nth(1);
    ExitCode::from(credential_helper::main(
        action.as_deref(),
        aws_settings(&global),
    ))
}

/// `deployer orb run STEP`: the command line the step's parameters make, parsed like any other.
/// `deployer orb params` prints the parameter table and ends here.
fn orb_command_line(command: OrbCommand, global: GlobalArgs) -> Result<Cli, ExitCode> {
    let step = match command {
        OrbCommand::Params => {
            output::json(&orb::params_json());
            return Err(ExitCode::SUCCESS);
        }
        OrbCommand::Run { step } => step,
    };
    let args = orb::command_line(step, &|name| std::env::var(name).ok()).map_err(|error| {
        output::error(&error);
        error.exit_code()
    })?;
    output::stderr_line(&format!(
        "orb step {}: {}",
        step.orb_command(),
        orb::display(&args)
    ));
    let mut cli = Cli::try_parse_from(std::iter::once("deployer".to_string()).chain(args))
        .map_err(|error| {
            let _ = error.print();
            ExitCode::from(ErrorKind::Usage.exit_code())
        })?;
    cli.global.verbose = cli.global.verbose.max(global.verbose);
    cli.global.quiet |= global.quiet;
    if global.output != OutputFormat::Text {
        cli.global.output = global.output;
    }
    Ok(cli)
}

async fn interrupted() -> &'static str {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "Ctrl-C";
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = terminate.recv() => "SIGTERM",
    }
}

/// Log targets whose trace level prints raw AWS responses.
const SECRET_BEARING_LOG_TARGETS: [&str; 3] = [
    "aws_smithy_runtime",
    "aws_smithy_runtime::client::orchestrator",
    "aws_smithy_runtime::client::orchestrator::operation",
];

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // Off EC2, the SDK's instance-metadata lookups for a region or credentials warn before
        // deployer says plainly what is missing; -v shows them.
        0 => "warn,aws_config::imds=error",
        1 => "warn,deployer=debug",
        2 => "debug",
        _ => "trace",
    };
    let mut filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    // The SDK's trace level prints response bodies, which carry ECR tokens and STS credentials
    // before deployer has seen them to mask them: that level stays off whatever RUST_LOG says.
    if filter.max_level_hint() == Some(tracing::level_filters::LevelFilter::TRACE) {
        for cap in SECRET_BEARING_LOG_TARGETS {
            if let Ok(directive) = format!("{cap}=debug").parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(output::redacting_writer)
        .with_ansi(output::stderr_is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .try_init();
}

async fn dispatch(cli: Cli) -> Result<()> {
    let format = cli.global.output;
    let aws = aws_settings(&cli.global);
    match cli.command {
        Command::Push(command) => {
            let settings = push_settings(command.push, aws)?;
            let outcome = push::run(settings).await?;
            match format {
                OutputFormat::Text => print_push(&outcome),
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::UpdateService(command) => {
            let settings = update_settings(command.update, &command.wait, aws)?;
            let outcome = update_service::run(settings).await?;
            print_update(format, &outcome);
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::Deploy(command) => {
            if command.push.no_push {
                return Err(Error::usage(
                    "deploy --no-push would register an image ECS cannot pull: build with push --no-push, or deploy without it",
                ));
            }
            if command.update.dry_run {
                return Err(Error::usage(
                    "deploy --dry-run would still have to build and push to know the image: \
                     run update-service --dry-run with --container-image-name-updates to see the plan",
                ));
            }
            let push = push_settings(command.push, aws.clone())?;
            let update = update_settings(command.update, &command.wait, aws)?;
            let settings = deploy::DeploySettings {
                push,
                update,
                container: command.container,
                pin_digest: command.pin_digest,
            };
            let outcome = deploy::run(settings).await?;
            match format {
                OutputFormat::Text => {
                    output::data(&outcome.push.image);
                    output::data(&outcome.update.task_definition_arn);
                }
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
            if let Some(path) = command.export_env {
                let mut pairs = outcome.push.export_env();
                pairs.extend(outcome.update.export_env());
                output::append_export_env(&path, &pairs)?;
            }
        }
        Command::Rollback(command) => {
            let settings = rollback::RollbackSettings {
                aws,
                cluster: command.service.cluster,
                service: command.service.service,
                to_revision: command.to_revision,
                wait: wait_settings(&command.wait),
            };
            let outcome = rollback::run(settings).await?;
            print_update(format, &outcome);
            if let Some(path) = command.export_env {
                output::append_export_env(&path, &outcome.export_env())?;
            }
        }
        Command::RenderTaskDefinition(command) => {
            let updates = container_updates(&command.updates)?;
            let tags = task_definition_tags(&command.updates)?;
            let rendered = render::run(&command.input, &updates, &tags)?;
            output::json(&rendered);
        }
        Command::Orb(_) => {
            return Err(Error::usage("orb steps are resolved before dispatch"));
        }
        Command::EcrLogin(args) => {
            let settings = ecr_login_settings(args, aws)?;
            let outcome = ecr_login::run(settings).await?;
            match format {
                OutputFormat::Text => output::data(&outcome.registry),
                OutputFormat::Json => {
                    output::json(&serde_json::to_value(&outcome).unwrap_or_default())
                }
            }
        }
    }
    Ok(())
}

fn print_push(outcome: &push::PushOutcome) {
    // Without a push there is no digest: the tags' references are the data.
    if !outcome.digest.is_empty() {
        output::data(&outcome.image);
    }
    for reference in &outcome.references {
        output::data(reference);
    }
}

fn print_update(format: OutputFormat, outcome: &update_service::UpdateServiceOutcome) {
    match format {
        OutputFormat::Text => match &outcome.plan {
            Some(plan) => output::json(&plan.register_task_definition_input),
            None => output::data(&outcome.task_definition_arn),
        },
        OutputFormat::Json => output::json(&serde_json::to_value(outcome).unwrap_or_default()),
    }
}

fn container_updates(flags: &UpdateFlags) -> Result<Vec<ContainerUpdate>> {
    let mut updates = Vec::new();
    let parsers: [(&Vec<String>, update_spec::SpecParser); 5] = [
        (
            &flags.container_image_name_updates,
            update_spec::parse_image_updates,
        ),
        (
            &flags.container_env_var_updates,
            update_spec::parse_env_var_updates,
        ),
        (
            &flags.container_env_var_removals,
            update_spec::parse_env_var_removals,
        ),
        (
            &flags.container_secret_updates,
            update_spec::parse_secret_updates,
        ),
        (
            &flags.container_docker_label_updates,
            update_spec::parse_docker_label_updates,
        ),
    ];
    for (values, parse) in parsers {
        for value in values.iter().filter(|value| !value.trim().is_empty()) {
            updates.extend(parse(value).map_err(|e| Error::usage(e.to_string()))?);
        }
    }
    Ok(updates)
}

fn task_definition_tags(flags: &UpdateFlags) -> Result<Vec<(String, String)>> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for value in &flags.task_definition_tags {
        for (key, val) in update_spec::parse_task_definition_tags(value)
            .map_err(|e| Error::usage(e.to_string()))?
        {
            tags.retain(|(existing, _)| *existing != key);
            tags.push((key, val));
        }
    }
    Ok(tags)
}

fn wait_settings(args: &WaitArgs) -> Option<(WaitSettings, WaitUntil)> {
    if args.no_wait {
        return None;
    }
    let until = match args.wait_until {
        WaitUntilArg::Stable => WaitUntil::Stable,
        WaitUntilArg::Running => WaitUntil::Running,
    };
    Some((
        WaitSettings {
            timeout: args.timeout,
            poll_interval: args.poll_interval,
            fail_on_placement_errors: args.fail_on_placement_errors,
        },
        until,
    ))
}

fn update_settings(
    args: UpdateArgs,
    wait: &WaitArgs,
    aws: AwsSettings,
) -> Result<update_service::UpdateServiceSettings> {
    let updates = container_updates(&args.updates)?;
    let tags = task_definition_tags(&args.updates)?;
    if args.skip_task_definition_registration && !(updates.is_empty() && tags.is_empty()) {
        return Err(Error::usage(
            "--skip-task-definition-registration deploys the latest revision as it is: it cannot take container updates or tags",
        ));
    }
    if let Some(count) = args.desired_count {
        if count < 0 {
            return Err(Error::usage(format!(
                "--desired-count {count} must be 0 or more"
            )));
        }
    }
    if wait.poll_interval.is_zero() {
        return Err(Error::usage("--poll-interval must be more than 0"));
    }
    let service = args
        .service
        .service
        .clone()
        .unwrap_or_else(|| args.family.clone());
    Ok(update_service::UpdateServiceSettings {
        aws,
        cluster: args.service.cluster,
        service,
        family: args.family,
        updates,
        tags,
        skip_registration: args.skip_task_definition_registration,
        force_new_deployment: args.force_new_deployment,
        desired_count: args.desired_count,
        enable_circuit_breaker: args.enable_circuit_breaker,
        create: args.create_service.then(|| ServiceCreation {
            subnets: args.subnets.clone(),
            security_groups: args.security_groups.clone(),
            assign_public_ip: args.assign_public_ip.map(|ip| {
                match ip {
                    PublicIp::Enabled => "ENABLED",
                    PublicIp::Disabled => "DISABLED",
                }
                .to_string()
            }),
            load_balancer: args
                .target_group
                .clone()
                .zip(args.container_name.clone())
                .zip(args.container_port)
                .map(|((group, name), port)| (group, name, port)),
            launch_type: args.launch_type.map(|launch| {
                match launch {
                    LaunchTypeArg::Fargate => "FARGATE",
                    LaunchTypeArg::Ec2 => "EC2",
                    LaunchTypeArg::External => "EXTERNAL",
                }
                .to_string()
            }),
        }),
        wait: wait_settings(wait),
        dry_run: args.dry_run,
    })
}

fn aws_settings(global: &GlobalArgs) -> AwsSettings {
    let oidc_token = ["CIRCLE_OIDC_TOKEN_V2", "CIRCLE_OIDC_TOKEN"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|token| !token.trim().is_empty())
        .map(|token| Secret::new(token.trim()));
    let role_session_name =
        global.role_session_name.clone().unwrap_or_else(|| {
            match std::env::var("CIRCLE_BUILD_NUM") {
                Ok(build) if !build.is_empty() => format!("deployer-{build}"),
                _ => "deployer".to_string(),
            }
        });
    AwsSettings {
        region: global.region.clone(),
        profile: global.profile.clone(),
        role_arn: global.role_arn.clone().filter(|arn| !arn.is_empty()),
        role_session_name,
        oidc_token,
    }
}

fn registry_override(args: &RegistryArgs) -> Result<Option<String>> {
    let registry = args.registry.clone().filter(|r| !r.is_empty());
    if let Some(registry) = &registry {
        validate_registry_host(registry).map_err(|e| Error::usage(format!("--registry: {e}")))?;
    }
    if let Some(id) = &args.registry_id {
        if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::usage(format!(
                "--registry-id {id:?} is not an AWS account ID (12 digits)"
            )));
        }
    }
    Ok(registry)
}

fn push_settings(args: PushArgs, aws: AwsSettings) -> Result<push::PushSettings> {
    validate_repository(&args.repo).map_err(|e| Error::usage(format!("--repo: {e}")))?;
    let tags = parse_tags(&args.tags).map_err(|e| Error::usage(format!("--tag: {e}")))?;
    let registry_override = registry_override(&args.registry)?;
    let public = public_registry(&args)?;
    let create_repository = if args.create_repo {
        Some(new_repository(&args)?)
    } else {
        None
    };
    let repository_policy = args
        .repo_policy_path
        .as_deref()
        .map(|path| read_policy("--repo-policy-path", path))
        .transpose()?;
    let lifecycle_policy = args
        .lifecycle_policy_path
        .as_deref()
        .map(|path| read_policy("--lifecycle-policy-path", path))
        .transpose()?;
    let source = match (&args.image, args.no_build) {
        (Some(image), true) => push::ImageSource::Local(image.clone()),
        _ => push::ImageSource::Build(Box::new(build_settings(&args)?)),
    };
    Ok(push::PushSettings {
        aws,
        repository: args.repo,
        tags,
        registry_id: args.registry.registry_id,
        registry_override,
        create_repository,
        repository_policy,
        lifecycle_policy,
        source,
        skip_when_tags_exist: args.skip_when_tags_exist,
        push: !args.no_push,
        public,
    })
}

/// ECR Public has no tag mutability, scanning, encryption settings or lifecycle policies:
/// asking for them is an error, not a silent no-op.
fn public_registry(args: &PushArgs) -> Result<Option<push::PublicRegistry>> {
    if !args.public_registry {
        return Ok(None);
    }
    let unsupported = [
        (
            args.lifecycle_policy_path.is_some(),
            "--lifecycle-policy-path",
        ),
        (
            args.repo_tag_mutability != TagMutability::Mutable,
            "--repo-tag-mutability",
        ),
        (
            !args.repo_tag_mutability_exclusions.is_empty(),
            "--repo-tag-mutability-exclusion",
        ),
        (
            args.repo_encryption_type.is_some(),
            "--repo-encryption-type",
        ),
        (args.repo_kms_key.is_some(), "--repo-kms-key"),
    ];
    if let Some((_, flag)) = unsupported.iter().find(|(given, _)| *given) {
        return Err(Error::usage(format!(
            "{flag} does not apply to ECR Public (--public-registry)"
        )));
    }
    if let Some(alias) = &args.public_registry_alias {
        validate_repository(alias)
            .map_err(|e| Error::usage(format!("--public-registry-alias: {e}")))?;
    }
    Ok(Some(push::PublicRegistry {
        alias: args.public_registry_alias.clone(),
    }))
}

fn new_repository(args: &PushArgs) -> Result<NewRepository> {
    let mutability = args.repo_tag_mutability;
    let with_exclusion = matches!(
        mutability,
        TagMutability::ImmutableWithExclusion | TagMutability::MutableWithExclusion
    );
    let exclusions: Vec<String> = args
        .repo_tag_mutability_exclusions
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|filter| !filter.is_empty())
        .map(str::to_string)
        .collect();
    if with_exclusion && exclusions.is_empty() {
        return Err(Error::usage(format!(
            "--repo-tag-mutability {} needs at least one --repo-tag-mutability-exclusion filter",
            mutability.as_str()
        )));
    }
    if !with_exclusion && !exclusions.is_empty() {
        return Err(Error::usage(
            "--repo-tag-mutability-exclusion only applies with --repo-tag-mutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION",
        ));
    }
    for filter in &exclusions {
        let valid = filter.len() <= 128
            && filter
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-*".contains(c));
        if !valid {
            return Err(Error::usage(format!(
                "--repo-tag-mutability-exclusion {filter:?} is invalid: use letters, digits, '.', '_', '-' and '*' (up to 128)"
            )));
        }
    }
    let encryption_type = args
        .repo_encryption_type
        .map(|kind| kind.as_str().to_string());
    if args.repo_kms_key.is_some()
        && !matches!(
            args.repo_encryption_type,
            Some(EncryptionType::Kms | EncryptionType::KmsDsse)
        )
    {
        return Err(Error::usage(
            "--repo-kms-key needs --repo-encryption-type KMS or KMS_DSSE",
        ));
    }
    let tags = match &args.repo_tags {
        Some(value) => parse_resource_tags(value).map_err(Error::usage)?,
        None => Vec::new(),
    };
    Ok(NewRepository {
        name: args.repo.clone(),
        scan_on_push: args.repo_scan_on_push,
        tag_mutability: mutability.as_str().to_string(),
        exclusion_filters: exclusions,
        encryption_type,
        kms_key: args.repo_kms_key.clone(),
        tags,
    })
}

fn read_policy(flag: &str, path: &Path) -> Result<push::PolicyFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("{flag} {}: cannot read it: {e}", path.display())))?;
    serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| Error::usage(format!("{flag} {}: not valid JSON: {e}", path.display())))?;
    Ok(push::PolicyFile {
        path: path.to_path_buf(),
        text,
    })
}

fn build_settings(args: &PushArgs) -> Result<push::BuildSettings> {
    let build_args =
        parse_build_args(&args.build_args, |key| std::env::var(key).ok()).map_err(Error::usage)?;
    let labels = parse_key_values("--label", &args.labels).map_err(Error::usage)?;
    let platform = args
        .platform
        .as_deref()
        .filter(|p| !p.is_empty())
        .map(parse_platform)
        .transpose()
        .map_err(Error::usage)?;
    let context = build_context::plan(&args.build_path, &args.path, &args.dockerfile)?;
    Ok(push::BuildSettings {
        context,
        build_args,
        labels,
        target: args.target.clone().filter(|t| !t.is_empty()),
        platform,
        cache_from: args.cache_from.clone(),
        no_cache: args.no_cache,
        pull: args.pull,
    })
}

fn ecr_login_settings(args: EcrLoginArgs, aws: AwsSettings) -> Result<ecr_login::EcrLoginSettings> {
    let registry_override = registry_override(&args.registry)?;
    let docker_config = match args.docker_config {
        Some(path) => path,
        None => match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => {
                let home = std::env::var_os("HOME").ok_or_else(|| {
                    Error::usage("HOME is not set: pass --docker-config FILE or set DOCKER_CONFIG")
                })?;
                PathBuf::from(home).join(".docker").join("config.json")
            }
        },
    };
    Ok(ecr_login::EcrLoginSettings {
        aws,
        registry_id: args.registry.registry_id,
        registry_override,
        docker_config,
        credential_helper: args.credential_helper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
