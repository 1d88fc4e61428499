//! Building an image through the Docker daemon, for `push` (and so `deploy`): the checked build
//! settings, the builder they need on this engine (BuildKit or classic) and the QEMU emulation
//! foreign platforms need, both decided before anything changes; then the build itself, the
//! context streamed, with the daemon's failure turned into a hint about the Dockerfile.
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::adapters::binfmt;
use crate::adapters::docker::{BuildRequest, Builder, Docker, DockerError, Engine, SecretSource};
use crate::build_context::{self, ContextPlan};
use crate::domain::dockerfile_features::{self, BuilderKind};
use crate::domain::ecr_token::RegistryCredentials;
use crate::domain::platform::{self, Platform};
use crate::domain::reference::ImageReference;
use crate::error::{Error, Result};
use crate::output;

/// A checked build: the context plan exists, the values parsed.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    pub context: ContextPlan,
    pub build_args: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub target: Option<String>,
    /// `--platform`: none (the daemon's own), one, or several for a multi-platform image.
    pub platforms: Vec<Platform>,
    pub cache_from: Vec<String>,
    pub no_cache: bool,
    pub pull: bool,
    pub builder: BuilderChoice,
    /// `--network`: the RUN steps' network mode; `None` is the daemon's default.
    pub network: Option<String>,
    /// `--add-host`: `HOST:IP` entries for the RUN steps' /etc/hosts.
    pub add_hosts: Vec<String>,
    pub cache_inline: CacheInline,
    /// `--secret` sources by ID, checked to exist.
    pub secrets: BTreeMap<String, SecretSource>,
    /// `--ssh default`: the agent's socket.
    pub ssh_agent: Option<PathBuf>,
    /// `--local-tag`: more names for the built image in the local daemon (docker build -t).
    pub local_tags: Vec<ImageReference>,
}

/// `--builder`, with what asked for it when it was not left to `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderChoice {
    /// BuildKit when the daemon has it, else the classic builder.
    Auto,
    BuildKit(&'static str),
    Classic(&'static str),
}

/// `--cache-inline`: asked for, or the default (on with `--cache-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheInline {
    Explicit(bool),
    Default(bool),
}

impl BuildSettings {
    /// The flags only BuildKit can carry out, as the user wrote them.
    fn buildkit_only_flags(&self) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if !self.secrets.is_empty() {
            flags.push("--secret");
        }
        if self.ssh_agent.is_some() {
            flags.push("--ssh");
        }
        if self.cache_inline == CacheInline::Explicit(true) {
            flags.push("--cache-inline");
        }
        flags
    }

    /// The builder to use on this engine, and why: checked before anything is changed.
    pub fn resolve_builder(&self, engine: &Engine) -> Result<(Builder, String)> {
        let engine_name = format!("Engine {}, API {}", engine.version, engine.api_version);
        let wanted_by_flags = self.buildkit_only_flags();
        let (builder, why) = match (self.builder, &engine.buildkit_unavailable) {
            (BuilderChoice::Classic(cause), _) => (Builder::Classic, cause.to_string()),
            (BuilderChoice::BuildKit(_), None) | (BuilderChoice::Auto, None) => {
                (Builder::BuildKit, engine_name)
            }
            (BuilderChoice::BuildKit(cause), Some(reason)) => {
                return Err(Error::environment(format!(
                    "{cause}: this Docker daemon's BuildKit cannot be used: {reason}"
                ))
                .with_hint("use --builder classic, or a daemon of Engine 18.09 or newer reached over unix:// or tcp:// (TLS included)"))
            }
            (BuilderChoice::Auto, Some(reason)) if !wanted_by_flags.is_empty() => {
                return Err(Error::environment(format!(
                    "{} need BuildKit, and this Docker daemon's BuildKit cannot be used: {reason}",
                    wanted_by_flags.join(", ")
                ))
                .with_hint("drop those flags to build with the classic builder, or use a daemon of Engine 18.09 or newer"))
            }
            (BuilderChoice::Auto, Some(reason)) => (Builder::Classic, reason.clone()),
        };
        if builder == Builder::Classic && !wanted_by_flags.is_empty() {
            return Err(Error::usage(format!(
                "{} need BuildKit, and the classic builder was chosen ({why})",
                wanted_by_flags.join(", ")
            ))
            .with_hint("drop --builder classic / DOCKER_BUILDKIT=0, or those flags"));
        }
        Ok((builder, why))
    }
}

