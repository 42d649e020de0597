//! XLSX exports: real Excel date cells, a title row, booleans as "x", read with calamine.

mod common;
use common::*;
use rust_xlsxwriter::{Format, Workbook};

/// Three visits on 3 March 2025 with waits 5, 15 and 40 minutes: median 15, p90 35
/// (h = 1.8 → 15 + 0.8 · 25 = 35), within 30 minutes 2 of 3.
#[test]
fn excel_dates_and_times_are_read_as_such() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let fmt = Format::new().set_num_format("dd.mm.yyyy hh:mm");
    let time_fmt = Format::new().set_num_format("hh:mm");
    sheet
        .write_string(0, 0, "Kundenstatistik Straßenverkehrsamt")
        .unwrap();
    for (i, h) in ["Amt", "Datum", "Ankunft", "Aufruf", "Terminkunde"]
        .iter()
        .enumerate()
    {
        sheet.write_string(2, i as u16, *h).unwrap();
    }
    // 2025-03-03 is Excel day 45719.
    let day = 45719.0;
    for (r, (arrive, wait)) in [(8.0, 5.0), (9.0, 15.0), (10.0, 40.0)].iter().enumerate() {
        let row = 3 + r as u32;
        sheet.write_string(row, 0, "Straßenverkehrsamt").unwrap();
        sheet.write_number_with_format(row, 1, day, &fmt).unwrap();
        // Arrival as a time-of-day fraction on the date column, call as a full datetime.
        sheet
            .write_number_with_format(row, 2, arrive / 24.0, &time_fmt)
            .unwrap();
        sheet
            .write_number_with_format(row, 3, day + arrive / 24.0 + wait / 1440.0, &fmt)
            .unwrap();
        if r == 0 {
            sheet.write_string(row, 4, "x").unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xlsx");
    book.save(&path).unwrap();

    let d = DataDir::new();
    d.ok(&[
        "import",
        path.to_str().unwrap(),
        "--kind",
        "visits",
        "--publish",
    ]);
    let rows = d.kpi_json(&["--kind", "visits", "--by", "month,office"]);
    let march = row(
        &rows,
        &[("month", "2025-03"), ("office", "Straßenverkehrsamt")],
    );
    assert_num(march, "visitors", 3.0);
    assert_num(march, "appointments", 1.0);
    assert_num(march, "wait_median_min", 15.0);
    assert_num(march, "wait_p90_min", 35.0);
    assert_num(march, "within_target_share", 2.0 / 3.0);
}
