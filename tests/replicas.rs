//! Beyond one machine (issue 12): the catalogue on a real PostgreSQL server (Debian's
//! `postgresql`, started here on a free port in a temporary folder) and the files in a real
//! S3-compatible server (moto), shared by several `kennzahl serve` replicas that each have a
//! data folder of their own (a cache only). A replica sees what another published, a session
//! made on one works on the other, the login brake counts across both, and a process killed
//! in the middle of a publish leaves nothing half done. Where a server cannot start, these
//! tests fail saying so; they do not skip.

mod common;

use common::postgres::Postgres;
use common::s3::S3;
use common::*;
use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "ein langes passwort";

/// Where the replicas keep their data: one database and one bucket.
struct Shared {
    env: Vec<(String, String)>,
    database: String,
    pg: Postgres,
    _s3: S3,
}

impl Shared {
    fn start() -> Shared {
        let pg = Postgres::start();
        let database = pg.create_database();
        let s3 = S3::start("kennzahl");
        let mut env = s3.env("kennzahl", "stadt");
        env.push(("KENNZAHL_DATABASE_URL".into(), database.clone()));
        Shared {
            env,
            database,
            pg,
            _s3: s3,
        }
    }

    fn command(&self, d: &DataDir, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kennzahl"));
        c.arg("--data").arg(d.path()).args(args);
        c.env("KENNZAHL_LANG", "de");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn run(&self, d: &DataDir, args: &[&str]) -> Output {
        self.command(d, args).output().unwrap()
    }

    fn ok(&self, d: &DataDir, args: &[&str]) -> String {
        let out = self.run(d, args);
        assert!(
            out.status.success(),
            "kennzahl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn env_refs(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    fn sql(&self, sql: &str) -> String {
        self.pg.psql(&self.database, sql)
    }
}

fn demo_folder() -> String {
    format!("{}/datasets/demo", env!("CARGO_MANIFEST_DIR"))
}

/// An HTTP/1.1 answer: status, headers (lower-case names), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name` among the `Set-Cookie` headers.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap_or("").to_string())
    }
}

/// One request on a new connection (`Connection: close`), as a browser would send it.
fn request(addr: &str, method: &str, path: &str, cookies: &str, form: Option<&str>) -> Answer {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !cookies.is_empty() {
        head.push_str(&format!("Cookie: {cookies}\r\n"));
    }
    let body = form.unwrap_or("");
    if form.is_some() {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body.as_bytes()).unwrap();
    read_answer(s)
}

/// Reads an answer to its end (the server closes the connection).
fn read_answer(mut s: std::net::TcpStream) -> Answer {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = &raw[split + 4..];
    let mut body = Vec::new();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..end])
                    .split(';')
                    .next()
                    .unwrap()
                    .trim(),
                16,
            )
            .unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 2 + size + 2..];
        }
    } else {
        body.extend_from_slice(rest);
    }
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Posts a multipart form with `fields` and one file, as the upload form sends it.
fn upload(
    addr: &str,
    cookies: &str,
    fields: &[(&str, &str)],
    file_name: &str,
    bytes: &[u8],
) -> Answer {
    let (content_type, body) = multipart(fields, &[(file_name, bytes)]);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST /staff/upload HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookies}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(&body).unwrap();
    read_answer(s)
}

fn get(addr: &str, path: &str) -> Answer {
    request(addr, "GET", path, "", None)
}

/// The value of the first hidden `csrf` field on a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// Posts the login form of replica `addr`; the answer.
fn log_in(addr: &str, name: &str, password: &str) -> Answer {
    let form = get(addr, "/staff/login");
    assert_eq!(form.status, 200);
    let login = form.cookie("kz_login").expect("a login cookie");
    request(
        addr,
        "POST",
        "/staff/login",
        &format!("kz_login={login}"),
        Some(&format!(
            "csrf={}&name={name}&password={}",
            csrf_of(&form.body),
            password.replace(' ', "+")
        )),
    )
}

