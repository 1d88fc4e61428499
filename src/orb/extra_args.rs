//! The aws-ecr orb's `extra_build_args` (raw `docker build` flags) and `tag_image`'s
//! `extra_args` (raw `aws ecr put-image` flags), turned into deployer's own flags or refused
//! with the flag that is wrong and why: nothing is dropped silently. Their words are split as sh
//! splits them (`domain::shell_words`).
use crate::domain::shell_words::split_words;

/// What a `docker buildx build` flag in `extra_build_args` becomes.
#[derive(Debug, Clone, Copy)]
enum BuildFlag {
    /// deployer's flag of the same name, with a value or without one.
    Copy { takes_value: bool },
    /// Accepted and left out: deployer already behaves as the flag asks.
    Dropped,
    /// `--cache-to`: only the export the daemon's embedded BuildKit has.
    CacheTo,
    /// `--provenance`/`--sbom`: false (or off) is what deployer does; true is refused.
    Attestation,
    /// Another name for a deployer flag with a value (`-t` is `--local-tag`).
    Rename { to: &'static str },
    /// A flag without a value that changes nothing deployer builds or pushes.
    NoEffect,
}

/// The flags `extra_build_args` takes: deployer's own names, or the reason they need nothing.
const BUILD_FLAGS: [(&str, BuildFlag); 23] = [
    ("--build-arg", BuildFlag::Copy { takes_value: true }),
    ("--target", BuildFlag::Copy { takes_value: true }),
    ("--label", BuildFlag::Copy { takes_value: true }),
    ("--cache-from", BuildFlag::Copy { takes_value: true }),
    ("--platform", BuildFlag::Copy { takes_value: true }),
    ("--secret", BuildFlag::Copy { takes_value: true }),
    ("--ssh", BuildFlag::Copy { takes_value: true }),
    ("--network", BuildFlag::Copy { takes_value: true }),
    ("--add-host", BuildFlag::Copy { takes_value: true }),
    ("--no-cache", BuildFlag::Copy { takes_value: false }),
    ("--pull", BuildFlag::Copy { takes_value: false }),
    ("--cache-to", BuildFlag::CacheTo),
    // deployer prints the build's output line by line whatever the progress mode (plain is
    // what a CI log needs, and what the aws-ecr orb passes).
    ("--progress", BuildFlag::Dropped),
    ("--provenance", BuildFlag::Attestation),
    ("--sbom", BuildFlag::Attestation),
    // `docker build -t NAME` tags the built image in the local daemon as well: a later step
    // (the aws-ecr orb's push-image, a `docker run`) may use that name. The tag parameter
    // still names what is pushed.
    ("-t", BuildFlag::Rename { to: "--local-tag" }),
    ("--tag", BuildFlag::Rename { to: "--local-tag" }),
    // The classic builder removes intermediate containers by default and BuildKit has none;
    // compressing the context changes only how it travels; quiet only hides the output.
    ("--rm", BuildFlag::NoEffect),
    ("--force-rm", BuildFlag::NoEffect),
    ("--compress", BuildFlag::NoEffect),
    ("-q", BuildFlag::NoEffect),
    ("--quiet", BuildFlag::NoEffect),
    // deployer builds in the Docker daemon: the image is loaded there whether it is pushed or not.
    ("--load", BuildFlag::NoEffect),
];

/// Why a `docker build` flag deployer does not take is not simply copied over, for the flags
/// users of the aws-ecr orb put in `extra_build_args` most.
fn unsupported_reason(flag: &str) -> &'static str {
    match flag {
        "-f" | "--file" => "the Dockerfile comes from the path and dockerfile parameters",
        "--push" | "--output" | "-o" => {
            "deployer pushes what it builds (push_image: false keeps it local)"
        }
        "--build-context" => {
            "named build contexts need the Dockerfile frontend of syntax 1.4 or later, and the \
             Docker Engine 20.10 builds with an older built-in frontend (a # syntax= line would \
             pull a newer one from Docker Hub); copy the files into the build context instead"
        }
        "--attest" => {
            "the daemon's embedded BuildKit cannot attach attestations (provenance, SBOM) to \
             the image"
        }
        "--builder" => "deployer builds with the Docker daemon's own BuildKit",
        _ => "deployer does not support it",
    }
}

