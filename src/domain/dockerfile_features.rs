//! Names the Dockerfile feature behind a frontend's parse error, and the Engine that has it: the
//! daemon's built-in Dockerfile frontend is as old as the Engine, and its errors ("unknown
//! instruction: ECHO") do not say that the Dockerfile is simply newer than the frontend.

/// Which builder ran the build, as far as the hint cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderKind {
    Classic,
    BuildKit,
}

const NEWER_ENGINE: &str = "Docker Engine 23.0 and newer build it in (CircleCI's current machine images and remote Docker do); \
     Engine 20.10's built-in frontend is older";

/// A hint for a failed build, from the daemon's message and the Dockerfile's text.
pub fn hint(message: &str, dockerfile: &str, builder: BuilderKind) -> Option<String> {
    let syntax_line = dockerfile
        .lines()
        .take_while(|line| line.trim_start().starts_with('#') || line.trim().is_empty())
        .find_map(|line| {
            let directive = line.trim_start().trim_start_matches('#').trim();
            let (key, value) = directive.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("syntax")
                .then(|| value.trim().to_string())
        });
    if builder == BuilderKind::Classic {
        if message.contains("Unknown flag: mount") || message.contains("Unknown flag: link") {
            return Some(
                "RUN --mount and COPY --link need BuildKit, and the classic builder ran this build: \
                 drop --builder classic / DOCKER_BUILDKIT=0"
                    .to_string(),
            );
        }
        return None;
    }
    if let Some(frontend) = syntax_line {
        if message.contains("frontend gateway") || message.contains(&frontend) {
            return Some(format!(
                "the # syntax= line asks the daemon to pull the Dockerfile frontend {frontend} from its registry, \
                 and it could not (no access to docker.io, or offline): drop the line to build with the daemon's \
                 built-in frontend, which for Dockerfile syntax 1.4 features (heredocs, COPY --link) needs \
                 Docker Engine 23.0 or newer"
            ));
        }
    }
    if message.contains("Unknown flag: link") {
        return Some(format!(
            "COPY --link needs Dockerfile syntax 1.4: {NEWER_ENGINE}; on this engine, drop --link"
        ));
    }
    if message.contains("Unknown flag: chmod") {
        return Some(format!(
            "COPY --chmod needs Dockerfile syntax 1.3: {NEWER_ENGINE}"
        ));
    }
    let has_heredoc = dockerfile.lines().any(|line| {
        let line = line.trim_start().to_ascii_uppercase();
        (line.starts_with("RUN") || line.starts_with("COPY") || line.starts_with("ADD"))
            && line.contains("<<")
    });
    if has_heredoc && message.contains("dockerfile parse error") {
        return Some(format!(
            "heredocs (RUN <<EOF, COPY <<EOF) need Dockerfile syntax 1.4: {NEWER_ENGINE}; \
             on this engine, write the commands on RUN lines joined with &&"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages of Debian's dockerd 20.10.24 (BuildKit 0.8's built-in frontend).
    const HEREDOC: &str = "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 3: unknown instruction: ECHO";
    const LINK: &str = "failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 2: Unknown flag: link";
    const SYNTAX: &str = "failed to solve with frontend dockerfile.v0: failed to solve with frontend gateway.v0: failed to do request: Head \"https://registry-1.docker.io/v2/docker/dockerfile/manifests/1.4\": dial tcp: lookup registry-1.docker.io: no such host";

    #[test]
    fn heredocs_copy_link_and_syntax_lines_are_named() {
        let heredoc = hint(
            HEREDOC,
            "FROM base\nRUN <<EOF\necho hi\nEOF\n",
            BuilderKind::BuildKit,
        )
        .unwrap();
        assert!(
            heredoc.starts_with(
                "heredocs (RUN <<EOF, COPY <<EOF) need Dockerfile syntax 1.4: Docker Engine 23.0"
            ),
            "{heredoc}"
        );
        let link = hint(LINK, "FROM base\nCOPY --link . /\n", BuilderKind::BuildKit).unwrap();
        assert!(
            link.starts_with("COPY --link needs Dockerfile syntax 1.4"),
            "{link}"
        );
        let syntax = hint(
            SYNTAX,
            "# syntax=docker/dockerfile:1.4\nFROM base\n",
            BuilderKind::BuildKit,
        )
        .unwrap();
        assert!(
            syntax.contains("pull the Dockerfile frontend docker/dockerfile:1.4"),
            "{syntax}"
        );
        let classic = hint(
            "Dockerfile parse error line 2: Unknown flag: mount",
            "",
            BuilderKind::Classic,
        )
        .unwrap();
        assert!(classic.contains("need BuildKit"), "{classic}");
    }

    #[test]
    fn other_failures_get_no_hint() {
        let exit = "executor failed running [/bin/sh -c exit 3]: exit code: 3";
        assert_eq!(hint(exit, "FROM base\nRUN cat <<< x\n", BuildKit), None);
        assert_eq!(hint(HEREDOC, "FROM base\nRUN echo\n", BuildKit), None);
        assert_eq!(hint(exit, "", BuilderKind::Classic), None);
    }

    use BuilderKind::BuildKit;
}
