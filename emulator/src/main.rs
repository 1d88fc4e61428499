//! deployer-emulator: the ECS and ECR control planes on 127.0.0.1, speaking the AWS JSON protocol
//! the SDKs use (and ELBv2's DescribeTargetHealth on the Query protocol, CloudWatch Logs' reads
//! of the tasks' `awslogs` streams, and CodeDeploy for CODE_DEPLOY services), running tasks as
//! real containers on the local Docker engine and reporting what the registry really holds, so deployer's rollouts can be tested end
//! to end on one machine.
//!
//! `main` reads the settings and wires the layers, each importing only those below it:
//! `router` (the AWS endpoint) → `api` (one module per service) → `engine` (deployments,
//! runner, load balancer) → `state` (the data) → `config`, `faults`. `protocol` (request
//! decoding, answer encoding) serves `router` and `api` and imports none of them;
//! `registry_proxy` stands alone. Nothing imports `main`.
mod api;
mod config;
mod engine;
mod faults;
mod protocol;
mod registry_proxy;
mod router;
mod state;

use std::sync::Arc;

use tokio::sync::Mutex;

use config::Settings;
use engine::{lb, runner};

fn usage() -> ! {
    eprintln!(
        "usage: deployer-emulator --listen 127.0.0.1:15002 --registry 127.0.0.1:15000 \
         --registry-user AWS --registry-password PASSWORD [--load-balancer 127.0.0.1:3000] \
         [--account 123456789012] [--region eu-west-1] [--throttle-every N] [--fail-every N] [--delay-ms N] \
         [--registry-proxy 127.0.0.1:PORT --registry-proxy-failures N] [--breaker-threshold N] \
         [--instance NAME] [--stale-describe-polls N] [--unplaceable-service NAME[:COUNT]]... \
         [--launch-delay-ms N] [--target-health-delay-ms N] [--test-load-balancer 127.0.0.1:PORT] \
         [--minute-ms N] [--failing-hook-stage STAGE]... [--alarm-during-bake ALARM]... \
         [--fail-operation OPERATION:COUNT]... [--deny-operation OPERATION]..."
    );
    std::process::exit(2)
}

fn settings() -> Settings {
    let mut args = std::env::args().skip(1);
    let mut settings = Settings {
        listen: "127.0.0.1:15002".parse().unwrap(),
        registry: "127.0.0.1:15000".into(),
        registry_user: "AWS".into(),
        registry_password: String::new(),
        load_balancer: None,
        test_load_balancer: None,
        minute_ms: 60_000,
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        faults: faults::Faults::default(),
        registry_proxy: None,
        registry_proxy_failures: 0,
        breaker_threshold: 0,
        instance: String::new(),
    };
    while let Some(name) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        let number = || value.parse::<u64>().unwrap_or_else(|_| usage());
        match name.as_str() {
            "--listen" => settings.listen = value.parse().unwrap_or_else(|_| usage()),
            "--registry" => settings.registry = value,
            "--registry-user" => settings.registry_user = value,
            "--registry-password" => settings.registry_password = value,
            "--load-balancer" => {
                settings.load_balancer = Some(value.parse().unwrap_or_else(|_| usage()))
            }
            "--test-load-balancer" => {
                settings.test_load_balancer = Some(value.parse().unwrap_or_else(|_| usage()))
            }
            "--minute-ms" => settings.minute_ms = number(),
            "--failing-hook-stage" => settings.faults.failing_hook_stages.push(value),
            "--alarm-during-bake" => settings.faults.bake_alarms.push(value),
            "--account" => settings.account = value,
            "--region" => settings.region = value,
            "--throttle-every" => settings.faults.throttle_every = number(),
            "--fail-every" => settings.faults.fail_every = number(),
            "--delay-ms" => settings.faults.delay_ms = number(),
            "--registry-proxy" => {
                settings.registry_proxy = Some(value.parse().unwrap_or_else(|_| usage()))
            }
            "--registry-proxy-failures" => settings.registry_proxy_failures = number(),
            "--breaker-threshold" => settings.breaker_threshold = number() as i64,
            "--instance" => settings.instance = value,
            "--stale-describe-polls" => settings.faults.stale_describe_polls = number(),
            "--unplaceable-service" => settings
                .faults
                .add_unplaceable(&value)
                .unwrap_or_else(|| usage()),
            "--launch-delay-ms" => settings.faults.launch_delay_ms = number(),
            "--target-health-delay-ms" => settings.faults.target_health_delay_ms = number(),
            "--fail-operation" => {
                let (operation, count) = value.split_once(':').unwrap_or_else(|| usage());
                let count = count.parse().unwrap_or_else(|_| usage());
                settings
                    .faults
                    .failing_operations
                    .push((operation.to_string(), count));
            }
            "--deny-operation" => settings.faults.denied_operations.push(value),
            _ => usage(),
        }
    }
    if settings.instance.is_empty() {
        settings.instance = settings.listen.to_string();
    }
    settings
}

