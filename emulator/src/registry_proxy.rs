//! A registry that fails mid-push, for tests: a TCP proxy in front of the real registry that
//! cuts the first N blob uploads off half-way (after some of their bytes went through), as a
//! registry or network failing during a push does. Everything else passes through untouched.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes of an upload let through before the connection is cut.
const CUT_AFTER: usize = 512;

pub async fn serve(listener: TcpListener, registry: String, failures: u64) {
    let remaining = Arc::new(AtomicU64::new(failures));
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let (registry, remaining) = (registry.clone(), remaining.clone());
        tokio::spawn(async move {
            let _ = proxy(client, &registry, &remaining).await;
        });
    }
}

async fn proxy(
    mut client: TcpStream,
    registry: &str,
    remaining: &AtomicU64,
) -> std::io::Result<()> {
    let mut upstream = TcpStream::connect(registry).await?;
    let mut buffer = vec![0u8; 16 * 1024];
    // The first bytes carry the request line: is this a blob upload to cut?
    let first = client.read(&mut buffer).await?;
    if first == 0 {
        return Ok(());
    }
    let head = String::from_utf8_lossy(&buffer[..first.min(256)]).to_string();
    let upload = (head.starts_with("PATCH ") || head.starts_with("PUT "))
        && head.contains("/blobs/uploads/");
    let cut = upload
        && remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
    if cut {
        upstream.write_all(&buffer[..first.min(CUT_AFTER)]).await?;
        // Drop both sides mid-request: the push sees a broken connection.
        return Ok(());
    }
    upstream.write_all(&buffer[..first]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
