//! Everything the user sees. stdout carries data only; progress, build output, logs and errors go
//! to stderr, one line per state change, with every registered secret masked on the way out.
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Instant;

use crate::domain::export_env::{export_lines, ExportSyntax};
use crate::domain::hidden_values;
use crate::error::{Error, Result};
use crate::secret::Secret;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());
static START: OnceLock<Instant> = OnceLock::new();
static STDERR_LOCK: Mutex<()> = Mutex::new(());

/// Remembers a secret so that no line written by deployer, its logs included, can show it. A
/// value of several lines (a `--secret` file) is remembered whole and line by line too, since a
/// build step may print it one line at a time.
pub fn register_secret(secret: &Secret) {
    let value = secret.expose();
    let mut secrets = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    let lines = value.lines().map(str::trim).filter(|line| *line != value);
    // Longest first, so that a line of a longer secret does not leave the rest of it showing.
    for candidate in std::iter::once(value).chain(lines) {
        hidden_values::remember(&mut secrets, candidate);
    }
}

/// Replaces every registered secret in `text`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    hidden_values::mask_values(text, &secrets)
}

/// Starts the clock that progress lines show.
pub fn start_clock() {
    START.get_or_init(Instant::now);
}

fn elapsed() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Writes one line to stderr, masked, never interleaved with another thread's line.
pub fn stderr_line(line: &str) {
    let line = redact(line);
    let _guard = STDERR_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

tokio::task_local! {
    /// The service whose lane the current task's lines belong to, when several are deployed.
    static LANE: String;
}

/// Runs `future` in the lane of `service`: its progress lines and warnings are prefixed with
/// the service's name, its waits print no heartbeat (one line covers every lane), and it sets
/// no interruption hint (the release says what an interruption leaves).
pub async fn in_lane<F: std::future::Future>(service: String, future: F) -> F::Output {
    LANE.scope(service, future).await
}

/// [`in_lane`] for work that does not wait (a dry run's plan).
pub fn in_lane_sync<T>(service: &str, work: impl FnOnce() -> T) -> T {
    LANE.sync_scope(service.to_string(), work)
}

/// Whether the current task runs in a service's lane.
pub fn in_a_lane() -> bool {
    LANE.try_with(|_| ()).is_ok()
}

/// `message`, prefixed with the lane's service when in one.
fn laned(message: &str) -> String {
    match LANE.try_with(|lane| format!("{lane}: {message}")) {
        Ok(line) => line,
        Err(_) => message.to_string(),
    }
}

/// A progress line: what just changed, with the seconds since deployer started.
pub fn step(message: impl AsRef<str>) {
    if quiet() {
        return;
    }
    stderr_line(&format!(
        "[{:>6.1}s] {}",
        elapsed(),
        laned(message.as_ref())
    ));
}

/// A line of a remote process's own output (the Docker build), indented under the step. Its
/// colour codes (the classic builder colours RUN steps' stderr) stay only on a terminal.
pub fn passthrough(line: &str) {
    if quiet() {
        return;
    }
    if stderr_is_terminal() && crate::env::var_os(crate::env::NO_COLOR).is_none() {
        stderr_line(&format!("          | {line}"));
    } else {
        stderr_line(&format!("          | {}", strip_ansi(line)));
    }
}

/// The text without ANSI escape sequences (CSI `ESC [ … final`, and lone `ESC x` pairs).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.next_if_eq(&'[').is_some() {
            // Parameter and intermediate bytes, then one final byte in @..~.
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out
}

/// A warning the user should read even with --quiet.
pub fn warn(message: impl AsRef<str>) {
    stderr_line(&format!("warning: {}", laned(message.as_ref())));
}

/// Prints the final error with its details and hint.
pub fn error(error: &Error) {
    stderr_line(&error.to_string());
}

