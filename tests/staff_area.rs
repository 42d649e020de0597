//! The staff area as its users and its attackers meet it (over the router, without a socket):
//! accounts from the command line, login with a fresh session and CSRF tokens, the brake on
//! guessing, upload with preview and problems, four eyes, and the public figures after
//! approval equal to an independent computation. Bad files are refused and nothing is stored.

mod common;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::*;
use kennzahl::config::Settings;
use std::io::Write;
use std::net::SocketAddr;

use tower::ServiceExt;

const PASSWORD: &str = "ein sehr langes passwort";

/// `kennzahl user add NAME --role ROLE [--office …]` with the password on standard input.
fn add_user(d: &DataDir, name: &str, role: &str, offices: &[&str]) {
    let mut args = vec!["user", "add", name, "--role", role];
    for o in offices {
        args.extend(["--office", o]);
    }
    with_password(d.command(&args), PASSWORD);
}

fn app(d: &DataDir, settings: Settings) -> axum::Router {
    kennzahl::web::router(d.store(), settings).unwrap()
}

struct Resp {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 50 << 20)
        .await
        .unwrap();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn cookie_value(set: &str) -> String {
    set.split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

/// The value of the first hidden `csrf` field on a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 64].to_string()
}

/// A logged-in browser: its session cookie, the CSRF token of its pages, and any further
/// cookies it sends ("; kennzahl_lang=en").
struct Browser {
    session: String,
    csrf: String,
    cookies: String,
}

/// Where a request comes from: the TCP peer (as the server puts it in `ConnectInfo`) and the
/// `X-Forwarded-For` header it sends, if any.
#[derive(Clone, Copy)]
struct Origin<'a> {
    peer: &'a str,
    forwarded: Option<&'a str>,
}

fn from_peer(peer: &str) -> Option<Origin<'_>> {
    Some(Origin {
        peer,
        forwarded: None,
    })
}

fn with_origin(
    mut b: axum::http::request::Builder,
    origin: Option<Origin>,
) -> axum::http::request::Builder {
    if let Some(o) = origin {
        b = b.extension(ConnectInfo(SocketAddr::new(
            o.peer.parse().unwrap(),
            40_000,
        )));
        if let Some(f) = o.forwarded {
            b = b.header("x-forwarded-for", f);
        }
    }
    b
}

/// Posts the login form (fetched first, for its token and cookie) with `fields` (URL-encoded,
/// without the token).
async fn post_login_raw(app: &axum::Router, fields: &str, origin: Option<Origin<'_>>) -> Resp {
    let form = send(
        app,
        Request::get("/staff/login").body(Body::empty()).unwrap(),
    )
    .await;
    let login_cookie = cookie_value(&set_cookie(&form, "kz_login").unwrap());
    let token = csrf_of(&form.body);
    send(
        app,
        with_origin(Request::post("/staff/login"), origin)
            .header(header::COOKIE, format!("kz_login={login_cookie}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={token}&{fields}")))
            .unwrap(),
    )
    .await
}

async fn post_login(
    app: &axum::Router,
    name: &str,
    password: &str,
    origin: Option<Origin<'_>>,
) -> Resp {
    post_login_raw(
        app,
        &format!("name={}&password={}", urlencode(name), urlencode(password)),
        origin,
    )
    .await
}

async fn log_in(app: &axum::Router, name: &str, password: &str) -> Result<Browser, Resp> {
    log_in_from(app, name, password, None).await
}

