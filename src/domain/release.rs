//! Several services in one release: the service names as given (`--service` repeated,
//! `--services a,b`), checked, and the table a release ends with: each service, its revision,
//! how its deployment ended and what was undone.
use serde::Serialize;

/// The services named by `--service` (repeatable) and `--services` (comma-separated), in the
/// order given, blanks dropped. A service named twice is an error (its two deployments would
/// race each other).
pub fn service_names(repeated: &[String], listed: &[String]) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for name in repeated.iter().chain(listed) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        if names.iter().any(|known| known == name) {
            return Err(format!(
                "service {name} is named twice: each service is deployed once per release"
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// How one service of a release ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceResult {
    pub service: String,
    /// The revision it ran before the release.
    pub previous_task_definition_arn: String,
    /// The revision the release deployed (registered or as it is), once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// `completed` (or the wait's other words: `running`, `paused`, `baking`, `no-tasks`,
    /// `started`), `failed`, `cancelled` (its wait was stopped because another failed or deployer
    /// was interrupted), `not-started` (another failed before its turn).
    pub result: String,
    /// What deployer did to put it back, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undone: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The short name of a revision ARN (`family:7`), or `-`.
fn short(arn: Option<&str>) -> String {
    match arn {
        Some(arn) if !arn.is_empty() => arn.rsplit('/').next().unwrap_or(arn).to_string(),
        _ => "-".to_string(),
    }
}

/// The release's table: a header and one aligned row per service, then why each failed one
/// failed.
pub fn table(results: &[ServiceResult]) -> Vec<String> {
    let rows: Vec<[String; 4]> = std::iter::once([
        "service".to_string(),
        "revision".to_string(),
        "verdict".to_string(),
        "undone".to_string(),
    ])
    .chain(results.iter().map(|result| {
        [
            result.service.clone(),
            short(result.task_definition_arn.as_deref()),
            result.result.clone(),
            result.undone.clone().unwrap_or_else(|| "-".to_string()),
        ]
    }))
    .collect();
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let mut lines: Vec<String> = rows
        .iter()
        .map(|row| {
            format!(
                "{:w0$}  {:w1$}  {:w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )
        })
        .collect();
    for result in results {
        if let Some(error) = &result.error {
            lines.push(format!("{}: {error}", result.service));
        }
    }
    lines
}

/// The first line of the error a failed release ends with.
pub fn summary(results: &[ServiceResult]) -> String {
    let failed: Vec<&str> = results
        .iter()
        .filter(|result| result.result == "failed")
        .map(|result| result.service.as_str())
        .collect();
    let undone = results.iter().filter(|r| r.undone.is_some()).count();
    let mut line = format!(
        "{} of {} services failed ({})",
        failed.len(),
        results.len(),
        failed.join(", ")
    );
    if undone > 0 {
        line.push_str(&format!(
            "; {undone} other{} put back on {} previous revision",
            if undone == 1 { "" } else { "s" },
            if undone == 1 { "its" } else { "their" }
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn services_come_from_both_flags_in_order_and_only_once() {
        assert_eq!(
            service_names(&names(&["web"]), &names(&["worker", " ", "cron"])).unwrap(),
            ["web", "worker", "cron"]
        );
        assert_eq!(
            service_names(&names(&["web", "worker"]), &names(&["web"])).unwrap_err(),
            "service web is named twice: each service is deployed once per release"
        );
        assert!(service_names(&[], &[]).unwrap().is_empty());
    }

    fn result(service: &str, revision: Option<&str>, verdict: &str) -> ServiceResult {
        ServiceResult {
            service: service.to_string(),
            previous_task_definition_arn: format!(
                "arn:aws:ecs:eu-west-1:123456789012:task-definition/{service}:1"
            ),
            task_definition_arn: revision
                .map(|r| format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{r}")),
            result: verdict.to_string(),
            undone: None,
            error: None,
        }
    }

    #[test]
    fn the_table_aligns_each_service_and_says_why_one_failed() {
        let mut web = result(
            "tutorial-site-web",
            Some("tutorial-site-web:2"),
            "completed",
        );
        web.undone = Some("put back on tutorial-site-web:1 (UpdateService; completed)".into());
        let mut worker = result("worker", Some("worker:2"), "failed");
        worker.error = Some("the deployment of worker:2 to worker failed".into());
        let cron = result("cron", None, "not-started");
        let results = [web, worker, cron];
        assert_eq!(
            table(&results),
            [
                "service            revision             verdict      undone",
                "tutorial-site-web  tutorial-site-web:2  completed    put back on tutorial-site-web:1 (UpdateService; completed)",
                "worker             worker:2             failed       -",
                "cron               -                    not-started  -",
                "worker: the deployment of worker:2 to worker failed",
            ]
        );
        assert_eq!(
            summary(&results),
            "1 of 3 services failed (worker); 1 other put back on its previous revision"
        );
    }
}
