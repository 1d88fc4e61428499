//! The error every command returns: what failed, why, what to do, and the documented exit code.
use std::fmt;
use std::process::ExitCode;

/// Who can fix the failure decides the exit code (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Exit 1: the work itself failed (a build step, a push the registry refused, a rollout).
    Failed,
    /// Exit 2: the invocation is wrong (flags, values, files); nothing was changed.
    Usage,
    /// Exit 3: what the CI environment or the account must fix: AWS or Docker refused or could
    /// not be reached (permissions, daemon or registry down), or the environment lacks what they
    /// need (credentials, a region, an OIDC token for `--role-arn`, a program on PATH).
    Environment,
    /// Exit 4: refused or unreachable as with 2 or 3, but after something was already changed
    /// (pushed, registered, created); the error lists what.
    PartlyDone,
    /// Exit 130: interrupted by Ctrl-C or SIGTERM.
    Interrupted,
    /// Exit 1 from `deployer diff`: something would change (the diff is the output).
    Differs,
    /// `run-task --wait` only: the exit code (1 to 255) of the task's container, passed on as
    /// the aws-ecs orb's `exit_code_from` does.
    ContainerExit(u8),
}

impl ErrorKind {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Failed | ErrorKind::Differs => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Environment => 3,
            ErrorKind::PartlyDone => 4,
            ErrorKind::Interrupted => 130,
            ErrorKind::ContainerExit(code) => code,
        }
    }
}

/// A failure as the user reads it: one message, optional detail lines and a hint.
#[derive(Debug)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub details: Vec<String>,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            details: Vec::new(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    pub fn environment(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Environment, message)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }

    /// The error as it stands after `done` changes: each is listed, and a refusal or an
    /// unreachable service no longer claims (with exit 2 or 3) that nothing changed.
    pub fn after_changes(mut self, done: &[String]) -> Self {
        if done.is_empty() {
            return self;
        }
        if matches!(self.kind, ErrorKind::Usage | ErrorKind::Environment) {
            self.kind = ErrorKind::PartlyDone;
        }
        for change in done {
            self.details.push(format!("already done: {change}"));
        }
        self
    }

    /// Several problems found by one plan, reported together: the first invocation mistake
    /// (exit 2) leads, as the user fixes those first; each other one follows as `also: …`.
    pub fn all_of(mut problems: Vec<Error>) -> Self {
        let lead = problems
            .iter()
            .position(|problem| problem.kind == ErrorKind::Usage)
            .unwrap_or(0);
        if problems.is_empty() {
            return Error::new(ErrorKind::Failed, "the plan failed without saying why");
        }
        let mut error = problems.remove(lead);
        for other in problems {
            error.details.push(format!("also: {}", other.message));
            error.details.extend(other.details);
            if let Some(hint) = other.hint {
                error.details.push(format!("  ({hint})"));
            }
        }
        error
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            // Not an error: the answer of a command whose exit 1 means "there is a difference".
            ErrorKind::Differs => write!(f, "{}", self.message)?,
            _ => write!(f, "error: {}", self.message)?,
        }
        for detail in &self.details {
            write!(f, "\n  {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_message_details_and_hint() {
        let error = Error::environment("repository tutorial-site-registry does not exist")
            .with_detail("registry 123456789012")
            .with_hint("pass --create-repo");
        assert_eq!(
            error.to_string(),
            "error: repository tutorial-site-registry does not exist\n  registry 123456789012\nhint: pass --create-repo"
        );
        assert_eq!(error.kind.exit_code(), 3);
    }

    #[test]
    fn an_error_after_changes_lists_them_and_no_longer_says_nothing_changed() {
        let done = vec![
            "pushed 123456789012.dkr.ecr.eu-west-1.amazonaws.com/tutorial-site-registry@sha256:48ed".to_string(),
            "registered tutorial-site-task:7".to_string(),
        ];
        let refused = Error::usage("AWS rejected the request").after_changes(&done);
        assert_eq!(refused.kind.exit_code(), 4);
        assert!(refused
            .to_string()
            .contains("\n  already done: registered tutorial-site-task:7"));
        let unreachable = Error::environment("AWS could not be reached").after_changes(&done);
        assert_eq!(unreachable.kind, ErrorKind::PartlyDone);
        // A failed rollout keeps its own code; the changes are still listed.
        let failed = Error::failed("the deployment failed").after_changes(&done);
        assert_eq!(failed.kind.exit_code(), 1);
        assert_eq!(failed.details.len(), 2);
        let untouched = Error::usage("--repo: invalid").after_changes(&[]);
        assert_eq!(untouched.kind.exit_code(), 2);
    }

    #[test]
    fn problems_found_together_lead_with_the_invocation_mistake() {
        let docker =
            Error::environment("the Docker daemon could not be reached").with_hint("start Docker");
        let service = Error::usage("service typo does not exist in cluster tutorial-site-cluster")
            .with_hint("check --service");
        let error = Error::all_of(vec![docker, service]);
        assert_eq!(error.kind.exit_code(), 2);
        assert_eq!(error.hint.as_deref(), Some("check --service"));
        assert_eq!(
            error.details,
            [
                "also: the Docker daemon could not be reached",
                "  (start Docker)"
            ]
        );
    }
}