impl BuildSettings {
    /// Foreign platforms' `RUN` steps run under QEMU through the kernel's binfmt_misc: checked
    /// before anything is built, on the machine of a local engine (`unix://`), so a missing
    /// handler is a clear error rather than `exec format error` inside the build.
    pub fn check_emulation(&self, engine: &Engine, host: &str) -> Result<()> {
        let foreign: Vec<&Platform> = self
            .platforms
            .iter()
            .filter(|platform| platform.architecture != engine.architecture)
            .collect();
        if foreign.is_empty() {
            return Ok(());
        }
        let dockerfile =
            std::fs::read_to_string(self.context.dockerfile_path()).unwrap_or_default();
        if !platform::runs_steps_on_target(&dockerfile) {
            return Ok(());
        }
        let names = |platforms: &[&Platform]| {
            platforms
                .iter()
                .map(|platform| platform.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let checked_here = host.starts_with("unix://")
            || crate::env::var_os(crate::env::DEPLOYER_BINFMT_MISC).is_some();
        if !checked_here {
            output::step(format!(
                "the Docker engine at {host} is remote: its host needs QEMU's binfmt_misc handlers for {} (not checked from here)",
                names(&foreign)
            ));
            return Ok(());
        }
        let handlers = binfmt::handlers();
        let missing = platform::without_emulation(&engine.architecture, &self.platforms, &handlers);
        if missing.is_empty() {
            return Ok(());
        }
        let architectures: Vec<&str> = missing
            .iter()
            .map(|platform| platform.architecture.as_str())
            .collect();
        Err(Error::environment(format!(
            "the Dockerfile runs RUN steps for {}, and the Docker engine's host ({}) has no binfmt_misc handler to run {} binaries ({} lists none)",
            names(&missing),
            engine.architecture,
            architectures.join(", "),
            binfmt::directory().display()
        ))
        .with_hint(format!(
            "install QEMU's handlers on the engine's host: Debian/Ubuntu `apt-get install qemu-user-static binfmt-support` \
             (mount binfmt_misc first if it is not: `mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc`), \
             or through the engine `docker run --privileged --rm tonistiigi/binfmt --install {}` (the aws-ecr orb's binfmt_version step); \
             stages FROM --platform=$BUILDPLATFORM and COPY-only stages need no emulation",
            architectures.join(",")
        )))
    }
}

/// Builds `build` (for `platform`, else the daemon's own) and tags it `reference`.
pub async fn build_image(
    docker: &Docker,
    build: &BuildSettings,
    platform: Option<&Platform>,
    builder: Builder,
    reference: &str,
    credentials: &RegistryCredentials,
) -> Result<String> {
    let mut build_args = to_hash_map(&build.build_args);
    if let (Builder::Classic, Some(platform)) = (builder, platform) {
        // BuildKit sets these for every build; the classic builder takes them as build
        // arguments (a Dockerfile declares `ARG TARGETARCH` before a `FROM` that uses it).
        let mut automatic = vec![
            ("TARGETPLATFORM", platform.to_string()),
            ("TARGETOS", platform.os.clone()),
            ("TARGETARCH", platform.architecture.clone()),
        ];
        if let Some(variant) = &platform.variant {
            automatic.push(("TARGETVARIANT", variant.clone()));
        }
        for (name, value) in automatic {
            build_args.entry(name.to_string()).or_insert(value);
        }
    }
    let request = BuildRequest {
        dockerfile: build.context.dockerfile_in_tar.clone(),
        tag: reference.to_string(),
        build_args,
        labels: to_hash_map(&build.labels),
        target: build.target.clone(),
        platform: platform.map(Platform::to_string),
        cache_from: build.cache_from.clone(),
        no_cache: build.no_cache,
        pull: build.pull,
        builder,
        network: build.network.clone(),
        extra_hosts: build.add_hosts.clone(),
        cache_inline: builder == Builder::BuildKit
            && matches!(
                build.cache_inline,
                CacheInline::Explicit(true) | CacheInline::Default(true)
            ),
        secrets: build
            .secrets
            .iter()
            .map(|(id, source)| (id.clone(), source.clone()))
            .collect(),
        ssh_agent: build.ssh_agent.clone(),
    };
    output::step(format!(
        "building {}{} from {} (Dockerfile {})",
        request.tag,
        platform.map_or_else(String::new, |platform| format!(" for {platform}")),
        build.context.context_dir.display(),
        request.dockerfile
    ));
    let (context, walker) = build_context::stream(build.context.clone());
    let built = docker.build(&request, context, Some(credentials)).await;
    let walked = walker
        .await
        .map_err(|e| Error::failed(format!("the build context writer stopped: {e}")))?;
    // A context that could not be read explains a failed upload better than the daemon can.
    let stats = walked?;
    let image_id = match built {
        Ok(image_id) => image_id,
        Err(DockerError::BuildFailed { message }) => {
            let dockerfile =
                std::fs::read_to_string(build.context.dockerfile_path()).unwrap_or_default();
            let kind = match builder {
                Builder::BuildKit => BuilderKind::BuildKit,
                Builder::Classic => BuilderKind::Classic,
            };
            let error: Error = DockerError::BuildFailed {
                message: message.clone(),
            }
            .into();
            return Err(
                match dockerfile_features::hint(&message, &dockerfile, kind) {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                },
            );
        }
        Err(other) => return Err(other.into()),
    };
    output::step(format!(
        "built {} ({} files, {} sent as context)",
        short_id(&image_id),
        stats.files,
        human_bytes(stats.bytes)
    ));
    Ok(image_id)
}

fn to_hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The short form of an image ID or digest, as `docker images` shows it.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// A size as `docker` prints it (`512 B`, `2.0 GiB`).
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(2 * 1024 * 1024 * 1024), "2.0 GiB");
        assert_eq!(short_id("sha256:8e031288b93e86d620af"), "8e031288b93e");
    }
}
