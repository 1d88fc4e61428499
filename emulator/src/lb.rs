//! The seed's load balancer: listens on 127.0.0.1 and forwards each connection to port 3000 of
//! a healthy task, inside that task's own network namespace (a socket opened after `setns`
//! stays in the namespace it was opened in), round robin.
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::state::State;

const TASK_PORT: u16 = 3000;

pub async fn serve(listener: TcpListener, state: Arc<Mutex<State>>, docker: bollard::Docker) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        let (state, docker, next) = (state.clone(), docker.clone(), next.clone());
        tokio::spawn(async move {
            let containers: Vec<String> = {
                let state = state.lock().await;
                state
                    .tasks
                    .iter()
                    .filter(|t| {
                        t.healthy && t.last_status == "RUNNING" && t.desired_status == "RUNNING"
                    })
                    .filter_map(|t| t.network_container().map(str::to_string))
                    .collect()
            };
            if containers.is_empty() {
                use tokio::io::AsyncWriteExt;
                let _ = client
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 20\r\nconnection: close\r\n\r\nno healthy targets\r\n")
                    .await;
                return;
            }
            let container = &containers[next.fetch_add(1, Ordering::SeqCst) % containers.len()];
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
