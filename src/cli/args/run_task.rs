//! `run-task`'s flags as clap parses them: the task definition, every RunTask setting the
//! aws-ecs orb passes, the readable `--command`/`--env` overrides and how `--wait` follows the
//! tasks.
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::domain::duration::parse_positive_duration;
use crate::env;

#[derive(Debug, Args)]
pub struct RunTaskCommand {
    /// The ECS cluster (name or ARN).
    #[arg(long, env = env::DEPLOYER_CLUSTER)]
    pub cluster: String,

    /// The task definition: a family (its latest ACTIVE revision), FAMILY:REVISION or an ARN.
    #[arg(
        long,
        required_unless_present = "task_definition_file",
        conflicts_with = "task_definition_file"
    )]
    pub task_definition: Option<String>,

    /// A task definition file (`-`: stdin), registered as a new revision of its family before the task runs.
    #[arg(long, value_name = "FILE")]
    pub task_definition_file: Option<PathBuf>,

    /// How many tasks to start (1 to 10).
    #[arg(
        long,
        default_value_t = 1,
        allow_negative_numbers = true,
        value_name = "N"
    )]
    pub count: i64,

    /// startedBy of the tasks (e.g. the pipeline's build number).
    #[arg(long)]
    pub started_by: Option<String>,

    /// The task group name.
    #[arg(long)]
    pub group: Option<String>,

    /// JSON list, or the AWS CLI's shorthand type=memberOf,expression=… (several separated by spaces).
    #[arg(long, value_name = "JSON|SHORTHAND")]
    pub placement_constraints: Option<String>,

    /// JSON list, or the AWS CLI's shorthand type=spread,field=… (several separated by spaces).
    #[arg(long, value_name = "JSON|SHORTHAND")]
    pub placement_strategy: Option<String>,

    /// FARGATE, EC2 or EXTERNAL [default: the cluster's default capacity provider strategy].
    #[arg(long, value_enum, conflicts_with = "capacity_provider_strategy")]
    pub launch_type: Option<LaunchTypeArg>,

    /// JSON list, or shorthand capacityProvider=…,weight=…,base=… (several separated by spaces).
    #[arg(long, value_name = "JSON|SHORTHAND")]
    pub capacity_provider_strategy: Option<String>,

    /// The Fargate platform version (e.g. LATEST, 1.4.0).
    #[arg(long)]
    pub platform_version: Option<String>,

    /// Subnets of the tasks' network interfaces (awsvpc task definitions), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub subnets: Vec<String>,

    /// Security groups of the tasks' network interfaces, comma-separated.
    #[arg(long, value_delimiter = ',', requires = "subnets")]
    pub security_groups: Vec<String>,

    /// Whether the tasks' network interfaces get a public IP.
    #[arg(long, value_enum, requires = "subnets")]
    pub assign_public_ip: Option<PublicIp>,

    /// RunTask's overrides as the AWS CLI takes them: {"containerOverrides": [{"name": …, "command": […]}], …}.
    #[arg(long, value_name = "JSON")]
    pub overrides: Option<String>,

    /// The container --command and --env apply to [default: the single essential container].
    #[arg(long)]
    pub container: Option<String>,

    /// Run this command instead of the image's (split into words as a shell would; nothing expanded).
    #[arg(long)]
    pub command: Option<String>,

    /// Set an environment variable in the container (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,

    /// Tags of the tasks: K=V,K2=V2, the AWS CLI's key=K,value=V …, or a JSON list of {"key","value"}.
    #[arg(long)]
    pub tags: Vec<String>,

    /// Have ECS add its own tags (cluster, service) to the tasks.
    #[arg(long)]
    pub enable_ecs_managed_tags: bool,

    /// Copy tags to the tasks from the task definition (or the service).
    #[arg(long, value_enum)]
    pub propagate_tags: Option<PropagateTags>,

    /// Allow ECS Exec into the tasks.
    #[arg(long)]
    pub enable_execute_command: bool,

    /// Wait until every task stops, show the containers' awslogs lines, exit with the container's exit code.
    #[arg(long, conflicts_with = "dry_run")]
    pub wait: bool,

    /// With --wait: the container whose exit code deployer exits with [default: --container, or the single essential one].
    #[arg(long, requires = "wait")]
    pub exit_code_from: Option<String>,

    /// With --wait: give up after this long (e.g. 90s, 10m, 1h30m; a bare number is seconds;
    /// more than 0).
    #[arg(long, default_value = "10m", value_parser = parse_positive_duration, requires = "wait")]
    pub timeout: std::time::Duration,

    /// With --wait: time between polls of the tasks (jittered; backs off when throttled; a bare
    /// number is seconds; more than 0).
    #[arg(long, default_value = "5s", value_parser = parse_positive_duration, requires = "wait")]
    pub poll_interval: std::time::Duration,

    /// With --wait: on timeout, Ctrl-C or SIGTERM stop the tasks (StopTask) instead of leaving them running.
    #[arg(long, requires = "wait")]
    pub stop_on_cancel: bool,

    /// With --wait: do not show the containers' CloudWatch Logs lines.
    #[arg(long, requires = "wait")]
    pub no_logs: bool,

    /// With --wait --no-logs: when the run fails, show the last N lines each task's essential
    /// containers wrote to CloudWatch Logs (awslogs), environment values masked (0: none).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        requires = "wait",
        allow_negative_numbers = true
    )]
    pub failure_log_lines: usize,

    /// Print the RunTask input and start nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Append DEPLOYER_TASK_ARNS=… (and DEPLOYER_TASK_EXIT_CODE=… with --wait) to this file.
    #[arg(long, value_name = "FILE")]
    pub export_env: Option<PathBuf>,

    /// Also write the JSON answer (what --output json prints: the task ARNs, and with --wait the stopped tasks and the exit code) to this file, for jq in a later step.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropagateTags {
    TaskDefinition,
    Service,
    None,
}

/// `--assign-public-ip`, also `update-service --create-service`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PublicIp {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LaunchTypeArg {
    Fargate,
    Ec2,
    External,
}