async fn log_in_from(
    app: &axum::Router,
    name: &str,
    password: &str,
    origin: Option<Origin<'_>>,
) -> Result<Browser, Resp> {
    let r = post_login(app, name, password, origin).await;
    if r.status != StatusCode::SEE_OTHER {
        return Err(r);
    }
    let session = cookie_value(&set_cookie(&r, "kz_session").unwrap());
    let home = send(
        app,
        Request::get("/staff")
            .header(header::COOKIE, format!("kz_session={session}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(home.status, StatusCode::OK);
    Ok(Browser {
        csrf: csrf_of(&home.body),
        session,
        cookies: String::new(),
    })
}

fn urlencode(s: &str) -> String {
    kennzahl::present::views::url_encode(s)
}

impl Browser {
    async fn get(&self, app: &axum::Router, uri: &str) -> Resp {
        send(
            app,
            Request::get(uri)
                .header(
                    header::COOKIE,
                    format!("kz_session={}{}", self.session, self.cookies),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    async fn post(&self, app: &axum::Router, uri: &str, form: &[(&str, &str)]) -> Resp {
        let mut body = format!("csrf={}", self.csrf);
        for (k, v) in form {
            body.push_str(&format!("&{k}={}", urlencode(v)));
        }
        send(
            app,
            Request::post(uri)
                .header(
                    header::COOKIE,
                    format!("kz_session={}{}", self.session, self.cookies),
                )
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn upload(&self, app: &axum::Router, file_name: &str, bytes: &[u8], kind: &str) -> Resp {
        self.upload_files(app, &[(file_name, bytes)], kind, "")
            .await
    }

    /// Several files in one form, as a file input with `multiple` sends them.
    async fn upload_files(
        &self,
        app: &axum::Router,
        files: &[(&str, &[u8])],
        kind: &str,
        office: &str,
    ) -> Resp {
        let (content_type, body) = multipart(
            &[
                ("csrf", self.csrf.as_str()),
                ("kind", kind),
                ("office", office),
            ],
            files,
        );
        send(
            app,
            Request::post("/staff/upload")
                .header(
                    header::COOKIE,
                    format!("kz_session={}{}", self.session, self.cookies),
                )
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// The batch a preview page offers to submit (`/staff/batches/{id}/submit`).
fn batch_of(html: &str) -> i64 {
    let at = html
        .find("/staff/batches/")
        .expect("a preview with its batch")
        + 15;
    html[at..].split('/').next().unwrap().parse().unwrap()
}

/// Batches in the catalogue and files kept: what "nothing stored" is checked against.
fn stored(d: &DataDir) -> (i64, usize) {
    let batches: i64 = d.sql("SELECT COUNT(*) FROM batches")[0][0].parse().unwrap();
    let files = walk(&d.path().join("originals")) + walk(&d.path().join("batches"));
    (batches, files)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn every_staff_url_refuses_anonymous_requests() {
    let d = DataDir::new();
    let app = app(&d, Settings::default());
    for uri in [
        "/staff",
        "/staff/history",
        "/staff/audit",
        "/staff/password",
        "/staff/batches/1/original",
        "/staff/uploads/abc",
    ] {
        let r = send(&app, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(r.headers[header::LOCATION], "/staff/login", "{uri}");
    }
    for uri in [
        "/staff/upload",
        "/staff/batches/1/submit",
        "/staff/batches/1/approve",
        "/staff/batches/1/reject",
        "/staff/rollback",
        "/staff/notes",
        "/staff/password",
        "/staff/logout",
    ] {
        let r = send(
            &app,
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("csrf=x"))
                .unwrap(),
        )
        .await;
        assert!(
            r.status == StatusCode::FORBIDDEN || r.status == StatusCode::BAD_REQUEST,
            "{uri}: {}",
            r.status
        );
    }
    // A made-up session id is no session.
    let r = send(
        &app,
        Request::get("/staff")
            .header(header::COOKIE, format!("kz_session={}", "ab".repeat(32)))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_gives_a_fresh_secure_session_and_forms_need_its_csrf_token() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    let app = app(&d, Settings::default());

    // A session id planted before login (fixation) is not the one after it.
    let planted = "cd".repeat(32);
    let form = send(
        &app,
        Request::get("/staff/login").body(Body::empty()).unwrap(),
    )
    .await;
    let login_cookie = cookie_value(&set_cookie(&form, "kz_login").unwrap());
    let r = send(
        &app,
        Request::post("/staff/login")
            .header(
                header::COOKIE,
                format!("kz_login={login_cookie}; kz_session={planted}"),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={}&name=anna&password={}",
                csrf_of(&form.body),
                urlencode(PASSWORD)
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let set = set_cookie(&r, "kz_session").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/staff")
    );
    assert_ne!(cookie_value(&set), planted);

    // A login form posted from elsewhere (no matching token) is refused.
    let r = send(
        &app,
        Request::post("/staff/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={}&name=anna&password={}",
                "0".repeat(64),
                urlencode(PASSWORD)
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Behind HTTPS the cookie is Secure.
    let r = send(
        &app,
        Request::get("/staff/login")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(set_cookie(&r, "kz_login").unwrap().contains("; Secure"));

    let anna = log_in(&app, "anna", PASSWORD).await.ok().unwrap();
    // Forms without the session's token, or with another one, are refused.
    let note = [
        ("office", "Bürgeramt"),
        ("month", "2025-03"),
        ("text", "Umzug"),
    ];
    let mut stranger = Browser {
        session: anna.session.clone(),
        csrf: "0".repeat(64),
        cookies: String::new(),
    };
    assert_eq!(
        stranger.post(&app, "/staff/notes", &note).await.status,
        StatusCode::FORBIDDEN
    );
    stranger.csrf = String::new();
    assert_eq!(
        stranger.post(&app, "/staff/notes", &note).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        anna.post(&app, "/staff/notes", &note).await.status,
        StatusCode::SEE_OTHER
    );

    // Logout ends the session.
    assert_eq!(
        anna.post(&app, "/staff/logout", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(anna.get(&app, "/staff").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn guessing_passwords_is_slowed_down() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    let app = app(&d, Settings::default());
    for _ in 0..3 {
        let r = log_in(&app, "anna", "falsches passwort!")
            .await
            .err()
            .unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("Name oder Passwort stimmen nicht"));
    }
    // Now even the right password waits (from this address).
    let r = log_in(&app, "anna", PASSWORD).await.err().unwrap();
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Zu viele Fehlversuche"), "{}", r.body);
    // Other people are not locked out by it.
    add_user(&d, "bert", "editor", &[]);
    assert!(log_in(&app, "bert", PASSWORD).await.is_ok());
}

#[tokio::test]
async fn an_editor_cannot_touch_another_office() {
    let d = DataDir::new();
    add_user(&d, "emil", "editor", &["Einwohnermeldeamt"]);
    let app = app(&d, Settings::default());
    let emil = log_in(&app, "emil", PASSWORD).await.ok().unwrap();
    // The file has rows of the Straßenverkehrsamt too.
    let bytes = std::fs::read(fixture("independent/visits_clean.csv")).unwrap();
    let r = emil.upload(&app, "maerz.csv", &bytes, "visits").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("für das Sie nicht hochladen dürfen"),
        "{}",
        r.body
    );
    assert_eq!(stored(&d), (0, 0), "nothing stored");
    let r = emil
        .post(
            &app,
            "/staff/notes",
            &[
                ("office", "Straßenverkehrsamt"),
                ("month", "2025-03"),
                ("text", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        emil.get(&app, "/staff/audit").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn bad_files_are_refused_with_a_clear_message_and_nothing_is_stored() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    let settings = Settings {
        max_upload_bytes: 200_000,
        ..Settings::default()
    };
    let app = app(&d, settings);
    let anna = log_in(&app, "anna", PASSWORD).await.ok().unwrap();
    let good = std::fs::read(fixture("independent/visits_clean.csv")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("../../etc/passwd.csv", good.clone(), "ohne Pfadangaben"),
        ("..\\maerz.csv", good.clone(), "ohne Pfadangaben"),
        (
            "bericht.pdf",
            b"%PDF-1.7 ...".to_vec(),
            "keine CSV- oder XLSX-Datei",
        ),
        (
            "programm.csv",
            vec![0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00],
            "keine Text- oder Excel-Datei",
        ),
        ("gross.csv", vec![b'a'; 300_000], "größer als erlaubt"),
        (
            "bombe.xlsx",
            zip_bomb(),
            "Excel-Datei ist beschädigt oder gepackt zu groß",
        ),
        ("leer.csv", Vec::new(), "Die Datei ist leer"),
    ];
    for (name, bytes, says) in cases {
        let r = anna.upload(&app, name, &bytes, "auto").await;
        assert!(r.status.is_client_error(), "{name}: {}", r.status);
        assert!(r.body.contains(says), "{name}: {}", r.body);
        assert_eq!(stored(&d), (0, 0), "{name}: nothing stored");
    }
}

/// An XLSX whose one sheet unpacks to far more than it weighs.
fn zip_bomb() -> Vec<u8> {
    use std::io::Cursor;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("[Content_Types].xml", opts).unwrap();
    zip.write_all(b"<?xml version=\"1.0\"?><Types/>").unwrap();
    zip.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..100 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn upload_preview_four_eyes_and_the_public_figures() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    add_user(&d, "paul", "publisher", &[]);
    let app = app(&d, Settings::default());
    let anna = log_in(&app, "anna", PASSWORD).await.ok().unwrap();

    // A file with mistakes: every problem with line and column, nothing stored.
    let bad = std::fs::read(fixture("malformed/many_problems.csv")).unwrap();
    let r = anna.upload(&app, "maerz.csv", &bad, "visits").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("wurde nicht übernommen"));
    assert!(r.body.contains("Zeile "), "{}", r.body);
    assert!(r.body.contains("Spalte „"), "{}", r.body);
    assert_eq!(stored(&d), (0, 0));

    // The corrected file: a preview with the KPIs it will produce, not yet published.
    let good = std::fs::read(fixture("independent/visits_clean.csv")).unwrap();
    let r = anna.upload(&app, "maerz.csv", &good, "auto").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("noch nicht veröffentlicht"));
    assert!(r.body.contains("Einwohnermeldeamt"));
    assert!(r.body.contains("Wartezeit (Median)"));
    let batch = batch_of(&r.body);
    let api = "/api/v1/kpi/visits?by=month,office";
    let before = send(&app, Request::get(api).body(Body::empty()).unwrap()).await;
    assert_eq!(before.body, "[]", "nothing public before approval");

    let r = anna
        .post(&app, &format!("/staff/batches/{batch}/submit"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The uploader cannot approve their own upload …
    let anna_approves = anna
        .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
        .await;
    assert_eq!(anna_approves.status, StatusCode::FORBIDDEN);
    // … a publisher can.
    let paul = log_in(&app, "paul", PASSWORD).await.ok().unwrap();
    let home = paul.get(&app, "/staff").await;
    assert!(home.body.contains(&format!("Lieferung {batch}: maerz.csv")));
    let r = paul
        .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // The public API now gives exactly the independent computation's figures.
    let after = send(&app, Request::get(api).body(Body::empty()).unwrap()).await;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&after.body).unwrap();
    compare("independent/expected_visits_clean.json", &rows);

    // Anna sees the approval; the history has the revision with the original to download.
    let home = anna.get(&app, "/staff").await;
    assert!(home.body.contains("freigegeben von paul"), "{}", home.body);
    let hist = anna
        .get(
            &app,
            "/staff/history?kind=visits&office=Einwohnermeldeamt&month=2025-01",
        )
        .await;
    assert!(hist.body.contains("maerz.csv"));
    let original = anna
        .get(&app, &format!("/staff/batches/{batch}/original"))
        .await;
    assert_eq!(original.status, StatusCode::OK);
    assert_eq!(original.body.as_bytes(), &good[..]);

    // A second upload of the same months needs a reason, and a rejection reaches the uploader.
    let r = anna.upload(&app, "maerz2.csv", &good, "visits").await;
    assert!(r.body.contains("ersetzt schon veröffentlichte Monate"));
    let second = batch_of(&r.body);
    let no_reason = anna
        .post(&app, &format!("/staff/batches/{second}/submit"), &[])
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = anna
        .post(
            &app,
            &format!("/staff/batches/{second}/submit"),
            &[("reason", "Export war unvollständig")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = paul
        .post(
            &app,
            &format!("/staff/batches/{second}/reject"),
            &[("reason", "Das ist dieselbe Datei")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let home = anna.get(&app, "/staff").await;
    assert!(
        home.body
            .contains("abgelehnt von paul: „Das ist dieselbe Datei“"),
        "{}",
        home.body
    );
    let again = paul
        .post(&app, &format!("/staff/batches/{second}/approve"), &[])
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "a rejected batch stays unpublished"
    );

    // Every step is in the audit log, which only admins read.
    add_user(&d, "ada", "admin", &[]);
    let ada = log_in(&app, "ada", PASSWORD).await.ok().unwrap();
    let log = ada.get(&app, "/staff/audit").await;
    for action in [
        "login",
        "upload",
        "submit",
        "approve",
        "reject",
        "download original",
    ] {
        assert!(log.body.contains(&format!("<td>{action}</td>")), "{action}");
    }
}

#[tokio::test]
async fn small_towns_may_allow_self_approval() {
    let d = DataDir::new();
    add_user(&d, "paula", "publisher", &[]);
    let app = app(
        &d,
        Settings {
            allow_self_approval: true,
            ..Settings::default()
        },
    );
    let paula = log_in(&app, "paula", PASSWORD).await.ok().unwrap();
    let good = std::fs::read(fixture("independent/visits_clean.csv")).unwrap();
    let r = paula.upload(&app, "maerz.csv", &good, "visits").await;
    let batch = batch_of(&r.body);
    paula
        .post(&app, &format!("/staff/batches/{batch}/submit"), &[])
        .await;
    let r = paula
        .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[test]
fn user_commands_list_change_and_disable_accounts() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &["Bürgeramt", "Bauamt"]);
    let list = d.ok(&["user", "list"]);
    assert!(list.contains("anna\teditor\tBürgeramt, Bauamt"), "{list}");
    let out = d.run(&["user", "add", "kurt", "--role", "chef"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("editor, publisher, admin"));
    d.ok(&["user", "disable", "anna"]);
    assert!(d.ok(&["user", "list"]).contains("gesperrt"));
    // Passwords are never stored as given: not in any column, not in the file.
    let hashes = d.sql("SELECT password_hash FROM users");
    assert!(
        hashes
            .iter()
            .all(|h| h[0].starts_with("$argon2id$") && !h[0].contains(PASSWORD))
    );
    if !shared_storage() {
        let db = std::fs::read(d.path().join("catalog.sqlite")).unwrap();
        assert!(!db.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_current_notice_shows_until_its_end() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    add_user(&d, "emil", "editor", &["Einwohnermeldeamt"]);
    let app = app(&d, Settings::default());
    let emil = log_in(&app, "emil", PASSWORD).await.ok().unwrap();
    let public = || async {
        send(
            &app,
            Request::get("/dashboards/einwohnermeldeamt")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .body
    };
    assert!(!public().await.contains("Wartemarken"));
    let soon = (chrono::Local::now() + chrono::Duration::seconds(3))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let text = "Heute keine Wartemarken mehr ab 11 Uhr";
    let r = emil
        .post(
            &app,
            "/staff/notices",
            &[
                ("office", "Einwohnermeldeamt"),
                ("text", text),
                ("until", &soon),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = public().await;
    assert!(page.contains(text), "shown at once");
    assert!(page.contains("Aktuelle Mitteilung"));
    // Not for another office, and not in the past.
    let r = emil
        .post(
            &app,
            "/staff/notices",
            &[
                ("office", "Straßenverkehrsamt"),
                ("text", "x"),
                ("until", &soon),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = emil
        .post(
            &app,
            "/staff/notices",
            &[
                ("office", "Einwohnermeldeamt"),
                ("text", "x"),
                ("until", "2020-01-01T10:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // After its end the cached page no longer shows it.
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    assert!(!public().await.contains(text), "gone after its end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_and_targets() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    add_user(&d, "ada", "admin", &[]);
    add_user(&d, "emil", "editor", &[]);
    let app = app(&d, Settings::default());
    let ada = log_in(&app, "ada", PASSWORD).await.ok().unwrap();
    let page = ada.get(&app, "/staff/admin").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<option>Einwohnermeldeamt</option>"));

    // A new editor for two offices (a multi-select sends one pair per office).
    let body = format!(
        "csrf={}&name=bea&role=editor&offices=Einwohnermeldeamt&offices={}&password={}",
        ada.csrf,
        urlencode("Straßenverkehrsamt"),
        urlencode(PASSWORD)
    );
    let r = send(
        &app,
        Request::post("/staff/admin/users")
            .header(header::COOKIE, format!("kz_session={}", ada.session))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        d.ok(&["user", "list"])
            .contains("bea\teditor\tEinwohnermeldeamt, Straßenverkehrsamt")
    );
    assert!(log_in(&app, "bea", PASSWORD).await.is_ok());
    let r = ada
        .post(
            &app,
            "/staff/admin/users",
            &[("name", "kurz"), ("role", "editor"), ("password", "kurz")],
        )
        .await;
    assert!(r.body.contains("zu kurz"), "{}", r.body);

    // Disabling ends bea's access.
    let r = ada
        .post(&app, "/staff/admin/users/bea", &[("action", "disable")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(log_in(&app, "bea", PASSWORD).await.is_err());

    // A target set here is the public target line.
    let r = ada
        .post(
            &app,
            "/staff/admin/targets",
            &[
                ("office", "Einwohnermeldeamt"),
                ("kpi", "visits:wait_median_min"),
                ("value", "12,5"),
                ("direction", "lower"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let public = send(
        &app,
        Request::get("/dashboards/einwohnermeldeamt")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        public.body.contains("Ziel 13"),
        "target line labelled with the rounded target"
    );
    let r = ada
        .post(
            &app,
            "/staff/admin/targets",
            &[
                ("office", "Einwohnermeldeamt"),
                ("kpi", "visits:no_such"),
                ("value", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Editors do not get there.
    let emil = log_in(&app, "emil", PASSWORD).await.ok().unwrap();
    assert_eq!(
        emil.get(&app, "/staff/admin").await.status,
        StatusCode::FORBIDDEN
    );
    let r = emil
        .post(&app, "/staff/admin/users/ada", &[("action", "disable")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// The token of the mapping form on a page (`/staff/mapping/{token}`).
fn mapping_token(html: &str) -> String {
    let at = html.find("/staff/mapping/").expect("a mapping form") + 15;
    html[at..].split(['"', '?']).next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_export_layout_is_mapped_once_and_remembered() {
    let d = DataDir::new();
    add_user(&d, "erika", "editor", &[]);
    add_user(&d, "paul", "publisher", &[]);
    let app = app(&d, Settings::default());
    let erika = log_in(&app, "erika", PASSWORD).await.ok().unwrap();
    // A Windows-1252 export with a title block, its own header names and personal data.
    let messy = std::fs::read(fixture("independent/visits_messy.csv")).unwrap();

    let r = erika.upload(&app, "termine.csv", &messy, "visits").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Spalten zuordnen"), "{}", r.body);
    for header in ["Dienststelle XY", "Zeit Ziehung", "Terminkunde", "Telefon"] {
        assert!(r.body.contains(header), "the form lists {header}");
    }
    assert!(
        r.body.contains("Kopfzeile in Zeile 4"),
        "the header row is found under the title"
    );
    assert!(r.body.contains("personenbezogen"));
    assert!(
        !r.body.contains("Yilmaz"),
        "personal values are not shown back"
    );
    assert!(
        r.body
            .contains(r#"<option value="drop" selected>nicht übernehmen</option>"#),
        "personal columns start as dropped"
    );
    let token = mapping_token(&r.body);
    let path = format!("/staff/mapping/{token}");
    assert_eq!(
        stored(&d),
        (0, 0),
        "nothing is stored while the columns are mapped"
    );

    // Another user cannot pick up the upload.
    let paul = log_in(&app, "paul", PASSWORD).await.ok().unwrap();
    assert_eq!(paul.get(&app, &path).await.status, StatusCode::NOT_FOUND);

    // Every mistake in the mapping at once; the choices are kept.
    let wrong = erika
        .post(
            &app,
            &path,
            &[
                ("kind", "visits"),
                ("office", ""),
                ("c0", "office"),
                ("c1", "location"),
                ("c2", "service"),
                ("c3", "date"),
                ("c4", ""),
                ("c5", "date"),
                ("c6", "finished"),
                ("c7", "appointment"),
                ("c8", "drop"),
                ("c9", "drop"),
                ("values", "colour: rot = R"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .body
            .contains("Codes, Zeile 1: „colour“ ist keine Spalte dieser Datenart."),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains("colour: rot = R</textarea>"),
        "the code mapping is kept"
    );
    assert!(
        wrong
            .body
            .contains("Spalte 5 „Zeit Ziehung“: bitte eine Spalte wählen"),
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains("Spalte 6 „Zeit Aufruf“: „date“ ist schon „Tag“ zugeordnet"),
        "{}",
        wrong.body
    );
    assert!(
        wrong
            .body
            .contains("Es fehlt eine Zuordnung für „arrived_at“"),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains(r#"<option value="finished" selected>"#),
        "choices are kept"
    );
    assert_eq!(stored(&d), (0, 0));

    // The right mapping: a preview like any upload, with the export's totals row dropped.
    let mapping = [
        ("kind", "visits"),
        ("office", ""),
        ("c0", "office"),
        ("c1", "location"),
        ("c2", "service"),
        ("c3", "date"),
        ("c4", "arrived"),
        ("c5", "called"),
        ("c6", "finished"),
        ("c7", "appointment"),
        ("c8", "drop"),
        ("c9", "drop"),
    ];
    let r = erika.post(&app, &path, &mapping).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("noch nicht veröffentlicht"));
    assert!(r.body.contains("Summenzeile"), "{}", r.body);
    let batch = batch_of(&r.body);
    let gone = erika.post(&app, &path, &mapping).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "a mapping is used once");

    // Four eyes as always; the published figures are the independent computation's.
    erika
        .post(&app, &format!("/staff/batches/{batch}/submit"), &[])
        .await;
    let r = paul
        .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let api = send(
        &app,
        Request::get("/api/v1/kpi/visits?by=month,office")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&api.body).unwrap();
    compare("independent/expected_visits_messy.json", &rows);

    // Next month's export of the same layout goes straight to the preview, the kind
    // recognised through the saved profile.
    let r = erika
        .upload(&app, "termine-april.csv", &messy, "auto")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("Die gespeicherte Spaltenzuordnung für „mehrere Ämter“ wurde verwendet."),
        "{}",
        r.body
    );

    // The saved profile is the TOML `kennzahl import --profile` reads.
    let row = d.sql("SELECT office, profile FROM profiles").remove(0);
    let (office, text) = (row[0].clone(), row[1].clone());
    assert_eq!(office, "");
    let saved: toml::Value = toml::from_str(&text).unwrap();
    let fixture_profile: toml::Value = toml::from_str(
        &std::fs::read_to_string(fixture("independent/visits_messy.profile.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved, fixture_profile, "{text}");

    // `kennzahl import` without --profile uses the saved profile too.
    let out = d.ok(&[
        "import",
        &fixture("independent/visits_messy.csv"),
        "--dry-run",
    ]);
    assert!(
        out.contains("Die gespeicherte Spaltenzuordnung für „mehrere Ämter“ wurde verwendet."),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_maps_for_their_own_office_only() {
    let d = DataDir::new();
    add_user(&d, "emil", "editor", &["Einwohnermeldeamt"]);
    let app = app(&d, Settings::default());
    let emil = log_in(&app, "emil", PASSWORD).await.ok().unwrap();
    // A single-office export without an office column and with its own names.
    let export = "Datum;Ziehung;Aufruf;Ende\n03.02.2025;08:00;08:10;08:20\n03.02.2025;08:05;08:25;08:30\n03.02.2025;08:07;08:09;08:40\n";
    let r = emil
        .upload(&app, "feb.csv", export.as_bytes(), "visits")
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !r.body.contains("Ämter aus einer Spalte"),
        "an editor of one office picks it"
    );
    let path = format!("/staff/mapping/{}", mapping_token(&r.body));
    let form = |office: &'static str| {
        [
            ("kind", "visits"),
            ("office", office),
            ("c0", "date"),
            ("c1", "arrived"),
            ("c2", "called"),
            ("c3", "finished"),
        ]
    };
    let r = emil.post(&app, &path, &form("Straßenverkehrsamt")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = emil.post(&app, &path, &form("Einwohnermeldeamt")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Waits 10, 20 and 2 minutes: the median is 10, worked out by hand.
    assert!(r.body.contains("Einwohnermeldeamt"));
    assert!(
        r.body.contains("Wartezeit (Median)</td><td>–</td><td>10 <"),
        "{}",
        r.body
    );
    // The next upload needs neither the office nor the kind chosen.
    let r = emil
        .upload(&app, "maerz.csv", export.as_bytes(), "auto")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Spaltenzuordnung für „Einwohnermeldeamt“"));
}

/// The audit log as stored: (user, action, detail, remote), oldest first.
fn audit_rows(d: &DataDir) -> Vec<(String, String, String, String)> {
    d.sql("SELECT \"user\", action, detail, remote FROM audit ORDER BY id")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
        .collect()
}

/// Rows the login brake keeps, and the longest of their keys.
fn brake_rows(d: &DataDir) -> (i64, i64) {
    let row = d.sql("SELECT COUNT(*), COALESCE(MAX(length(key)), 0) FROM login_failures");
    (row[0][0].parse().unwrap(), row[0][1].parse().unwrap())
}

/// The `href` of the link whose text starts with `text`.
fn link(html: &str, text: &str) -> Option<String> {
    let at = html.find(&format!(">{text}"))?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&amp;", "&"))
}

/// The clean visits export cut down to the rows of one office.
fn one_office_export(office: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(fixture("independent/visits_clean.csv")).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for l in lines.filter(|l| l.starts_with(&format!("{office},"))) {
        out.push_str(l);
        out.push('\n');
    }
    out.into_bytes()
}

/// A visits export with `n` impossible dates: `n` problems, more than one page of them.
fn export_with_problems(n: usize) -> Vec<u8> {
    let mut out = String::from(
        "office,location,service,arrived_at,called_at,finished_at,appointment,appointment_at,no_show\n",
    );
    for _ in 0..n {
        out.push_str("Einwohnermeldeamt,Mitte,Anmeldung,2025-13-05T09:00:00,,,false,,false\n");
    }
    out.into_bytes()
}

/// The link to the second page of a refused upload's problems (`/staff/uploads/{token}?page=2`).
fn problems_link(html: &str) -> String {
    let at = html.find("/staff/uploads/").expect("a paged problem list");
    let end = at + html[at..].find('"').unwrap();
    html[at..end].replace("&amp;", "&")
}

#[tokio::test]
async fn a_flood_of_text_is_refused_before_anything_is_written() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    let app = app(&d, Settings::default());

    // A megabyte of name: the login form is small, so is its limit.
    let huge = "x".repeat(1 << 20);
    let r = post_login_raw(&app, &format!("name={huge}&password=falsch"), None).await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        &r.body[..200.min(r.body.len())]
    );
    assert!(r.body.contains("zu groß"), "{}", r.body);
    // A name longer than any account's, a password longer than any sensible one: refused
    // with the reason, nothing counted, nothing logged.
    let r = post_login(&app, &"x".repeat(65), "falsches passwort", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("höchstens 64 Zeichen"), "{}", r.body);
    let r = post_login(&app, "anna", &"x".repeat(1025), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("höchstens 1024 Bytes"), "{}", r.body);
    assert!(
        audit_rows(&d).iter().all(|(_, _, _, from)| from == "cli"),
        "only the account's creation is logged: {:?}",
        audit_rows(&d)
    );
    assert_eq!(brake_rows(&d).0, 0);

    // What is logged of a refused login is bounded.
    for _ in 0..4 {
        post_login(&app, &"y".repeat(64), "falsches passwort", None).await;
    }
    let longest = audit_rows(&d)
        .iter()
        .map(|(u, a, t, r)| u.len() + a.len() + t.len() + r.len())
        .max()
        .unwrap();
    assert!(longest < 300, "{longest}");
    assert!(brake_rows(&d).1 < 100);

    // Reasons have a limit too, said on the page; nothing is submitted.
    let anna = log_in(&app, "anna", PASSWORD).await.ok().unwrap();
    let good = std::fs::read(fixture("independent/visits_clean.csv")).unwrap();
    let batch = batch_of(&anna.upload(&app, "maerz.csv", &good, "visits").await.body);
    let r = anna
        .post(
            &app,
            &format!("/staff/batches/{batch}/submit"),
            &[("reason", &"ä".repeat(2001))],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("höchstens 2000 Zeichen"), "{}", r.body);
    assert!(!audit_rows(&d).iter().any(|(_, a, _, _)| a == "submit"));
}

#[tokio::test]
async fn the_audit_log_is_read_page_by_page_without_gaps_or_repeats() {
    let d = DataDir::new();
    add_user(&d, "ada", "admin", &[]);
    let app = app(&d, Settings::default());
    let ada = log_in(&app, "ada", PASSWORD).await.ok().unwrap();
    let staff = kennzahl::staff::StaffDb::open_at(d.path(), d.store().database_url()).unwrap();
    let flood = |from: usize, to: usize| {
        for i in from..to {
            staff
                .audit("x", "flood", &format!("flood {i:04}."), "local")
                .unwrap();
        }
    };
    let shown = |html: &str| -> Vec<usize> {
        html.match_indices("flood ")
            .filter_map(|(at, _)| html[at + 6..at + 11].strip_suffix('.')?.parse().ok())
            .collect()
    };
    flood(0, 250);
    let first = ada.get(&app, "/staff/audit").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(shown(&first.body), (150..250).rev().collect::<Vec<_>>());
    assert!(
        link(&first.body, "Neuere").is_none(),
        "the newest page has no newer one"
    );
    // New entries arrive while the admin reads: the next page still goes on where this one
    // ended.
    flood(250, 260);
    let older = link(&first.body, "Ältere").expect("a link to older entries");
    let second = ada.get(&app, &older).await;
    assert_eq!(shown(&second.body), (50..150).rev().collect::<Vec<_>>());
    let newer = link(&second.body, "Neuere").expect("a link back");
    assert_eq!(
        shown(&ada.get(&app, &newer).await.body),
        (150..250).rev().collect::<Vec<_>>()
    );
    let third = ada.get(&app, &link(&second.body, "Ältere").unwrap()).await;
    assert_eq!(shown(&third.body), (0..50).rev().collect::<Vec<_>>());
    assert!(third.body.contains("<td>login</td>"), "the oldest entry");
    assert!(link(&third.body, "Ältere").is_none());
    assert!(third.body.contains("aria-label=\"Seiten des Protokolls\""));
}

#[tokio::test]
async fn four_eyes_are_neither_the_uploaders_nor_the_submitters() {
    let d = DataDir::new();
    add_user(&d, "pub", "publisher", &[]);
    add_user(&d, "ed2", "editor", &[]);
    add_user(&d, "ada", "admin", &[]);
    add_user(&d, "paul", "publisher", &[]);
    let app = app(&d, Settings::default());
    let publ = log_in(&app, "pub", PASSWORD).await.ok().unwrap();
    let good = std::fs::read(fixture("independent/visits_clean.csv")).unwrap();
    let batch = batch_of(&publ.upload(&app, "maerz.csv", &good, "visits").await.body);
    let submit = format!("/staff/batches/{batch}/submit");
    let approve = format!("/staff/batches/{batch}/approve");

    // Another editor cannot hand someone else's upload to review …
    let ed2 = log_in(&app, "ed2", PASSWORD).await.ok().unwrap();
    let r = ed2.post(&app, &submit, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body.contains("Nur wer die Datei hochgeladen hat"),
        "{}",
        r.body
    );
    // … an admin can, but that does not make the uploader a second pair of eyes.
    let ada = log_in(&app, "ada", PASSWORD).await.ok().unwrap();
    assert_eq!(
        ada.post(&app, &submit, &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let home = publ.get(&app, "/staff").await;
    assert!(
        !home.body.contains(&approve),
        "no approve button for one's own upload"
    );
    let r = publ.post(&app, &approve, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Vier-Augen-Prinzip"));
    let api = "/api/v1/kpi/visits?by=month,office";
    let public = send(&app, Request::get(api).body(Body::empty()).unwrap()).await;
    assert_eq!(public.body, "[]", "nothing published");
    let paul = log_in(&app, "paul", PASSWORD).await.ok().unwrap();
    assert_eq!(
        paul.post(&app, &approve, &[]).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn publishers_act_on_their_own_offices_only() {
    let d = DataDir::new();
    add_user(&d, "emil", "editor", &["Einwohnermeldeamt"]);
    add_user(&d, "bob", "publisher", &["Bauordnungsamt"]);
    add_user(&d, "paul", "publisher", &[]);
    let app = app(&d, Settings::default());
    let emil = log_in(&app, "emil", PASSWORD).await.ok().unwrap();
    let r = emil
        .upload(
            &app,
            "maerz.csv",
            &one_office_export("Einwohnermeldeamt"),
            "visits",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let batch = batch_of(&r.body);
    let r = emil
        .post(&app, &format!("/staff/batches/{batch}/submit"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Bob publishes for the Bauordnungsamt: he does not see the batch, nor decide on it.
    let bob = log_in(&app, "bob", PASSWORD).await.ok().unwrap();
    let home = bob.get(&app, "/staff").await;
    assert!(
        !home.body.contains(&format!("Lieferung {batch}")),
        "{}",
        home.body
    );
    let r = bob
        .post(
            &app,
            &format!("/staff/batches/{batch}/reject"),
            &[("reason", "weg damit")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = bob
        .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        bob.get(&app, &format!("/staff/batches/{batch}/original"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // A publisher for every office does.
    let paul = log_in(&app, "paul", PASSWORD).await.ok().unwrap();
    assert!(
        paul.get(&app, "/staff")
            .await
            .body
            .contains(&format!("Lieferung {batch}"))
    );
    let r = paul
        .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Nor can Bob roll back the office's published month.
    let r = bob
        .post(
            &app,
            "/staff/rollback",
            &[
                ("kind", "visits"),
                ("office", "Einwohnermeldeamt"),
                ("month", "2025-01"),
                ("revision", "1"),
                ("reason", "weg damit"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_stranger_cannot_lock_out_a_colleague() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    let app = app(&d, Settings::default());
    // Guesses for anna's name from two addresses: more than the old lock allowed.
    for ip in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..3 {
            let r = post_login(&app, "anna", "falsches passwort!", from_peer(ip)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{ip}: {}", r.body);
        }
    }
    // The next guess from there waits, is told how long, and its password is not even checked.
    let r = post_login(&app, "anna", PASSWORD, from_peer("203.0.113.1")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(r.body.contains("erneut versuchen"), "{}", r.body);
    assert!(r.body.contains("Sekunde"), "{}", r.body);
    // Anna at her own desk logs in.
    assert!(
        log_in_from(&app, "anna", PASSWORD, from_peer("198.51.100.7"))
            .await
            .is_ok()
    );
    let log = audit_rows(&d);
    assert!(
        log.iter()
            .any(|(u, a, _, r)| u == "anna" && a == "login" && r == "198.51.100.7"),
        "{log:?}"
    );
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    // Without trusted proxies the header is the client's own invention: the peer counts.
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    let app1 = app(&d, Settings::default());
    let via = |forwarded| {
        Some(Origin {
            peer: "127.0.0.1",
            forwarded: Some(forwarded),
        })
    };
    for f in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        let r = post_login(&app1, "anna", "falsches passwort!", via(f)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = post_login(&app1, "anna", "falsches passwort!", via("192.0.2.4")).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a new header is no new address"
    );
    assert!(
        audit_rows(&d)
            .iter()
            .filter(|(_, a, _, _)| a.starts_with("login"))
            .all(|(_, _, _, r)| r == "127.0.0.1"),
        "{:?}",
        audit_rows(&d)
    );

    // Behind a trusted proxy the address it names counts: guesses from one client do not
    // brake a colleague behind the same proxy.
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    let app2 = app(
        &d,
        Settings {
            trusted_proxies: vec!["127.0.0.1".into()],
            ..Settings::default()
        },
    );
    // The left part of the header is whatever the client sent: never believed.
    let guesser = via("10.9.9.9, 203.0.113.5");
    for _ in 0..3 {
        let r = post_login(&app2, "anna", "falsches passwort!", guesser).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = post_login(&app2, "anna", "falsches passwort!", guesser).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        log_in_from(&app2, "anna", PASSWORD, via("198.51.100.7"))
            .await
            .is_ok()
    );
    let log = audit_rows(&d);
    assert!(
        log.iter()
            .filter(|(_, a, _, _)| a == "login failed")
            .all(|(_, _, _, r)| r == "203.0.113.5"),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|(_, a, _, r)| a == "login" && r == "198.51.100.7"),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_cannot_decide_how_other_offices_files_are_read() {
    let d = DataDir::new();
    add_user(&d, "emil", "editor", &["Einwohnermeldeamt"]);
    add_user(&d, "erika", "editor", &[]);
    let app = app(&d, Settings::default());
    let emil = log_in(&app, "emil", PASSWORD).await.ok().unwrap();
    let profiles = || {
        d.sql("SELECT office FROM profiles")
            .into_iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>()
    };
    // An export of several offices, mapped with the office field left out of the form.
    let messy = std::fs::read(fixture("independent/visits_messy.csv")).unwrap();
    let r = emil.upload(&app, "termine.csv", &messy, "visits").await;
    let path = format!("/staff/mapping/{}", mapping_token(&r.body));
    let r = emil
        .post(
            &app,
            &path,
            &[
                ("kind", "visits"),
                ("c0", "office"),
                ("c1", "location"),
                ("c2", "service"),
                ("c3", "date"),
                ("c4", "arrived"),
                ("c5", "called"),
                ("c6", "finished"),
                ("c7", "appointment"),
                ("c8", "drop"),
                ("c9", "drop"),
            ],
        )
        .await;
    // Refused (it has other offices' rows), and with it the profile.
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(stored(&d), (0, 0));
    assert_eq!(profiles(), Vec::<String>::new());
    // So the next export of that layout from anyone else is not read by emil's choice.
    let erika = log_in(&app, "erika", PASSWORD).await.ok().unwrap();
    let r = erika.upload(&app, "termine.csv", &messy, "visits").await;
    assert!(r.body.contains("Spalten zuordnen"), "{}", r.body);

    // A one-office export mapped without an office: bound to emil's office.
    let export =
        "Datum;Ziehung;Aufruf;Ende\n03.02.2025;08:00;08:10;08:20\n03.02.2025;08:05;08:25;08:30\n";
    let r = emil
        .upload(&app, "feb.csv", export.as_bytes(), "visits")
        .await;
    let path = format!("/staff/mapping/{}", mapping_token(&r.body));
    let r = emil
        .post(
            &app,
            &path,
            &[
                ("kind", "visits"),
                ("c0", "date"),
                ("c1", "arrived"),
                ("c2", "called"),
                ("c3", "finished"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(profiles(), vec!["Einwohnermeldeamt".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_keeps_their_own_waiting_uploads() {
    let d = DataDir::new();
    add_user(&d, "erika", "editor", &[]);
    add_user(&d, "emil", "editor", &["Einwohnermeldeamt"]);
    let app = app(&d, Settings::default());
    let erika = log_in(&app, "erika", PASSWORD).await.ok().unwrap();
    let emil = log_in(&app, "emil", PASSWORD).await.ok().unwrap();
    let messy = std::fs::read(fixture("independent/visits_messy.csv")).unwrap();

    // Uploads waiting for their mapping: eight of emil's do not push out erika's one …
    let r = erika.upload(&app, "termine.csv", &messy, "visits").await;
    let mine = format!("/staff/mapping/{}", mapping_token(&r.body));
    for _ in 0..8 {
        let r = emil.upload(&app, "termine.csv", &messy, "visits").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(erika.get(&app, &mine).await.status, StatusCode::OK);
    // … her own newer ones do, beyond a few.
    for _ in 0..3 {
        erika.upload(&app, "termine.csv", &messy, "visits").await;
    }
    assert_eq!(erika.get(&app, &mine).await.status, StatusCode::NOT_FOUND);

    // The same for the problem lists of refused uploads.
    let bad = export_with_problems(150);
    let r = emil.upload(&app, "fehler.csv", &bad, "visits").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let emils = problems_link(&r.body);
    let r = erika.upload(&app, "fehler.csv", &bad, "visits").await;
    let first = problems_link(&r.body);
    let mut last = String::new();
    for _ in 0..3 {
        last = problems_link(&erika.upload(&app, "fehler.csv", &bad, "visits").await.body);
    }
    assert_eq!(erika.get(&app, &first).await.status, StatusCode::NOT_FOUND);
    assert_eq!(erika.get(&app, &last).await.status, StatusCode::OK);
    assert_eq!(emil.get(&app, &emils).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_three_zms_reports_of_a_month_in_one_form() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    add_user(&d, "paul", "publisher", &[]);
    let app = app(&d, Settings::default());
    let anna = log_in(&app, "anna", PASSWORD).await.ok().unwrap();
    let read = |name: &str| std::fs::read(fixture(&format!("zms/{name}"))).unwrap();
    let (client, waiting, request, damaged) = (
        read("clientstatistic_2024-03.xlsx"),
        read("waitingstatistic_2024-03.xlsx"),
        read("requeststatistic_2024-03.xlsx"),
        read("waitingstatistic_2024-03_missing_block.xlsx"),
    );
    // One damaged report among good ones: none is kept, the problem names sheet and block.
    let r = anna
        .upload_files(
            &app,
            &[
                ("clientstatistic_2024-03.xlsx", &client),
                ("waitingstatistic_2024-03.xlsx", &damaged),
            ],
            "auto",
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("keine der Dateien gespeichert"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Blatt „Gesamt“"), "{}", r.body);
    assert_eq!(stored(&d), (0, 0));

    // All three: three batches, each with its preview, recognised without a kind.
    let r = anna
        .upload_files(
            &app,
            &[
                ("clientstatistic_2024-03.xlsx", &client),
                ("waitingstatistic_2024-03.xlsx", &waiting),
                ("requeststatistic_2024-03.xlsx", &request),
            ],
            "auto",
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Vorschau: 3 Dateien"), "{}", r.body);
    assert_eq!(stored(&d).0, 3);
    assert!(
        !r.body.contains("ersetzt schon veröffentlichte"),
        "{}",
        r.body
    );
    let batches: Vec<i64> = r
        .body
        .split("/staff/batches/")
        .skip(1)
        .map(|s| s.split('/').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(batches.len(), 3);
    let paul = log_in(&app, "paul", PASSWORD).await.ok().unwrap();
    for batch in &batches {
        let r = anna
            .post(&app, &format!("/staff/batches/{batch}/submit"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = paul
            .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let api = send(
        &app,
        Request::get("/api/v1/kpi/visits?by=month,office")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let rows: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("zms/expected.json")).unwrap())
            .unwrap();
    let e = &expected["entries"][0];
    assert_eq!(rows[0]["visitors"], e["visitors"]["value"], "{rows}");
    assert_eq!(rows[0]["served"], e["waiting_counted"]["value"], "{rows}");
    // The Kundenstatistik again: now it replaces a published report, so it needs a reason.
    let r = anna
        .upload_files(
            &app,
            &[("clientstatistic_2024-03.xlsx", &client)],
            "auto",
            "",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("ersetzt schon veröffentlichte Monate"),
        "{}",
        r.body
    );
}

/// The language link of a page's header (`hreflang` names the language it leads to), as a
/// request path.
fn language_link(html: &str, lang: &str) -> String {
    let at = html
        .find(&format!("hreflang=\"{lang}\""))
        .expect("a language link");
    let start = html[..at].rfind("href=\"").unwrap() + 6;
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// German words of the staff pages' header and navigation, none of which an English page shows.
const GERMAN_NAVIGATION: [&str; 8] = [
    "Arbeitsbereich",
    "Zum Inhalt springen",
    "Hochladen",
    "Freigaben",
    "Verlauf",
    "Passwort",
    "Öffentliche Seite",
    "Abmelden",
];

fn assert_english(r: &Resp, what: &str) {
    assert!(
        r.body.contains("<html lang=\"en\">"),
        "{what}: {}",
        &r.body[..300.min(r.body.len())]
    );
    for word in GERMAN_NAVIGATION {
        assert!(!r.body.contains(word), "{what} says {word:?}: {}", r.body);
    }
}

/// A newcomer reads the staff area in English: the browser's Accept-Language chooses the
/// login page's language, `?lang=en` is remembered in a cookie across forms and redirects
/// (home, upload preview, refusals, history), and `?lang=de` switches back. Another browser
/// stays German meanwhile.
#[tokio::test]
async fn a_newcomer_reads_the_staff_area_in_english() {
    let d = DataDir::new();
    add_user(&d, "anna", "editor", &[]);
    add_user(&d, "paul", "publisher", &[]);
    let app = app(&d, Settings::default());

    // The browser asks for English: the login page is English.
    let login = send(
        &app,
        Request::get("/staff/login")
            .header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,de;q=0.3")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(login.status, StatusCode::OK);
    assert_english(&login, "login");
    assert!(
        login
            .body
            .contains("lang=\"de\" hreflang=\"de\">Deutsch</a>"),
        "{}",
        login.body
    );
    assert_eq!(language_link(&login.body, "de"), "/staff/login?lang=de");
    assert!(login.body.contains("<h1>Log in</h1>"), "{}", login.body);
    assert!(
        login
            .body
            .contains("<label for=\"password\">Password</label>")
    );
    assert!(
        login
            .body
            .contains("<button type=\"submit\">Log in</button>")
    );
    assert!(login.body.contains(">Skip to content</a>"));
    assert!(!login.body.contains("Anmelden"));
    // Without a wish the login stays German, with the way to English.
    let login = send(
        &app,
        Request::get("/staff/login").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(login.body.contains("<html lang=\"de\">"));
    assert!(login.body.contains("<h1>Anmelden</h1>"));
    assert_eq!(language_link(&login.body, "en"), "/staff/login?lang=en");

    // A wrong password, answered in the language of the login form.
    let r = send(
        &app,
        Request::get("/staff/login?lang=en")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let lang_cookie = set_cookie(&r, "kennzahl_lang").expect("the choice is kept");
    let login_cookie = cookie_value(&set_cookie(&r, "kz_login").unwrap());
    let r = send(
        &app,
        Request::post("/staff/login")
            .header(
                header::COOKIE,
                format!(
                    "kz_login={login_cookie}; kennzahl_lang={}",
                    cookie_value(&lang_cookie)
                ),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={}&name=anna&password=falsches+passwort",
                csrf_of(&r.body)
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_english(&r, "failed login");
    assert_eq!(language_link(&r.body, "de"), "/staff/login?lang=de");
    assert!(
        r.body.contains("The name or the password is wrong."),
        "{}",
        r.body
    );
    assert!(!r.body.contains("stimmen nicht"));

    // Logged in, Anna asks for English once; a cookie for the staff area keeps the choice.
    let mut anna = log_in(&app, "anna", PASSWORD).await.ok().unwrap();
    let r = anna.get(&app, "/staff?lang=en").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_english(&r, "home with ?lang=en");
    let set = set_cookie(&r, "kennzahl_lang").expect("the choice is kept");
    for part in [
        "kennzahl_lang=en;",
        "Path=/staff",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=31536000",
    ] {
        assert!(set.contains(part), "{set}");
    }
    anna.cookies = format!("; kennzahl_lang={}", cookie_value(&set));

    let home = anna.get(&app, "/staff").await;
    assert_english(&home, "home");
    assert!(set_cookie(&home, "kennzahl_lang").is_none(), "set once");
    assert_eq!(language_link(&home.body, "de"), "/staff?lang=de");
    for text in [
        "<h1>Staff area</h1>",
        "Logged in as <strong>anna</strong>",
        ">Upload and approvals</a>",
        ">History</a>",
        "Log out (anna)",
        "<h2 id=\"h-upload\">Upload an export</h2>",
        "<label for=\"kind\">Kind of data</label>",
        "<option value=\"visits\">Visits and waiting times</option>",
        "Upload and check</button>",
        "<h2 id=\"h-note\">Note on a month</h2>",
    ] {
        assert!(
            home.body.contains(text),
            "home lacks {text:?}: {}",
            home.body
        );
    }

    // An upload with mistakes: the problems are listed in English.
    let bad = std::fs::read(fixture("malformed/many_problems.csv")).unwrap();
    let r = anna.upload(&app, "march.csv", &bad, "visits").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_english(&r, "refused upload");
    assert!(r.body.contains("<h1>Upload refused</h1>"), "{}", r.body);
    assert!(r.body.contains("was not accepted"), "{}", r.body);
    assert!(r.body.contains("<li>line "), "{}", r.body);
    assert!(r.body.contains(", column &quot;"), "{}", r.body);
    assert!(!r.body.contains("Zeile ") && !r.body.contains("Spalte „"));
    // Its language link shows the same list again, in German.
    let list = language_link(&r.body, "de");
    assert!(
        list.starts_with("/staff/uploads/") && list.ends_with("?lang=de"),
        "{list}"
    );

    // The corrected file: the preview is English, down to the figures' names.
    let good = std::fs::read(fixture("independent/visits_clean.csv")).unwrap();
    let r = anna.upload(&app, "march.csv", &good, "auto").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_english(&r, "preview");
    for text in [
        "<h1>Preview: march.csv</h1>",
        "<strong>not published yet</strong>",
        "<dt>Kind of data</dt><dd>Visits and waiting times</dd>",
        "<th scope=\"col\">published now</th>",
        "<td>Median wait</td>",
        "Submit for approval</button>",
    ] {
        assert!(r.body.contains(text), "preview lacks {text:?}: {}", r.body);
    }
    assert!(!r.body.contains("noch nicht veröffentlicht"));
    assert!(!r.body.contains("Wartezeit (Median)"));
    let batch = batch_of(&r.body);

    // A form the handler refuses: its message page is English too.
    let r = anna
        .post(
            &app,
            "/staff/notes",
            &[
                ("office", "Einwohnermeldeamt"),
                ("month", "März"),
                ("text", "Umzug"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_english(&r, "refused note");
    assert!(r.body.contains("<h1>No note saved</h1>"), "{}", r.body);
    assert!(
        r.body.contains("Please give the month as YYYY-MM"),
        "{}",
        r.body
    );

    // Submitted through a form and a redirect, still English.
    let r = anna
        .post(&app, &format!("/staff/batches/{batch}/submit"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/staff");
    let home = anna.get(&app, "/staff").await;
    assert_english(&home, "home after submitting");
    assert!(home.body.contains("waiting for approval"), "{}", home.body);

    // Paul's browser asked for nothing: German, whatever Anna chose.
    let paul = log_in(&app, "paul", PASSWORD).await.ok().unwrap();
    let his = paul.get(&app, "/staff").await;
    assert!(his.body.contains("<html lang=\"de\">"));
    assert!(his.body.contains(&format!("Lieferung {batch}: march.csv")));
    let r = paul
        .post(&app, &format!("/staff/batches/{batch}/approve"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // The history in English, its language link keeping the selection.
    let hist = anna
        .get(
            &app,
            "/staff/history?kind=visits&office=Einwohnermeldeamt&month=2025-01",
        )
        .await;
    assert_eq!(hist.status, StatusCode::OK);
    assert_english(&hist, "history");
    for text in [
        "<h1>History</h1>",
        "<th scope=\"col\">Office and month</th>",
        "(batch ",
        ", uploaded by anna)",
        " by paul</td>",
    ] {
        assert!(
            hist.body.contains(text),
            "history lacks {text:?}: {}",
            hist.body
        );
    }
    let german = language_link(&hist.body, "de");
    assert_eq!(
        german,
        "/staff/history?kind=visits&office=Einwohnermeldeamt&month=2025-01&lang=de"
    );

    // `?lang=de` switches back, and the cookie keeps that too.
    let r = anna.get(&app, &german).await;
    assert!(r.body.contains("<html lang=\"de\">"));
    assert!(r.body.contains("<h1>Verlauf</h1>"));
    let set = set_cookie(&r, "kennzahl_lang").expect("the new choice is kept");
    assert!(set.starts_with("kennzahl_lang=de;"), "{set}");
    anna.cookies = format!("; kennzahl_lang={}", cookie_value(&set));
    let home = anna.get(&app, "/staff").await;
    assert!(home.body.contains("<html lang=\"de\">"));
    assert!(home.body.contains("Abmelden (anna)"));
    assert!(home.body.contains("freigegeben von paul"), "{}", home.body);
    assert_eq!(language_link(&home.body, "en"), "/staff?lang=en");
    // The German page wins over an English browser once German was chosen.
    let r = send(
        &app,
        Request::get("/staff")
            .header(
                header::COOKIE,
                format!("kz_session={}{}", anna.session, anna.cookies),
            )
            .header(header::ACCEPT_LANGUAGE, "en")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.body.contains("<html lang=\"de\">"));
}
