//! ZMS statistics downloads (Kundenstatistik, Wartestatistik, Dienstleistungsstatistik) are read
//! without `--kind`, complement each other per month and location, and give exactly the KPIs
//! that `tests/fixtures/zms/make_fixtures.py` computes from its own input data (see
//! `expected.json`, each value with its formula). KPIs that need single visits are null with a
//! reason, never 0 and never ".".

mod common;
use common::*;
use serde_json::{Map, Value};

type Row = Map<String, Value>;

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("zms/expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

fn want(entry: &Value, kpi: &str) -> f64 {
    entry[kpi]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("{kpi} in expected.json"))
}

fn zms(name: &str) -> String {
    fixture(&format!("zms/{name}"))
}

/// The three month-page reports of one location, imported in one command.
fn month_of_one_location() -> DataDir {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &zms("clientstatistic_2024-03.xlsx"),
        &zms("waitingstatistic_2024-03.xlsx"),
        &zms("requeststatistic_2024-03.xlsx"),
        "--publish",
    ]);
    d
}

fn kpi(d: &DataDir, by: &str) -> Vec<Row> {
    d.kpi_json(&["--kind", "visits", "--by", by, "--min-cell", "0"])
}

fn assert_not_available(r: &Row, kpi: &str, reason: &str) {
    assert_eq!(
        r.get(kpi),
        Some(&Value::Null),
        "{kpi} should be null in {r:?}"
    );
    let why = r["not_available"][kpi].as_str().unwrap_or_default();
    assert!(why.contains(reason), "{kpi}: reason {why:?} in {r:?}");
}

#[test]
fn three_reports_of_a_month_give_the_independent_figures() {
    let e = &expected()["entries"][0];
    let d = month_of_one_location();
    let rows = kpi(&d, "month,office");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = row(&rows, &[("month", "2024-03"), ("office", "Bürgeramt")]);
    for k in [
        "visitors",
        "no_shows",
        "appointments",
        "appointment_share",
        "no_show_rate",
        "wait_mean_min",
        "wait_max_min",
    ] {
        assert_num(r, k, want(e, k));
    }
    assert_num(r, "served", want(e, "waiting_counted"));
    for k in ["wait_median_min", "wait_p90_min", "within_target_share"] {
        assert_not_available(r, k, "hourly means");
    }
    // The location is the info row, trimmed.
    let by_location = kpi(&d, "month,location");
    assert_eq!(
        by_location[0]["location"], e["location"],
        "location from info row 4"
    );
}

#[test]
fn waits_split_by_appointment_come_from_their_own_sheets() {
    let e = &expected()["entries"][0];
    let d = month_of_one_location();
    let rows = kpi(&d, "appointment");
    let find = |a: bool| {
        rows.iter()
            .find(|r| r["appointment"] == Value::Bool(a))
            .expect("row per appointment")
    };
    assert_num(
        find(true),
        "wait_mean_min",
        want(e, "wait_mean_min_appointment"),
    );
    assert_num(
        find(false),
        "wait_mean_min",
        want(e, "wait_mean_min_walk_in"),
    );
}

#[test]
fn quiet_hours_come_from_the_hour_bands() {
    let e = &expected()["entries"][0];
    let d = month_of_one_location();
    let rows = kpi(&d, "weekday,hour");
    let weekdays = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];
    let cells = e["by_weekday_hour"].as_array().expect("by_weekday_hour");
    assert_eq!(rows.len(), cells.len(), "one row per weekday and band");
    for cell in cells {
        let weekday = weekdays
            .iter()
            .position(|w| *w == cell["weekday"].as_str().unwrap())
            .unwrap() as i64
            + 1;
        let hour: i64 = cell["band"]
            .as_str()
            .unwrap()
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let r = rows
            .iter()
            .find(|r| r["weekday"].as_i64() == Some(weekday) && r["hour"].as_i64() == Some(hour))
            .unwrap_or_else(|| panic!("no row for {cell}"));
        assert_num(r, "visitors", cell["visitors"].as_f64().unwrap());
        assert_num(r, "wait_mean_min", cell["wait_mean_min"].as_f64().unwrap());
        // No-shows are not split by hour in ZMS.
        assert_not_available(r, "no_shows", "does not split");
    }
}

