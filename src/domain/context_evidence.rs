//! Which build context an old aws-ecr invocation meant when one name served two eras (8.0-8.1
//! built from `path`, 8.2 from `.`): the one where the Dockerfile's COPY and ADD sources exist.
use std::path::Path;

/// The sources a Dockerfile takes from the build context: every COPY and ADD source except
/// those from another stage or image (`--from`), URLs, git repositories and heredocs. A source
/// holding a variable is left out: it cannot be resolved before the build.
pub fn context_sources(dockerfile: &str) -> Vec<String> {
    let mut sources = Vec::new();
    let mut line = String::new();
    for raw in dockerfile.lines() {
        let trimmed = raw.trim();
        if line.is_empty() && (trimmed.starts_with('#') || trimmed.is_empty()) {
            continue;
        }
        if let Some(continued) = trimmed.strip_suffix('\\') {
            line.push_str(continued);
            line.push(' ');
            continue;
        }
        line.push_str(trimmed);
        sources.extend(instruction_sources(&line));
        line.clear();
    }
    sources.extend(instruction_sources(&line));
    sources
}

fn instruction_sources(line: &str) -> Vec<String> {
    let mut words = line.split_whitespace();
    let Some(instruction) = words.next() else {
        return Vec::new();
    };
    let is_add = instruction.eq_ignore_ascii_case("ADD");
    if !is_add && !instruction.eq_ignore_ascii_case("COPY") {
        return Vec::new();
    }
    let rest: Vec<&str> = words.collect();
    let flags = rest
        .iter()
        .take_while(|word| word.starts_with("--"))
        .count();
    if rest[..flags].iter().any(|flag| flag.starts_with("--from")) {
        return Vec::new();
    }
    let arguments = rest[flags..].join(" ");
    let mut paths: Vec<String> = if arguments.trim_start().starts_with('[') {
        serde_json::from_str(arguments.trim()).unwrap_or_default()
    } else {
        arguments.split_whitespace().map(str::to_string).collect()
    };
    // The last argument is the destination.
    paths.pop();
    paths
        .into_iter()
        .filter(|source| {
            !source.starts_with("<<")
                && !source.contains('$')
                && !(is_add && (source.contains("://") || source.starts_with("git@")))
        })
        .collect()
}

/// Whether `source` exists in `context`: a path as written (`./a` and `/a` both mean the
/// context's `a`); a wildcard source, when the directory before its first wildcard does.
pub fn resolves(context: &Path, source: &str, exists: &dyn Fn(&Path) -> bool) -> bool {
    let relative = source.trim_start_matches('/');
    let fixed: Vec<&str> = relative
        .split('/')
        .take_while(|part| !part.contains(['*', '?', '[']))
        .collect();
    exists(&context.join(fixed.join("/")))
}

/// What the sources say about two candidate contexts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Every source exists in this candidate only (its index); the other misses `missing`.
    Only { candidate: usize, missing: String },
    /// Every source exists in both.
    Both,
    /// Neither holds every source: the first one each misses.
    Neither { missing: [String; 2] },
    /// The Dockerfile takes nothing from the context: either gives the same image.
    NoSources,
}

/// Weighs `sources` in the two candidate contexts.
pub fn weigh(
    sources: &[String],
    candidates: [&Path; 2],
    exists: &dyn Fn(&Path) -> bool,
) -> Evidence {
    if sources.is_empty() {
        return Evidence::NoSources;
    }
    let missing = candidates.map(|context| {
        sources
            .iter()
            .find(|source| !resolves(context, source, exists))
            .cloned()
    });
    match missing {
        [None, None] => Evidence::Both,
        [None, Some(missing)] => Evidence::Only {
            candidate: 0,
            missing,
        },
        [Some(missing), None] => Evidence::Only {
            candidate: 1,
            missing,
        },
        [Some(first), Some(second)] => Evidence::Neither {
            missing: [first, second],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The shape of a real 8.2.1 config: `path: ./backend/docker/nginx`, a Dockerfile that
    /// copies from the repository's root.
    const NGINX: &str = "\
# syntax=docker/dockerfile:1
FROM node:18 AS assets
COPY ./frontend/package.json ./frontend/
RUN npm ci
FROM nginx:1.25
COPY --from=assets /app/dist /usr/share/nginx/html
COPY ./backend/docker/nginx/default.conf \\
     /etc/nginx/conf.d/default.conf
ADD https://example.com/robots.txt /usr/share/nginx/html/
COPY [\"./backend/static/\", \"/srv/static/\"]
COPY <<EOF /etc/motd
hello
EOF
COPY --chown=nginx:nginx ${CONFIG_DIR}/extra.conf /etc/nginx/
COPY backend/*.pem /etc/ssl/
";

    #[test]
    fn sources_are_the_context_paths_copy_and_add_read() {
        assert_eq!(
            context_sources(NGINX),
            [
                "./frontend/package.json",
                "./backend/docker/nginx/default.conf",
                "./backend/static/",
                "backend/*.pem"
            ]
        );
        assert!(context_sources("FROM scratch\nCOPY --from=build /out /out\n").is_empty());
    }

    fn tree(paths: &[&str]) -> impl Fn(&Path) -> bool {
        let set: BTreeSet<String> = paths
            .iter()
            .flat_map(|path| {
                let parts: Vec<&str> = path.split('/').collect();
                (1..=parts.len())
                    .map(|n| parts[..n].join("/"))
                    .collect::<Vec<_>>()
            })
            .collect();
        move |path: &Path| {
            let text = path.to_string_lossy().replace("/./", "/");
            let text = text.trim_start_matches("./").trim_end_matches('/');
            set.contains(text)
        }
    }

    #[test]
    fn the_candidate_holding_every_source_is_the_context() {
        let repository = tree(&[
            "frontend/package.json",
            "backend/docker/nginx/default.conf",
            "backend/docker/nginx/Dockerfile",
            "backend/static",
            "backend/cert.pem",
        ]);
        let sources = context_sources(NGINX);
        let candidates = [Path::new("backend/docker/nginx"), Path::new(".")];
        assert_eq!(
            weigh(&sources, candidates, &repository),
            Evidence::Only {
                candidate: 1,
                missing: "./frontend/package.json".to_string()
            }
        );
        // 8.0-8.1's shape: the Dockerfile copies from its own directory.
        let sources = context_sources("FROM nginx\nCOPY default.conf /etc/nginx/conf.d/\n");
        assert_eq!(
            weigh(&sources, candidates, &repository),
            Evidence::Only {
                candidate: 0,
                missing: "default.conf".to_string()
            }
        );
    }

    #[test]
    fn both_neither_and_nothing_are_told_apart() {
        let both = tree(&["app/app", "app/Dockerfile"]);
        let candidates = [Path::new("app"), Path::new(".")];
        let sources = context_sources("FROM scratch\nCOPY app /app\n");
        assert_eq!(weigh(&sources, candidates, &both), Evidence::Both);
        let sources = context_sources("FROM scratch\nCOPY lib /lib\n");
        assert_eq!(
            weigh(&sources, candidates, &both),
            Evidence::Neither {
                missing: ["lib".to_string(), "lib".to_string()]
            }
        );
        assert_eq!(weigh(&[], candidates, &both), Evidence::NoSources);
    }
}