/// A line of data on stdout.
pub fn data(line: &str) {
    let line = redact(line);
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// One JSON document on stdout.
pub fn json(value: &serde_json::Value) {
    data(&serde_json::to_string_pretty(value).unwrap_or_default());
}

static SHOW_VALUES: OnceLock<bool> = OnceLock::new();

/// `--show-values`: plans show environment values and secrets' sources.
pub fn set_show_values(show: bool) {
    let _ = SHOW_VALUES.set(show);
}

/// A plan or an answer that may hold a task's environment, as people see it: values `<set>`
/// unless `--show-values` asked for them.
pub fn shown(mut document: serde_json::Value) -> serde_json::Value {
    if !*SHOW_VALUES.get().unwrap_or(&false) {
        crate::domain::hidden_values::hide_values(&mut document);
    }
    document
}

/// [`json`] of [`shown`].
pub fn plan_json(document: serde_json::Value) {
    json(&shown(document));
}

static INTERRUPT_HINT: Mutex<Option<String>> = Mutex::new(None);

/// What an interruption leaves behind, said if the user presses Ctrl-C now.
pub fn set_interrupt_hint(hint: impl Into<String>) {
    if in_a_lane() {
        return;
    }
    *INTERRUPT_HINT.lock().unwrap_or_else(|e| e.into_inner()) = Some(hint.into());
}

/// A command that must act on Ctrl-C or SIGTERM itself (run-task --stop-on-cancel stops its
/// tasks) claims the interruption: the app then tells it the signal's name and waits for it to
/// finish, instead of dropping it. A second signal still ends deployer at once.
static INTERRUPT_CLAIM: Mutex<Option<tokio::sync::watch::Sender<Option<&'static str>>>> =
    Mutex::new(None);

/// Claims the next interruption; the receiver sees the signal's name.
pub fn claim_interrupt() -> tokio::sync::watch::Receiver<Option<&'static str>> {
    let (sender, receiver) = tokio::sync::watch::channel(None);
    *INTERRUPT_CLAIM.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender);
    receiver
}

