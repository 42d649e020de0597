//! Originals and Parquet files in S3-compatible object storage (`KENNZAHL_OBJECT_STORE`),
//! against a real S3 server: moto from PyPI (`.ci/run` installs it and names its Python in
//! `KENNZAHL_MOTO_PYTHON`), started on a free port. The data folder keeps the catalogue and a
//! cache of the files read; with the cache gone, every figure and every original comes back
//! from the bucket.

mod common;
use common::s3::S3;
use common::*;
use std::process::{Command, Output};

/// `kennzahl --data DIR args…` with the object store settings.
fn kennzahl(d: &DataDir, s3: &S3, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kennzahl"))
        .arg("--data")
        .arg(d.path())
        .args(args)
        .env("KENNZAHL_LANG", "de")
        .env("KENNZAHL_OBJECT_STORE", "s3://kennzahl/stadt")
        .env("AWS_ENDPOINT_URL", &s3.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true")
        .output()
        .unwrap()
}

fn ok(d: &DataDir, s3: &S3, args: &[&str]) -> String {
    let out = kennzahl(d, s3, args);
    assert!(
        out.status.success(),
        "kennzahl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn files_live_in_the_bucket_and_come_back_when_the_cache_is_gone() {
    let s3 = S3::start("kennzahl");
    let d = DataDir::new();
    ok(
        &d,
        &s3,
        &[
            "import",
            &fixture("independent/visits_clean.csv"),
            "--kind",
            "visits",
            "--publish",
        ],
    );
    // The original, the rows and the partials are in the bucket, under the prefix.
    let keys = s3.keys("kennzahl", "stadt/");
    assert!(
        keys.iter()
            .any(|k| k.starts_with("stadt/originals/") && k.ends_with(".zst")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("stadt/batches/") && k.ends_with(".partials-0-hist.parquet")),
        "{keys:?}"
    );
    assert_eq!(
        keys.len(),
        10,
        "original, rows, 4 splits × 2 partials: {keys:?}"
    );
    let kpis = |d: &DataDir| {
        ok(
            d,
            &s3,
            &[
                "kpi",
                "--kind",
                "visits",
                "--by",
                "month,office",
                "--format",
                "json",
            ],
        )
    };
    let before = kpis(&d);
    compare(
        "independent/expected_visits_clean.json",
        &serde_json::from_str::<Vec<serde_json::Map<String, serde_json::Value>>>(&before).unwrap(),
    );

    // The local copies gone (a new machine with the same catalogue): the same figures, and
    // the original byte for byte, from the bucket.
    for dir in ["batches", "originals"] {
        std::fs::remove_dir_all(d.path().join(dir)).unwrap();
    }
    assert_eq!(kpis(&d), before);
    let b = DataDir::new();
    let report = ok(&d, &s3, &["backup", "--to", b.path().to_str().unwrap()]);
    assert!(report.contains("10 Dateien kopiert"), "{report}");
    let backup = kennzahl::store::Store::open_with(b.path(), None).unwrap();
    assert_eq!(
        backup.original(1).unwrap(),
        std::fs::read(fixture("independent/visits_clean.csv")).unwrap()
    );
}

#[test]
fn an_unreachable_bucket_is_a_clear_error_and_nothing_is_published() {
    let s3 = S3::start("other");
    let d = DataDir::new();
    // The bucket `kennzahl` does not exist on this server.
    let out = kennzahl(
        &d,
        &s3,
        &[
            "import",
            &fixture("independent/visits_clean.csv"),
            "--kind",
            "visits",
            "--publish",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Objektspeicher") && err.contains("KENNZAHL_OBJECT_STORE"),
        "{err}"
    );
    let out = kennzahl(
        &d,
        &s3,
        &["kpi", "--kind", "visits", "--by", "month,office"],
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 1, "only the header: {table}");
}
