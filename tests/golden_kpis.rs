//! Golden KPI values: small exports whose figures were worked out on paper.
//! Every expected number below is derived in the comment above it.

mod common;
use common::*;

/// tests/fixtures/golden/visits_small.csv (Windows-1252, `;`, title block, totals row):
/// March 2025, Bürgeramt: 8 rows.
///   waits (called − arrived): 4, 10, 1, 7, 22 min; one visitor left uncalled (09:40).
///   two no-shows: one marked "ja", one an appointment without arrival.
/// April 2025: 2 rows only, so every cell is suppressed.
#[test]
fn visits_small_export_matches_paper() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "visits", "--by", "month,office"]);
    assert_eq!(rows.len(), 2);
    let march = row(&rows, &[("month", "2025-03"), ("office", "Bürgeramt")]);
    // visitors: 8 rows − 2 no-shows = 6
    assert_num(march, "visitors", 6.0);
    // appointments: rows 3, 7, 8
    assert_num(march, "appointments", 3.0);
    assert_num(march, "no_shows", 2.0);
    // 2 / 3
    assert_num(march, "no_show_rate", 2.0 / 3.0);
    // visitors with appointment: only row 3 → 1 / 6
    assert_num(march, "appointment_share", 1.0 / 6.0);
    assert_num(march, "served", 5.0);
    // (4 + 10 + 1 + 7 + 22) / 5 = 8.8
    assert_num(march, "wait_mean_min", 8.8);
    // sorted 1, 4, 7, 10, 22 → median 7
    assert_num(march, "wait_median_min", 7.0);
    // h = (5 − 1) · 0.9 = 3.6 → 10 + 0.6 · (22 − 10) = 17.2
    assert_num(march, "wait_p90_min", 17.2);
    assert_num(march, "wait_max_min", 22.0);
    // all five waits ≤ 30
    assert_num(march, "within_target_share", 1.0);
    // service times 10, 5, 19, 8, 8 → sorted 5, 8, 8, 10, 19 → 8
    assert_num(march, "service_median_min", 8.0);
    assert_eq!(march["provisional"], serde_json::Value::Bool(false));

    let april = row(&rows, &[("month", "2025-04")]);
    for col in [
        "visitors",
        "wait_median_min",
        "no_show_rate",
        "within_target_share",
    ] {
        assert_suppressed(april, col);
    }
}

/// With a target wait of 5 minutes, 2 of the 5 March waits (4 and 1) are within it: 0.4.
/// A median target of 5 (lower is better) against a median of 7 is missed by more than 10 %.
#[test]
fn office_targets_change_share_and_status() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    d.ok(&[
        "target",
        "--kind",
        "visits",
        "--office",
        "Bürgeramt",
        "--kpi",
        "wait_target_min",
        "--value",
        "5",
    ]);
    d.ok(&[
        "target",
        "--kind",
        "visits",
        "--office",
        "Bürgeramt",
        "--kpi",
        "wait_median_min",
        "--value",
        "5",
    ]);
    d.ok(&[
        "target",
        "--kind",
        "visits",
        "--office",
        "Bürgeramt",
        "--kpi",
        "served",
        "--value",
        "5",
        "--direction",
        "higher",
    ]);
    let rows = d.kpi_json(&[
        "--kind",
        "visits",
        "--by",
        "month,office",
        "--from",
        "2025-03",
        "--to",
        "2025-03",
    ]);
    let march = row(&rows, &[("month", "2025-03")]);
    assert_num(march, "within_target_share", 0.4);
    assert_eq!(march["wait_median_min_status"], "verfehlt");
    assert_num(march, "wait_median_min_target", 5.0);
    assert_eq!(march["served_status"], "erreicht");
}

/// By weekday: Monday 3 March has 3 visitors, Tuesday 4 March 3 (+ 1 April Tuesday with 2),
/// Wednesday 5 March only the 2 no-shows (0 visitors, but 2 rows: suppressed).
#[test]
fn visits_by_weekday() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "visits", "--by", "weekday"]);
    let by_day: Vec<(i64, serde_json::Value)> = rows
        .iter()
        .map(|r| (r["weekday"].as_i64().unwrap(), r["visitors"].clone()))
        .collect();
    assert_eq!(
        by_day,
        vec![(1, 3.into()), (2, 5.into()), (3, ".".into())],
        "Monday 3, Tuesday 3 + 2, Wednesday suppressed"
    );
}

/// Cases decided in March 2025 took 30, 30, 28 and 89 days (A-1 … A-4):
/// sorted 28, 30, 30, 89 → median 30; p90: h = 3 · 0.9 = 2.7 → 30 + 0.7 · 59 = 71.3.
/// Backlog at 31 March: A-5 and A-7 (open) and A-6 (decided 2 April) = 3.
/// April: one decision and a backlog of 2, both suppressed.
#[test]
fn cases_processing_times_and_backlog() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/cases_small.csv"),
        "--kind",
        "cases",
        "--office",
        "Bauordnungsamt",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "cases", "--by", "month,office"]);
    let march = row(&rows, &[("month", "2025-03")]);
    assert_num(march, "decided", 4.0);
    assert_num(march, "processing_days_median", 30.0);
    assert_num(march, "processing_days_p90", 71.3);
    assert_num(march, "backlog", 3.0);
    let april = row(&rows, &[("month", "2025-04")]);
    assert_suppressed(april, "processing_days_median");
    assert_suppressed(april, "backlog");
}

