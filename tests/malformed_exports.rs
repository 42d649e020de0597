//! Bad exports are refused with every problem located by line and column, exit code 1, and
//! published data stays exactly as it was.

mod common;
use common::*;

/// Publishes the clean independent export and returns the KPI CSV, the state to keep.
fn published_state(d: &DataDir) -> String {
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    d.ok(&["kpi", "--kind", "visits", "--by", "month,office"])
}

fn refused(d: &DataDir, file: &str) -> String {
    let out = d.run(&[
        "import",
        &fixture(file),
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "Korrektur",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{file} must be refused with exit 1"
    );
    assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("Gespeichert"));
    String::from_utf8(out.stderr).expect("utf-8")
}

#[test]
fn every_problem_is_reported_with_line_and_column() {
    let d = DataDir::new();
    let before = published_state(&d);
    let err = refused(&d, "malformed/many_problems.csv");
    for expected in [
        "Zeile 2, Spalte „arrived_at“, Wert „2025-13-05T09:00:00“",
        "Zeile 3, Spalte „appointment“, Wert „jein“",
        "Zeile 5, Spalte „called_at“",
        "Zeile 6, Spalte „arrived_at“, Wert „2031-01-14T11:00:00“: liegt in der Zukunft",
        "Zeile 7, Spalte „finished_at“",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // Line 9 repeats line 4 exactly: without a ticket number that is a second visit, not a
    // problem.
    assert!(err.contains("7 Problem(e)"), "{err}");
    assert!(!err.contains("Zeile 9"), "{err}");
    assert_eq!(
        d.ok(&["kpi", "--kind", "visits", "--by", "month,office"]),
        before
    );
}

#[test]
fn each_malformed_file_names_its_problem() {
    let cases = [
        (
            "malformed/called_before_arrived.csv",
            "Zeile 4, Spalte „called_at“",
        ),
        ("malformed/future_date.csv", "Zeile 3, Spalte „arrived_at“"),
        (
            "malformed/feb31.csv",
            "Zeile 3, Spalte „arrived_at“, Wert „2025-02-31T09:00:00“",
        ),
        (
            "malformed/bad_bool.csv",
            "Zeile 2, Spalte „appointment“, Wert „vielleicht“",
        ),
        (
            "malformed/unterminated_quote.csv",
            "Zeile 3 wird nie geschlossen",
        ),
        ("malformed/empty.csv", "Die Datei ist leer"),
        ("malformed/header_only.csv", "Keine Datenzeilen"),
        ("malformed/binary.csv", "keine Text- oder Excel-Datei"),
        ("malformed/personal_data.csv", "„Vorname“, „E-Mail“"),
    ];
    let d = DataDir::new();
    let before = published_state(&d);
    for (file, expected) in cases {
        let err = refused(&d, file);
        assert!(
            err.contains(expected),
            "{file}: missing {expected:?} in:\n{err}"
        );
    }
    assert_eq!(
        d.ok(&["kpi", "--kind", "visits", "--by", "month,office"]),
        before,
        "published data untouched"
    );
    let originals: usize = std::fs::read_dir(d.path().join("originals"))
        .unwrap()
        .map(|dir| std::fs::read_dir(dir.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(originals, 1, "only the clean import's original is kept");
    let history = d.ok(&["history", "--kind", "visits"]);
    assert_eq!(
        history.lines().count(),
        1 + 9,
        "only the 9 revisions of the clean import"
    );
}

/// malformed/duplicate.csv repeats line 3 on line 5 and has no ticket number: two visits
/// with the same values, imported with a notice (it used to be refused).
#[test]
fn an_identical_row_without_a_ticket_number_is_kept_with_a_notice() {
    let d = DataDir::new();
    let out = d.ok(&[
        "import",
        &fixture("malformed/duplicate.csv"),
        "--kind",
        "visits",
        "--dry-run",
    ]);
    assert!(out.contains("5 Zeilen gelesen, 0 übersprungen"), "{out}");
    assert!(
        out.contains("1 Zeile kommt doppelt vor (gleiche Werte in allen Spalten: Zeile 5 wie Zeile 3); sie wurde als eigener Besuch übernommen."),
        "{out}"
    );
}

#[test]
fn problems_are_explained_in_english_too() {
    let d = DataDir::new();
    let out = d.run(&[
        "--lang",
        "en",
        "import",
        &fixture("malformed/bad_bool.csv"),
        "--kind",
        "visits",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 2, column \"appointment\", value \"vielleicht\": neither yes nor no"),
        "{err}"
    );
}

#[test]
fn skip_invalid_imports_the_valid_rows_and_counts_the_rest() {
    let d = DataDir::new();
    let out = d.ok(&[
        "import",
        &fixture("malformed/many_problems.csv"),
        "--kind",
        "visits",
        "--skip-invalid",
        "--publish",
    ]);
    // 8 data rows, 5 with problems (lines 2, 3, 5, 6, 7): 3 kept, line 9 (the same as line
    // 4) among them.
    assert!(out.contains("3 Zeilen gelesen, 5 übersprungen"), "{out}");
    assert!(out.contains("1 Zeile kommt doppelt vor"), "{out}");
}

#[test]
fn unknown_headers_list_what_was_found_and_suggest_a_profile() {
    let d = DataDir::new();
    let out = d.run(&[
        "import",
        &fixture("independent/visits_messy.csv"),
        "--kind",
        "visits",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Gefundene Spalten: Dienststelle XY | Filiale | Anliegen-Text"),
        "{err}"
    );
    assert!(err.contains("Es fehlt: office, arrived_at"), "{err}");
    assert!(
        err.contains("kind = \"visits\""),
        "a profile to start from: {err}"
    );
    assert!(err.contains("drop = [\"Name\", \"Telefon\"]"), "{err}");
}

#[test]
fn replacing_a_published_month_needs_a_reason() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let out = d.run(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Grund angeben"));
    let history = d.ok(&["history", "--kind", "visits"]);
    assert_eq!(
        history.lines().count(),
        1 + 2,
        "nothing stored: still 2 revisions\n{history}"
    );
}

/// Files imported together are stored together or not at all: when one of them is refused,
/// the others' originals (kept on another thread while the files were read) are removed
/// again and no batch is stored.
#[test]
fn one_refused_file_of_several_stores_none() {
    let d = DataDir::new();
    let before = published_state(&d);
    let out = d.run(&[
        "import",
        &fixture("golden/visits_small.csv"),
        &fixture("independent/visits_clean.csv"),
        &fixture("malformed/feb31.csv"),
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "Korrektur",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Zeile 3, Spalte „arrived_at“"), "{err}");
    assert!(err.contains("Nichts gespeichert"), "{err}");
    let originals: usize = std::fs::read_dir(d.path().join("originals"))
        .unwrap()
        .map(|dir| std::fs::read_dir(dir.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(originals, 1, "only the first import's original is kept");
    assert_eq!(
        d.ok(&["kpi", "--kind", "visits", "--by", "month,office"]),
        before
    );
    assert_eq!(
        d.ok(&["history", "--kind", "visits"]).lines().count(),
        1 + 9
    );
}
