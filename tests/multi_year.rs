//! Three years of visits against an independent computation. The KPI engine answers questions
//! over many months by merging per-month partial aggregates (counts, sums, maxima, exact
//! histograms of waits) instead of rescanning rows; every figure must still be exactly what
//! DESIGN.md defines. `tests/fixtures/multiyear/expected.py` computes every visits KPI of
//! `visits_2022_2024.csv` (2022-01 … 2024-12, three offices, written by `make_export.py`) from
//! the contract alone, in Python with the standard library and nothing of Kennzahl's, for
//! the groupings month,office; quarter,office; year,office; year; year,location;
//! quarter,location; year,appointment and quarter,service (kept partials), and weekday,hour;
//! office,weekday,hour; year,office,weekday and quarter,hour (partials computed from the rows
//! when asked), with "." where a value's base has
//! fewer than 3 rows and null (named under `not_applicable`) where the base is zero and that
//! zero is public.
//!
//! Checked here, through the CLI, cell for cell (numbers to 1e-9, everything else exactly,
//! every group present and no other):
//! - the whole file imported and published at once;
//! - the same rows imported and published month by month (36 batches, so that quarters and
//!   years merge partials of different batches), and then one month corrected: 2023-06
//!   published again without one row (the first row of Einwohnermeldeamt in 2023-06 that has
//!   both a call and an end time) with the reason "Korrektur", after which every grouping must
//!   equal the oracle's figures without that row.
//!
//! The file's thin cells on purpose (see `make_export.py`): months of an office with 1 and 2
//! rows, a month and a location-year without appointments, a quarter of a location with 2
//! rows, a month where nobody was called, a month of only no-shows, a month with served
//! visitors but no end times (service_median_min is "." there: its base, the number of
//! service times, is shown nowhere, so a zero of it is not public), a missing location and
//! missing services (null groups), a walk-in-only service offered by two offices.
//!
//! Regenerate the fixtures with `python3 tests/fixtures/multiyear/make_export.py &&
//! python3 tests/fixtures/multiyear/expected.py`.

mod common;
use common::*;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const EXPORT: &str = "multiyear/visits_2022_2024.csv";

