//! Turns BuildKit's solve status stream (vertexes that start, finish, hit the cache or fail, and
//! the output their processes write) into lines a CI log reads top to bottom, as the Docker CLI's
//! `--progress=plain` does: one line when a step starts, its output, one when it ends.
use std::collections::{HashMap, HashSet};

/// One step of the build graph as BuildKit reports it; reported again whenever it changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vertex {
    /// The step's content digest: its identity across updates.
    pub digest: String,
    /// What the Dockerfile frontend calls it: `[2/4] RUN make`, `[internal] load .dockerignore`.
    pub name: String,
    /// Seconds since the epoch.
    pub started: Option<f64>,
    pub completed: Option<f64>,
    pub cached: bool,
    /// The failure, empty when none.
    pub error: String,
}

/// A piece of a step's output; lines may be split across pieces.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VertexLog {
    pub vertex: String,
    pub data: Vec<u8>,
}

/// One message of the stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolveStatus {
    pub vertexes: Vec<Vertex>,
    pub logs: Vec<VertexLog>,
}

/// What was said about each step so far, so that each state change is printed once.
#[derive(Debug, Default)]
pub struct BuildProgress {
    numbers: HashMap<String, usize>,
    names: HashMap<String, String>,
    announced: HashSet<String>,
    finished: HashSet<String>,
    /// Output after the last newline, per step, printed when the line ends or the step does.
    partial: HashMap<String, String>,
}

impl BuildProgress {
    /// Feeds one message; returns the lines it adds to the log.
    pub fn observe(&mut self, status: &SolveStatus) -> Vec<String> {
        let mut lines = Vec::new();
        for vertex in &status.vertexes {
            self.number(&vertex.digest);
            if !vertex.name.is_empty() {
                self.names
                    .insert(vertex.digest.clone(), vertex.name.clone());
            }
        }
        // Starts, then output, then ends: a message that carries a step's start, its output
        // and its end prints them in that order.
        for vertex in &status.vertexes {
            if vertex.started.is_some() && !vertex.cached {
                lines.extend(self.announce(&vertex.digest));
            }
        }
        for log in &status.logs {
            lines.extend(self.announce(&log.vertex));
            let number = self.number(&log.vertex);
            let text = String::from_utf8_lossy(&log.data);
            let pending = self.partial.entry(log.vertex.clone()).or_default();
            pending.push_str(&text);
            while let Some(newline) = pending.find('\n') {
                let line: String = pending.drain(..=newline).collect();
                lines.push(format!("#{number} {}", last_redraw(line.trim_end())));
            }
        }
        for vertex in &status.vertexes {
            lines.extend(self.end_lines(vertex));
        }
        lines
    }

    /// Output still waiting for its newline when the stream ends.
    pub fn finish(&mut self) -> Vec<String> {
        let mut digests: Vec<String> = self.partial.keys().cloned().collect();
        digests.sort_by_key(|digest| self.numbers.get(digest).copied().unwrap_or(0));
        digests
            .into_iter()
            .filter_map(|digest| self.flush(&digest))
            .collect()
    }

    /// The step's first line, unless it was printed already.
    fn announce(&mut self, digest: &str) -> Option<String> {
        if !self.announced.insert(digest.to_string()) {
            return None;
        }
        let name = self.names.get(digest).cloned().unwrap_or_default();
        Some(format!("#{} {name}", self.number(digest)))
    }

    /// The step's last line, once it hit the cache, failed or finished.
    fn end_lines(&mut self, vertex: &Vertex) -> Vec<String> {
        let digest = &vertex.digest;
        let mut lines = Vec::new();
        if self.finished.contains(digest) {
            return lines;
        }
        let number = self.number(digest);
        if vertex.cached {
            self.flush_into(digest, &mut lines);
            if self.announced.insert(digest.clone()) {
                let name = self.names.get(digest).cloned().unwrap_or_default();
                lines.push(format!("#{number} CACHED {name}"));
            } else {
                lines.push(format!("#{number} CACHED"));
            }
        } else if !vertex.error.is_empty() {
            lines.extend(self.announce(digest));
            self.flush_into(digest, &mut lines);
            lines.push(format!("#{number} ERROR: {}", vertex.error));
        } else if let Some(completed) = vertex.completed {
            lines.extend(self.announce(digest));
            self.flush_into(digest, &mut lines);
            let took = vertex
                .started
                .map(|started| (completed - started).max(0.0))
                .unwrap_or(0.0);
            lines.push(format!("#{number} DONE {took:.1}s"));
        } else {
            return lines;
        }
        self.finished.insert(digest.clone());
        lines
    }

    fn number(&mut self, digest: &str) -> usize {
        let next = self.numbers.len() + 1;
        *self.numbers.entry(digest.to_string()).or_insert(next)
    }

    fn flush(&mut self, digest: &str) -> Option<String> {
        let rest = self.partial.remove(digest)?;
        let rest = last_redraw(rest.trim_end());
        if rest.is_empty() {
            return None;
        }
        Some(format!("#{} {rest}", self.number(digest)))
    }

    fn flush_into(&mut self, digest: &str, lines: &mut Vec<String>) {
        lines.extend(self.flush(digest));
    }
}

