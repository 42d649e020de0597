//! Dashboard pages as a visitor and as the editor of `dashboards/*.toml` meet them: a page
//! narrowed by period and location shows exactly the figures of that selection (checked
//! against a computation straight from the CSV), English is there by link and by browser
//! setting, "Wann ist wenig los?" adds up, and a dashboard file edit shows on the next load
//! while a mistake is named with file, line and column.

mod common;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use kennzahl::config::Settings;
use std::collections::BTreeMap;
use tower::ServiceExt;

async fn get_with(
    app: &axum::Router,
    uri: &str,
    accept_language: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::get(uri);
    if let Some(al) = accept_language {
        req = req.header(header::ACCEPT_LANGUAGE, al);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 10 << 20)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let (s, _, b) = get_with(app, uri, None).await;
    (s, b)
}

/// Minutes between two ISO timestamps of the same or a nearby day.
fn minutes(a: &str, b: &str) -> f64 {
    let secs = |t: &str| {
        let (date, time) = t.split_once('T').unwrap();
        let day: f64 = date[8..10].parse().unwrap();
        let p: Vec<f64> = time.split(':').map(|x| x.parse().unwrap()).collect();
        day * 86400.0 + p[0] * 3600.0 + p[1] * 60.0 + p[2]
    };
    (secs(b) - secs(a)) / 60.0
}

/// Linear-interpolated quantile (Excel's QUANTIL.INKL), as DESIGN.md defines.
fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Median wait per month of one office and location, straight from the CSV.
fn median_wait_by_month(office: &str, location: &str) -> BTreeMap<String, (f64, usize)> {
    let mut r = csv::Reader::from_path(fixture("independent/visits_clean.csv")).unwrap();
    let mut waits: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[0] != office || &rec[1] != location || &rec[8] == "true" || rec[4].is_empty() {
            continue;
        }
        waits
            .entry(rec[3][..7].to_string())
            .or_default()
            .push(minutes(&rec[3], &rec[4]));
    }
    waits
        .into_iter()
        .map(|(m, v)| {
            let n = v.len();
            (m, (quantile(v, 0.5), n))
        })
        .collect()
}

