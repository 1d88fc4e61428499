//! The kernel's binfmt_misc handlers on this machine: whether the Docker engine's host can run
//! another architecture's binaries (QEMU registers one handler per architecture).
use std::path::PathBuf;

use crate::domain::platform::BinfmtHandler;

/// Where the kernel lists the handlers (`DEPLOYER_BINFMT_MISC` points elsewhere, for diagnosis
/// and tests).
pub fn directory() -> PathBuf {
    crate::env::var_os(crate::env::DEPLOYER_BINFMT_MISC)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/proc/sys/fs/binfmt_misc"))
}

/// The handlers there; none when binfmt_misc is not mounted or is disabled as a whole.
pub fn handlers() -> Vec<BinfmtHandler> {
    let dir = directory();
    let enabled = std::fs::read_to_string(dir.join("status"))
        .map(|status| status.trim() == "enabled")
        .unwrap_or(false);
    if !enabled {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "status" || name == "register" {
                return None;
            }
            let text = std::fs::read_to_string(entry.path()).ok()?;
            BinfmtHandler::parse(&name, &text)
        })
        .collect()
}
