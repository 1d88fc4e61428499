//! One module per verb. Each takes resolved settings (never clap types) and returns data for
//! the CLI layer to print.
pub mod aws_cli_config;
pub mod codedeploy;
pub mod continue_deployment;
pub mod credential_helper;
pub mod deploy;
pub mod ecr_login;
pub mod follow_deployment;
pub mod images;
pub mod push;
pub mod register;
pub mod render;
pub mod repo;
pub mod repository;
pub mod rollback;
pub mod run_task;
pub mod tag_image;
pub mod update_service;
pub mod wait;
pub mod wait_service;