#[tokio::test]
async fn a_location_and_period_filter_shows_exactly_that_selection() {
    let d = with_clean_visits();
    let app = router_with(&d, Settings::default());
    let expected = median_wait_by_month("Einwohnermeldeamt", "Bürgerbüro Nord");
    let months: Vec<&String> = expected.keys().collect();
    assert!(months.len() >= 3, "fixture spans months: {months:?}");
    let (from, to) = (months[1].clone(), months[months.len() - 1].clone());

    // The form is there, with the office's locations, and works without JavaScript (GET).
    let (status, page) = get(&app, "/dashboards/einwohnermeldeamt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("<details class=\"filters\">"),
        "closed until used"
    );
    assert!(page.contains("<form method=\"get\" action=\"/dashboards/einwohnermeldeamt\">"));
    assert!(page.contains("<option>Bürgerbüro Nord</option>"));
    assert!(page.contains("<label for=\"f-location\">Standort</label>"));

    let q = format!("?from={from}&to={to}&location=B%C3%BCrgerb%C3%BCro%20Nord");
    let (status, page) = get(&app, &format!("/dashboards/einwohnermeldeamt{q}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<option selected>Bürgerbüro Nord</option>"));
    assert!(
        page.contains("<details class=\"filters\" open>"),
        "open when in use"
    );
    assert!(page.contains("Die Grafiken und Tabellen zeigen nur die gewählte Auswahl."));
    // Downloads of the narrowed view carry the same selection.
    assert!(
        page.contains(&format!(
            "/charts/einwohnermeldeamt/wartezeit.csv?from={from}&amp;to={to}&amp;location=B%C3%BCrgerb%C3%BCro%20Nord"
        )),
        "download links keep the filter"
    );

    let (status, csv) = get(&app, &format!("/charts/einwohnermeldeamt/wartezeit.csv{q}")).await;
    assert_eq!(status, StatusCode::OK);
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let cols: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let mi = cols.iter().position(|c| c == "month").unwrap();
    let wi = cols.iter().position(|c| c == "wait_median_min").unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let got_months: Vec<&str> = rows.iter().map(|r| &r[mi]).collect();
    let want_months: Vec<&str> = months[1..].iter().map(|m| m.as_str()).collect();
    assert_eq!(got_months, want_months, "only the chosen period");
    for row in &rows {
        let (median, n) = expected[&row[mi]];
        if n < 3 {
            assert_eq!(&row[wi], ".", "{} has {n} served: suppressed", &row[mi]);
        } else {
            let got: f64 = row[wi].parse().unwrap();
            assert!(
                (got - median).abs() < 1e-9,
                "{}: {got} vs {median}",
                &row[mi]
            );
        }
    }

    // A broken filter value is refused with a message, not a blank page.
    let (status, body) = get(&app, "/dashboards/einwohnermeldeamt?from=2025-13").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("from=\"2025-13\""), "{body}");
    let (status, _) = get(
        &app,
        &format!("/dashboards/einwohnermeldeamt?from={to}&to={from}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn english_by_link_and_by_browser_setting() {
    let d = with_clean_visits();
    let app = router_with(&d, Settings::default());
    let (_, headers, de) = get_with(&app, "/", None).await;
    assert!(de.contains("<html lang=\"de\">"));
    assert!(de.contains("Wie arbeiten unsere Ämter?"));
    // (minijinja writes "/" in attributes as &#x2f;)
    assert!(de.contains("?lang=en\" lang=\"en\" hreflang=\"en\">English</a>"));
    assert!(
        headers
            .get_all(header::VARY)
            .iter()
            .any(|v| v.to_str().unwrap().contains("Accept-Language"))
    );

    let (_, _, en) = get_with(&app, "/", Some("en-GB,en;q=0.9,de;q=0.5")).await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("How are our offices doing?"));
    assert!(en.contains("Skip to content"));
    assert!(!en.contains("Zum Inhalt springen"));

    // The link wins over the browser: a German reader with an English browser can switch.
    let (_, _, de_again) = get_with(&app, "/?lang=de", Some("en")).await;
    assert!(de_again.contains("<html lang=\"de\">"));
    let (_, _, fr) = get_with(&app, "/", Some("fr-FR,fr;q=0.9")).await;
    assert!(
        fr.contains("<html lang=\"de\">"),
        "German when neither is asked for"
    );

    // Office pages: headings, chart sentences, numbers and months in English.
    let (_, office) = get(&app, "/dashboards/einwohnermeldeamt?lang=en").await;
    assert!(office.contains("Waiting time from arrival to call"));
    assert!(office.contains("Data as a table"));
    assert!(office.contains("Median wait:"), "chart sentence in English");
    assert!(office.contains("<th scope=\"col\">Month</th>"));
    assert!(!office.contains("Besuche pro Monat"));
    // Links within the English pages stay English.
    assert!(office.contains("href=\"/methodik?lang=en#wait_median_min\""));
    // Definitions are linked by the KPI's name in words, not its code.
    assert!(
        office.contains("href=\"/methodik?lang=en#wait_median_min\">Median wait</a>"),
        "{office}"
    );
    assert!(!office.contains(">wait_median_min</a>"));
    let (_, methods) = get(&app, "/methodik?lang=en").await;
    assert!(methods.contains("How we calculate"));
    assert!(methods.contains("Median waiting time") || methods.contains("Median wait"));
    let (_, statement) = get(&app, "/barrierefreiheit?lang=en").await;
    assert!(statement.contains("Feedback and contact"));
    assert!(statement.contains("barrierefreiheit@musterstadt.example"));
}