/// Turns the aws-ecr orb's `extra_build_args` (raw `docker buildx build` flags, possibly over
/// several lines) into deployer's flags, as `--flag value` or `--flag=value`. Flags deployer
/// builds with are copied; `-t`/`--tag` become `--local-tag` (the built image's local names, as
/// `docker build` gives them); `--progress`, `--rm`, `--quiet` and `--provenance=false`/
/// `--sbom=false` are accepted (deployer already does what they ask); anything else is an error
/// that names it and says why. (The step expands its variables: `extra_build_args_expanded`.)
#[cfg(test)]
pub fn extra_build_args(raw: &str) -> Result<Vec<String>, String> {
    extra_build_args_expanded(raw, &|word| word.to_string())
}

/// [`extra_build_args`] of a parameter as written, with `$VAR` references: the words are split
/// first, then each word is expanded, so a variable's value is one argument whatever quotes or
/// blanks it holds (it can never add a flag), and an error shows the words as written, never a
/// variable's value.
pub fn extra_build_args_expanded(
    raw: &str,
    expand: &dyn Fn(&str) -> String,
) -> Result<Vec<String>, String> {
    let words = split_words(raw).map_err(|e| format!("extra_build_args cannot be read: {e}"))?;
    let mut out = Vec::new();
    let mut words = words
        .into_iter()
        .map(|written| {
            let word = expand(&written);
            (written, word)
        })
        .peekable();
    while let Some((written, word)) = words.next() {
        if !word.starts_with('-') {
            return Err(format!(
                "extra_build_args has {written:?}, which is not a flag: only docker build flags go \
                 there (the build context is the build_path parameter)"
            ));
        }
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (word.clone(), None),
        };
        let written_name = written
            .split_once('=')
            .map_or(written.as_str(), |(name, _)| name);
        let Some(&(flag, treatment)) = BUILD_FLAGS.iter().find(|(flag, _)| *flag == name) else {
            return Err(format!(
                "extra_build_args has {written_name}, which deployer does not take: {}. Supported: {}",
                unsupported_reason(&name),
                BUILD_FLAGS.map(|(flag, _)| flag).join(", ")
            ));
        };
        let mut value = |required: bool| -> Result<Option<String>, String> {
            match inline.clone() {
                Some(value) => Ok(Some(value)),
                None if required => words.next().map(|(_, word)| Some(word)).ok_or_else(|| {
                    format!("extra_build_args ends with {written_name}, which needs a value")
                }),
                // An optional value: the next word when it is not a flag.
                None => Ok(words
                    .next_if(|(_, next)| !next.starts_with('-'))
                    .map(|(_, word)| word)),
            }
        };
        match treatment {
            BuildFlag::Copy { takes_value: true } => {
                out.push(flag.to_string());
                out.extend(value(true)?);
            }
            BuildFlag::Copy { takes_value: false } => match inline.as_deref() {
                None | Some("true") => out.push(flag.to_string()),
                Some("false") => {}
                Some(_) => {
                    return Err(format!(
                        "extra_build_args has {written:?}: {name} takes true or false"
                    ))
                }
            },
            BuildFlag::CacheTo => {
                let value = value(true)?.unwrap_or_default();
                crate::domain::build_inputs::parse_cache_to(&value)?;
                out.extend([flag.to_string(), value]);
            }
            BuildFlag::Dropped => {
                value(true)?;
            }
            BuildFlag::Rename { to } => {
                out.push(to.to_string());
                out.extend(value(true)?);
            }
            BuildFlag::NoEffect => match inline.as_deref() {
                None | Some("true" | "false") => {}
                Some(_) => {
                    return Err(format!(
                        "extra_build_args has {written:?}: {name} takes true or false"
                    ))
                }
            },
            BuildFlag::Attestation => {
                let value = value(false)?.unwrap_or_else(|| "true".to_string());
                if !matches!(value.as_str(), "false" | "0") {
                    return Err(format!(
                        "extra_build_args has {written_name} set: the Docker daemon's embedded \
                         BuildKit cannot attach attestations (provenance, SBOM) to the image; \
                         deployer pushes images without them, as {name}=false asks"
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Turns the aws-ecr orb's `tag_image` `extra_args` (flags of `aws ecr put-image`, as
/// `--flag=value` or `--flag value`) into the flags deployer's `tag-image` has: `--registry-id`,
/// `--region` and `--profile`. The AWS CLI's output options are accepted and left out (deployer
/// prints its own lines); what would change the image or the connection is refused, saying why.
pub fn put_image_extra_args(raw: &str) -> Result<Vec<(&'static str, String)>, String> {
    let words = split_words(raw).map_err(|e| format!("extra_args cannot be read: {e}"))?;
    let mut out = Vec::new();
    let mut words = words.into_iter().peekable();
    while let Some(word) = words.next() {
        if !word.starts_with("--") {
            return Err(format!(
                "extra_args has {word:?}, which is not an option of aws ecr put-image"
            ));
        }
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (word.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| words.next_if(|next| !next.starts_with("--")))
                .ok_or_else(|| format!("extra_args has {name} without a value"))
        };
        match name.as_str() {
            "--registry-id" => out.push(("--registry-id", value()?)),
            "--region" => out.push(("--region", value()?)),
            "--profile" => out.push(("--profile", value()?)),
            "--output" | "--color" | "--cli-binary-format" => {
                value()?;
            }
            "--no-cli-pager" | "--no-paginate" | "--no-cli-auto-prompt" => {}
            _ => {
                let why = match name.as_str() {
                    "--image-manifest-media-type" | "--image-digest" | "--image-manifest" => {
                        "deployer copies the source image's own manifest, with its media type \
                         and digest"
                    }
                    "--image-tag" | "--repository-name" => {
                        "the tags and the repository come from target_tag and repo"
                    }
                    "--endpoint-url" => {
                        "set AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_ECR) in the job's environment"
                    }
                    "--query" => "deployer prints the tagged image's reference itself",
                    _ => "deployer's tag-image has no such option",
                };
                return Err(format!(
                    "extra_args has {name}, which tag_image does not take: {why}. Taken: \
                     --registry-id, --region, --profile (and --output, --color, --no-cli-pager, \
                     which change only the AWS CLI's own output)"
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orb::variables::expand_env;

    #[test]
    fn supported_build_flags_become_deployer_flags() {
        let flags = extra_build_args(
            "--build-arg VERSION=v2 --build-arg=BASE=deployer-test/busybox:local\n--target site \
             --label org.opencontainers.image.title=tutorial-site --cache-from app:cache \
             --no-cache --pull=false --platform=linux/arm64",
        )
        .unwrap();
        assert_eq!(
            flags,
            [
                "--build-arg",
                "VERSION=v2",
                "--build-arg",
                "BASE=deployer-test/busybox:local",
                "--target",
                "site",
                "--label",
                "org.opencontainers.image.title=tutorial-site",
                "--cache-from",
                "app:cache",
                "--no-cache",
                "--platform",
                "linux/arm64"
            ]
        );
        assert_eq!(extra_build_args("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn other_flags_are_named_with_the_reason() {
        let error = extra_build_args("--build-arg A=1 --push").unwrap_err();
        assert!(error.contains("--push"), "{error}");
        assert!(error.contains("deployer pushes what it builds"), "{error}");
        let error = extra_build_args("-f other/Dockerfile").unwrap_err();
        assert!(
            error.contains("-f") && error.contains("dockerfile parameters"),
            "{error}"
        );
        let error = extra_build_args("--shm-size 2g").unwrap_err();
        assert!(error.contains("--shm-size"), "{error}");
    }

    /// Issue 25: configs wrote `-t ECR/repo:latest --cache-from ECR/repo:latest` and pushed the
    /// local `latest` in a later push-image step.
    #[test]
    fn local_tags_and_flags_without_effect_are_taken_as_docker_build_takes_them() {
        let flags = extra_build_args(
            "-t 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest --cache-from app:latest \
             --tag=app:local --rm --force-rm=true --compress -q --quiet --load",
        )
        .unwrap();
        assert_eq!(
            flags,
            [
                "--local-tag",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest",
                "--cache-from",
                "app:latest",
                "--local-tag",
                "app:local"
            ]
        );
        let error = extra_build_args("--no-cache -t").unwrap_err();
        assert!(
            error.contains("-t") && error.contains("needs a value"),
            "{error}"
        );
        let error = extra_build_args("--rm=sometimes").unwrap_err();
        assert!(error.contains("true or false"), "{error}");
    }

    #[test]
    fn buildkit_flags_become_deployer_flags() {
        let flags = extra_build_args(
            "--secret id=npm,src=.npmrc --secret=id=token,env=NPM_TOKEN --ssh default \
             --cache-from type=registry,ref=app:main --cache-to type=inline \
             --network=host --add-host registry.internal:10.0.0.5",
        )
        .unwrap();
        assert_eq!(
            flags,
            [
                "--secret",
                "id=npm,src=.npmrc",
                "--secret",
                "id=token,env=NPM_TOKEN",
                "--ssh",
                "default",
                "--cache-from",
                "type=registry,ref=app:main",
                "--cache-to",
                "type=inline",
                "--network",
                "host",
                "--add-host",
                "registry.internal:10.0.0.5"
            ]
        );
    }

    #[test]
    fn cache_export_other_than_inline_is_refused_naming_the_daemons_limit() {
        let error = extra_build_args("--cache-to type=registry,ref=app:cache").unwrap_err();
        assert!(
            error.contains("type=registry") && error.contains("embedded BuildKit"),
            "{error}"
        );
        let error = extra_build_args("--cache-to=type=gha").unwrap_err();
        assert!(error.contains("type=gha"), "{error}");
    }

    #[test]
    fn progress_is_accepted_and_left_out() {
        assert_eq!(
            extra_build_args("--progress plain --no-cache --progress=tty").unwrap(),
            ["--no-cache"]
        );
        let error = extra_build_args("--progress").unwrap_err();
        assert!(error.contains("needs a value"), "{error}");
    }

    #[test]
    fn attestations_off_are_accepted_and_on_refused() {
        assert_eq!(
            extra_build_args("--provenance=false --sbom false --pull").unwrap(),
            ["--pull"]
        );
        for on in [
            "--provenance=true",
            "--provenance",
            "--sbom=true",
            "--provenance mode=max --pull",
        ] {
            let error = extra_build_args(on).unwrap_err();
            assert!(
                error.contains("cannot attach attestations"),
                "{on}: {error}"
            );
        }
        let error = extra_build_args("--attest type=provenance").unwrap_err();
        assert!(error.contains("attestations"), "{error}");
    }

    #[test]
    fn named_build_contexts_are_refused_with_the_frontend_they_need() {
        let error = extra_build_args("--build-context shared=../shared").unwrap_err();
        assert!(
            error.contains("--build-context") && error.contains("syntax 1.4"),
            "{error}"
        );
    }

    #[test]
    fn positional_words_and_missing_values_are_refused() {
        let error = extra_build_args("--no-cache .").unwrap_err();
        assert!(
            error.contains("\".\"") && error.contains("build_path"),
            "{error}"
        );
        let error = extra_build_args("--target").unwrap_err();
        assert!(
            error.contains("--target") && error.contains("needs a value"),
            "{error}"
        );
        let error = extra_build_args("--pull=maybe").unwrap_err();
        assert!(error.contains("true or false"), "{error}");
    }
    /// Issue 20: a variable's value is one argument. Expanded before the split, a value with a
    /// quote and a blank added `--secret id=k,src=/etc/shadow` to the build.
    #[test]
    fn variables_are_expanded_after_the_split_and_never_shown() {
        let variables = |word: &str| {
            expand_env(word, |name| match name {
                "EVIL" => Some(r#"x" --secret "id=k,src=/etc/shadow"#.to_string()),
                "TOKEN" => Some("tok en-s3cr3t".to_string()),
                "CACHE" => Some("type=registry,ref=app:cache".to_string()),
                _ => None,
            })
        };
        assert_eq!(
            extra_build_args_expanded("--build-arg A=$EVIL", &variables).unwrap(),
            ["--build-arg", r#"A=x" --secret "id=k,src=/etc/shadow"#]
        );
        assert_eq!(
            extra_build_args_expanded("--build-arg \"T=$TOKEN\" --cache-from $CACHE", &variables)
                .unwrap(),
            [
                "--build-arg",
                "T=tok en-s3cr3t",
                "--cache-from",
                "type=registry,ref=app:cache"
            ]
        );
        for written in ["$TOKEN", "--no-cache $TOKEN", "--pull=$TOKEN"] {
            let error = extra_build_args_expanded(written, &variables).unwrap_err();
            assert!(!error.contains("s3cr3t"), "{written}: {error}");
        }
        assert!(extra_build_args_expanded("$TOKEN", &variables)
            .unwrap_err()
            .contains("\"$TOKEN\""));
    }

    #[test]
    fn put_image_extra_args_map_the_registry_region_and_profile() {
        assert_eq!(
            put_image_extra_args(
                "--registry-id=210987654321 --region eu-central-1 --no-cli-pager --output=json"
            )
            .unwrap(),
            [
                ("--registry-id", "210987654321".to_string()),
                ("--region", "eu-central-1".to_string())
            ]
        );
        assert_eq!(put_image_extra_args("").unwrap(), []);
        let error = put_image_extra_args("--image-manifest-media-type=x").unwrap_err();
        assert!(error.contains("own manifest"), "{error}");
        let error = put_image_extra_args("--endpoint-url=http://localhost:5000").unwrap_err();
        assert!(error.contains("AWS_ENDPOINT_URL"), "{error}");
        let error = put_image_extra_args("--region").unwrap_err();
        assert!(error.contains("without a value"), "{error}");
        let error = put_image_extra_args("--debug").unwrap_err();
        assert!(error.contains("--debug"), "{error}");
    }
}
