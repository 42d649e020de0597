//! Exports written by an independent generator (tests/independent/make_fixtures.py), whose
//! KPIs were computed by independent Python code from the DESIGN.md formulas: every cell
//! must agree.

mod common;
use common::*;
use serde_json::Value;

fn compare(expected_file: &str, got: &[serde_json::Map<String, Value>]) {
    let text = std::fs::read_to_string(fixture(expected_file)).expect("expected file");
    let expected: Vec<serde_json::Map<String, Value>> = serde_json::from_str(&text).expect("json");
    assert_eq!(got.len(), expected.len(), "number of (month, office) cells");
    for e in &expected {
        let g = row(
            got,
            &[
                ("month", e["month"].as_str().unwrap()),
                ("office", e["office"].as_str().unwrap()),
            ],
        );
        for (k, v) in e {
            match (v, &g[k]) {
                (Value::Number(a), Value::Number(b)) => {
                    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                    assert!(
                        (a - b).abs() < 1e-9,
                        "{} {} {k}: expected {a}, got {b}",
                        e["month"],
                        e["office"]
                    );
                }
                (a, b) => assert_eq!(a, b, "{} {} {k}", e["month"], e["office"]),
            }
        }
    }
}

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