#[tokio::test]
async fn when_is_it_quiet_adds_up_to_the_visits_of_the_period() {
    let d = with_clean_visits();
    let app = router_with(&d, Settings::default());
    let months: Vec<String> = median_wait_by_month("Einwohnermeldeamt", "Bürgerbüro Nord")
        .keys()
        .cloned()
        .collect();
    let (from, to) = (&months[0], &months[months.len() - 1]);
    let q = format!("?from={from}&to={to}");
    let (status, page) = get(&app, &format!("/dashboards/einwohnermeldeamt{q}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Wann ist wenig los?"));
    let (_, svg) = get(&app, &format!("/charts/einwohnermeldeamt/wenig-los.svg{q}")).await;
    assert!(svg.contains("role=\"img\""));
    assert!(svg.contains("<title id=\"chart-wenig-los-title\">"));

    // Visitors per weekday × hour, counted straight from the CSV (every row that is not a
    // missed appointment, by the arrival's weekday and hour); a cell from fewer than 3 rows
    // (missed appointments included: the base of a count is its rows) is ".".
    let mut src = csv::Reader::from_path(fixture("independent/visits_clean.csv")).unwrap();
    let mut expected: BTreeMap<(u32, u32), (i64, i64)> = BTreeMap::new();
    for rec in src.records().map(Result::unwrap) {
        if &rec[0] != "Einwohnermeldeamt" {
            continue;
        }
        // A missed appointment has no arrival: it counts at its appointment time.
        let when = if rec[3].is_empty() { &rec[7] } else { &rec[3] };
        let t = chrono::NaiveDateTime::parse_from_str(when, "%Y-%m-%dT%H:%M:%S").unwrap();
        use chrono::{Datelike, Timelike};
        let cell = expected
            .entry((t.weekday().number_from_monday(), t.hour()))
            .or_default();
        cell.0 += 1;
        cell.1 += i64::from(&rec[8] != "true");
    }
    let (_, csv) = get(&app, &format!("/charts/einwohnermeldeamt/wenig-los.csv{q}")).await;
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let cols: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(&cols[..2], ["weekday", "hour"]);
    let vi = cols.iter().position(|c| c == "visitors").unwrap();
    let mut seen = 0;
    for rec in r.records().map(Result::unwrap) {
        let key: (u32, u32) = (rec[0].parse().unwrap(), rec[1].parse().unwrap());
        let (rows, visitors) = expected[&key];
        let want = if rows < 3 {
            ".".to_string()
        } else {
            visitors.to_string()
        };
        assert_eq!(&rec[vi], want.as_str(), "weekday {} hour {}", key.0, key.1);
        seen += 1;
    }
    assert_eq!(
        seen,
        expected.len(),
        "one row per weekday and hour with visits"
    );
}

fn copy_dashboards(to: &std::path::Path) {
    for f in ["overview.toml", "office.toml", "einwohnermeldeamt.toml"] {
        std::fs::copy(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("dashboards")
                .join(f),
            to.join(f),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn an_edited_dashboard_file_shows_on_the_next_load_and_a_mistake_keeps_the_last_good_one() {
    let d = with_clean_visits();
    let dir = tempfile::tempdir().unwrap();
    copy_dashboards(dir.path());
    let settings = Settings {
        dashboards: Some(dir.path().to_path_buf()),
        ..Settings::default()
    };
    let app = router_with(&d, settings);
    let (_, page) = get(&app, "/dashboards/strassenverkehrsamt").await;
    assert!(page.contains("Wartezeit von der Ankunft bis zum Aufruf"));

    let office = dir.path().join("office.toml");
    let text = std::fs::read_to_string(&office).unwrap();
    std::fs::write(
        &office,
        text.replace(
            "title = \"Wartezeit von der Ankunft bis zum Aufruf\"",
            "title = \"So lange warten Sie\"",
        ),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (_, page) = get(&app, "/dashboards/strassenverkehrsamt").await;
    assert!(page.contains("So lange warten Sie"), "edit shows on reload");

    // A mistake: the page keeps the last good dashboards rather than breaking.
    std::fs::write(&office, "page = \"office\"\nsections = 3\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (status, page) = get(&app, "/dashboards/strassenverkehrsamt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("So lange warten Sie"));
}

#[test]
fn a_mistake_in_a_dashboard_file_stops_the_start_with_file_line_and_column() {
    let d = DataDir::new();
    let dir = tempfile::tempdir().unwrap();
    copy_dashboards(dir.path());
    let office = dir.path().join("office.toml");
    let text = std::fs::read_to_string(&office).unwrap();
    std::fs::write(
        &office,
        text.replace(
            "kpis = [\"wait_median_min\", \"wait_p90_min\"]",
            "kpis = [\"wait_median_min\", \"wait_p95_min\"]",
        ),
    )
    .unwrap();
    let line = std::fs::read_to_string(&office)
        .unwrap()
        .lines()
        .position(|l| l.contains("wait_p95_min"))
        .unwrap()
        + 1;
    let dir_arg = dir.path().to_str().unwrap();

    let out = d.run(&["dashboards", dir_arg]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "office.toml:{line}:28: \"wait_p95_min\" is not a KPI of visits"
        )),
        "{err}"
    );
    assert!(err.contains("wait_p90_min"), "names what is known: {err}");

    let out = d.run(&["serve", "--listen", "127.0.0.1:0", "--dashboards", dir_arg]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("office.toml:{line}:28")), "{err}");

    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards");
    let out = d.run(&["dashboards", shipped]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
