//! The public site, walked as a visitor would (over the router, without a socket): every
//! page answers, charts carry role, title and table, downloads and the API give the same
//! figures as an independent computation, uploaded names come out escaped, ETag/304 and the
//! security headers are there, and a publish shows at once.

mod common;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use kennzahl::config::Settings;
use tower::ServiceExt;

fn site(d: &DataDir) -> axum::Router {
    kennzahl::web::router(d.store(), Settings::default()).unwrap()
}

#[tokio::test]
async fn every_public_page_answers_with_charts_tables_and_definitions() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    d.ok(&[
        "import",
        &fixture("golden/cases_small.csv"),
        "--kind",
        "cases",
        "--office",
        "Bauordnungsamt",
        "--publish",
    ]);
    let app = site(&d);
    let (status, headers, html) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], kennzahl::web::CSP);
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    for office in [
        "Einwohnermeldeamt",
        "Straßenverkehrsamt",
        "Ausländerbehörde",
        "Bauordnungsamt",
    ] {
        assert!(html.contains(office), "tile for {office}");
    }
    assert!(
        html.contains("href=\"/methodik#wait_median_min\""),
        "a definition beside every number"
    );
    assert!(!html.contains("<script"), "no scripts at all");
    for slug in [
        "einwohnermeldeamt",
        "strassenverkehrsamt",
        "auslaenderbehoerde",
        "bauordnungsamt",
    ] {
        let (status, _, page) = get(&app, &format!("/dashboards/{slug}")).await;
        assert_eq!(status, StatusCode::OK, "{slug}");
        // Every chart comes twice (desktop and phone size), with one table behind it.
        let charts = page.matches("<div class=\"chart-wide\"><svg").count();
        assert!(charts >= 2, "{slug}: {charts} charts");
        assert_eq!(
            page.matches("<div class=\"chart-narrow\"><svg").count(),
            charts
        );
        assert_eq!(page.matches("role=\"img\"").count(), 2 * charts);
        assert_eq!(
            page.matches("<details>").count(),
            charts,
            "{slug}: a table behind every chart"
        );
        assert!(
            page.contains("<title id=\"chart-"),
            "{slug}: charts have titles"
        );
    }
    for uri in [
        "/methodik",
        "/barrierefreiheit",
        "/leichte-sprache",
        "/healthz",
        "/metrics",
        "/assets/style.css",
    ] {
        assert_eq!(get(&app, uri).await.0, StatusCode::OK, "{uri}");
    }
    assert_eq!(
        get(&app, "/dashboards/gibt-es-nicht").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, _, accessibility) = get(&app, "/barrierefreiheit").await;
    assert!(accessibility.contains(&Settings::default().contact_email));
}

