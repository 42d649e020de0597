//! The journeys of the other test files once more on shared storage: every data folder's
//! catalogue a fresh database on a PostgreSQL server and its files a fresh prefix of a bucket
//! on an S3 server, both started by the tests (`tests/common`, `KENNZAHL_TEST_STORAGE=shared`).
//! `cargo test` builds every test binary before it runs any; this one runs the others' again
//! with that setting, so the one test command covers both storages.
//!
//! Not among them: storage (backups and the data folder's files are a data folder's business),
//! partials (it takes a folder's partials away by hand), object storage and replicas (they set
//! up their own storage).

mod common;

use std::path::PathBuf;
use std::process::Command;

const JOURNEYS: &[&str] = &[
    "golden_kpis",
    "independent_exports",
    "multi_year",
    "real_exports",
    "profiles",
    "zms_reports",
    "contacts_per_call",
    "public_site",
    "dashboard_pages",
    "demo_city",
    "embedding_and_feeds",
    "malformed_exports",
    "xlsx_exports",
    "reports",
    "hardening",
    "staff_area",
    "browser",
    "govdata",
    "api_contract",
];

/// The newest test binary `name-<hash>` beside this one.
fn test_binary(name: &str) -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    let deps = me.parent()?;
    std::fs::read_dir(deps)
        .ok()?
        .flatten()
        .filter(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            file.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|hash| hash.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
}

#[test]
fn the_journeys_run_on_postgresql_and_s3_too() {
    if common::shared_storage() {
        return;
    }
    let mut failed = Vec::new();
    for name in JOURNEYS {
        let bin = test_binary(name).unwrap_or_else(|| {
            panic!("no test binary for {name}: run the whole suite (cargo test), which builds it")
        });
        let run = || {
            Command::new(&bin)
                .env("KENNZAHL_TEST_STORAGE", "shared")
                .output()
                .unwrap()
        };
        let mut out = run();
        if !out.status.success() {
            // Once (2026-11-26) a zms_reports journey failed here and passed in 16 runs after;
            // its output was cut off. A second failure is a failure; a pass is said loudly,
            // with the first run's output, so that the cause can be found.
            eprintln!(
                "FLAKY? {name} failed on shared storage, running it again. First run:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            out = run();
        }
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            let tail: Vec<&str> = text.lines().rev().take(150).collect();
            failed.push(format!(
                "{name}:\n{}\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "on PostgreSQL and S3:\n{}",
        failed.join("\n\n")
    );
}
