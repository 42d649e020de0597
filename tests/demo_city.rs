//! The demo city loads as staff would upload it, and looks like a city: at least 15 months,
//! four or more offices, every kind, and the bad month visible in the figures.

mod common;
use common::*;

#[test]
fn the_demo_city_loads_and_has_its_bad_month() {
    let d = DataDir::new();
    let demo = format!("{}/datasets/demo", env!("CARGO_MANIFEST_DIR"));
    d.ok(&["demo", "load", "--from", &demo]);
    let visits = d.kpi_json(&["--kind", "visits", "--by", "month,office"]);
    let months: std::collections::BTreeSet<&str> = visits
        .iter()
        .map(|r| r["month"].as_str().unwrap())
        .collect();
    assert!(months.len() >= 15, "{months:?}");
    let mut offices: std::collections::BTreeSet<String> = visits
        .iter()
        .map(|r| r["office"].as_str().unwrap().to_string())
        .collect();
    for kind in ["cases", "contacts", "digital"] {
        for r in d.kpi_json(&["--kind", kind, "--by", "month,office"]) {
            offices.insert(r["office"].as_str().unwrap().to_string());
        }
    }
    assert!(offices.len() >= 5, "{offices:?}");
    // February 2026 at the Ausländerbehörde: waits far above January's.
    let median = |m: &str| {
        row(&visits, &[("month", m), ("office", "Ausländerbehörde")])["wait_median_min"]
            .as_f64()
            .unwrap()
    };
    assert!(
        median("2026-02") > 1.8 * median("2026-01"),
        "{} vs {}",
        median("2026-02"),
        median("2026-01")
    );
    // The running month is provisional.
    let running =
        kennzahl::timefmt::format_month(kennzahl::timefmt::month_key(kennzahl::timefmt::today()));
    for r in &visits {
        assert_eq!(
            r["provisional"] == true,
            r["month"].as_str().unwrap() >= running.as_str(),
            "{r:?}"
        );
    }
    let services = d.kpi_json(&["--kind", "services", "--by", "month"]);
    assert!(!services.is_empty());
}

#[test]
fn the_generator_is_deterministic() {
    let a = tempfile::tempdir().unwrap();
    let d = DataDir::new();
    d.ok(&["demo", "generate", "--out", a.path().to_str().unwrap()]);
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo");
    for entry in std::fs::read_dir(a.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".xlsx") {
            continue; // XLSX carries a creation timestamp in its metadata
        }
        let committed = std::fs::read(demo.join(&name)).unwrap_or_default();
        assert!(
            committed == std::fs::read(entry.path()).unwrap(),
            "{name:?} differs from datasets/demo: run `kennzahl demo generate`"
        );
    }
}
