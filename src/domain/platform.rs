//! Multi-platform images: the `--platform` list, whether the daemon's host can run a foreign
//! platform's `RUN` steps (a binfmt_misc handler for its ELF machine, as QEMU registers one),
//! and the image index that ties the per-platform images under one tag.
use std::collections::BTreeMap;
use std::fmt;

/// One target platform, `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl Platform {
    /// `linux-arm64-v8`: the suffix of the tag a platform's own image is pushed under.
    pub fn tag_suffix(&self) -> String {
        self.to_string().replace('/', "-")
    }
}

/// Every `--platform` value (a comma or blank separated list, or the flag repeated), in order,
/// each once.
/// `x86_64` and `aarch64` are taken as Docker's `amd64` and `arm64`.
pub fn parse_platforms(values: &[String]) -> Result<Vec<Platform>, String> {
    let mut platforms: Vec<Platform> = Vec::new();
    for one in values
        .iter()
        // Commas, or blanks as the aws-ecr orb's `platform` also takes them.
        .flat_map(|value| value.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|one| !one.is_empty())
    {
        let parts: Vec<&str> = one.split('/').collect();
        let well_formed = (2..=3).contains(&parts.len())
            && parts.iter().all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        if !well_formed {
            return Err(format!(
                "--platform {one:?} is malformed: expected os/arch[/variant], e.g. linux/arm64"
            ));
        }
        let architecture = match parts[1] {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        let platform = Platform {
            os: parts[0].to_string(),
            architecture: architecture.to_string(),
            variant: parts.get(2).map(|variant| variant.to_string()),
        };
        if !platforms.contains(&platform) {
            platforms.push(platform);
        }
    }
    Ok(platforms)
}

/// Docker's name for the architecture of a machine (`uname -m`, or the engine's `Arch`).
pub fn docker_architecture(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" | "armv6l" => "arm",
        "i386" | "i686" => "386",
        other => other,
    }
}

/// The ELF header bytes that mark a binary of `architecture`: its class (1: 32-bit, 2: 64-bit),
/// its byte order (1: little, 2: big) and its `e_machine`.
fn elf_identity(architecture: &str) -> Option<(u8, u8, u16)> {
    Some(match architecture {
        "amd64" => (2, 1, 0x3e),
        "arm64" => (2, 1, 0xb7),
        "arm" => (1, 1, 0x28),
        "386" => (1, 1, 0x03),
        "ppc64le" => (2, 1, 0x15),
        "s390x" => (2, 2, 0x16),
        "riscv64" => (2, 1, 0xf3),
        "mips64le" => (2, 1, 0x08),
        _ => return None,
    })
}

/// A binfmt_misc handler, as `/proc/sys/fs/binfmt_misc/NAME` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinfmtHandler {
    pub name: String,
    pub enabled: bool,
    pub interpreter: String,
    offset: usize,
    magic: Vec<u8>,
    mask: Vec<u8>,
}

impl BinfmtHandler {
    /// Reads the kernel's description of a handler; `None` for one that matches by extension.
    pub fn parse(name: &str, text: &str) -> Option<BinfmtHandler> {
        let mut handler = BinfmtHandler {
            name: name.to_string(),
            enabled: false,
            interpreter: String::new(),
            offset: 0,
            magic: Vec::new(),
            mask: Vec::new(),
        };
        for line in text.lines() {
            let (key, value) = line.split_once(' ').unwrap_or((line, ""));
            match key {
                "enabled" => handler.enabled = true,
                "interpreter" => handler.interpreter = value.to_string(),
                "offset" => handler.offset = value.parse().ok()?,
                "magic" => handler.magic = hex(value)?,
                "mask" => handler.mask = hex(value)?,
                _ => {}
            }
        }
        (!handler.magic.is_empty()).then_some(handler)
    }

    /// Whether the kernel hands ELF binaries of `architecture` to this handler.
    pub fn runs(&self, architecture: &str) -> bool {
        let Some((class, order, machine)) = elf_identity(architecture) else {
            return false;
        };
        let machine = match order {
            2 => machine.to_be_bytes(),
            _ => machine.to_le_bytes(),
        };
        let mut header = [0u8; 20];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = class;
        header[5] = order;
        header[6] = 1;
        // An executable (2); QEMU's masks also accept shared objects (3).
        let executable: u16 = 2;
        header[16..18].copy_from_slice(&match order {
            2 => executable.to_be_bytes(),
            _ => executable.to_le_bytes(),
        });
        header[18..20].copy_from_slice(&machine);
        if !self.enabled || self.offset != 0 || self.magic.len() > header.len() {
            return false;
        }
        self.magic.iter().enumerate().all(|(at, expected)| {
            let mask = self.mask.get(at).copied().unwrap_or(0xff);
            header[at] & mask == expected & mask
        })
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

/// The platforms whose `RUN` steps the daemon's host (of `host_architecture`, Docker's name)
/// cannot run: foreign ones no enabled handler takes.
pub fn without_emulation<'a>(
    host_architecture: &str,
    platforms: &'a [Platform],
    handlers: &[BinfmtHandler],
) -> Vec<&'a Platform> {
    platforms
        .iter()
        .filter(|platform| platform.architecture != host_architecture)
        .filter(|platform| {
            !handlers
                .iter()
                .any(|handler| handler.runs(&platform.architecture))
        })
        .collect()
}