/// A line redrawn with carriage returns (a progress bar) as it last looked.
fn last_redraw(line: &str) -> &str {
    line.rsplit('\r')
        .find(|part| !part.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOAD: &str = "sha256:5b0a7e8f5d4c2c34b1a3e0f6cfa1b8c57e0b4a3c0b8d6d26f6f1a0c9a2b3c4d5";
    const FROM: &str = "sha256:7d2f7c3c0b1e5a4c9e6d8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e";
    const RUN: &str = "sha256:9c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d";
    const COPY: &str = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";
    const T0: f64 = 1_795_000_000.25;

    fn vertex(digest: &str, name: &str) -> Vertex {
        Vertex {
            digest: digest.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    fn log(digest: &str, text: &str) -> VertexLog {
        VertexLog {
            vertex: digest.into(),
            data: text.as_bytes().to_vec(),
        }
    }

    /// The order dockerd 20.10 sends for `FROM base` + `RUN echo building; echo done`: the
    /// vertex without times, then started, output in pieces, then completed.
    #[test]
    fn a_step_prints_its_start_its_output_and_its_end_with_the_time() {
        let mut progress = BuildProgress::default();
        let name = "[2/2] RUN echo building; echo done";
        let mut lines = Vec::new();
        lines.extend(progress.observe(&SolveStatus {
            vertexes: vec![
                vertex(LOAD, "[internal] load build definition from Dockerfile"),
                vertex(RUN, name),
            ],
            logs: vec![],
        }));
        lines.extend(progress.observe(&SolveStatus {
            vertexes: vec![Vertex {
                started: Some(T0),
                completed: Some(T0 + 0.04),
                ..vertex(LOAD, "[internal] load build definition from Dockerfile")
            }],
            logs: vec![log(LOAD, "transferring dockerfile: 95B done\n")],
        }));
        lines.extend(progress.observe(&SolveStatus {
            vertexes: vec![Vertex {
                started: Some(T0 + 1.0),
                ..vertex(RUN, name)
            }],
            logs: vec![],
        }));
        lines.extend(progress.observe(&SolveStatus {
            vertexes: vec![],
            logs: vec![log(RUN, "buil"), log(RUN, "ding\ndo")],
        }));
        lines.extend(progress.observe(&SolveStatus {
            vertexes: vec![Vertex {
                started: Some(T0 + 1.0),
                completed: Some(T0 + 2.25),
                ..vertex(RUN, name)
            }],
            logs: vec![log(RUN, "ne")],
        }));
        assert_eq!(
            lines,
            [
                "#1 [internal] load build definition from Dockerfile",
                "#1 transferring dockerfile: 95B done",
                "#1 DONE 0.0s",
                "#2 [2/2] RUN echo building; echo done",
                "#2 building",
                "#2 done",
                "#2 DONE 1.2s",
            ]
        );
        assert!(progress.finish().is_empty());
    }

    #[test]
    fn a_cached_step_is_one_line_and_repeated_updates_print_nothing() {
        let mut progress = BuildProgress::default();
        let cached = Vertex {
            started: Some(T0),
            completed: Some(T0),
            cached: true,
            ..vertex(COPY, "[2/3] COPY site /srv")
        };
        let first = progress.observe(&SolveStatus {
            vertexes: vec![cached.clone()],
            logs: vec![],
        });
        let again = progress.observe(&SolveStatus {
            vertexes: vec![cached],
            logs: vec![],
        });
        assert_eq!(first, ["#1 CACHED [2/3] COPY site /srv"]);
        assert!(again.is_empty());
    }

    #[test]
    fn a_failing_step_prints_its_output_then_its_error() {
        let mut progress = BuildProgress::default();
        let name = "[2/2] RUN echo compiling && exit 3";
        let mut lines = progress.observe(&SolveStatus {
            vertexes: vec![Vertex {
                started: Some(T0),
                ..vertex(RUN, name)
            }],
            logs: vec![log(RUN, "compiling\npartial line without newline")],
        });
        lines.extend(progress.observe(&SolveStatus {
            vertexes: vec![Vertex {
                started: Some(T0),
                completed: Some(T0 + 0.3),
                error: "executor failed running [/bin/sh -c echo compiling && exit 3]: exit code: 3".into(),
                ..vertex(RUN, name)
            }],
            logs: vec![],
        }));
        assert_eq!(
            lines,
            [
                "#1 [2/2] RUN echo compiling && exit 3",
                "#1 compiling",
                "#1 partial line without newline",
                "#1 ERROR: executor failed running [/bin/sh -c echo compiling && exit 3]: exit code: 3",
            ]
        );
    }

    #[test]
    fn steps_are_numbered_in_order_of_first_report_and_progress_bars_show_their_last_state() {
        let mut progress = BuildProgress::default();
        let lines = progress.observe(&SolveStatus {
            vertexes: vec![
                Vertex {
                    started: Some(T0),
                    ..vertex(FROM, "[1/2] FROM docker.io/library/base")
                },
                Vertex {
                    started: Some(T0),
                    ..vertex(RUN, "[2/2] RUN fetch")
                },
            ],
            logs: vec![log(RUN, "  10%\r  50%\r 100%\n")],
        });
        assert_eq!(
            lines,
            [
                "#1 [1/2] FROM docker.io/library/base",
                "#2 [2/2] RUN fetch",
                "#2  100%",
            ]
        );
        let rest = progress.observe(&SolveStatus {
            vertexes: vec![],
            logs: vec![log(FROM, "unterminated")],
        });
        assert!(rest.is_empty());
        assert_eq!(progress.finish(), ["#1 unterminated"]);
    }
}
