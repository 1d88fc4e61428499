//! The log deployer writes to stderr (`-v`, `RUST_LOG`): whatever the filter asks for, no body of
//! an AWS call (request, response or the bytes the SDK signs) reaches it, because those carry ECR
//! tokens, STS credentials and task definitions' environment values before deployer could mask
//! them.
use tracing::{Level, Metadata};

use crate::env;
use crate::output;

/// Field names under which the SDKs and their HTTP stack log a whole request or response: the
/// orchestrator's `request`/`response`, aws-sigv4's `canonical_request`, `string_to_sign` and
/// signing `params`, and any `body`.
const BODY_FIELDS: [&str; 6] = [
    "request",
    "response",
    "body",
    "canonical_request",
    "string_to_sign",
    "params",
];

/// The SDKs' switches that put bodies into their trace events. deployer drops those events
/// anyway; the variables are removed so that no library sees them.
const BODY_SWITCHES: [&str; 2] = [env::LOG_SENSITIVE_BODIES, env::LOG_SIGNABLE_BODY];

/// Whether an event or span may reach the log. Libraries' TRACE level is where the SDK logs bodies
/// (and a `RUST_LOG` span filter such as `[try_op]=trace` would enable it inside every call), so
/// only deployer's own code logs at TRACE; at any level, a library's event carrying a body field
/// is dropped.
pub fn may_log(metadata: &Metadata<'_>) -> bool {
    may_log_parts(
        metadata.target(),
        *metadata.level(),
        metadata.fields().iter().map(|field| field.name()),
    )
}

fn may_log_parts<'a>(
    target: &str,
    level: Level,
    mut fields: impl Iterator<Item = &'a str>,
) -> bool {
    let own = target == "deployer" || target.starts_with("deployer::");
    if own {
        return true;
    }
    level < Level::TRACE && !fields.any(|field| BODY_FIELDS.contains(&field))
}

/// Installs the stderr log: `-v` counts pick the filter, `RUST_LOG` overrides it, [`may_log`]
/// applies whatever either says, and every line goes through the secret mask.
pub fn init(verbose: u8) {
    use tracing_subscriber::filter::{filter_fn, FilterExt};
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::EnvFilter;

    for switch in BODY_SWITCHES {
        if env::var_os(switch).is_some() {
            // Before the runtime starts: no other thread reads the environment yet.
            std::env::remove_var(switch);
            output::warn(format!(
                "{switch} is ignored: deployer never logs the bodies of AWS calls, which carry \
                 tokens, credentials and environment values"
            ));
        }
    }
    let default = match verbose {
        // Off EC2, the SDK's instance-metadata lookups for a region or credentials warn before
        // deployer says plainly what is missing; -v shows them.
        0 => "warn,aws_config::imds=error",
        1 => "warn,deployer=debug",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env(env::RUST_LOG).unwrap_or_else(|_| EnvFilter::new(default));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(output::redacting_writer)
        .with_ansi(output::stderr_is_terminal() && env::var_os(env::NO_COLOR).is_none())
        .with_filter(filter.and(filter_fn(may_log)));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(target: &str, level: Level, fields: &[&str]) -> bool {
        may_log_parts(target, level, fields.iter().copied())
    }

    /// The callsites that print bodies in aws-smithy-runtime 1.16 (`orchestrator`: "transmitting
    /// request", `orchestrator::http`: "read HTTP response body") and aws-sigv4 1.6 ("signing
    /// request", "calculated signing parameters").
    #[test]
    fn the_sdks_body_events_never_pass_whatever_the_level() {
        assert!(!allowed(
            "aws_smithy_runtime::client::orchestrator",
            Level::TRACE,
            &["message", "request"]
        ));
        assert!(!allowed(
            "aws_smithy_runtime::client::orchestrator::http",
            Level::TRACE,
            &["message", "response"]
        ));
        assert!(!allowed(
            "aws_sigv4::http_request::sign",
            Level::TRACE,
            &["message", "request", "params"]
        ));
        assert!(!allowed(
            "aws_sigv4::http_request::sign",
            Level::DEBUG,
            &["canonical_request", "string_to_sign"]
        ));
        assert!(!allowed(
            "hyper_util::client::legacy::pool",
            Level::TRACE,
            &["message"]
        ));
        assert!(!allowed(
            "aws_smithy_runtime::client::orchestrator",
            Level::DEBUG,
            &["response"]
        ));
    }

    #[test]
    fn libraries_debug_lines_and_deployers_own_trace_lines_pass() {
        assert!(allowed(
            "aws_smithy_runtime::client::orchestrator",
            Level::DEBUG,
            &["message", "err"]
        ));
        assert!(allowed("aws_config::imds", Level::WARN, &["message"]));
        assert!(allowed(
            "deployer::commands::wait",
            Level::TRACE,
            &["message", "response"]
        ));
        assert!(allowed("deployer", Level::TRACE, &["message"]));
        assert!(!allowed("deployer_emulator", Level::TRACE, &["message"]));
    }
}
