//! One module per verb. Each takes resolved settings (never clap types) and returns data for
//! the CLI layer to print.
pub mod ecr_login;
pub mod push;
