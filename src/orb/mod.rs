//! The CircleCI orb's steps, turned into deployer's own command line. The orb's script is one
//! line: it runs `deployer orb run STEP` with the step's parameters in `PARAM_*` environment
//! variables, as CircleCI's orb tooling does. Here each parameter becomes deployer's own flags
//! (the same command line a user would type), which then go through the same clap parser as
//! any other invocation.
//!
//! Every parameter of the aws-ecr and aws-ecs orbs' jobs is listed in `orb/parameters.json`
//! with what it becomes (`table`). Those whose feature deployer lacks are accepted at their
//! default and refused otherwise, naming the feature: never dropped silently. `deployer orb
//! params` prints this table as JSON; the orb's checks read it to prove every parameter
//! reaches a flag the binary really has.
//!
//! What lives here: the table and the steps (`table`, `steps`); the values CircleCI hands a
//! step (`variables`, `values`, `registry_host`, `extra_args`); the command line they make
//! (`command_line`, with the derived parameters in `derive` and the old orbs' names in
//! `aliases`); the credentials (`credentials`), the binfmt decision (`binfmt`) and the printed
//! command line (`display`). It knows nothing of clap: only `cli` imports it, and it imports
//! only `domain`, `error`, `secret`, `output`, `env` and two plain types (`StaticCredentials`,
//! `AwsCliConfig`).
mod aliases;
mod binfmt;
mod command_line;
mod credentials;
mod derive;
mod display;
mod extra_args;
mod registry_host;
mod steps;
mod table;
mod values;
mod variables;

#[cfg(test)]
mod tests;

pub use binfmt::binfmt_needed;
pub use command_line::command_line;
pub use credentials::{aws_cli_config, credentials};
pub use display::{display, displayed_args};
pub use steps::{params_json, Step};
