//! The store keeps every version: revisions with who, when and why, rollback as a new
//! revision, originals byte for byte, and atomic imports that survive SIGKILL.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn republishing_makes_a_revision_and_rollback_restores_the_old_figures() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let first = d.ok(&[
        "kpi",
        "--kind",
        "visits",
        "--by",
        "month,office",
        "--from",
        "2025-03",
        "--to",
        "2025-03",
    ]);
    // A corrected March export: the clean independent file's format, one office.
    let dir = tempfile::tempdir().unwrap();
    let corrected = dir.path().join("korrektur.csv");
    std::fs::write(
        &corrected,
        "office,arrived_at,called_at\nBürgeramt,2025-03-03T08:00:00,2025-03-03T08:30:00\nBürgeramt,2025-03-03T08:01:00,2025-03-03T08:41:00\nBürgeramt,2025-03-03T08:02:00,2025-03-03T08:52:00\n",
    )
    .unwrap();
    d.ok(&[
        "import",
        corrected.to_str().unwrap(),
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "Export war unvollständig",
    ]);
    let second = d.ok(&[
        "kpi",
        "--kind",
        "visits",
        "--by",
        "month,office",
        "--from",
        "2025-03",
        "--to",
        "2025-03",
    ]);
    assert_ne!(first, second);
    assert!(
        second.contains(",3,0,0,x,0,3,40,40,"),
        "3 visitors, waits 30/40/50: {second}"
    );

    let history = d.ok(&[
        "history",
        "--kind",
        "visits",
        "--office",
        "Bürgeramt",
        "--month",
        "2025-03",
    ]);
    assert!(
        history.contains(",2,2,3,") && history.contains("Export war unvollständig"),
        "{history}"
    );

    d.ok(&[
        "rollback",
        "--kind",
        "visits",
        "--office",
        "Bürgeramt",
        "--month",
        "2025-03",
        "--revision",
        "1",
        "--reason",
        "Korrektur war falsch",
    ]);
    let third = d.ok(&[
        "kpi",
        "--kind",
        "visits",
        "--by",
        "month,office",
        "--from",
        "2025-03",
        "--to",
        "2025-03",
    ]);
    assert_eq!(third, first);
    let history = d.ok(&[
        "history",
        "--kind",
        "visits",
        "--office",
        "Bürgeramt",
        "--month",
        "2025-03",
    ]);
    assert_eq!(
        history.lines().count(),
        1 + 3,
        "three revisions, none lost:\n{history}"
    );
    assert!(history.contains("Rücknahme auf Revision 1: Korrektur war falsch"));
    // April is untouched by the March correction.
    let april = d.ok(&["history", "--kind", "visits", "--month", "2025-04"]);
    assert_eq!(april.lines().count(), 2);
}

#[test]
fn the_original_upload_is_kept_under_its_sha256() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
    ]);
    let bytes = std::fs::read(fixture("golden/visits_small.csv")).unwrap();
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Kept zstd-compressed under its SHA-256, and given back byte for byte.
    let kept = std::fs::read(
        d.path()
            .join("originals")
            .join(&sha[..2])
            .join(format!("{sha}.zst")),
    )
    .unwrap();
    assert_eq!(zstd::stream::decode_all(kept.as_slice()).unwrap(), bytes);
    let store = kennzahl::store::Store::open(d.path()).unwrap();
    assert_eq!(store.original(1).unwrap(), bytes);
    // A damaged original is an error, never a wrong download.
    let damaged = zstd::stream::encode_all(&bytes[..bytes.len() - 1], 3).unwrap();
    std::fs::write(
        d.path()
            .join("originals")
            .join(&sha[..2])
            .join(format!("{sha}.zst")),
        &damaged,
    )
    .unwrap();
    assert!(matches!(
        store.original(1),
        Err(kennzahl::store::StoreError::Damaged { .. })
    ));
    std::fs::write(
        d.path()
            .join("originals")
            .join(&sha[..2])
            .join(format!("{sha}.zst")),
        &kept,
    )
    .unwrap();
    // Stored but not published: no KPI rows yet.
    assert!(d.kpi_json(&["--kind", "visits"]).is_empty());
    d.ok(&["publish", "1"]);
    assert_eq!(d.kpi_json(&["--kind", "visits"]).len(), 2);
}

#[test]
fn dry_run_stores_nothing() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--dry-run",
    ]);
    assert!(!d.path().join("catalog.sqlite").exists());
}

