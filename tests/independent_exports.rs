//! Exports written by an independent generator (tests/independent/make_fixtures.py), whose
//! KPIs were computed by independent Python code from the DESIGN.md formulas: every cell
//! must agree.

mod common;
use common::*;

#[test]
fn clean_utf8_export_matches_independent_computation() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    compare(
        "independent/expected_visits_clean.json",
        &d.kpi_json(&["--kind", "visits", "--by", "month,office"]),
    );
}

#[test]
fn messy_excel_export_with_profile_matches_independent_computation() {
    let d = DataDir::new();
    let out = d.ok(&[
        "import",
        &fixture("independent/visits_messy.csv"),
        "--kind",
        "visits",
        "--profile",
        &fixture("independent/visits_messy.profile.toml"),
        "--publish",
    ]);
    assert!(out.contains("Windows-1252"), "encoding is detected: {out}");
    assert!(
        out.contains("Summenzeile in Zeile 304"),
        "totals row dropped with a notice: {out}"
    );
    compare(
        "independent/expected_visits_messy.json",
        &d.kpi_json(&["--kind", "visits", "--by", "month,office"]),
    );
}
