//! The values CircleCI hands an orb step: parameters with `$VAR` references in them, booleans
//! rendered as `true`/`false`, and the aws-ecr orb's `extra_build_args`, a string of raw
//! `docker build` flags. Each is turned into something deployer's own flags take, or refused
//! with the part that is wrong; nothing is dropped silently.

/// Expands `$NAME` and `${NAME}` as the aws orbs' `eval echo` does for plain references: an unset
/// variable expands to nothing. Nothing else of the shell is interpreted: no command
/// substitution, no globbing, no word splitting. A `$` not followed by a name stays as it is.
pub fn expand_env(value: &str, environment: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            if let Some(end) = braced.find('}') {
                let name = &braced[..end];
                if is_env_name(name) {
                    out.push_str(&environment(name).unwrap_or_default());
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
                out.push_str(&environment(&after[..len]).unwrap_or_default());
                rest = &after[len..];
                continue;
            }
        }
        out.push('$');
        rest = after;
    }
    out.push_str(rest);
    out
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

/// The `docker build` flags deployer builds with (its own flags have the same names), and whether
/// each takes a value.
const BUILD_FLAGS: [(&str, bool); 7] = [
    ("--build-arg", true),
    ("--target", true),
    ("--label", true),
    ("--cache-from", true),
    ("--platform", true),
    ("--no-cache", false),
    ("--pull", false),
];

/// Why a `docker build` flag deployer does not take is not simply copied over, for the flags
/// users of the aws-ecr orb put in `extra_build_args` most.
fn unsupported_reason(flag: &str) -> &'static str {
    match flag {
        "-t" | "--tag" => "tags come from the tag parameter",
        "-f" | "--file" => "the Dockerfile comes from the path and dockerfile parameters",
        "--push" | "--load" | "--output" | "-o" => "deployer always pushes what it builds",
        "--progress" | "-q" | "--quiet" => "deployer prints the build output itself",
        "--secret" | "--ssh" | "--provenance" | "--sbom" | "--attest" | "--cache-to"
        | "--builder" => "it needs BuildKit (docker buildx), which deployer does not drive yet",
        _ => "deployer does not support it",
    }
}

/// Turns the aws-ecr orb's `extra_build_args` (raw `docker build` flags, possibly over several
/// lines) into deployer's flags. Only the flags deployer builds with are accepted (`--build-arg`,
/// `--target`, `--label`, `--cache-from`, `--no-cache`, `--pull`, `--platform`, as `--flag value`
/// or `--flag=value`); anything else is an error that names it.
pub fn extra_build_args(raw: &str) -> Result<Vec<String>, String> {
    let words = split_words(raw).map_err(|e| format!("extra_build_args cannot be read: {e}"))?;
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if !word.starts_with('-') {
            return Err(format!(
                "extra_build_args has {word:?}, which is not a flag: only docker build flags go \
                 there (the build context is the build_path parameter)"
            ));
        }
        let (name, inline) = match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (word.clone(), None),
        };
        let Some(&(flag, takes_value)) = BUILD_FLAGS.iter().find(|(flag, _)| *flag == name) else {
            return Err(format!(
                "extra_build_args has {name}, which deployer does not take: {}. Supported: {}",
                unsupported_reason(&name),
                BUILD_FLAGS.map(|(flag, _)| flag).join(", ")
            ));
        };
        out.push(flag.to_string());
        match (takes_value, inline) {
            (true, Some(value)) => out.push(value),
            (true, None) => match words.next() {
                Some(value) => out.push(value),
                None => {
                    return Err(format!(
                        "extra_build_args ends with {name}, which needs a value"
                    ))
                }
            },
            (false, None) => {}
            (false, Some(value)) => match value.as_str() {
                "true" => {}
                "false" => {
                    out.pop();
                }
                _ => {
                    return Err(format!(
                        "extra_build_args has {word:?}: {name} takes true or false"
                    ))
                }
            },
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
        let error = extra_build_args("--build-arg A=1 --progress=plain").unwrap_err();
        assert!(error.contains("--progress"), "{error}");
        assert!(error.contains("prints the build output"), "{error}");
        let error = extra_build_args("--secret id=npm,src=.npmrc").unwrap_err();
        assert!(
            error.contains("--secret") && error.contains("BuildKit"),
            "{error}"
        );
        let error = extra_build_args("-t other:tag").unwrap_err();
        assert!(
            error.contains("-t") && error.contains("tag parameter"),
            "{error}"
        );
        let error = extra_build_args("--shm-size 2g").unwrap_err();
        assert!(error.contains("--shm-size"), "{error}");
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
}
