//! The only modules that talk to remote systems: AWS (through aws-sdk-*) and Docker (through
//! bollard), registries' HTTP API, and the local kernel's binfmt_misc handlers. Each turns its SDK's errors into its own error type with the action that failed.
pub mod aws;
pub mod binfmt;
pub mod codedeploy;
pub mod docker;
pub mod ecr;
pub mod ecr_public;
pub mod ecs;
pub mod elb;
pub mod events;
pub mod iam;
pub mod logs;
pub mod raw_json;
pub mod recorder;
pub mod registry;
pub mod scheduler;
pub mod secrets_manager;
pub mod ssm;