/// March: online 120 + 30 = 150 of 400 → 0.375; completion only where both are given:
/// 120 / 150 = 0.8. April: "1.200" is German for 1200 → 1200 / 1500 = 0.8.
#[test]
fn digital_share_with_german_thousands() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/digital_small.csv"),
        "--kind",
        "digital",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "digital", "--by", "month,office"]);
    let march = row(&rows, &[("month", "2025-03")]);
    assert_num(march, "online", 150.0);
    assert_num(march, "digital_share", 0.375);
    assert_num(march, "completion_rate", 0.8);
    let april = row(&rows, &[("month", "2025-04")]);
    assert_num(april, "online", 1200.0);
    assert_num(april, "digital_share", 0.8);
}

/// March: offered 350, answered 280 → 0.8; service level over rows that give it:
/// 150 / 230; handle time weighted by answered: (4·80 + 5·150 + 2·50) / 280 = 1170 / 280.
#[test]
fn contacts_answer_rate_and_service_level() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/contacts_small.csv"),
        "--kind",
        "contacts",
        "--office",
        "Service-Center",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "contacts", "--by", "month,office"]);
    let march = row(&rows, &[("month", "2025-03")]);
    assert_num(march, "offered", 350.0);
    assert_num(march, "answer_rate", 0.8);
    assert_num(march, "service_level", 150.0 / 230.0);
    assert_num(march, "handle_time_mean_min", 1170.0 / 280.0);
}

/// Two closed months of the same office: March 2025 (median wait 7, see above) and a
/// corrected April export with waits 30, 40, 50 (median 40). With `--compare`, April shows
/// March's median as the previous month and nothing for the previous year (not published).
#[test]
fn comparisons_with_previous_month_and_year() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let april = dir.path().join("april.csv");
    std::fs::write(
        &april,
        "Amt;Ankunft;Aufruf\nBürgeramt;01.04.2025 08:00;01.04.2025 08:30\nBürgeramt;01.04.2025 08:01;01.04.2025 08:41\nBürgeramt;01.04.2025 08:02;01.04.2025 08:52\n",
    )
    .unwrap();
    d.ok(&[
        "import",
        april.to_str().unwrap(),
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "April vollständig",
    ]);
    let rows = d.kpi_json(&[
        "--kind",
        "visits",
        "--by",
        "month,office",
        "--from",
        "2025-04",
        "--compare",
    ]);
    assert_eq!(rows.len(), 1, "only April is asked for: {rows:?}");
    let r = &rows[0];
    assert_num(r, "wait_median_min", 40.0);
    assert_num(r, "wait_median_min_prev_month", 7.0);
    assert_eq!(r["wait_median_min_prev_year"], serde_json::Value::Null);
}

/// Quarters and years: Q1 2025 holds March (8 rows, 6 visitors), Q2 April (2 rows).
#[test]
fn quarters_and_years() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "visits", "--by", "quarter"]);
    assert_num(row(&rows, &[("quarter", "2025-Q1")]), "visitors", 6.0);
    assert_suppressed(row(&rows, &[("quarter", "2025-Q2")]), "visitors");
    let rows = d.kpi_json(&["--kind", "visits", "--by", "year"]);
    assert_eq!(rows.len(), 1);
    // 6 + 2 visitors; served waits 4, 10, 1, 7, 22, 30, 40 → median 10
    assert_num(&rows[0], "visitors", 8.0);
    assert_num(&rows[0], "wait_median_min", 10.0);
}

/// tests/fixtures/golden/visits_walk_ins.csv: walk-ins only. March 2025: 3 visitors, no
/// appointments: the no-show rate is not meaningful ("x" in CSV, null with the reason in
/// JSON), not suppressed; the waits 6, 2, 20 give a median of 6. April: 2 visitors, a cell
/// too small to show anything: "." everywhere, also where the base is zero ("x" would tell
/// that there were no appointments).
#[test]
fn a_rate_of_nothing_is_x_not_a_dot() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_walk_ins.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "visits", "--by", "month,office"]);
    let march = row(&rows, &[("month", "2025-03")]);
    assert_num(march, "visitors", 3.0);
    assert_num(march, "appointments", 0.0);
    assert_num(march, "wait_median_min", 6.0);
    assert_eq!(march["no_show_rate"], serde_json::Value::Null);
    assert!(
        march["not_applicable"]["no_show_rate"]
            .as_str()
            .unwrap()
            .starts_with("not meaningful"),
        "{march:?}"
    );
    let april = row(&rows, &[("month", "2025-04")]);
    for col in ["visitors", "no_show_rate", "wait_median_min"] {
        assert_suppressed(april, col);
    }
    let csv = d.ok(&[
        "kpi",
        "--kind",
        "visits",
        "--by",
        "month,office",
        "--format",
        "csv",
    ]);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let rate = header.iter().position(|c| *c == "no_show_rate").unwrap();
    let cell = |month: &str| {
        let line = csv.lines().find(|l| l.starts_with(month)).unwrap();
        line.split(',').nth(rate).unwrap().to_string()
    };
    assert_eq!(cell("2025-03"), "x");
    assert_eq!(cell("2025-04"), ".");
}

/// The backlog is a stock at the end of a month: by year it is not meaningful, "x" (JSON
/// null with the reason), whatever the number of cases.
#[test]
fn the_backlog_by_year_is_x() {
    let d = with_demo_city();
    let rows = d.kpi_json(&["--kind", "cases", "--by", "year,office"]);
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r["backlog"], serde_json::Value::Null, "{r:?}");
        assert!(
            r["not_applicable"]["backlog"]
                .as_str()
                .unwrap()
                .starts_with("not meaningful for this grouping"),
            "{r:?}"
        );
    }
}