/// Gives the claim up: the next interruption ends the command at once, as before the claim.
pub fn release_interrupt() {
    *INTERRUPT_CLAIM.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Hands the interruption to the command that claimed it; false when none did.
pub fn hand_over_interrupt(signal: &'static str) -> bool {
    let claim = INTERRUPT_CLAIM.lock().unwrap_or_else(|e| e.into_inner());
    claim
        .as_ref()
        .is_some_and(|sender| sender.send(Some(signal)).is_ok())
}

pub fn interrupt_hint() -> Option<String> {
    INTERRUPT_HINT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

static QUIET: OnceLock<bool> = OnceLock::new();

/// `--quiet` drops progress lines; warnings and errors stay.
pub fn set_quiet(quiet: bool) {
    let _ = QUIET.set(quiet);
}

fn quiet() -> bool {
    *QUIET.get().unwrap_or(&false)
}

/// Whether stderr is a terminal (colour and bars would be welcome there, never in CI logs).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Appends the variables for later CI steps: `export KEY='value'` lines, which bash sources
/// (CircleCI's `$BASH_ENV`), or GitHub's `KEY=value` syntax when the file is `$GITHUB_ENV`.
/// Checks before anything changes that `--export-env` (or another output file) can be opened
/// for appending; a file this check creates is removed again.
pub fn check_writable(flag: &str, path: &Path) -> Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            Error::usage(format!("cannot write {flag} {}: {e}", path.display()))
                .with_hint(format!("fix {flag} (nothing was changed)"))
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

pub fn append_export_env(path: &Path, pairs: &[(&str, String)]) -> Result<()> {
    let text = export_lines(export_syntax(path), pairs);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| {
            Error::usage(format!(
                "cannot open --export-env file {}: {e}",
                path.display()
            ))
        })?;
    file.write_all(text.as_bytes()).map_err(|e| {
        Error::environment(format!(
            "cannot write --export-env file {}: {e}",
            path.display()
        ))
    })
}

/// GitHub's syntax for the file GitHub Actions names in `GITHUB_ENV`, bash's for any other.
fn export_syntax(path: &Path) -> ExportSyntax {
    let Some(github_env) = crate::env::var_os(crate::env::GITHUB_ENV).filter(|v| !v.is_empty())
    else {
        return ExportSyntax::Bash;
    };
    let github_env = Path::new(&github_env);
    let same = path == github_env
        || matches!(
            (path.canonicalize(), github_env.canonicalize()),
            (Ok(a), Ok(b)) if a == b
        );
    if same {
        ExportSyntax::GithubEnv
    } else {
        ExportSyntax::Bash
    }
}

/// A `tracing` writer that masks secrets: debug logs of the SDKs go through it too.
pub struct RedactingWriter {
    buffer: Vec<u8>,
}

impl Write for RedactingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let text = redact(text.trim_end_matches('\n'));
        let _guard = STDERR_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

/// Makes one [`RedactingWriter`] per log event.
pub fn redacting_writer() -> RedactingWriter {
    RedactingWriter { buffer: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_stripped_and_text_is_kept() {
        assert_eq!(
            strip_ansi("\u{1b}[0m\u{1b}[91m   Compiling serde v1.0\u{1b}[0m"),
            "   Compiling serde v1.0"
        );
        assert_eq!(strip_ansi("\u{1b}[1;31merror\u{1b}[0m: x"), "error: x");
        assert_eq!(strip_ansi("plain [text] 100%"), "plain [text] 100%");
        assert_eq!(strip_ansi("dangling \u{1b}"), "dangling ");
    }

    #[test]
    fn registered_secrets_are_masked_from_four_characters_up() {
        register_secret(&Secret::new("s3cr3t-password-value"));
        register_secret(&Secret::new("pin7"));
        register_secret(&Secret::new("abc"));
        assert_eq!(
            redact("login with s3cr3t-password-value, pin7 and abc"),
            "login with [redacted], [redacted] and abc"
        );
    }

    /// A build step that prints a `--secret` file line by line shows no line of it.
    #[test]
    fn each_line_of_a_secret_is_masked_too() {
        register_secret(&Secret::new(
            "[default]\naws_access_key_id = AKIDLINEBYLINE\ntoken = line-secret-two\n",
        ));
        assert_eq!(
            redact("#5 0.3 aws_access_key_id = AKIDLINEBYLINE"),
            "#5 0.3 [redacted]"
        );
        assert_eq!(redact("token = line-secret-two!"), "[redacted]!");
        assert_eq!(redact("[default] profile"), "[redacted] profile");
    }

    #[test]
    fn export_env_appends_lines_a_later_bash_steps_children_see() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bash_env");
        std::fs::write(&path, "export EXISTING=1\n").unwrap();
        let awkward = "it's \"a\" $HOME `x` \\ value\nsecond line";
        append_export_env(
            &path,
            &[
                ("DEPLOYER_IMAGE", "repo@sha256:abc".to_string()),
                ("DEPLOYER_CLUSTER", awkward.to_string()),
            ],
        )
        .unwrap();
        // As CircleCI runs a later step: bash sources $BASH_ENV, the step starts a program.
        let child = std::process::Command::new("bash")
            .arg("-c")
            .arg("source \"$1\" && exec env -0")
            .arg("bash")
            .arg(&path)
            .env_clear()
            .output()
            .unwrap();
        assert!(child.status.success(), "{child:?}");
        let seen: std::collections::HashMap<String, String> = String::from_utf8(child.stdout)
            .unwrap()
            .split('\0')
            .filter_map(|entry| entry.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(seen["EXISTING"], "1");
        assert_eq!(seen["DEPLOYER_IMAGE"], "repo@sha256:abc");
        assert_eq!(seen["DEPLOYER_CLUSTER"], awkward);
    }
}