#[test]
fn visitors_per_service_come_from_the_dienstleistungsstatistik() {
    let e = &expected()["entries"][0];
    let d = month_of_one_location();
    let rows = kpi(&d, "service");
    let per = e["visitors_per_service"]["value"]
        .as_object()
        .expect("per service");
    assert_eq!(rows.len(), per.len(), "{rows:?}");
    for (service, n) in per {
        let r = row(&rows, &[("service", service)]);
        assert_num(r, "visitors", n.as_f64().unwrap());
        assert_not_available(r, "wait_mean_min", "does not split");
    }
}

#[test]
fn reports_of_a_month_complement_each_other_and_the_same_report_again_replaces() {
    let e = &expected()["entries"][0];
    let d = DataDir::new();
    d.ok(&["import", &zms("clientstatistic_2024-03.xlsx"), "--publish"]);
    let r = kpi(&d, "month,office");
    assert_num(&r[0], "visitors", want(e, "visitors"));
    assert_not_available(&r[0], "served", "report with this figure is missing");
    assert_not_available(&r[0], "wait_mean_min", "report with this figure is missing");
    // The Wartestatistik adds the waits; it needs no reason, since nothing is replaced.
    d.ok(&["import", &zms("waitingstatistic_2024-03.xlsx"), "--publish"]);
    let r = kpi(&d, "month,office");
    assert_num(&r[0], "visitors", want(e, "visitors"));
    assert_num(&r[0], "wait_mean_min", want(e, "wait_mean_min"));
    // The Kundenstatistik again replaces the first one: only with a reason.
    let again = d.run(&["import", &zms("clientstatistic_2024-03.xlsx"), "--publish"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("Grund"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    d.ok(&[
        "import",
        &zms("clientstatistic_2024-03.xlsx"),
        "--publish",
        "--reason",
        "neu heruntergeladen",
    ]);
    let r = kpi(&d, "month,office");
    assert_num(&r[0], "visitors", want(e, "visitors"));
    assert_num(&r[0], "wait_mean_min", want(e, "wait_mean_min"));
    let history = d.ok(&["history", "--kind", "visits"]);
    assert!(history.contains("neu heruntergeladen"), "{history}");
}

#[test]
fn a_month_with_only_the_wartestatistik_has_waits_but_no_counts() {
    let e = &expected()["entries"][0];
    let d = DataDir::new();
    d.ok(&["import", &zms("waitingstatistic_2024-03.xlsx"), "--publish"]);
    let r = kpi(&d, "month,office");
    assert_num(&r[0], "wait_mean_min", want(e, "wait_mean_min"));
    for k in ["visitors", "no_shows", "no_show_rate"] {
        assert_not_available(&r[0], k, "report with this figure is missing");
    }
}

#[test]
fn a_report_of_chosen_locations_needs_the_office_and_sums_them() {
    let e = &expected()["entries"][1];
    let d = DataDir::new();
    let file = zms("clientstatistic_2024-03-04_2024-03-08.xlsx");
    let refused = d.run(&["import", &file, "--publish"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("--office"), "{err}");
    d.ok(&["import", &file, "--office", "Bürgeramt", "--publish"]);
    let rows = kpi(&d, "month,location");
    assert_eq!(rows.len(), 1);
    let locations: Vec<&str> = e["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().trim())
        .collect();
    assert_eq!(rows[0]["location"], Value::from(locations.join(" + ")));
    for k in [
        "visitors",
        "no_shows",
        "appointments",
        "appointment_share",
        "no_show_rate",
    ] {
        assert_num(&rows[0], k, want(e, k));
    }
}

#[test]
fn damaged_reports_are_refused_naming_sheet_and_cell_and_nothing_is_stored() {
    let damaged = expected()["damaged"].clone();
    let d = DataDir::new();
    let text_in_count = &damaged[0];
    let out = d.run(&[
        "import",
        &zms(text_in_count["file"].as_str().unwrap()),
        "--publish",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for part in [
        format!("Blatt „{}“", text_in_count["sheet"].as_str().unwrap()),
        format!("Zelle {}", text_in_count["cell"].as_str().unwrap()),
        text_in_count["value"].as_str().unwrap().to_string(),
        text_in_count["column"].as_str().unwrap().to_string(),
    ] {
        assert!(err.contains(&part), "{part:?} not in {err}");
    }
    let missing_block = &damaged[1];
    let out = d.run(&[
        "import",
        &zms(missing_block["file"].as_str().unwrap()),
        "--publish",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Blatt „Gesamt“"), "{err}");
    assert!(
        err.contains(missing_block["missing_block"].as_str().unwrap()),
        "{err}"
    );
    // A damaged file among good ones: none of them is stored.
    let out = d.run(&[
        "import",
        &zms("clientstatistic_2024-03.xlsx"),
        &zms(missing_block["file"].as_str().unwrap()),
        "--publish",
    ]);
    assert!(!out.status.success());
    assert!(kpi(&d, "month,office").is_empty(), "nothing published");
    let history = d.ok(&["history", "--kind", "visits"]);
    assert!(!history.contains("Bürgeramt"), "{history}");
}

#[test]
fn an_overview_with_ticket_rows_and_zms_reports_shows_both_right() {
    let e = &expected()["entries"][0];
    let d = month_of_one_location();
    // Another office exports single tickets for the same month.
    let tickets = d.path().join("tickets.csv");
    std::fs::write(
        &tickets,
        "Amt;Datum;Ankunft;Aufruf\n\
         Standesamt;04.03.2024;08:00;08:10\n\
         Standesamt;04.03.2024;08:05;08:25\n\
         Standesamt;05.03.2024;09:00;09:30\n",
    )
    .unwrap();
    d.ok(&[
        "import",
        tickets.to_str().unwrap(),
        "--kind",
        "visits",
        "--publish",
    ]);
    let rows = kpi(&d, "month,office");
    let zms_office = row(&rows, &[("office", "Bürgeramt")]);
    assert_num(zms_office, "visitors", want(e, "visitors"));
    assert_not_available(zms_office, "wait_median_min", "hourly means");
    let tickets = row(&rows, &[("office", "Standesamt")]);
    assert_num(tickets, "visitors", 3.0);
    assert_num(tickets, "wait_median_min", 20.0);
    assert_num(tickets, "wait_mean_min", 20.0);
    assert!(tickets.get("not_available").is_none(), "{tickets:?}");
    // All offices together: the median is not available, the counts add up.
    let all = kpi(&d, "month");
    assert_num(&all[0], "visitors", want(e, "visitors") + 3.0);
    assert_not_available(&all[0], "wait_median_min", "hourly means");
}

#[tokio::test]
async fn pages_say_what_is_not_available_and_the_methodology_names_the_reports() {
    let d = month_of_one_location();
    let app = router_with(&d, kennzahl::config::Settings::default());
    let (status, _, overview) = get(&app, "/").await;
    assert_eq!(status, 200);
    let slug = overview
        .split("href=\"/dashboards/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .find(|s| s.starts_with("b"))
        .unwrap_or_else(|| panic!("link to the office page in {overview}"));
    let (status, _, page) = get(&app, &format!("/dashboards/{slug}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("nicht verfügbar: die Quelle liefert Stundenmittel"),
        "{page}"
    );
    let (status, _, page) = get(&app, &format!("/dashboards/{slug}?lang=en")).await;
    assert_eq!(status, 200);
    assert!(page.contains("not available: the source gives hourly means"));
    let (_, _, method) = get(&app, "/methodik").await;
    assert!(method.contains("Zahlen aus Summenberichten"), "{method}");
    assert!(
        method.contains("Kundenstatistik (Bürgeramt Musterhausen Mitte Schalterhalle)"),
        "{method}"
    );
    let (status, _, api) = get(&app, "/api/v1/kpi/visits?by=month,office").await;
    assert_eq!(status, 200);
    assert!(api.contains("\"not_available\""), "{api}");
}

/// A Wartestatistik of several chosen locations holds the largest count and the plain mean of
/// the means per hour (docs/zms-statistics.md, section 3): no weights, so it is refused with
/// the advice to download it per location.
#[test]
fn a_wartestatistik_of_several_locations_is_refused() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("Gesamt").unwrap();
    for (row, text) in ["Wartesituation", "Bürgeramt Mitte ", "Bürgeramt Nord "]
        .iter()
        .enumerate()
    {
        sheet.write_string(row as u32, 0, *text).unwrap();
    }
    for (col, text) in ["Zeitraum:", "04.03.2024", "bis", "08.03.2024"]
        .iter()
        .enumerate()
    {
        sheet.write_string(3, col as u16, *text).unwrap();
    }
    let d = DataDir::new();
    let file = d.path().join("waitingstatistic_2024-03-04_2024-03-08.xlsx");
    book.save(&file).unwrap();
    let out = d.run(&["import", file.to_str().unwrap(), "--office", "Bürgeramt"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("je Standort herunterladen"), "{err}");
    assert!(err.contains("Bürgeramt Mitte + Bürgeramt Nord"), "{err}");
}
