//! The emulator's settings: what `main` reads from the command line, and every layer below
//! reads (the fault switches included). Imports only `faults`; anything may import it.
use std::net::SocketAddr;

use crate::faults::Faults;

/// Settings from the command line (`--name value` pairs; see `usage`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub registry: String,
    pub registry_user: String,
    pub registry_password: String,
    pub load_balancer: Option<SocketAddr>,
    /// The load balancer's test listener: the new revision's tasks once test traffic shifted.
    pub test_load_balancer: Option<SocketAddr>,
    /// How long a minute of bake time, step bake time or hook timeout lasts (tests: 1000).
    pub minute_ms: u64,
    pub account: String,
    pub region: String,
    pub faults: Faults,
    /// Listen here as a registry that cuts the first `registry_proxy_failures` uploads.
    pub registry_proxy: Option<SocketAddr>,
    pub registry_proxy_failures: u64,
    /// Failed tasks that trip the circuit breaker (0: ECS's own threshold from the desired count).
    pub breaker_threshold: i64,
    /// The value of the `deployer-emulator.instance` label on every container this process
    /// starts (default: the listen address), so it removes its own containers and no others.
    pub instance: String,
}

#[cfg(test)]
impl Settings {
    /// The account and region of the tests' fixtures, no registry, no faults.
    pub fn for_tests() -> Self {
        Settings {
            listen: "127.0.0.1:1".parse().unwrap(),
            registry: String::new(),
            registry_user: String::new(),
            registry_password: String::new(),
            load_balancer: None,
            test_load_balancer: None,
            minute_ms: 60_000,
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            faults: Default::default(),
            registry_proxy: None,
            registry_proxy_failures: 0,
            breaker_threshold: 0,
            instance: "test".into(),
        }
    }
}
