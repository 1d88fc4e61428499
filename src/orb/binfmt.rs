//! Which foreign architectures of a step's `platform` list need QEMU handlers installed before
//! the build (`deployer orb binfmt`, read by the orb's binfmt step).
use super::values::{orb_usage, Values};
use crate::domain::platform::{parse_platforms, without_emulation, BinfmtHandler, Platform};
use crate::error::Result;

/// The architectures of the step's `platform` list that need QEMU handlers installed: those
/// foreign to `machine` (Docker's name for the engine host's architecture) that none of
/// `handlers` runs; every foreign one when the handlers are unknown (a remote engine).
pub fn binfmt_needed(
    environment: &dyn Fn(&str) -> Option<String>,
    machine: &str,
    handlers: Option<&[BinfmtHandler]>,
) -> Result<Vec<String>> {
    let values = Values { environment };
    let list = values.get("platform");
    let platforms =
        parse_platforms(std::slice::from_ref(&list)).map_err(|e| orb_usage("platform", e))?;
    let missing: Vec<&Platform> = match handlers {
        Some(handlers) => without_emulation(machine, &platforms, handlers),
        None => platforms
            .iter()
            .filter(|platform| platform.architecture != machine)
            .collect(),
    };
    let mut architectures: Vec<String> = Vec::new();
    for platform in missing {
        if !architectures.contains(&platform.architecture) {
            architectures.push(platform.architecture.clone());
        }
    }
    Ok(architectures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian's qemu-user-static handler for arm64 and tonistiigi/binfmt's for amd64.
    fn handlers() -> Vec<BinfmtHandler> {
        vec![
            BinfmtHandler::parse(
                "qemu-aarch64",
                "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n",
            )
            .unwrap(),
        ]
    }

    #[test]
    fn binfmt_needs_handlers_only_for_foreign_platforms_without_one() {
        let platforms = |list: &'static str| {
            move |name: &str| (name == "PARAM_PLATFORM").then(|| list.to_string())
        };
        let needed = |list: &'static str, handlers: Option<&[BinfmtHandler]>| {
            binfmt_needed(&platforms(list), "amd64", handlers).unwrap()
        };
        assert!(needed("linux/amd64", Some(&[])).is_empty());
        assert_eq!(
            needed("linux/amd64, linux/arm64,linux/arm/v7", Some(&[])),
            ["arm64", "arm"]
        );
        assert_eq!(
            needed("linux/amd64,linux/arm64,linux/arm/v7", Some(&handlers())),
            ["arm"]
        );
        // A remote engine's handlers are unknown here: every foreign one is installed.
        assert_eq!(needed("linux/arm64", None), ["arm64"]);
        let error = binfmt_needed(&platforms("linux"), "amd64", Some(&[])).unwrap_err();
        assert!(error.message.contains("linux"), "{}", error.message);
    }
}
