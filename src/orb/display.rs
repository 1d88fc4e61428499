//! The command line as an orb step prints it: quoted as a shell would take it, with the values
//! that may carry secrets hidden.
use crate::domain::shell_words::split_words;

/// The command line as the step prints it: values that may carry secrets (build arguments,
/// environment variables) show their names only.
pub fn display(args: &[String]) -> String {
    std::iter::once("deployer".to_string())
        .chain(displayed_args(args).iter().map(|arg| shell_quote(arg)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments with the values that may carry secrets shown as `…` (`NAME=…` for build
/// arguments and run-task's `--env`; run-task's `--overrides` with environment values `<set>`).
pub fn displayed_args(args: &[String]) -> Vec<String> {
    let mut shown = Vec::new();
    let mut masked_next: Option<&str> = None;
    for arg in args {
        let text = match masked_next.take() {
            Some("--build-arg" | "--env") => match arg.split_once('=') {
                Some((key, _)) => format!("{key}=…"),
                None => arg.clone(),
            },
            // JSON that may hold a task's environment: shown with its values hidden.
            Some("--overrides") => match serde_json::from_str::<serde_json::Value>(arg) {
                Ok(mut overrides) => {
                    crate::domain::hidden_values::hide_values(&mut overrides);
                    overrides.to_string()
                }
                Err(_) => "…".to_string(),
            },
            Some(_) => "…".to_string(),
            None => arg.clone(),
        };
        if matches!(
            arg.as_str(),
            "--build-arg"
                | "--container-env-var-updates"
                | "--container-secret-updates"
                | "--overrides"
                | "--env"
        ) {
            masked_next = Some(arg.as_str());
        }
        shown.push(text);
    }
    shown
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+…".contains(c));
    if plain && split_words(word).is_ok() {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
