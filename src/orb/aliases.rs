//! What the generated aliases of the aws-ecr orb's old names mean where one name served versions
//! that did different things: the registry and region their variables named, the Dockerfile
//! 0.0.x-6.5 read from the working directory, the build context 8.2 took from `.`. Each decision
//! is said in the log; where the evidence cannot tell, the step stops before anything changes.
use std::collections::BTreeMap;
use std::path::{Component, Path};

use super::registry_host::{registry_host, RegistryHost};
use super::values::{env_name, Values};
use super::variables::named_variable;
use crate::domain::context_evidence::{context_sources, weigh, Evidence};
use crate::domain::old_orb::OldOrb;
use crate::error::{Error, Result};
use crate::output;

/// A variable an era of the aws-ecr orb read when the config left the parameter at its default,
/// and stopped without (8.x: "The registry ID is not found", 9.x: "The account ID is not found",
/// 1.x-7.x: `docker build -t /REPO:TAG` with an empty host).
struct Reader {
    variable: &'static str,
    versions: &'static str,
    from: (u32, u32),
    to: (u32, u32),
}

/// Where each era took the registry's account from: a registry host (1.x-7.x's account-url),
/// then account IDs.
const ACCOUNT_READERS: [Reader; 3] = [
    Reader {
        variable: "AWS_ECR_ACCOUNT_URL",
        versions: "1.x-7.x",
        from: (1, 0),
        to: (7, u32::MAX),
    },
    Reader {
        variable: "AWS_ECR_REGISTRY_ID",
        versions: "8.x",
        from: (8, 0),
        to: (8, u32::MAX),
    },
    Reader {
        variable: "AWS_ACCOUNT_ID",
        versions: "9.x",
        from: (9, 0),
        to: (9, u32::MAX),
    },
];

const REGION_READERS: [Reader; 2] = [
    Reader {
        variable: "AWS_REGION",
        versions: "1.x-8.x",
        from: (1, 0),
        to: (8, u32::MAX),
    },
    Reader {
        variable: "AWS_DEFAULT_REGION",
        versions: "9.x",
        from: (9, 0),
        to: (9, u32::MAX),
    },
];

