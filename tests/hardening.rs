//! The public site under attack, as an anonymous client would try it: open-ended cache keys,
//! non-canonical addresses, floods of uncached work, and (over real sockets, against the real
//! binary) connections that send half a header, stall a body or just stay open.

mod common;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use kennzahl::config::Settings;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// A figure of `/metrics`.
async fn metric(app: &axum::Router, name: &str) -> f64 {
    let (_, _, text) = get(app, "/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn unknown_or_repeated_api_parameters_are_refused_not_cached() {
    let d = with_clean_visits();
    let app = router_with(&d, Settings::default());
    let renders = metric(&app, "kennzahl_renders_total").await;
    for n in 0..20 {
        let (status, _, body) = get(
            &app,
            &format!("/api/v1/kpi/visits?by=month,office&compare=1&x={n}"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let problem: serde_json::Value = serde_json::from_str(&body).expect("problem+json");
        assert!(
            problem["detail_en"].as_str().unwrap().contains("\"x\""),
            "{body}"
        );
    }
    for uri in [
        "/api/v1/kpi/visits?by=office,office",
        "/api/v1/kpi/visits?by=month,office,month",
        "/api/v1/kpi/visits?from=2025-01&from=2025-02",
        "/api/v1/kpi/visits?format=CSV",
        "/api/v1/kpi/visits?format=AAA",
        "/api/v1/kpi/visits?compare=2",
        "/api/v1/kpi/visits?compare=1",
        "/api/v1/kpi/visits?by=",
        // The services catalogue is a stock at month end: only per month.
        "/api/v1/kpi/services?by=office",
        "/api/v1/kpi/visits?from=2025-9",
        "/api/v1/kpi/visits?from=+2025-09",
    ] {
        let (status, _, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    }
    assert_eq!(
        metric(&app, "kennzahl_renders_total").await,
        renders,
        "nothing refused was computed"
    );
    // One answer, however its parameters are ordered: one render.
    let (a, _, body_a) = get(&app, "/api/v1/kpi/visits?by=month,office&compare=true").await;
    let (b, _, body_b) = get(&app, "/api/v1/kpi/visits?compare=true&by=month,office").await;
    assert_eq!((a, b), (StatusCode::OK, StatusCode::OK));
    assert_eq!(body_a, body_b);
    assert_eq!(metric(&app, "kennzahl_renders_total").await, renders + 1.0);
}

#[tokio::test]
async fn a_report_has_one_address_and_other_spellings_are_not_found() {
    let d = with_clean_visits();
    let app = router_with(&d, Settings::default());
    let (status, _, _) = get(&app, "/reports/2025-03.json").await;
    assert_eq!(status, StatusCode::OK);
    let renders = metric(&app, "kennzahl_renders_total").await;
    for uri in [
        "/reports/2025-0003.json",
        "/reports/+2025-003.json",
        "/reports/%202025-03.json",
        "/reports/2025-3.json",
        "/reports/02025-03.json",
        "/downloads/VISITS.csv",
        "/downloads/%20visits.csv",
        "/api/v1/kpi/Visits",
    ] {
        let (status, _, _) = get(&app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(metric(&app, "kennzahl_renders_total").await, renders);
    // Parameters a page does not know (tracking tags) do not make it a new page.
    let office = "/dashboards/einwohnermeldeamt";
    let (status, _, _) = get(&app, office).await;
    assert_eq!(status, StatusCode::OK);
    let renders = metric(&app, "kennzahl_renders_total").await;
    for n in 0..10 {
        let (status, _, _) = get(&app, &format!("{office}?utm_source={n}&fbclid={n}")).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(metric(&app, "kennzahl_renders_total").await, renders);
}

#[tokio::test]
async fn the_cache_stays_within_its_bytes_whatever_is_asked() {
    let d = with_clean_visits();
    let limit = 400_000u64;
    let app = router_with(
        &d,
        Settings {
            cache_max_bytes: limit,
            ..Settings::default()
        },
    );
    let (_, _, home) = get(&app, "/").await;
    assert!(home.contains("Einwohnermeldeamt"));
    // Every valid filter is a new answer: 60 of them, each computed and kept while it fits.
    for n in 0..60 {
        let uri = format!(
            "/api/v1/kpi/visits?by=month,office,location,service,weekday,hour&location=Ort{n}"
        );
        let (status, _, _) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let bytes = metric(&app, "kennzahl_cache_bytes").await;
        assert!(bytes <= limit as f64, "{bytes} bytes cached after {n}");
    }
    let (status, _, body) = get(
        &app,
        "/api/v1/kpi/visits?by=month,office,location,service,weekday,hour,appointment&compare=true",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() > 10_000);
    assert!(metric(&app, "kennzahl_cache_bytes").await <= limit as f64);
}

#[tokio::test]
async fn filter_values_are_bounded() {
    let d = with_clean_visits();
    let app = router_with(&d, Settings::default());
    let long = "x".repeat(201);
    for uri in [
        format!("/dashboards/einwohnermeldeamt?location={long}"),
        format!("/api/v1/kpi/visits?service={long}"),
        "/dashboards/einwohnermeldeamt?from=2025-0003".to_string(),
    ] {
        let (status, _, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    }
}

#[test]
fn a_flood_of_uncached_work_is_turned_away_while_cached_pages_are_served() {
    let d = with_demo_city();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = router_with(
            &d,
            Settings {
                max_computations: 1,
                ..Settings::default()
            },
        );
        let (status, _, _) = get(&app, "/").await;
        assert_eq!(status, StatusCode::OK);
        // 24 different expensive questions at once: one computes, four wait, the rest are
        // told to come back.
        let mut asked = Vec::new();
        for n in 0..24 {
            let app = app.clone();
            asked.push(tokio::spawn(async move {
                let uri = format!(
                    "/api/v1/kpi/visits?by=month,office,location,service,weekday,hour,appointment&compare=true&from=20{:02}-01",
                    n % 24 + 1
                );
                let resp = app
                    .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                (
                    resp.status(),
                    resp.headers().get(header::RETRY_AFTER).cloned(),
                )
            }));
        }
        // Meanwhile the overview comes from the cache at once.
        let started = Instant::now();
        let (status, _, _) = get(&app, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
        let mut ok = 0;
        let mut busy = 0;
        for a in asked {
            let (status, retry) = a.await.unwrap();
            match status {
                StatusCode::OK => ok += 1,
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(retry.is_some(), "503 without Retry-After");
                    busy += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert!(ok >= 1, "nobody was served");
        assert!(busy >= 1, "nobody was turned away ({ok} served)");
        assert!(ok <= 5 + 4, "{ok} served: the line is longer than it should be");
    });
}

/// Waits until the server closes `s` (read gives 0 or an error); how long that took.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(started.elapsed()),
        }
    }
}

#[test]
fn half_sent_headers_are_cut_off_and_the_site_stays_up() {
    let d = with_clean_visits();
    let server = serve(
        &d,
        &[
            ("KENNZAHL_HEADER_TIMEOUT_SECS", "2"),
            ("KENNZAHL_MAX_CONNECTIONS", "50"),
        ],
        None,
    );
    // Slowloris: far more connections than allowed, each with half a header.
    let mut slow: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(&server.addr).ok())
        .collect();
    for s in &mut slow {
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    }
    // A visitor still gets the page, once the server has dropped the slow ones.
    let started = Instant::now();
    let status = http_get(&server.addr, "/", Duration::from_secs(20)).unwrap();
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // A half-sent header is closed after the header timeout, not kept.
    let mut late = TcpStream::connect(&server.addr).unwrap();
    late.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let took = closed_within(&mut late, Duration::from_secs(15)).expect("still open after 15 s");
    assert!(took < Duration::from_secs(8), "closed after {took:?}");
    drop(slow);
}

#[test]
fn idle_kept_alive_connections_and_stalled_bodies_are_closed() {
    let d = with_clean_visits();
    let server = serve(
        &d,
        &[
            ("KENNZAHL_HEADER_TIMEOUT_SECS", "2"),
            ("KENNZAHL_BODY_TIMEOUT_SECS", "2"),
        ],
        None,
    );
    // Keep-alive: one request, then silence.
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let took = closed_within(&mut idle, Duration::from_secs(15)).expect("idle connection kept");
    assert!(took < Duration::from_secs(8), "closed after {took:?}");
    // A body that promises 1000 bytes and stalls after 10.
    let mut stalled = TcpStream::connect(&server.addr).unwrap();
    stalled
        .write_all(
            b"POST /staff/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nname=anna&",
        )
        .unwrap();
    let took = closed_within(&mut stalled, Duration::from_secs(15)).expect("stalled body kept");
    assert!(took < Duration::from_secs(8), "closed after {took:?}");
    assert_eq!(
        http_get(&server.addr, "/healthz", Duration::from_secs(5)).unwrap(),
        200
    );
}

#[test]
fn running_out_of_file_descriptors_does_not_stop_the_server() {
    let d = with_clean_visits();
    // 128 descriptors: the server keeps its connections below that by itself.
    let server = serve(&d, &[("KENNZAHL_HEADER_TIMEOUT_SECS", "2")], Some(128));
    let held: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(&server.addr).ok())
        .collect();
    assert!(
        held.len() > 128,
        "the test needs more connections than descriptors"
    );
    std::thread::sleep(Duration::from_secs(3));
    let status = http_get(&server.addr, "/", Duration::from_secs(20)).unwrap();
    assert_eq!(status, 200);
    drop(held);
    for _ in 0..20 {
        assert_eq!(
            http_get(&server.addr, "/healthz", Duration::from_secs(10)).unwrap(),
            200
        );
    }
}
