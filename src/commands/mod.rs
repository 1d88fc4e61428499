//! The verbs: one module per command a user types (`deployer push`, `deployer update-service`,
//! `deployer wait`, …). Each takes resolved settings (never clap types) and returns data for the
//! CLI layer to print. The steps several verbs share live in [`steps`], not here.
//!
//! Imported by `cli` only. A verb may call another verb's entry point when it is that verb plus
//! more (`deploy` is `push` then `update-service`; `rollback` rolls as `update-service` does;
//! `release` is `update-service` for several services at once);
//! otherwise verbs share code through `steps`. Nothing here imports `cli`.
pub mod aws_cli_config;
pub mod continue_deployment;
pub mod deploy;
pub mod deregister;
pub mod diff;
pub mod ecr_login;
pub mod push;
pub mod register;
pub mod release;
pub mod render;
pub mod repo;
pub mod rollback;
pub mod run_task;
pub mod steps;
pub mod tag_image;
pub mod update_service;
pub mod verify;
pub mod wait;