/// The oracle's output: `groupings` and `correction`.
fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("multiyear/expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

/// Every cell of every grouping in `tables` (grouping → the oracle's rows) compared with
/// `kennzahl kpi --by grouping --format json`; all differences at once.
fn check(d: &DataDir, tables: &Value, what: &str) {
    let tables = tables.as_object().expect("groupings");
    assert!(tables.len() >= 8, "{what}: groupings in expected.json");
    let mut problems = Vec::new();
    for (grouping, rows) in tables {
        let got = d.kpi_json(&["--kind", "visits", "--by", grouping]);
        let rows = rows.as_array().expect("rows");
        problems.extend(differences(grouping, rows, &got));
    }
    assert!(
        problems.is_empty(),
        "{what}: {} differences from the independent computation:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The differences between the oracle's rows of one grouping and Kennzahl's, as lines.
fn differences(grouping: &str, expected: &[Value], got: &[Map<String, Value>]) -> Vec<String> {
    let dims: Vec<&str> = grouping.split(',').collect();
    let key = |r: &Map<String, Value>| -> Vec<Value> {
        dims.iter()
            .map(|d| r.get(*d).cloned().unwrap_or(Value::Null))
            .collect()
    };
    let mut out = Vec::new();
    let mut by_key: BTreeMap<String, &Map<String, Value>> = BTreeMap::new();
    for r in got {
        let k = serde_json::to_string(&key(r)).unwrap();
        if by_key.insert(k.clone(), r).is_some() {
            out.push(format!("{grouping} {k}: group twice in Kennzahl's table"));
        }
    }
    let mut seen = BTreeSet::new();
    for e in expected {
        let e = e.as_object().expect("row");
        let k = serde_json::to_string(&key(e)).unwrap();
        seen.insert(k.clone());
        let Some(g) = by_key.get(&k) else {
            out.push(format!("{grouping} {k}: missing in Kennzahl's table"));
            continue;
        };
        for (col, want) in e {
            if col == "not_applicable" {
                continue;
            }
            let have = g.get(col).unwrap_or(&Value::Null);
            let equal = match (want, have) {
                (Value::Number(a), Value::Number(b)) => {
                    (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-9
                }
                (a, b) => a == b && g.contains_key(col),
            };
            if !equal {
                out.push(format!(
                    "{grouping} {k} {col}: expected {want}, got {}",
                    g.get(col).map_or("nothing".to_string(), Value::to_string)
                ));
            }
        }
        // The KPIs that are null because they are not meaningful, named by both.
        let want: BTreeSet<&str> = e
            .get("not_applicable")
            .map(|v| {
                v.as_array()
                    .expect("list")
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        let have: BTreeSet<&str> = g
            .get("not_applicable")
            .map(|v| {
                v.as_object()
                    .expect("object")
                    .keys()
                    .map(|s| s.as_str())
                    .collect()
            })
            .unwrap_or_default();
        if want != have {
            out.push(format!(
                "{grouping} {k} not_applicable: expected {want:?}, got {have:?}"
            ));
        }
        // Nothing else: no KPI the oracle does not know, no `not_available`.
        for col in g.keys() {
            if col != "not_applicable" && !e.contains_key(col) {
                out.push(format!("{grouping} {k}: unexpected {col} = {}", g[col]));
            }
        }
    }
    for k in by_key.keys() {
        if !seen.contains(k) {
            out.push(format!("{grouping} {k}: a group the oracle does not have"));
        }
    }
    out
}

#[test]
fn three_years_in_one_file_match_the_independent_computation() {
    let d = DataDir::new();
    d.ok(&["import", &fixture(EXPORT), "--kind", "visits", "--publish"]);
    check(&d, &expected()["groupings"], "imported as one file");
}

/// One line of the export, read.
struct Line<'a> {
    text: &'a str,
    cells: BTreeMap<String, String>,
}

impl Line<'_> {
    fn cell(&self, c: &str) -> &str {
        &self.cells[c]
    }

    /// DESIGN.md: the month of arrived_at, of appointment_at for a no-show (no_show true, or,
    /// where it is empty, an appointment without arrival).
    fn month(&self) -> String {
        let no_show = match self.cell("no_show") {
            "true" => true,
            "false" => false,
            "" => self.cell("appointment") == "true" && self.cell("arrived_at").is_empty(),
            other => panic!("no_show {other:?}"),
        };
        let anchor = if no_show {
            self.cell("appointment_at")
        } else {
            self.cell("arrived_at")
        };
        anchor[..7].to_string()
    }
}

/// The export's header line and its data lines, each with its cells (no field holds a line
/// break, so a line is a record).
fn read_export(text: &str) -> (&str, Vec<Line<'_>>) {
    let mut lines = text.lines();
    let header_line = lines.next().expect("header");
    let header: Vec<String> = header_line.split(',').map(str::to_string).collect();
    let lines = lines
        .map(|l| {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(l.as_bytes());
            let record = r.records().next().expect("a record").expect("csv");
            assert_eq!(record.len(), header.len(), "{l}");
            Line {
                text: l,
                cells: header
                    .iter()
                    .cloned()
                    .zip(record.iter().map(str::to_string))
                    .collect(),
            }
        })
        .collect();
    (header_line, lines)
}

fn write_file(dir: &std::path::Path, name: &str, header: &str, lines: &[&Line<'_>]) -> String {
    let mut text = String::from(header);
    text.push('\n');
    for l in lines {
        text.push_str(l.text);
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn month_by_month_and_a_correction_match_the_independent_computation() {
    let expected = expected();
    let text = std::fs::read_to_string(fixture(EXPORT)).unwrap();
    let (header, lines) = read_export(&text);
    let mut months: BTreeMap<String, Vec<&Line>> = BTreeMap::new();
    for l in &lines {
        months.entry(l.month()).or_default().push(l);
    }
    assert_eq!(months.len(), 36, "2022-01 … 2024-12");

    let files = tempfile::tempdir().unwrap();
    let d = DataDir::new();
    for (month, rows) in &months {
        let file = write_file(files.path(), &format!("visits_{month}.csv"), header, rows);
        d.ok(&["import", &file, "--kind", "visits", "--publish"]);
    }
    check(&d, &expected["groupings"], "imported month by month");

    // The correction: the month again without the first row of the office that has both a
    // call and an end time (the row expected.py removes).
    let correction = &expected["correction"];
    let month = correction["month"].as_str().unwrap();
    let office = correction["office"].as_str().unwrap();
    let rows = &months[month];
    let removed = rows
        .iter()
        .position(|l| {
            l.cell("office") == office
                && !l.cell("called_at").is_empty()
                && !l.cell("finished_at").is_empty()
        })
        .expect("a served row with an end time");
    assert_eq!(
        rows[removed].text,
        correction["removed"].as_str().unwrap(),
        "the oracle removed the same row"
    );
    let kept: Vec<&Line> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != removed)
        .map(|(_, l)| *l)
        .collect();
    assert_eq!(kept.len() + 1, rows.len());
    let file = write_file(files.path(), "correction.csv", header, &kept);
    let refused = d.run(&["import", &file, "--kind", "visits", "--publish"]);
    assert!(
        !refused.status.success(),
        "a published month is replaced only with a reason"
    );
    d.ok(&[
        "import",
        &file,
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "Korrektur",
    ]);
    let history = d.ok(&[
        "history", "--kind", "visits", "--office", office, "--month", month,
    ]);
    assert!(history.contains("Korrektur"), "{history}");
    check(&d, &correction["groupings"], "after the correction");
}
