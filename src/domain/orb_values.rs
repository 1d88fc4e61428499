//! The values CircleCI hands an orb step: parameters with `$VAR` references in them, booleans
//! rendered as `true`/`false`, and the aws-ecr orb's `extra_build_args`, a string of raw
//! `docker build` flags. Each is turned into something deployer's own flags take, or refused
//! with the part that is wrong; nothing is dropped silently.

/// Expands `$NAME` and `${NAME}` as the aws orbs' `eval echo` does for plain references: an unset
/// variable expands to nothing. Nothing else of the shell is interpreted: no command
/// substitution, no globbing, no word splitting. A `$` not followed by a name stays as it is.
pub fn expand_env(value: &str, environment: impl Fn(&str) -> Option<String>) -> String {
    pieces(value)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.to_string(),
            Piece::Reference(name) => environment(name).unwrap_or_default(),
        })
        .collect()
}

/// The variables `value` refers to that are unset or empty, each once, in order: what makes
/// an orb parameter expand to less than it says.
pub fn empty_references(value: &str, environment: impl Fn(&str) -> Option<String>) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for piece in pieces(value) {
        if let Piece::Reference(name) = piece {
            if environment(name).is_none_or(|value| value.is_empty()) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// A parameter's text cut into literal text and variable references.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Reference(&'a str),
}

fn pieces(value: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        if at > 0 {
            pieces.push(Piece::Text(&rest[..at]));
        }
        let after = &rest[at + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            if let Some(end) = braced.find('}') {
                let name = &braced[..end];
                if is_env_name(name) {
                    pieces.push(Piece::Reference(name));
                    rest = &braced[end + 1..];
                    continue;
                }
            }
        } else {
            let len = after
                .char_indices()
                .find(|&(i, c)| {
                    !(c == '_' || c.is_ascii_alphanumeric()) || (i == 0 && c.is_ascii_digit())
                })
                .map_or(after.len(), |(i, _)| i);
            if len > 0 {
                pieces.push(Piece::Reference(&after[..len]));
                rest = &after[len..];
                continue;
            }
        }
        pieces.push(Piece::Text("$"));
        rest = after;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

/// A shell variable name: letters, digits and `_`, not starting with a digit.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The aws orbs before v7 took the *name* of an environment variable for the region and the
/// account (`region: AWS_DEFAULT_REGION`, as in the seed's config): an upper-case variable
/// name. Region names and account ids never look like one.
pub fn is_upper_env_name(value: &str) -> bool {
    is_env_name(value)
        && value
            .chars()
            .all(|c| c == '_' || c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A value that is an upper-case variable name that is set is read through.
pub fn read_through_env_name(
    value: &str,
    environment: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if is_upper_env_name(value) {
        environment(value)
    } else {
        None
    }
}

/// The variable an orb parameter names: `NAME` (the aws orbs' `env_var_name` parameters, 1.x
/// on) or `$NAME` / `${NAME}` (the same variable written as a value, in their 0.0.x). `None`
/// for anything else, which is refused rather than guessed at.
pub fn named_variable(value: &str) -> Option<&str> {
    let value = value.trim();
    let name = match value.strip_prefix('$') {
        Some(rest) => rest
            .strip_prefix('{')
            .and_then(|braced| braced.strip_suffix('}'))
            .unwrap_or(rest),
        None => value,
    };
    is_env_name(name).then_some(name)
}

/// A registry host as the aws-ecr orb's `account-url` gives it (`ACCOUNT.dkr.ecr.REGION.DOMAIN`,
/// maybe with `https://` before it and a `/` after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryHost {
    Ecr {
        account: String,
        region: String,
        domain: String,
    },
    Other(String),
}

pub fn registry_host(url: &str) -> RegistryHost {
    let host = url.trim();
    let host = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host)
        .trim_end_matches('/');
    let parts: Vec<&str> = host.splitn(5, '.').collect();
    if let [account, "dkr", "ecr", region, domain] = parts.as_slice() {
        let is_account = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
        let is_region = !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if is_account && is_region && domain.starts_with("amazonaws.com") {
            return RegistryHost::Ecr {
                account: account.to_string(),
                region: region.to_string(),
                domain: domain.to_string(),
            };
        }
    }
    RegistryHost::Other(host.to_string())
}

/// Parses a boolean as CircleCI places it in a step's environment: `1`/`0` when the variable's
/// whole value is `<< parameters.x >>` (CircleCI writes the YAML boolean as a number), `true`/
/// `false` when the parameter is interpolated inside a longer string.
pub fn parse_bool(name: &str, value: &str) -> Result<bool, String> {
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" | "" => Ok(false),
        other => Err(format!(
            "parameter {name} is {other:?}: expected true or false"
        )),
    }
}

/// Splits a string into words as a POSIX shell does for a command line without expansions:
/// blanks and newlines separate words, single quotes keep everything literally, double quotes
/// keep blanks and honour `\"`, `\\`, `\$` and `` \` ``, and a backslash outside quotes escapes
/// the next character (a backslash-newline joins lines, as in a folded YAML block).
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err("the line ends with a lone backslash".into()),
            },
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

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
/// that names it and says why.
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
                super::build_inputs::parse_cache_to(&value)?;
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

    fn env(name: &str) -> Option<String> {
        match name {
            "AWS_ACCOUNT_ID" => Some("123456789012".into()),
            "AWS_DEFAULT_REGION" => Some("eu-west-1".into()),
            "CIRCLE_SHA1" => Some("0a1b2c".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_and_bare_references() {
        assert_eq!(expand_env("${AWS_ACCOUNT_ID}", env), "123456789012");
        assert_eq!(expand_env("$AWS_DEFAULT_REGION", env), "eu-west-1");
        assert_eq!(
            expand_env("v1-$CIRCLE_SHA1,latest", env),
            "v1-0a1b2c,latest"
        );
        assert_eq!(expand_env("${CIRCLE_SHA1}-x", env), "0a1b2c-x");
    }

    #[test]
    fn empty_references_are_named() {
        let environment = |name: &str| match name {
            "CIRCLE_BRANCH" => Some("main".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            empty_references(
                "container=app,tag=${CIRCLE_SHA1},branch=$CIRCLE_BRANCH,$EMPTY,${CIRCLE_SHA1}",
                environment
            ),
            ["CIRCLE_SHA1", "EMPTY"]
        );
        assert!(empty_references("cost $5 and ${not a name}", environment).is_empty());
    }

    #[test]
    fn unset_references_expand_to_nothing_and_other_dollars_stay() {
        assert_eq!(expand_env("${AWS_ECR_PUBLIC_REGISTRY_ALIAS}", env), "");
        assert_eq!(expand_env("a$", env), "a$");
        assert_eq!(expand_env("cost $5", env), "cost $5");
        assert_eq!(expand_env("${not a name}", env), "${not a name}");
        assert_eq!(expand_env("$(whoami)", env), "$(whoami)");
        assert_eq!(expand_env("${UNCLOSED", env), "${UNCLOSED");
    }

    #[test]
    fn named_variables_are_bare_names_or_dollar_references() {
        assert_eq!(named_variable("PROD_KEY"), Some("PROD_KEY"));
        assert_eq!(
            named_variable("$AWS_ACCESS_KEY_ID"),
            Some("AWS_ACCESS_KEY_ID")
        );
        assert_eq!(
            named_variable("${AWS_ACCESS_KEY_ID}"),
            Some("AWS_ACCESS_KEY_ID")
        );
        assert_eq!(named_variable(" prod_key "), Some("prod_key"));
        assert_eq!(named_variable("AKIA/EXAMPLE+"), None);
        assert_eq!(named_variable("${A"), None);
        assert_eq!(named_variable(""), None);
    }

    #[test]
    fn account_urls_name_ecr_or_other_registries() {
        assert_eq!(
            registry_host("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/"),
            RegistryHost::Ecr {
                account: "123456789012".into(),
                region: "eu-west-1".into(),
                domain: "amazonaws.com".into()
            }
        );
        assert_eq!(
            registry_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            RegistryHost::Ecr {
                account: "123456789012".into(),
                region: "cn-north-1".into(),
                domain: "amazonaws.com.cn".into()
            }
        );
        assert_eq!(
            registry_host("127.0.0.1:5000"),
            RegistryHost::Other("127.0.0.1:5000".into())
        );
        assert_eq!(
            registry_host("12345.dkr.ecr.eu-west-1.amazonaws.com"),
            RegistryHost::Other("12345.dkr.ecr.eu-west-1.amazonaws.com".into())
        );
    }

    #[test]
    fn old_style_variable_names_are_read_through() {
        assert_eq!(
            read_through_env_name("AWS_DEFAULT_REGION", env).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(read_through_env_name("eu-west-1", env), None);
        assert_eq!(read_through_env_name("123456789012", env), None);
        assert_eq!(read_through_env_name("UNSET_NAME", env), None);
    }

    #[test]
    fn booleans_as_circleci_renders_them() {
        assert!(parse_bool("create_repo", "true").unwrap());
        assert!(!parse_bool("create_repo", "false").unwrap());
        assert!(parse_bool("create_repo", "1").unwrap());
        assert!(!parse_bool("create_repo", "0").unwrap());
        assert!(!parse_bool("create_repo", "").unwrap());
        let error = parse_bool("create_repo", "yes").unwrap_err();
        assert!(error.contains("create_repo"), "{error}");
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            split_words(
                "--build-arg A=1 \\\n --label 'org.title=a b' --build-arg \"B=x \\\"y\\\"\""
            )
            .unwrap(),
            [
                "--build-arg",
                "A=1",
                "--label",
                "org.title=a b",
                "--build-arg",
                "B=x \"y\""
            ]
        );
        assert_eq!(split_words("  \n ").unwrap(), Vec::<String>::new());
        assert_eq!(split_words("''").unwrap(), [""]);
        assert!(split_words("--label 'open").is_err());
        assert!(split_words("--label \"open").is_err());
    }

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
