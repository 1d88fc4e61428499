//! The seed's load balancer: listens on 127.0.0.1 and forwards each connection to port 3000 of
//! a healthy task, inside that task's own network namespace (a socket opened after `setns`
//! stays in the namespace it was opened in), round robin. While a blue/green, linear or canary
//! deployment shifts traffic, the production listener sends its share of connections to the
//! new revision's tasks by the deployment's production weight, and the test listener sends to
//! them once test traffic shifted.
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::engine::deployments::is_native;
use crate::state::State;

const TASK_PORT: u16 = 3000;

/// Which of the load balancer's listeners a connection came to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Listener {
    Production,
    Test,
}

/// Whether the `request`th connection goes to the new revision when it gets `weight` percent:
/// exactly `weight` of every 100 connections do, spread evenly.
fn to_new_revision(request: usize, weight: f64) -> bool {
    let share = |n: usize| (n as f64 * weight / 100.0).floor();
    share(request + 1) > share(request)
}

/// The network containers the `request`th connection to `listener` may go to: every healthy
/// task, and for a service whose deployment shifts traffic, only those of the revision the
/// weights pick (the other when it has none).
pub fn targets(state: &State, listener: Listener, request: usize) -> Vec<String> {
    let mut chosen = Vec::new();
    for service in state.services.iter().filter(|s| s.status == "ACTIVE") {
        let serving: Vec<&crate::state::Task> = state
            .tasks
            .iter()
            .filter(|t| {
                t.service == service.name
                    && t.cluster == service.cluster
                    && t.healthy
                    && t.last_status == "RUNNING"
                    && t.desired_status == "RUNNING"
            })
            .collect();
        let shifting = service
            .deployments
            .first()
            .filter(|d| is_native(d) && d.listed_status == "IN_PROGRESS");
        // A native deployment rolled back or stopped is out of the listeners at once (ECS moves
        // the production and test listener rules back before it scales the new tasks in): its
        // tasks, still running for a moment, get no traffic.
        let withdrawn: Vec<&str> = service
            .deployments
            .iter()
            .chain(service.history.iter().map(|(deployment, _)| deployment))
            .filter(|d| {
                crate::state::strategy_of(&d.configuration) != "ROLLING"
                    && (d.listed_status.starts_with("ROLLBACK") || d.listed_status == "STOPPED")
            })
            .map(|d| d.id.as_str())
            .collect();
        let kept: Vec<&crate::state::Task> = serving
            .iter()
            .copied()
            .filter(|t| !withdrawn.contains(&t.deployment_id.as_str()))
            .collect();
        let serving = if kept.is_empty() { serving } else { kept };
        let pool: Vec<&crate::state::Task> = match shifting {
            Some(deployment) => {
                let weight = match listener {
                    Listener::Production => deployment.production_weight,
                    Listener::Test => deployment.test_weight,
                };
                let new = to_new_revision(request, weight);
                let (green, blue): (Vec<_>, Vec<_>) = serving
                    .iter()
                    .partition(|t| t.deployment_id == deployment.id);
                match (new, green.is_empty(), blue.is_empty()) {
                    (true, false, _) | (false, false, true) => green,
                    _ => blue,
                }
            }
            None => serving,
        };
        chosen.extend(
            pool.iter()
                .filter_map(|t| t.network_container().map(str::to_string)),
        );
    }
    chosen
}

pub async fn serve(
    listener: TcpListener,
    kind: Listener,
    state: Arc<Mutex<State>>,
    docker: bollard::Docker,
) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        let (state, docker, next) = (state.clone(), docker.clone(), next.clone());
        tokio::spawn(async move {
            let request = next.fetch_add(1, Ordering::SeqCst);
            let containers = targets(&*state.lock().await, kind, request);
            if containers.is_empty() {
                use tokio::io::AsyncWriteExt;
                let _ = client
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 20\r\nconnection: close\r\n\r\nno healthy targets\r\n")
                    .await;
                return;
            }
            let container = &containers[request % containers.len()];
            let Ok(inspect) = docker.inspect_container(container, None).await else {
                return;
            };
            let Some(pid) = inspect.state.and_then(|s| s.pid).filter(|pid| *pid > 0) else {
                return;
            };
            let Ok(Ok(stream)) =
                tokio::task::spawn_blocking(move || connect_in_namespace(pid, TASK_PORT)).await
            else {
                return;
            };
            let Ok(mut upstream) = TcpStream::from_std(stream) else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
    }
}

/// Connects to 127.0.0.1:`port` inside the network namespace of process `pid`, on a thread of
/// its own so the namespace switch touches nothing else.
fn connect_in_namespace(pid: i64, port: u16) -> std::io::Result<std::net::TcpStream> {
    std::thread::spawn(move || {
        let namespace = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
        // SAFETY: setns on a file descriptor we own changes only this thread's namespace.
        if unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nonblocking(true)?;
        Ok(stream)
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("the connecting thread panicked")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weight_sends_exactly_that_share_of_every_hundred_connections() {
        for weight in [0.0, 5.0, 10.0, 50.0, 100.0] {
            let new = (0..100).filter(|n| to_new_revision(*n, weight)).count();
            assert_eq!(new as f64, weight);
        }
        let first: Vec<usize> = (0..30).filter(|n| to_new_revision(*n, 10.0)).collect();
        assert_eq!(first, [9, 19, 29], "spread evenly");
    }
}
