//! deployer: build and push container images to Amazon ECR and roll Amazon ECS services from CI.
//!
//! Layers: `cli` (clap, settings) → `commands` (one module per verb) → `domain` (pure logic,
//! unit-tested on fixtures) and `adapters` (the only modules that talk to AWS or Docker).
//! `orb` turns a CircleCI orb step's `PARAM_*` parameters into a command line for `cli`.
pub mod adapters;
pub mod build_context;
pub mod cli;
pub mod commands;
pub mod domain;
pub mod env;
pub mod error;
pub mod journal;
pub mod logging;
pub mod orb;
pub mod output;
pub mod secret;
