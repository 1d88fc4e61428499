//! The steps verbs are made of, shared by several (or, as the image build, a concern of its
//! own that would swell its verb's file): registration and the scheduled tasks that follow it, the
//! service checks, following a rollout (the poll loop, readiness, the ServiceDeployment), the
//! CodeDeploy deployment and its wait, image builds and checks, repository settings, and the
//! Docker credential helper. Every waiter (rollout, run-task, CodeDeploy) polls under one
//! [`deadline::Deadline`].
//!
//! Imported by the verbs in `commands`, and by `cli` for the settings types a step takes (how to
//! wait, which scheduled tasks, how to deploy through CodeDeploy). A step never imports a verb,
//! nor `cli`: steps call adapters and domain functions, and each other.
pub mod codedeploy;
pub mod credential_helper;
pub mod deadline;
pub mod deregistration;
pub mod failure_logs;
pub mod follow_rollout;
pub mod image_build;
pub mod image_check;
pub mod registration;
pub mod repository;
pub mod rollout_wait;
pub mod scheduled_tasks;
pub mod service;
pub mod service_deployment;
pub mod smoke_test;
pub mod task_readiness;
pub mod verify;
