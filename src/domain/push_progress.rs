//! Turns the Docker engine's push messages into one log line per layer state change, and finds
//! the manifest digest the registry stored. The engine's byte-by-byte progress is never printed.
use std::sync::LazyLock;

use regex::Regex;

static DIGEST_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\S+): digest: (sha256:[a-f0-9]{64}) size: (\d+)").unwrap());

/// Counts layers through their states; the engine's push API does not name layers to clients
/// that decode it with bollard, so lines speak of counts.
#[derive(Debug, Default)]
pub struct PushProgress {
    layers: usize,
    started: bool,
    done: usize,
    reused: usize,
    digest: Option<String>,
    retry_countdown: Option<u64>,
}

impl PushProgress {
    /// Feeds one status message; returns the line to print, if this message changes a state.
    pub fn observe(&mut self, status: &str) -> Option<String> {
        if let Some(captures) = DIGEST_LINE.captures(status) {
            self.digest = Some(captures[2].to_string());
            return Some(format!(
                "pushed tag {} as {} ({} layers sent, {} already there)",
                &captures[1],
                &captures[2],
                self.done - self.reused,
                self.reused
            ));
        }
        match status {
            "Preparing" => {
                self.layers += 1;
                None
            }
            "Waiting" | "Pushing" => {
                if self.started {
                    return None;
                }
                self.started = true;
                Some(format!("sending {} layers", self.layers))
            }
            "Pushed" => {
                self.done += 1;
                Some(format!("layer {}/{} pushed", self.done, self.layers))
            }
            "Layer already exists" => {
                self.done += 1;
                self.reused += 1;
                Some(format!(
                    "layer {}/{} already in the registry",
                    self.done, self.layers
                ))
            }
            other if other.starts_with("Retrying in ") => {
                // The engine retries a failed layer upload by itself, counting down each second:
                // say so once, when a countdown starts.
                let seconds: u64 = other
                    .trim_start_matches("Retrying in ")
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let starts = self
                    .retry_countdown
                    .is_none_or(|previous| seconds > previous);
                self.retry_countdown = Some(seconds);
                starts.then(|| {
                    format!("a layer upload failed; the Docker engine retries it in {seconds} s")
                })
            }
            other if other.starts_with("Mounted from ") => {
                self.done += 1;
                self.reused += 1;
                Some(format!(
                    "layer {}/{} mounted from {}",
                    self.done,
                    self.layers,
                    other.trim_start_matches("Mounted from ")
                ))
            }
            _ => None,
        }
    }

    /// The manifest digest the registry answered, once the push finished.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:6599e6fd98811a65d19283d82b35af3ef10d5db57b058ec5338cc2653a15dc43";

    #[test]
    fn one_line_per_layer_state_change_and_the_digest() {
        let mut progress = PushProgress::default();
        let statuses = [
            "The push refers to repository [127.0.0.1:15000/tutorial-site-registry]",
            "Preparing",
            "Preparing",
            "Waiting",
            "Pushing",
            "Pushing",
            "Pushing",
            "Layer already exists",
            "Pushed",
            &format!("latest: digest: {DIGEST} size: 735"),
        ];
        let lines: Vec<String> = statuses
            .iter()
            .filter_map(|s| progress.observe(s))
            .collect();
        assert_eq!(
            lines,
            [
                "sending 2 layers".to_string(),
                "layer 1/2 already in the registry".to_string(),
                "layer 2/2 pushed".to_string(),
                format!("pushed tag latest as {DIGEST} (1 layers sent, 1 already there)"),
            ]
        );
        assert_eq!(progress.digest(), Some(DIGEST));
    }

    #[test]
    fn engine_retries_are_said_once_per_countdown() {
        let mut progress = PushProgress::default();
        progress.observe("Preparing");
        let lines: Vec<String> = [
            "Retrying in 5 seconds",
            "Retrying in 4 seconds",
            "Retrying in 1 second",
            "Retrying in 10 seconds",
            "Retrying in 9 seconds",
        ]
        .iter()
        .filter_map(|status| progress.observe(status))
        .collect();
        assert_eq!(
            lines,
            [
                "a layer upload failed; the Docker engine retries it in 5 s",
                "a layer upload failed; the Docker engine retries it in 10 s"
            ]
        );
    }

    #[test]
    fn mounts_count_as_reused() {
        let mut progress = PushProgress::default();
        progress.observe("Preparing");
        assert_eq!(
            progress.observe("Mounted from team/base").unwrap(),
            "layer 1/1 mounted from team/base"
        );
        assert_eq!(progress.digest(), None);
    }
}