#[tokio::test]
async fn api_and_downloads_give_the_independent_figures() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let (status, headers, body) = get(&app, "/api/v1/kpi/visits?by=month,office").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let got: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(&body).unwrap();
    let expected: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(
        &std::fs::read_to_string(fixture("independent/expected_visits_clean.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(got.len(), expected.len());
    for e in &expected {
        let g = row(
            &got,
            &[
                ("month", e["month"].as_str().unwrap()),
                ("office", e["office"].as_str().unwrap()),
            ],
        );
        for (k, v) in e {
            match v.as_f64() {
                Some(x) => assert!((g[k].as_f64().unwrap() - x).abs() < 1e-9, "{k}"),
                None => assert_eq!(&g[k], v, "{k}"),
            }
        }
    }
    // The chart download is the chart's data: the same medians as the API.
    let (status, _, csv) = get(&app, "/charts/einwohnermeldeamt/wartezeit.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.starts_with("month,provisional,wait_median_min,wait_p90_min\n"),
        "{csv}"
    );
    let jan = row(
        &got,
        &[("month", "2025-01"), ("office", "Einwohnermeldeamt")],
    );
    let line = csv.lines().find(|l| l.starts_with("2025-01,")).unwrap();
    assert_eq!(
        line.split(',').nth(2).unwrap().parse::<f64>().unwrap(),
        jan["wait_median_min"].as_f64().unwrap()
    );
    let (status, headers, svg) = get(&app, "/charts/einwohnermeldeamt/wartezeit.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(svg.starts_with("<svg") && svg.contains("role=\"img\""));
    assert_eq!(
        get(&app, "/api/v1/kpi/visits?by=colour").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&app, "/api/v1/kpi/visits?from=März").await.0,
        StatusCode::BAD_REQUEST
    );
    // API errors are problem+json (RFC 9457) in German and English; what a client sent is
    // never echoed with raw control characters.
    for (uri, status) in [
        ("/api/v1/kpi/visits?by=month,month", StatusCode::BAD_REQUEST),
        ("/api/v1/kpi/visits?office=%1B%5B31m%07x%00", StatusCode::OK),
        ("/api/v1/kpi/visits?x=%1B%5B31m%07", StatusCode::BAD_REQUEST),
        ("/api/v1/kpi/parking", StatusCode::NOT_FOUND),
    ] {
        let (got, headers, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        if status != StatusCode::OK {
            assert_eq!(
                headers[header::CONTENT_TYPE],
                "application/problem+json",
                "{uri}"
            );
            let p: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(p["status"], status.as_u16(), "{body}");
            assert!(
                p["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{body}"
            );
            assert!(
                p["detail_en"].as_str().is_some_and(|d| !d.is_empty()),
                "{body}"
            );
        }
        assert!(
            !body.chars().any(|c| c.is_control() && c != '\n'),
            "{uri}: {body:?}"
        );
    }
}

#[tokio::test]
async fn names_from_uploads_are_escaped_in_html_and_svg() {
    let d = DataDir::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("evil.csv");
    let evil = "<script>alert(1)</script>";
    let mut text = String::from("office;service;arrived_at;called_at\n");
    for i in 0..4 {
        text.push_str(&format!(
            "{evil};\"<img src=x onerror=alert(2)>\";2025-03-0{}T08:00;2025-03-0{}T08:1{i}\n",
            i + 3,
            i + 3
        ));
    }
    std::fs::write(&file, text).unwrap();
    d.ok(&[
        "import",
        file.to_str().unwrap(),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let (_, _, home) = get(&app, "/").await;
    assert!(!home.contains(evil) && home.contains("&lt;script&gt;alert(1)&lt;"));
    let slug = kennzahl::present::format::slug(evil);
    let (status, _, page) = get(&app, &format!("/dashboards/{slug}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("<script"), "no raw script in the page");
    assert!(!page.contains("<img"), "no raw img from a service name");
    let (_, _, svg) = get(&app, &format!("/charts/{slug}/wartezeit.svg")).await;
    assert!(!svg.contains("<script") && svg.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn pages_are_cached_by_data_version_and_a_publish_shows_at_once() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let (_, headers, first) = get(&app, "/api/v1/kpi/visits?by=month,office").await;
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let resp = app
        .clone()
        .oneshot(
            Request::get("/api/v1/kpi/visits?by=month,office")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    // A publish through another process (here: the CLI) changes the data version.
    let dir = tempfile::tempdir().unwrap();
    let may = dir.path().join("mai.csv");
    std::fs::write(&may, "office,arrived_at,called_at\nBürgeramt,2025-05-05T08:00,2025-05-05T08:10\nBürgeramt,2025-05-05T08:01,2025-05-05T08:11\nBürgeramt,2025-05-05T08:02,2025-05-05T08:12\n").unwrap();
    d.ok(&[
        "import",
        may.to_str().unwrap(),
        "--kind",
        "visits",
        "--publish",
    ]);
    after_change_elsewhere();
    let resp = app
        .clone()
        .oneshot(
            Request::get("/api/v1/kpi/visits?by=month,office")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, _, second) = get(&app, "/api/v1/kpi/visits?by=month,office").await;
    assert_ne!(first, second);
    assert!(second.contains("2025-05"));
}

#[tokio::test]
async fn open_data_catalogue_downloads_and_openapi() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let (status, _, page) = get(&app, "/opendata").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("dl-de/by-2-0") && page.contains("Datenquelle: Stadt Musterstadt"),
        "licence and attribution text"
    );
    let (status, headers, catalogue) = get(&app, "/opendata/catalog.jsonld").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/ld+json");
    let c: serde_json::Value = serde_json::from_str(&catalogue).unwrap();
    assert_eq!(c["@type"], "dcat:Catalog");
    assert_eq!(c["dct:license"]["@id"], kennzahl::web::LICENCE_URI);
    // One dataset per kind with published data (GovData refuses a dataset without an
    // issue date): here visits only.
    let datasets = c["dcat:dataset"].as_array().unwrap();
    assert_eq!(datasets.len(), 1);
    assert!(datasets[0]["@id"].as_str().unwrap().ends_with("#visits"));
    assert_eq!(datasets[0]["dct:issued"]["@type"], "xsd:date");
    for ds in datasets {
        for dist in ds["dcat:distribution"].as_array().unwrap() {
            assert_eq!(dist["dct:license"]["@id"], kennzahl::web::LICENCE_URI);
            assert!(
                dist["dcatde:licenseAttributionByText"]
                    .as_str()
                    .unwrap()
                    .contains("Stadt Musterstadt")
            );
            let url = dist["dcat:downloadURL"]["@id"].as_str().unwrap();
            let path = url.split_once("//").unwrap().1.split_once('/').unwrap().1;
            assert_eq!(
                get(&app, &format!("/{path}")).await.0,
                StatusCode::OK,
                "{url}"
            );
        }
    }
    // German Excel dialect: BOM, semicolons, decimal comma. March 2025: p90 17.2 → "17,2".
    let (_, _, excel) = get(&app, "/downloads/visits-excel.csv").await;
    assert!(excel.starts_with('\u{feff}'));
    let march = excel.lines().find(|l| l.starts_with("2025-03;")).unwrap();
    assert!(march.contains(";17,2"), "{march}");
    let (_, _, machine) = get(&app, "/downloads/visits.csv").await;
    assert!(
        machine
            .lines()
            .find(|l| l.starts_with("2025-03,"))
            .unwrap()
            .contains(",17.2")
    );
    let (_, _, chart_excel) = get(&app, "/charts/buergeramt/wartezeit-excel.csv").await;
    assert!(
        chart_excel.starts_with("\u{feff}month;provisional;wait_median_min;wait_p90_min\r\n"),
        "{chart_excel}"
    );
    for (file, kind) in [
        ("2025-03.xlsx", "spreadsheetml"),
        ("2025-03.csv", "text/csv"),
        ("2025-03.json", "json"),
    ] {
        let (status, headers, _) = get(&app, &format!("/reports/{file}")).await;
        assert_eq!(status, StatusCode::OK, "{file}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains(kind),
            "{file}"
        );
    }
    assert_eq!(get(&app, "/reports/2025-03.pdf").await.0, StatusCode::OK);
    let (status, _, spec) = get(&app, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    // One path per kind, with that kind's groupings and filters only.
    let by = |kind: &str| -> Vec<String> {
        let params = spec["paths"][format!("/api/v1/kpi/{kind}")]["get"]["parameters"]
            .as_array()
            .unwrap()
            .clone();
        let by = params.iter().find(|p| p["name"] == "by").unwrap();
        serde_json::from_value(by["schema"]["items"]["enum"].clone()).unwrap()
    };
    assert!(by("visits").contains(&"appointment".to_string()));
    assert!(by("contacts").contains(&"channel".to_string()));
    assert!(!by("digital").contains(&"location".to_string()));
    let digital = spec["paths"]["/api/v1/kpi/digital"]["get"]["parameters"].to_string();
    assert!(!digital.contains("\"location\""), "{digital}");
    let (status, _, body) = get(&app, "/api/v1/kpi/digital?location=Mitte").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_visitors_at_once_cause_one_render() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let renders = |m: &str| -> u64 {
        m.lines()
            .find_map(|l| l.strip_prefix("kennzahl_renders_total "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = renders(&get(&app, "/metrics").await.2);
    let requests: Vec<_> = (0..24)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { get(&app, "/dashboards/einwohnermeldeamt").await })
        })
        .collect();
    let mut bodies = Vec::new();
    for r in requests {
        let (status, _, body) = r.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    let after = renders(&get(&app, "/metrics").await.2);
    assert_eq!(after - before, 1, "24 requests at once, one render");
}

#[tokio::test]
async fn the_monthly_report_is_served_as_pdf_and_xlsx() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let (status, headers, pdf) = get(&app, "/reports/2025-03.pdf").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.starts_with("%PDF-"));
    let (status, headers, _) = get(&app, "/reports/2025-03.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let (status, _, _) = get(&app, "/reports/2025-03.docx").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_are_compressed_once_and_served_gzip_to_who_asks() {
    use std::io::Read;
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let (_, plain_headers, plain) = get(&app, "/dashboards/einwohnermeldeamt").await;
    assert!(plain_headers.get(header::CONTENT_ENCODING).is_none());
    let resp = app
        .clone()
        .oneshot(
            Request::get("/dashboards/einwohnermeldeamt")
                .header(header::ACCEPT_ENCODING, "gzip;q=0.8, br;q=0.5")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.headers()[header::CONTENT_ENCODING], "gzip");
    let etag = resp.headers()[header::ETAG].to_str().unwrap().to_string();
    assert_ne!(etag, plain_headers[header::ETAG].to_str().unwrap());
    let zipped = axum::body::to_bytes(resp.into_body(), 10 << 20)
        .await
        .unwrap();
    assert!(zipped.len() * 4 < plain.len(), "compressed");
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_string(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);
    // Its own ETag answers 304; gzip;q=0 gets the plain page.
    let resp = app
        .clone()
        .oneshot(
            Request::get("/dashboards/einwohnermeldeamt")
                .header(header::ACCEPT_ENCODING, "gzip")
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    let resp = app
        .clone()
        .oneshot(
            Request::get("/dashboards/einwohnermeldeamt")
                .header(header::ACCEPT_ENCODING, "gzip;q=0")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(resp.headers().get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn a_note_or_target_set_after_a_page_was_cached_shows_at_once() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    let app = site(&d);
    let (_, _, before) = get(&app, "/dashboards/einwohnermeldeamt").await;
    assert!(!before.contains("Stromausfall"));
    d.store()
        .add_note("Einwohnermeldeamt", 202502, "Stromausfall am 12.", "test")
        .unwrap();
    after_change_elsewhere();
    let (_, _, after) = get(&app, "/dashboards/einwohnermeldeamt").await;
    assert!(after.contains("Stromausfall am 12."));
    d.ok(&[
        "target",
        "--kind",
        "visits",
        "--office",
        "Einwohnermeldeamt",
        "--kpi",
        "wait_median_min",
        "--value",
        "17",
    ]);
    after_change_elsewhere();
    let (_, _, with_target) = get(&app, "/dashboards/einwohnermeldeamt").await;
    assert!(with_target.contains("Ziel 17"), "the target line");
}
