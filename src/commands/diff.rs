//! `deployer diff`: what `update-service` (or `deploy`) would change, as a unified diff, before
//! it runs: the revision the service runs against the one the plan renders, and the service
//! settings deployer would change (deployment strategy, circuit breaker, desired count, early
//! success). Exit 0 when nothing would change, 1 when something would, as `diff` does.
use super::steps::image_check::ImageCheck;
use super::update_service::{self, UpdateServiceSettings};
use crate::adapters::aws;
use crate::adapters::ecs::Ecs;
use crate::error::{Error, ErrorKind, Result};

/// The diff of a plan: empty when nothing would change.
pub async fn run(settings: UpdateServiceSettings) -> Result<String> {
    let config = aws::load(&settings.aws).await?;
    let ecs = Ecs::new(&config);
    let plan = update_service::plan(&ecs, &ImageCheck::new(&config), &settings, |_| {
        Ok(Vec::new())
    })
    .await?;
    update_service::diff(&ecs, &settings, &plan).await
}

/// The error `deployer diff` ends with when something would change: exit 1, and no other line
/// than the diff itself said it.
pub fn differs(service: &str) -> Error {
    Error::new(
        ErrorKind::Differs,
        format!("{service} would change (the diff is on stdout)"),
    )
}
