//! One integration-test binary: runs the built `deployer` against the local stack (Docker engine,
//! docker-registry, moto) that `./scripts/test.sh` starts, and checks what it left there.
mod buildkit;
mod codedeploy;
mod deploy;
mod deploy_strategies;
mod deregister;
mod ecr_commands;
mod ecr_login;
mod emulator;
mod exit_codes;
mod failure_logs;
mod mistakes;
mod multiplatform;
mod orb;
mod plan;
mod push;
mod register;
mod release;
mod render_from_service;
mod replays;
mod run_task;
mod secrets;
mod strategies;
mod support;
mod switching;
mod update_service;
mod wait;
