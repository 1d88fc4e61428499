//! `deployer diff` (issue 23 §2) against moto: what update-service would change, as a unified
//! diff on stdout; exit 0 when nothing would, 1 when something would, as diff(1) does, 2 on bad
//! input; and `update-service --dry-run` shows the same diff.
use crate::support::{deployer, moto_seed, run, MotoSeed};

fn diff(seed: &MotoSeed, flags: &[&str]) -> std::process::Command {
    let mut command = deployer(std::path::Path::new("/"));
    command
        .args([
            "diff",
            "--cluster",
            &seed.cluster,
            "--service",
            &seed.service,
            "--family",
            &seed.family,
        ])
        .args(flags);
    command
}

fn latest_revision(seed: &MotoSeed) -> i32 {
    let described = seed
        .ecs
        .block_on(
            seed.ecs
                .ecs
                .describe_task_definition()
                .task_definition(&seed.family)
                .send(),
        )
        .unwrap();
    described.task_definition().unwrap().revision()
}

#[test]
fn nothing_to_change_is_exit_0_with_an_empty_diff() {
    let seed = moto_seed();
    let result = run(&mut diff(&seed, &[]));
    result
        .assert_code(0)
        .assert_stderr_contains("nothing would change");
    assert_eq!(result.stdout, "", "no diff");
}

#[test]
fn a_change_is_a_unified_diff_and_exit_1_with_values_never_shown() {
    let seed = moto_seed();
    let secret = "s3cr3t-diff-value";
    let result = run(&mut diff(
        &seed,
        &[
            "--container-image-name-updates",
            "container=tutorial-site-app,image-and-tag=public.ecr.aws/docker/library/node:22",
            "--container-env-var-updates",
            &format!("container=tutorial-site-app,name=NODE_ENV,value={secret}"),
            "--desired-count",
            "3",
        ],
    ));
    result.assert_code(1);
    let out = &result.stdout;
    assert!(
        out.starts_with(&format!(
            "--- {}:1 (running)\n+++ {} (planned)\n@@",
            seed.family, seed.family
        )),
        "{out}"
    );
    assert!(
        out.contains("+      \"image\": \"public.ecr.aws/docker/library/node:22\""),
        "{out}"
    );
    assert!(out.contains("\"value\": \"<set, changed>\""), "{out}");
    assert!(
        !out.contains(secret) && !result.stderr.contains(secret),
        "{out}"
    );
    assert!(
        out.contains(&format!("--- {} (now)", seed.service)),
        "{out}"
    );
    assert!(out.contains("+  \"desiredCount\": 3"), "{out}");
    assert!(!result.stderr.contains("error:"), "{}", result.stderr);
    assert_eq!(latest_revision(&seed), 1, "diff registers nothing");
}

#[test]
fn bad_input_is_exit_2() {
    let seed = moto_seed();
    let mut missing = deployer(std::path::Path::new("/"));
    missing.args([
        "diff",
        "--cluster",
        &seed.cluster,
        "--service",
        "tutorial-site-servcie",
        "--family",
        &seed.family,
    ]);
    run(&mut missing)
        .assert_code(2)
        .assert_stderr_contains("service tutorial-site-servcie does not exist");
    run(&mut diff(
        &seed,
        &["--container-image-name-updates", "container=nope,tag=v2"],
    ))
    .assert_code(2);
}

#[test]
fn update_service_dry_run_shows_the_same_diff_and_changes_nothing() {
    let seed = moto_seed();
    let mut command = deployer(std::path::Path::new("/"));
    command.args([
        "update-service",
        "--cluster",
        &seed.cluster,
        "--service",
        &seed.service,
        "--family",
        &seed.family,
        "--container-image-name-updates",
        "container=tutorial-site-app,image-and-tag=public.ecr.aws/docker/library/node:22",
        "--dry-run",
    ]);
    let result = run(&mut command);
    result
        .assert_code(0)
        .assert_stderr_contains("dry run: what would change")
        .assert_stderr_contains("+      \"image\": \"public.ecr.aws/docker/library/node:22\"");
    assert_eq!(latest_revision(&seed), 1);
}