/// Kills imports with SIGKILL at spread-out moments: afterwards the store is whole and shows
/// either the old or the new figures, never a mix, and a later import works.
#[test]
fn an_import_killed_at_any_moment_leaves_the_store_whole() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let before = d.ok(&["kpi", "--kind", "visits", "--by", "month,office"]);
    let big = d.path().join("big.csv");
    d.ok(&[
        "demo",
        "bench-visits",
        "--rows",
        "60000",
        "--out",
        big.to_str().unwrap(),
    ]);
    let after = {
        let other = DataDir::new();
        other.ok(&[
            "import",
            &fixture("independent/visits_clean.csv"),
            "--kind",
            "visits",
            "--publish",
        ]);
        other.ok(&[
            "import",
            big.to_str().unwrap(),
            "--kind",
            "visits",
            "--publish",
            "--reason",
            "Nachlieferung",
        ]);
        other.ok(&["kpi", "--kind", "visits", "--by", "month,office"])
    };
    let mut outcomes = (0, 0);
    for delay_ms in [5u64, 20, 40, 60, 80, 100, 130, 160, 200, 260, 330, 420] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kennzahl"))
            .arg("--data")
            .arg(d.path())
            .args([
                "import",
                big.to_str().unwrap(),
                "--kind",
                "visits",
                "--publish",
                "--reason",
                "Nachlieferung",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = d.ok(&["kpi", "--kind", "visits", "--by", "month,office"]);
        if now == before {
            outcomes.0 += 1;
        } else {
            assert_eq!(
                now, after,
                "after a kill at {delay_ms} ms the store must be as before or as after"
            );
            outcomes.1 += 1;
            break;
        }
    }
    assert!(outcomes.0 > 0, "at least one kill hit before the commit");
}

/// Approving a review and publishing its batch are one transaction: a batch that is not
/// waiting for review is not published, and a published batch's review says who approved it.
#[test]
fn approval_and_publication_are_one_transaction() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
    ]);
    let staff = kennzahl::staff::StaffDb::open(d.path()).unwrap();
    let mut store = kennzahl::store::Store::open(d.path()).unwrap();
    let batch = 1;
    // Not submitted: refused, and nothing is published.
    let refused = store.approve_and_publish(batch, "paul", None);
    assert!(
        matches!(refused, Err(kennzahl::store::StoreError::NotSubmitted(1))),
        "{refused:?}"
    );
    assert_eq!(store.batch(batch).unwrap().unwrap().status, "pending");
    assert!(
        store
            .history(kennzahl::kinds::Kind::Visits, None, None)
            .unwrap()
            .is_empty()
    );
    // Submitted: published and approved together.
    staff.submit(batch, "anna", "").unwrap();
    let revisions = store.approve_and_publish(batch, "paul", None).unwrap();
    assert!(!revisions.is_empty());
    assert_eq!(store.batch(batch).unwrap().unwrap().status, "published");
    let review = staff.review(batch).unwrap().unwrap();
    assert_eq!(review.state, "approved");
    assert_eq!(review.decided_by.as_deref(), Some("paul"));
}

/// `kennzahl backup --to DIR` copies the data folder as it is at one moment into a folder
/// that is itself a data folder (same figures, same originals byte for byte, same history);
/// a second backup into it copies only the new upload's files.
#[test]
fn a_backup_is_a_whole_data_folder_and_the_next_one_copies_only_what_is_new() {
    let d = with_clean_visits();
    let b = DataDir::new();
    let to = b.path().to_str().unwrap();
    let first = d.ok(&["backup", "--to", to]);
    // One upload: its original, its rows and 4 splits × 2 partial files.
    assert!(
        first.contains("1 Lieferungen, 10 Dateien kopiert"),
        "{first}"
    );
    let kpis = |dir: &DataDir| dir.ok(&["kpi", "--kind", "visits", "--by", "month,office"]);
    assert_eq!(kpis(&b), kpis(&d));

    // A correction of one month, then a second backup into the same folder.
    // A corrected January of one office: three visits instead of the first upload's.
    let file = fixture("corrections/strassenverkehrsamt_2025-01.csv");
    d.ok(&[
        "import",
        &file,
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "Nachlieferung",
    ]);
    let second = d.ok(&["backup", "--to", to]);
    assert!(
        second.contains("2 Lieferungen, 10 Dateien kopiert")
            && second.contains("10 waren schon da"),
        "{second}"
    );
    assert_eq!(kpis(&b), kpis(&d));
    let history = |dir: &DataDir| dir.ok(&["history", "--kind", "visits"]);
    assert_eq!(history(&b), history(&d));
    assert!(history(&b).contains("Nachlieferung"));
    let (live, copy) = (
        kennzahl::store::Store::open(d.path()).unwrap(),
        kennzahl::store::Store::open(b.path()).unwrap(),
    );
    for batch in [1, 2] {
        assert_eq!(copy.original(batch).unwrap(), live.original(batch).unwrap());
    }
    assert_eq!(
        copy.original(2).unwrap(),
        std::fs::read(&file).unwrap(),
        "the original byte for byte"
    );

    // Into the data folder itself: refused, nothing written.
    let out = d.run(&["backup", "--to", d.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("anderen Ordner"));
}