fn add_user(shared: &Shared, d: &DataDir, name: &str, role: &str) {
    with_password(
        shared.command(d, &["user", "add", name, "--role", role]),
        PASSWORD,
    );
}

const VISITS_BY_MONTH: &str = "/api/v1/kpi/visits?by=month,office";

#[test]
fn two_replicas_on_postgres_and_s3_serve_what_one_process_on_a_data_folder_serves() {
    let shared = Shared::start();
    let (a, b) = (DataDir::new(), DataDir::new());
    shared.ok(&a, &["demo", "load", "--from", &demo_folder()]);
    // Nothing of the catalogue is in the replicas' folders: it is on the server.
    assert!(!a.path().join("catalog.sqlite").exists());

    // Both replicas start at once on the same database (the schema is made once).
    let env = shared.env_refs();
    let (ra, rb) = std::thread::scope(|s| {
        let ra = s.spawn(|| serve(&a, &env, None));
        let rb = s.spawn(|| serve(&b, &env, None));
        (ra.join().unwrap(), rb.join().unwrap())
    });
    let one = with_demo_city();
    let single = serve(&one, &[], None);

    // The same figures as one process on a data folder, from either replica.
    for path in [
        VISITS_BY_MONTH,
        "/api/v1/kpi/visits?by=year,location",
        "/api/v1/kpi/contacts?by=month,office",
        "/api/v1/kpi/digital?by=month,service",
        "/api/v1/kpi/cases?by=month,office",
    ] {
        let want = get(&single.addr, path);
        assert_eq!(want.status, 200, "{path}: {}", want.body);
        for r in [&ra, &rb] {
            let got = get(&r.addr, path);
            assert_eq!(got.status, 200, "{path}");
            assert_eq!(got.body, want.body, "{path} on {}", r.addr);
        }
    }
    // The same pages: every office page of the overview answers on both.
    let overview = get(&rb.addr, "/");
    assert_eq!(overview.status, 200);
    let offices: Vec<&str> = overview
        .body
        .match_indices("href=\"/dashboards/")
        .map(|(i, _)| {
            let rest = &overview.body[i + 6..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert!(offices.len() >= 3, "{}", overview.body);
    for page in &offices {
        assert_eq!(get(&ra.addr, page).status, 200, "{page} on A");
        assert_eq!(get(&rb.addr, page).status, 200, "{page} on B");
    }
    assert_eq!(get(&ra.addr, "/readyz").status, 200);

    // A correction published through A's machine shows on B within 2 s; B hears of it from
    // the database (NOTIFY), not only from its own check every 500 ms.
    let notifications = |addr: &str| -> u64 {
        let metrics = get(addr, "/metrics").body;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("kennzahl_catalogue_notifications_total "))
            .and_then(|n| n.trim().parse().ok())
            .expect("the notifications counter")
    };
    let heard_before = notifications(&rb.addr);
    let before = get(&rb.addr, VISITS_BY_MONTH).body;
    let published = Instant::now();
    shared.ok(
        &a,
        &[
            "import",
            &fixture("corrections/strassenverkehrsamt_2025-01.csv"),
            "--kind",
            "visits",
            "--publish",
            "--reason",
            "Nachlieferung",
        ],
    );
    let published = published.elapsed();
    let seen = Instant::now();
    loop {
        let now = get(&rb.addr, VISITS_BY_MONTH).body;
        if now != before {
            assert_eq!(now, get(&ra.addr, VISITS_BY_MONTH).body);
            break;
        }
        assert!(
            seen.elapsed() < Duration::from_secs(2),
            "B still shows the old figures 2 s after the publish (which took {published:?})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        notifications(&rb.addr) > heard_before,
        "B was told by NOTIFY"
    );

    // A login on A is valid on B; the staff records are on the server too.
    add_user(&shared, &a, "anna", "admin");
    let login = log_in(&ra.addr, "anna", PASSWORD);
    assert_eq!(login.status, 303, "{}", login.body);
    let session = login.cookie("kz_session").expect("a session cookie");
    let home = request(
        &rb.addr,
        "GET",
        "/staff",
        &format!("kz_session={session}"),
        None,
    );
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("anna"));
    // Logging out on B ends the session on A.
    let logout = request(
        &rb.addr,
        "POST",
        "/staff/logout",
        &format!("kz_session={session}"),
        Some(&format!("csrf={}", csrf_of(&home.body))),
    );
    assert!(logout.status < 400, "{}", logout.body);
    let after = request(
        &ra.addr,
        "GET",
        "/staff",
        &format!("kz_session={session}"),
        None,
    );
    assert_ne!(after.status, 200, "the session ended on every replica");

    // The brake counts across replicas: after the three free failures on A, B makes the
    // next try wait.
    for _ in 0..3 {
        assert_eq!(log_in(&ra.addr, "anna", "falsches passwort").status, 401);
    }
    let braked = log_in(&rb.addr, "anna", PASSWORD);
    assert_eq!(braked.status, 429, "{}", braked.body);
    assert!(braked.header("retry-after").is_some());

    // The audit log is append-only on the server too.
    assert!(
        shared
            .sql("SELECT count(*) FROM audit")
            .parse::<i64>()
            .unwrap()
            > 0
    );
    let changed = Command::new("psql")
        .args([&shared.database, "-X", "-At", "-c", "DELETE FROM audit"])
        .output()
        .unwrap();
    assert!(!changed.status.success());
    assert!(String::from_utf8_lossy(&changed.stderr).contains("append-only"));
}

#[test]
fn a_process_killed_in_the_middle_of_a_publish_leaves_nothing_half_done() {
    let shared = Shared::start();
    let (a, b) = (DataDir::new(), DataDir::new());
    let big = a.path().join("big.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_kennzahl"))
        .args([
            "demo",
            "bench-visits",
            "--rows",
            "150000",
            "--months",
            "3",
            "--out",
        ])
        .arg(&big)
        .output()
        .unwrap();
    assert!(out.status.success());
    let rb = serve(&b, &shared.env_refs(), None);

    // Killed at different moments: while reading, while writing files, while publishing.
    for delay in [100, 400, 900, 1600, 2500] {
        let mut child = shared
            .command(
                &a,
                &[
                    "import",
                    big.to_str().unwrap(),
                    "--kind",
                    "visits",
                    "--publish",
                    "--reason",
                    "Test",
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        // Every published revision points at a published batch, every published batch has
        // all its cells published, and every file a batch names is in the bucket.
        assert_eq!(
            shared.sql(
                "SELECT count(*) FROM revisions r JOIN batches b ON b.id = r.batch_id WHERE b.status <> 'published'"
            ),
            "0"
        );
        assert_eq!(
            shared.sql(
                "SELECT count(*) FROM batches b JOIN batch_cells c ON c.batch_id = b.id
                 WHERE b.status = 'published' AND NOT EXISTS (SELECT 1 FROM revisions r
                   WHERE r.batch_id = b.id AND r.office = c.office AND r.month = c.month)"
            ),
            "0"
        );
        assert_eq!(get(&rb.addr, VISITS_BY_MONTH).status, 200);
    }
    // What a killed import left is no obstacle: the same file goes in afterwards, and B
    // shows its figures.
    shared.ok(
        &a,
        &[
            "import",
            big.to_str().unwrap(),
            "--kind",
            "visits",
            "--publish",
            "--reason",
            "Test",
        ],
    );
    let keys: Vec<String> = shared
        .sql("SELECT parquet FROM batches WHERE status = 'published'")
        .lines()
        .map(str::to_string)
        .collect();
    assert!(!keys.is_empty());
    let started = Instant::now();
    loop {
        let answer = get(&rb.addr, VISITS_BY_MONTH);
        if answer.body.contains("2025-03") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            answer.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The figures of every kind by month and office, as CSV.
fn all_figures(run: impl Fn(&[&str]) -> String) -> String {
    ["visits", "contacts", "digital", "cases", "services"]
        .iter()
        .map(|kind| run(&["kpi", "--kind", kind, "--by", "month,office"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The originals of a data folder: file name → SHA-256 of the upload it holds (checked
/// against the name, which is the upload's SHA-256).
fn originals(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for sub in std::fs::read_dir(dir.join("originals")).unwrap().flatten() {
        for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(f.path()).unwrap();
            let upload = if name.ends_with(".zst") {
                zstd::stream::decode_all(bytes.as_slice()).unwrap()
            } else {
                bytes
            };
            use sha2::Digest;
            let sha: String = sha2::Sha256::digest(&upload)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                name.trim_end_matches(".zst"),
                sha,
                "{name} holds another upload"
            );
            names.push(name);
        }
    }
    names.sort();
    names
}

#[test]
fn a_data_folder_moves_to_postgres_and_s3_and_back_with_every_revision_and_figure() {
    let one = with_demo_city();
    one.ok(&[
        "import",
        &fixture("corrections/strassenverkehrsamt_2025-01.csv"),
        "--kind",
        "visits",
        "--publish",
        "--reason",
        "Nachlieferung",
    ]);
    one.ok(&[
        "target",
        "--kind",
        "visits",
        "--office",
        "Einwohnermeldeamt",
        "--kpi",
        "wait_median_min",
        "--value",
        "25",
    ]);
    with_password(
        one.command(&["user", "add", "anna", "--role", "admin"]),
        PASSWORD,
    );
    let sqlite_count = |folder: &std::path::Path, table: &str| {
        let out = Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM {table}').fetchone()[0])"
                ),
                folder.join("catalog.sqlite").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let history = |run: &dyn Fn(&[&str]) -> String| run(&["history", "--kind", "visits"]);
    let figures = all_figures(|a| one.ok(a));
    assert!(figures.contains("Einwohnermeldeamt"));

    let shared = Shared::start();
    let cache = DataDir::new();
    let said = shared.ok(&cache, &["migrate", "--from", one.path().to_str().unwrap()]);
    assert!(said.contains("Kennzahlen gleich"), "{said}");
    assert_eq!(all_figures(|a| shared.ok(&cache, a)), figures);
    assert_eq!(history(&|a| shared.ok(&cache, a)), history(&|a| one.ok(a)));
    // Into a store that has data already, nothing is moved.
    let again = shared.run(&cache, &["migrate", "--from", one.path().to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("schon Lieferungen"));

    // And back, through a replica with an empty cache: everything comes from the server.
    let fresh = DataDir::new();
    let back = tempfile::tempdir().unwrap();
    let folder = back.path().join("data");
    shared.ok(&fresh, &["export", "--to", folder.to_str().unwrap()]);
    let run_back = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kennzahl"))
            .arg("--data")
            .arg(&folder)
            .args(args)
            .env("KENNZAHL_LANG", "de")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(all_figures(run_back), figures);
    assert_eq!(history(&run_back), history(&|a| one.ok(a)));
    assert_eq!(originals(&folder), originals(one.path()));
    // Accounts and the audit log came along, there and back.
    for table in ["audit", "users", "revisions", "batches", "targets"] {
        let here = sqlite_count(one.path(), table);
        assert_ne!(here, "0", "{table}");
        assert_eq!(
            shared.sql(&format!("SELECT count(*) FROM {table}")),
            here,
            "{table}"
        );
        assert_eq!(sqlite_count(&folder, table), here, "{table}");
    }
    assert_eq!(shared.sql("SELECT name FROM users"), "anna");
}

#[test]
fn replicas_starting_together_on_an_empty_database_load_the_demo_city_once() {
    let shared = Shared::start();
    let (a, b) = (DataDir::new(), DataDir::new());
    let env = shared.env_refs();
    let (ra, rb) = std::thread::scope(|s| {
        let ra = s.spawn(|| serve(&a, &env, None));
        let rb = s.spawn(|| serve(&b, &env, None));
        (ra.join().unwrap(), rb.join().unwrap())
    });
    assert_eq!(
        shared.sql("SELECT count(*) FROM revisions WHERE revision > 1"),
        "0"
    );
    assert_ne!(shared.sql("SELECT count(*) FROM revisions"), "0");
    assert_eq!(
        get(&ra.addr, VISITS_BY_MONTH).body,
        get(&rb.addr, VISITS_BY_MONTH).body
    );
}

#[test]
fn an_upload_waiting_for_its_mapping_and_a_refused_uploads_problems_reach_every_replica() {
    let shared = Shared::start();
    let (a, b) = (DataDir::new(), DataDir::new());
    add_user(&shared, &a, "emil", "admin");
    let env = shared.env_refs();
    let (ra, rb) = (serve(&a, &env, None), serve(&b, &env, None));
    let login = log_in(&ra.addr, "emil", PASSWORD);
    assert_eq!(login.status, 303, "{}", login.body);
    let cookie = format!("kz_session={}", login.cookie("kz_session").unwrap());
    let home = request(&ra.addr, "GET", "/staff", &cookie, None);
    let csrf = csrf_of(&home.body);

    // An export with its own column names goes to A and waits for its mapping …
    let export = "Datum;Ziehung;Aufruf;Ende\n03.02.2025;08:00;08:10;08:20\n03.02.2025;08:05;08:25;08:30\n03.02.2025;08:07;08:09;08:40\n";
    let r = upload(
        &ra.addr,
        &cookie,
        &[("csrf", &csrf), ("kind", "visits"), ("office", "")],
        "feb.csv",
        export.as_bytes(),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let at = r.body.find("/staff/mapping/").expect("a mapping form") + 15;
    let token = r.body[at..].split(['"', '?']).next().unwrap().to_string();
    let path = format!("/staff/mapping/{token}");
    // … and B, which never saw it, shows the form and stores the upload once it is mapped.
    let form = request(&rb.addr, "GET", &path, &cookie, None);
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("Ziehung"));
    let mapped = request(
        &rb.addr,
        "POST",
        &path,
        &cookie,
        Some(&format!(
            "csrf={}&kind=visits&office=Einwohnermeldeamt&c0=date&c1=arrived&c2=called&c3=finished",
            csrf_of(&form.body)
        )),
    );
    assert_eq!(mapped.status, 200, "{}", mapped.body);
    // Waits 10, 20 and 2 minutes: the median is 10.
    assert!(
        mapped
            .body
            .contains("Wartezeit (Median)</td><td>–</td><td>10 <"),
        "{}",
        mapped.body
    );
    // Stored once: the waiting upload is gone from A too.
    assert_eq!(request(&ra.addr, "GET", &path, &cookie, None).status, 404);
    assert_eq!(
        shared.sql("SELECT count(*) FROM kept_for_users WHERE purpose = 'mapping'"),
        "0"
    );

    // A refused upload's long problem list is paged on the other replica.
    let mut bad = String::from(
        "office,location,service,arrived_at,called_at,finished_at,appointment,appointment_at,no_show\n",
    );
    for _ in 0..150 {
        bad.push_str("Einwohnermeldeamt,Mitte,Anmeldung,2025-13-05T09:00:00,,,false,,false\n");
    }
    let r = upload(
        &ra.addr,
        &cookie,
        &[("csrf", &csrf), ("kind", "visits"), ("office", "")],
        "fehler.csv",
        bad.as_bytes(),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let at = r
        .body
        .find("/staff/uploads/")
        .expect("a paged problem list");
    let link = r.body[at..at + r.body[at..].find('"').unwrap()].replace("&amp;", "&");
    let page = request(&rb.addr, "GET", &link, &cookie, None);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("2025-13-05"), "{}", page.body);
    // Nobody else's.
    add_user(&shared, &a, "erika", "admin");
    let other = log_in(&rb.addr, "erika", PASSWORD);
    let theirs = format!("kz_session={}", other.cookie("kz_session").unwrap());
    assert_eq!(request(&rb.addr, "GET", &link, &theirs, None).status, 404);
}

/// Runs openssl; panics with its output when it fails.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's postgresql package brings it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_catalogue_is_reached_over_tls_checked_against_the_providers_ca() {
    // A provider's own CA and a server certificate it signed for 127.0.0.1.
    let certs = tempfile::tempdir().unwrap();
    let dir = certs.path();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=Kennzahl test CA",
            "-days",
            "2",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );

    let pg = Postgres::start();
    pg.enable_tls(&dir.join("server.crt"), &dir.join("server.key"));
    let database = format!("{}?sslmode=require", pg.create_database());
    let d = DataDir::new();
    let kennzahl = |ca: Option<&std::path::Path>, args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kennzahl"));
        c.arg("--data").arg(d.path()).args(args);
        c.env("KENNZAHL_LANG", "de")
            .env("KENNZAHL_DATABASE_URL", &database);
        match ca {
            Some(ca) => c.env("KENNZAHL_DATABASE_CA", ca),
            None => c.env_remove("KENNZAHL_DATABASE_CA"),
        };
        c.output().unwrap()
    };
    // A server whose certificate nobody vouches for is not talked to.
    let refused = kennzahl(None, &["kpi", "--kind", "visits", "--by", "month"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        said.contains("certificate") || said.contains("tls"),
        "{said}"
    );
    // With the provider's CA the catalogue is there, over TLS.
    let ca = dir.join("ca.crt");
    let out = kennzahl(
        Some(&ca),
        &[
            "import",
            &fixture("independent/visits_clean.csv"),
            "--kind",
            "visits",
            "--publish",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env = [
        ("KENNZAHL_DATABASE_URL", database.as_str()),
        ("KENNZAHL_DATABASE_CA", ca.to_str().unwrap()),
    ];
    let r = serve(&d, &env, None);
    assert_eq!(get(&r.addr, VISITS_BY_MONTH).status, 200);
    let name = database
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let encrypted = pg.psql(
        &pg.url("postgres"),
        &format!(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = '{name}' AND s.ssl"
        ),
    );
    let all = pg.psql(
        &pg.url("postgres"),
        &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
    assert_ne!(encrypted, "0");
    assert_eq!(
        encrypted, all,
        "every connection of the replica is encrypted"
    );
}

#[test]
fn a_replica_whose_database_connections_were_cut_connects_again() {
    let shared = Shared::start();
    let d = DataDir::new();
    shared.ok(
        &d,
        &[
            "import",
            &fixture("independent/visits_clean.csv"),
            "--kind",
            "visits",
            "--publish",
        ],
    );
    let r = serve(&d, &shared.env_refs(), None);
    let before = get(&r.addr, VISITS_BY_MONTH);
    assert_eq!(before.status, 200);
    // A fail-over, a restart, a proxy's idle cut: every connection of the replica ends.
    let name = shared.database.rsplit('/').next().unwrap().to_string();
    let cut = shared.pg.psql(
        &shared.pg.url("postgres"),
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}'"
        ),
    );
    assert_ne!(cut, "0");
    // The replica opens them again: within a few requests everything answers as before.
    let mut answers = Vec::new();
    for _ in 0..5 {
        let ready = get(&r.addr, "/readyz").status;
        let api = get(&r.addr, "/api/v1/kpi/visits?by=year,office");
        answers.push((ready, api.status));
        if ready == 200 && api.status == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(answers.last(), Some(&(200, 200)), "{answers:?}");
    let after = request(&r.addr, "GET", "/staff/login", "", None);
    assert_eq!(after.status, 200);
}