/// The registry and region an alias invocation names, from the variables the versions it
/// serves read. A parameter the config gives decides, as always. Left at the aliases' default, a
/// variable only some of those versions read decides only where the others could not have run
/// the config (each stopped without its own); when several are set they must agree. The 8.0-8.1
/// ECR Public meaning of registry-id (the public alias) is kept. Returns the parameters the
/// decision sets (`PARAM_*`), and says in the log which variable decided.
pub(super) fn old_registry(old: &OldOrb, values: &Values) -> Result<BTreeMap<String, String>> {
    let mut decided = BTreeMap::new();
    let variable = |name: &str| {
        (values.environment)(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    let raw = |name: &str| {
        (values.environment)(&env_name(name))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let readers = |list: &'static [Reader]| -> Vec<&'static Reader> {
        list.iter()
            .filter(|reader| old.overlaps("aws-ecr", reader.from, reader.to))
            .collect()
    };
    let account_readers = readers(&ACCOUNT_READERS);
    // An era's own default (9.x's account_id ${AWS_ACCOUNT_ID}) is no choice of the config's.
    let at_default = |written: &str, list: &[&Reader]| {
        written.is_empty()
            || named_variable(written).is_some_and(|name| list.iter().any(|r| r.variable == name))
    };
    let url_written = raw("account_url");
    let id_written = raw("account_id");
    let explained = |set: &[(&Reader, String)], missing: &[&Reader]| {
        let named: Vec<String> = set
            .iter()
            .map(|(reader, _)| format!("{} (read by aws-ecr {})", reader.variable, reader.versions))
            .collect();
        let unset: Vec<String> = missing
            .iter()
            .map(|reader| {
                format!(
                    "{} ({}) is unset, and those versions stopped without it",
                    reader.variable, reader.versions
                )
            })
            .collect();
        let mut text = named.join(" and ");
        if !unset.is_empty() {
            text.push_str("; ");
            text.push_str(&unset.join("; "));
        }
        text
    };

    // aws-ecr 8.0-8.1 pushed to public.ecr.aws/<registry-id's value>/<repo>; 8.2 took the
    // alias from public-registry-alias.
    if values.flag("public_registry")?
        && values.get("public_registry_alias").is_empty()
        && old.overlaps("aws-ecr", (8, 0), (8, 1))
    {
        let alias = if id_written.is_empty() {
            variable("AWS_ECR_REGISTRY_ID").map(|alias| ("AWS_ECR_REGISTRY_ID".to_string(), alias))
        } else {
            Some(values.read_through("account_id"))
                .filter(|alias| !alias.is_empty())
                .map(|alias| (id_written.clone(), alias))
        };
        if let Some((from, alias)) = alias {
            output::step(format!(
                "registry: ECR Public, alias {alias} from {from} (registry-id), which aws-ecr \
                 8.0-8.1 used as the public alias: public.ecr.aws/{alias}/{}",
                values.get("repo")
            ));
            decided.insert(env_name("public_registry_alias"), alias);
            decided.insert(env_name("account_id"), String::new());
            return Ok(decided);
        }
    }

    if !url_written.is_empty() || !at_default(&id_written, &account_readers) {
        let (param, written) = if url_written.is_empty() {
            ("account_id", id_written)
        } else {
            ("account_url", url_written)
        };
        output::step(format!(
            "registry: from {param} ({written}), as the config gives it"
        ));
    } else {
        let set: Vec<(&Reader, String)> = account_readers
            .iter()
            .filter_map(|reader| variable(reader.variable).map(|value| (*reader, value)))
            .collect();
        let missing: Vec<&Reader> = account_readers
            .iter()
            .filter(|reader| !set.iter().any(|(s, _)| s.variable == reader.variable))
            .copied()
            .collect();
        let accounts: Vec<(String, Option<RegistryHost>)> = set
            .iter()
            .map(|(reader, value)| {
                if reader.variable == "AWS_ECR_ACCOUNT_URL" {
                    match registry_host(value) {
                        RegistryHost::Ecr { account, .. } => {
                            (account.clone(), Some(registry_host(value)))
                        }
                        other => (value.clone(), Some(other)),
                    }
                } else {
                    (value.clone(), None)
                }
            })
            .collect();
        match accounts.first() {
            None => output::step(format!(
                "registry: the credentials' own account ({} unset)",
                account_readers
                    .iter()
                    .map(|reader| reader.variable)
                    .collect::<Vec<_>>()
                    .join(" and ")
            )),
            Some((account, _)) if accounts.iter().all(|(other, _)| other == account) => {
                output::step(format!(
                    "registry: account {account}, named by {}",
                    explained(&set, &missing)
                ));
                if accounts.iter().any(|(_, host)| host.is_some()) {
                    decided.insert(env_name("account_url"), "AWS_ECR_ACCOUNT_URL".to_string());
                    decided.insert(env_name("account_id"), String::new());
                } else {
                    decided.insert(env_name("account_id"), account.clone());
                }
            }
            Some(_) => {
                let named: Vec<String> = set
                    .iter()
                    .map(|(reader, value)| {
                        format!(
                            "{}={value} (read by aws-ecr {})",
                            reader.variable, reader.versions
                        )
                    })
                    .collect();
                return Err(Error::usage(format!(
                    "{}: this name served aws-ecr {old}, each of those versions read one of these \
                     variables, and they name different registries; one is left over, and deployer \
                     will not guess which account to push to",
                    named.join(", ")
                ))
                .with_hint(
                    "give the registry in the config (account-url, registry-id or account_id, as your \
                     version named it), or unset the variable left over",
                ));
            }
        }
    }

    let region_written = raw("region");
    let region_readers = readers(&REGION_READERS);
    if region_readers.len() > 1 && at_default(&region_written, &region_readers) {
        let set: Vec<(&Reader, String)> = region_readers
            .iter()
            .filter_map(|reader| variable(reader.variable).map(|value| (*reader, value)))
            .collect();
        let missing: Vec<&Reader> = region_readers
            .iter()
            .filter(|reader| !set.iter().any(|(s, _)| s.variable == reader.variable))
            .copied()
            .collect();
        match set.first() {
            None => output::step("region: none of the variables those versions read is set, so the AWS configuration's"),
            Some((_, region)) if set.iter().all(|(_, other)| other == region) => {
                output::step(format!(
                    "region: {region}, from {}",
                    explained(&set, &missing)
                ));
                decided.insert(env_name("region"), region.clone());
            }
            Some(_) => {
                let named: Vec<String> = set
                    .iter()
                    .map(|(reader, value)| format!("{}={value} (read by aws-ecr {})", reader.variable, reader.versions))
                    .collect();
                return Err(Error::usage(format!(
                    "{}: this name served aws-ecr {old}, whose versions read different region \
                     variables, and they disagree; deployer will not guess the region",
                    named.join(", ")
                ))
                .with_hint("give region in the config, or unset the variable left over"));
            }
        }
    } else {
        let region = values.read_through("region");
        let from = named_variable(&region_written).map_or_else(
            || "the region parameter".to_string(),
            |name| format!("{name} (the region parameter)"),
        );
        output::step(if region.is_empty() {
            format!("region: {from} is empty, so the AWS configuration's")
        } else {
            format!("region: {region}, from {from}")
        });
    }
    Ok(decided)
}

/// The Dockerfile of an alias invocation: aws-ecr 0.0.x-6.5 ran `docker build -f DOCKERFILE
/// PATH`, the Dockerfile relative to the working directory; 6.6 on, `-f PATH/DOCKERFILE`. Where
/// only the working directory's exists, it is the one, with PATH still the context; where both
/// exist, the step stops before building. Returns the parameters the decision sets.
pub(super) fn old_dockerfile(old: &OldOrb, values: &Values) -> Result<BTreeMap<String, String>> {
    let mut decided = BTreeMap::new();
    let path = values.get("path");
    let dockerfile = Some(values.get("dockerfile"))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "Dockerfile".to_string());
    let at_root = Path::new(&path)
        .components()
        .all(|part| part == Component::CurDir);
    if !old.overlaps("aws-ecr", (0, 0), (6, 5)) || path.is_empty() || at_root {
        return Ok(decided);
    }
    if !values.get("build_path").is_empty() {
        return Ok(decided);
    }
    let inside = Path::new(&path).join(&dockerfile);
    let outside = Path::new(&dockerfile);
    match (inside.is_file(), outside.is_file()) {
        (false, true) => {
            output::step(format!(
                "Dockerfile {dockerfile}, relative to the working directory as aws-ecr 0.0.x-6.5 \
                 read it ({} does not exist), build context {path}",
                inside.display()
            ));
            let parent = outside
                .parent()
                .map(|dir| dir.to_string_lossy().to_string())
                .filter(|dir| !dir.is_empty())
                .unwrap_or_else(|| ".".to_string());
            let name = outside
                .file_name()
                .map(|name| name.to_string_lossy().to_string())
                .unwrap_or_else(|| dockerfile.clone());
            decided.insert(env_name("path"), parent);
            decided.insert(env_name("dockerfile"), name);
            decided.insert(env_name("build_path"), path);
        }
        (true, true) => {
            return Err(Error::usage(format!(
                "both {} and {dockerfile} exist: aws-ecr 0.0.x-6.5 built {dockerfile} (relative to \
                 the working directory), 6.6 and later {}, and this name served both",
                inside.display(),
                inside.display()
            ))
            .with_hint(format!(
                "to build {}, set build-path: {path}; to build ./{dockerfile}, write dockerfile \
                 relative to path (for instance ../{dockerfile} when path is one level down)",
                inside.display()
            )))
        }
        _ => {}
    }
    Ok(decided)
}

/// The build context of an alias invocation that leaves `build_path` empty: the aws-ecr orb built
/// from `path` before 8.2 and from `.` in 8.2's `build-and-push-image` job (which never passed
/// build-path on), and one alias serves both. The Dockerfile's COPY and ADD sources decide; when
/// they resolve in both candidates or in neither, the step stops before building.
pub(super) fn old_build_context(path: &str, dockerfile: &str) -> Result<String> {
    let as_path = Path::new(path);
    if as_path.components().all(|part| part == Component::CurDir) {
        return Ok(path.to_string());
    }
    let Ok(text) = std::fs::read_to_string(as_path.join(dockerfile)) else {
        // Both eras read the Dockerfile from path: the build says it is missing.
        return Ok(path.to_string());
    };
    let sources = context_sources(&text);
    let candidates = [as_path, Path::new(".")];
    let ask = |why: String| {
        Error::usage(format!(
            "build-path is not given and {path}/{dockerfile} {why}: the aws-ecr orb built from \
             path ({path}) before 8.2 and from . in 8.2's build-and-push-image job, and deployer \
             cannot tell which this config meant"
        ))
        .with_hint(format!(
            "set build-path to the build context: {path} (as aws-ecr 8.0-8.1 built) or . (as \
             8.2 built)"
        ))
    };
    match weigh(&sources, candidates, &|p| p.exists()) {
        Evidence::Only { candidate, missing } => {
            let (chosen, other) = if candidate == 0 {
                (path, ".")
            } else {
                (".", path)
            };
            output::step(format!(
                "build context {chosen}: {path}/{dockerfile}'s COPY and ADD sources are there, \
                 not in {other} ({missing} is missing there); build-path: {chosen} says so \
                 explicitly"
            ));
            Ok(chosen.to_string())
        }
        Evidence::NoSources => {
            output::step(format!(
                "build context {path}: {path}/{dockerfile} copies nothing from the context, so \
                 either context gives the same image"
            ));
            Ok(path.to_string())
        }
        Evidence::Both => Err(ask(format!(
            "copies {} that exist both in {path} and in .",
            sources.join(", ")
        ))),
        Evidence::Neither { missing } => Err(ask(format!(
            "copies sources found in neither {path} ({} is missing) nor . ({} is missing)",
            missing[0], missing[1]
        ))),
    }
}
