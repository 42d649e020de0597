//! What a city's own website and a journalist's feed reader meet: embeddable charts that
//! only the configured origins may frame (every other page stays unframeable), and Atom
//! feeds of publications, corrections with their reasons and running notices.

mod common;
use axum::http::{StatusCode, header};
use common::*;
use kennzahl::config::Settings;

const CITY: &str = "https://www.musterstadt.example";

fn embeddable() -> Settings {
    Settings {
        embed_origins: vec![CITY.to_string()],
        public_url: Some("https://kennzahlen.musterstadt.example".into()),
        ..Settings::default()
    }
}

#[tokio::test]
async fn a_chart_can_be_framed_by_the_city_and_nothing_else_can() {
    let d = with_clean_visits();
    let app = router_with(&d, embeddable());
    let (status, h, body) = get(&app, "/embed/einwohnermeldeamt/wartezeit").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body = unescape(&body);
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains(&format!("frame-ancestors {CITY}")), "{csp}");
    assert!(!csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(h.get(header::X_FRAME_OPTIONS).is_none());
    // The chart with its sentence, its table in a details element, source and licence.
    assert!(body.contains("<h1"), "{body}");
    assert!(body.contains("<svg"));
    assert!(body.contains("<details>") && body.contains("<table>"));
    assert!(
        body.contains(
            "href=\"https://kennzahlen.musterstadt.example/dashboards/einwohnermeldeamt\""
        )
    );
    assert!(body.contains("https://www.govdata.de/dl-de/by-2-0"));
    // No navigation of the site inside someone else's page.
    assert!(!body.contains("site-header"));
    let (_, _, en) = get(&app, "/embed/einwohnermeldeamt/wartezeit?lang=en").await;
    assert!(en.contains("lang=\"en\"") && en.contains("Licence"), "{en}");

    // Every other page, and the API, stays unframeable.
    for uri in [
        "/",
        "/dashboards/einwohnermeldeamt",
        "/api/v1/kpi/visits",
        "/charts/einwohnermeldeamt/wartezeit.svg",
        "/staff/login",
    ] {
        let (_, h, _) = get(&app, uri).await;
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}: {csp}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{uri}");
    }

    // The office page shows the snippet to copy, pointing at the public address.
    let (_, _, page) = get(&app, "/dashboards/einwohnermeldeamt").await;
    assert!(page.contains("&lt;iframe"), "no snippet");
    let page = unescape(&page);
    assert!(
        page.contains("https://kennzahlen.musterstadt.example/embed/einwohnermeldeamt/wartezeit")
    );

    let (status, _, _) = get(&app, "/embed/einwohnermeldeamt/no-such-chart").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// HTML text as a browser reads it (the templates escape `/` and `"` in attributes).
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
}

#[tokio::test]
async fn without_embed_origins_nothing_is_framed_and_no_snippet_is_offered() {
    let d = with_clean_visits();
    let app = router_with(&d, Settings::default());
    let (status, h, _) = get(&app, "/embed/einwohnermeldeamt/wartezeit").await;
    assert_eq!(status, StatusCode::OK);
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
    let (_, _, page) = get(&app, "/dashboards/einwohnermeldeamt").await;
    assert!(!page.contains("&lt;iframe"));
}

#[test]
fn an_origin_that_could_widen_the_policy_is_refused_at_start() {
    for bad in [
        "https://x.example; script-src *",
        "https://x.example/path",
        "*",
    ] {
        let s = Settings {
            embed_origins: vec![bad.into()],
            ..Settings::default()
        };
        let e = s.check().unwrap_err();
        assert!(e.contains("embed_origins"), "{bad}: {e}");
    }
}

/// Parses an Atom document with Python's XML parser (independent of Kennzahl's writer):
/// the entries' titles, summaries and updated times.
fn atom_entries(xml: &str) -> Vec<(String, String, String)> {
    let script = r#"
import sys, json, xml.etree.ElementTree as ET
ns = {"a": "http://www.w3.org/2005/Atom"}
root = ET.fromstring(sys.stdin.buffer.read())
assert root.tag == "{http://www.w3.org/2005/Atom}feed", root.tag
for req in ("a:id", "a:title", "a:updated", "a:author"):
    assert root.find(req, ns) is not None, req
out = [[e.find("a:title", ns).text, e.find("a:summary", ns).text or "", e.find("a:updated", ns).text]
       for e in root.findall("a:entry", ns)]
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(xml.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not a valid Atom document: {}\n{xml}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn a_journalist_follows_publications_corrections_and_notices() {
    let d = with_clean_visits();
    // A correction of one month of one office, with its reason.
    // A corrected January of one office: three visits instead of the first upload's.
    let file = fixture("corrections/strassenverkehrsamt_2025-01.csv");
    d.ok(&[
        "import",
        &file,
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "Nachlieferung <Januar> & Korrektur",
    ]);
    let store = d.store();
    store
        .add_notice(
            "Einwohnermeldeamt",
            "Heute wegen Betriebsversammlung ab 12 Uhr geschlossen",
            "2999-12-31T23:59",
            "test",
        )
        .unwrap();
    let published: usize = kennzahl::kinds::Kind::ALL
        .into_iter()
        .map(|k| store.history(k, None, None).unwrap().len())
        .sum();
    let app = router_with(&d, Settings::default());

    let (status, h, xml) = get(&app, "/feed.atom").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let entries = atom_entries(&xml);
    // Every publication (each month's revisions) and the running notice.
    assert_eq!(entries.len(), published + 1);
    let correction = entries
        .iter()
        .find(|(t, _, _)| t.starts_with("Korrigiert Straßenverkehrsamt"))
        .expect("the correction");
    assert!(correction.0.contains("Januar 2025") && correction.0.contains("Revision 2"));
    assert_eq!(correction.1, "Grund: Nachlieferung <Januar> & Korrektur");
    assert!(
        entries
            .iter()
            .any(|(t, s, _)| t.starts_with("Mitteilung Einwohnermeldeamt")
                && s.contains("Betriebsversammlung"))
    );
    // RFC 3339 times, newest first.
    for (_, _, updated) in &entries {
        assert!(
            chrono::DateTime::parse_from_rfc3339(updated).is_ok(),
            "{updated}"
        );
    }
    assert!(entries.windows(2).all(|w| w[0].2 >= w[1].2));

    // One office's feed holds only that office.
    let (status, _, xml) = get(&app, "/feed/strassenverkehrsamt.atom").await;
    assert_eq!(status, StatusCode::OK);
    let office = atom_entries(&xml);
    assert!(!office.is_empty());
    assert!(
        office
            .iter()
            .all(|(t, _, _)| t.contains("Straßenverkehrsamt"))
    );
    assert_eq!(
        get(&app, "/feed/nirgendwo.atom").await.0,
        StatusCode::NOT_FOUND
    );

    let (_, _, en) = get(&app, "/feed.atom?lang=en").await;
    assert!(atom_entries(&en).iter().any(
        |(t, s, _)| t.starts_with("Corrected Straßenverkehrsamt") && s.starts_with("Reason: ")
    ));
}
