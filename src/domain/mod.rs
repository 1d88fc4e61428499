//! Pure logic: no I/O, no SDK types. Every function here is unit-tested on real-shaped inputs.
pub mod build_inputs;
pub mod controller;
pub mod docker_config;
pub mod dockerignore;
pub mod duration;
pub mod ecr_image;
pub mod ecr_token;
pub mod orb_values;
pub mod push_progress;
pub mod reference;
pub mod rollout;
pub mod run_task;
pub mod tag_mutability;
pub mod task_definition;
pub mod update_spec;