#[tokio::main]
async fn main() {
    let settings = settings();
    let docker = match bollard::Docker::connect_with_defaults() {
        Ok(docker) => match docker.negotiate_version().await {
            Ok(docker) => docker,
            Err(e) => {
                eprintln!("emulator: the Docker engine cannot be reached: {e}");
                std::process::exit(3)
            }
        },
        Err(e) => {
            eprintln!("emulator: the Docker engine cannot be reached: {e}");
            std::process::exit(3)
        }
    };
    let state = Arc::new(Mutex::new(state::State::new(&settings)));
    let context = Arc::new(api::Context {
        settings: settings.clone(),
        state: state.clone(),
        faults: faults::Counter::default(),
        operation_faults: faults::OperationCounts::default(),
    });
    let listener = match tokio::net::TcpListener::bind(settings.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("emulator: cannot listen on {}: {e}", settings.listen);
            std::process::exit(3)
        }
    };
    eprintln!("emulator: ECS and ECR on http://{}", settings.listen);
    let runner = tokio::spawn(runner::run(settings.clone(), state.clone(), docker.clone()));
    if let Some(address) = settings.load_balancer {
        match tokio::net::TcpListener::bind(address).await {
            Ok(lb) => {
                eprintln!("emulator: load balancer on http://{address}");
                tokio::spawn(lb::serve(
                    lb,
                    lb::Listener::Production,
                    state.clone(),
                    docker.clone(),
                ));
            }
            Err(e) => {
                eprintln!("emulator: cannot listen on {address} for the load balancer: {e}");
                std::process::exit(3)
            }
        }
    }
    if let Some(address) = settings.test_load_balancer {
        match tokio::net::TcpListener::bind(address).await {
            Ok(lb) => {
                eprintln!("emulator: the load balancer's test listener on http://{address}");
                tokio::spawn(lb::serve(
                    lb,
                    lb::Listener::Test,
                    state.clone(),
                    docker.clone(),
                ));
            }
            Err(e) => {
                eprintln!("emulator: cannot listen on {address} for the test listener: {e}");
                std::process::exit(3)
            }
        }
    }
    if let Some(address) = settings.registry_proxy {
        match tokio::net::TcpListener::bind(address).await {
            Ok(proxy) => {
                eprintln!(
                    "emulator: registry on {address} cutting the first {} uploads",
                    settings.registry_proxy_failures
                );
                tokio::spawn(registry_proxy::serve(
                    proxy,
                    settings.registry.clone(),
                    settings.registry_proxy_failures,
                ));
            }
            Err(e) => {
                eprintln!("emulator: cannot listen on {address} for the registry proxy: {e}");
                std::process::exit(3)
            }
        }
    }
    tokio::select! {
        _ = router::serve(listener, context) => {}
        _ = shutdown() => {}
    }
    runner.abort();
    let _ = runner.await;
    runner::remove_all(&settings, &docker).await;
    eprintln!("emulator: stopped; every task container removed");
}

async fn shutdown() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