/// Whether a Dockerfile runs anything on the target platform: a `RUN` in a stage that is not
/// `FROM --platform=$BUILDPLATFORM` (those run natively, whatever the target). A build of
/// `COPY` and `ADD` only needs no emulation.
pub fn runs_steps_on_target(dockerfile: &str) -> bool {
    let mut native_stage = false;
    let mut continued = false;
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if continued {
            continued = trimmed.ends_with('\\');
            continue;
        }
        continued = trimmed.ends_with('\\');
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let mut words = trimmed.split_whitespace();
        let instruction = words.next().unwrap_or_default().to_ascii_uppercase();
        match instruction.as_str() {
            "FROM" => {
                native_stage = words.any(|word| {
                    let word = word.replace(['{', '}', '"'], "");
                    word == "--platform=$BUILDPLATFORM"
                });
            }
            "RUN" if !native_stage => return true,
            _ => {}
        }
    }
    false
}

/// A pushed platform image, as the index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub size: u64,
    pub digest: String,
}

pub const MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The index for `images`: a Docker manifest list when every image is a Docker manifest (what
/// the Docker engine pushes, and what every registry and ECR take), else an OCI index.
pub fn image_index(images: &[(Platform, Descriptor)]) -> (String, &'static str) {
    let all_docker = images
        .iter()
        .all(|(_, image)| image.media_type.starts_with("application/vnd.docker."));
    let media_type = if all_docker { MANIFEST_LIST } else { OCI_INDEX };
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .map(|(platform, image)| {
            let mut platform_json = BTreeMap::new();
            platform_json.insert("architecture", platform.architecture.clone());
            platform_json.insert("os", platform.os.clone());
            if let Some(variant) = &platform.variant {
                platform_json.insert("variant", variant.clone());
            }
            serde_json::json!({
                "mediaType": image.media_type,
                "size": image.size,
                "digest": image.digest,
                "platform": platform_json,
            })
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": manifests,
    });
    (
        serde_json::to_string_pretty(&index).unwrap_or_default(),
        media_type,
    )
}

/// The images an index lists, with their platforms; `None` for a manifest that is no index.
pub fn index_images(manifest: &str) -> Option<Vec<(Platform, String)>> {
    let value: serde_json::Value = serde_json::from_str(manifest).ok()?;
    let manifests = value.get("manifests")?.as_array()?;
    Some(
        manifests
            .iter()
            .filter_map(|entry| {
                let platform = entry.get("platform")?;
                let text = |key: &str| {
                    platform
                        .get(key)
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                };
                Some((
                    Platform {
                        os: text("os")?,
                        architecture: text("architecture")?,
                        variant: text("variant"),
                    },
                    entry.get("digest")?.as_str()?.to_string(),
                ))
            })
            .collect(),
    )
}

/// Whether a manifest (as a registry or ECR returns it) is an index rather than an image.
pub fn is_index(manifest: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(manifest)
        .ok()
        .is_some_and(|value| value.get("manifests").is_some_and(|m| m.is_array()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/sys/fs/binfmt_misc/qemu-aarch64` as Debian's qemu-user-static registers it.
    const QEMU_AARCH64: &str = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n";
    /// tonistiigi/binfmt's handler for arm (32-bit).
    const QEMU_ARM: &str = "enabled\ninterpreter /usr/bin/qemu-arm\nflags: POCF\noffset 0\nmagic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff\n";
    const QEMU_S390X: &str = "enabled\ninterpreter /usr/bin/qemu-s390x\nflags: POCF\noffset 0\nmagic 7f454c4602020100000000000000000000020016\nmask ffffffffffffff00fffffffffffffffffffeffff\n";

    fn platforms(text: &str) -> Vec<Platform> {
        parse_platforms(&[text.to_string()]).unwrap()
    }

    #[test]
    fn platform_lists_comma_separated_or_repeated() {
        let parsed = parse_platforms(&[
            "linux/amd64, linux/arm64".to_string(),
            "linux/arm/v7 linux/arm64".to_string(),
            "linux/aarch64".to_string(),
        ])
        .unwrap();
        let names: Vec<String> = parsed.iter().map(Platform::to_string).collect();
        assert_eq!(names, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
        assert_eq!(parsed[2].tag_suffix(), "linux-arm-v7");
        assert!(parse_platforms(&["linux".to_string()]).is_err());
        assert!(parse_platforms(&["linux/amd64/v2/x".to_string()]).is_err());
        assert!(parse_platforms(&[String::new()]).unwrap().is_empty());
    }

    #[test]
    fn qemu_handlers_are_recognised_by_their_elf_machine() {
        let aarch64 = BinfmtHandler::parse("qemu-aarch64", QEMU_AARCH64).unwrap();
        assert!(aarch64.runs("arm64"));
        assert!(!aarch64.runs("amd64"));
        assert!(!aarch64.runs("arm"));
        let arm = BinfmtHandler::parse("qemu-arm", QEMU_ARM).unwrap();
        assert!(arm.runs("arm") && !arm.runs("arm64"));
        let s390x = BinfmtHandler::parse("qemu-s390x", QEMU_S390X).unwrap();
        assert!(s390x.runs("s390x") && !s390x.runs("ppc64le"));
        let disabled =
            BinfmtHandler::parse("qemu-aarch64", &QEMU_AARCH64.replace("enabled", "disabled"))
                .unwrap();
        assert!(!disabled.runs("arm64"));
        // jar files and the like match by extension: not an ELF handler.
        assert_eq!(
            BinfmtHandler::parse(
                "jar",
                "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n"
            ),
            None
        );
    }

    #[test]
    fn only_foreign_platforms_without_a_handler_lack_emulation() {
        let wanted = platforms("linux/amd64,linux/arm64,linux/arm/v7");
        let aarch64 = BinfmtHandler::parse("qemu-aarch64", QEMU_AARCH64).unwrap();
        let missing = without_emulation("amd64", &wanted, std::slice::from_ref(&aarch64));
        assert_eq!(missing, [&wanted[2]]);
        let missing = without_emulation("amd64", &wanted, &[]);
        assert_eq!(missing, [&wanted[1], &wanted[2]]);
        // On an arm64 host, amd64 is the foreign one.
        let both = platforms("linux/amd64,linux/arm64");
        let missing = without_emulation("arm64", &both, &[aarch64]);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].architecture, "amd64");
        assert_eq!(docker_architecture("x86_64"), "amd64");
        assert_eq!(docker_architecture("aarch64"), "arm64");
    }

    #[test]
    fn run_steps_on_the_target_platform_need_emulation() {
        assert!(runs_steps_on_target("FROM busybox\nRUN uname -m > /arch\n"));
        assert!(!runs_steps_on_target(
            "FROM busybox\nCOPY site /www\nCMD [\"httpd\"]\n"
        ));
        // Compiled natively, copied into the target stage.
        let cross =
            "FROM --platform=$BUILDPLATFORM rust AS build\nRUN cargo build \\\n  --release\n\
                     FROM debian\nCOPY --from=build /app /app\n";
        assert!(!runs_steps_on_target(cross));
        assert!(!runs_steps_on_target(
            &cross.replace("$BUILDPLATFORM", "${BUILDPLATFORM}")
        ));
        assert!(runs_steps_on_target(&format!(
            "{cross}RUN /app --selftest\n"
        )));
        assert!(!runs_steps_on_target(
            "FROM scratch\n# RUN nothing\nLABEL a=\"RUN\"\n"
        ));
    }

    #[test]
    fn a_manifest_list_of_docker_manifests_and_an_oci_index_otherwise() {
        let docker_manifest = |digest: char| Descriptor {
            media_type: "application/vnd.docker.distribution.manifest.v2+json".into(),
            size: 528,
            digest: format!("sha256:{}", digest.to_string().repeat(64)),
        };
        let wanted = platforms("linux/amd64,linux/arm64/v8");
        let (index, media_type) = image_index(&[
            (wanted[0].clone(), docker_manifest('a')),
            (wanted[1].clone(), docker_manifest('b')),
        ]);
        assert_eq!(media_type, MANIFEST_LIST);
        let value: serde_json::Value = serde_json::from_str(&index).unwrap();
        assert_eq!(value["mediaType"], MANIFEST_LIST);
        assert_eq!(value["schemaVersion"], 2);
        assert_eq!(value["manifests"][1]["platform"]["architecture"], "arm64");
        assert_eq!(value["manifests"][1]["platform"]["variant"], "v8");
        assert_eq!(value["manifests"][0]["platform"].get("variant"), None);
        assert_eq!(value["manifests"][0]["size"], 528);
        assert!(is_index(&index));

        let oci = Descriptor {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            ..docker_manifest('c')
        };
        let (_, media_type) = image_index(&[(wanted[0].clone(), oci)]);
        assert_eq!(media_type, OCI_INDEX);
        assert!(!is_index(r#"{"schemaVersion":2,"config":{},"layers":[]}"#));
        let listed = index_images(&index).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].0, wanted[1]);
        assert_eq!(listed[1].1, format!("sha256:{}", "b".repeat(64)));
        assert_eq!(
            index_images(r#"{"schemaVersion":2,"config":{},"layers":[]}"#),
            None
        );
    }
}
