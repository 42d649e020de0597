//! Helpers for the integration tests: run the real `kennzahl` binary on a fresh data folder.

#![allow(dead_code)]

pub mod postgres;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh data folder, removed when dropped. With `KENNZAHL_TEST_STORAGE=shared` (the second
/// run of `.ci/run`), its catalogue is a fresh database on a PostgreSQL server and its files
/// are under a fresh prefix of a bucket on an S3 server, both started by the tests: the
/// journeys run once on each storage.
pub struct DataDir {
    pub dir: tempfile::TempDir,
    /// The settings that name the shared storage (empty: the data folder alone).
    pub env: Vec<(String, String)>,
}

/// After a change made by another process (or another store): on a data folder the site sees
/// it at once (the catalogue's files changed); on a shared catalogue a replica asks at most
/// every 500 ms, so the test waits that long, as a replica's visitor would.
pub fn after_change_elsewhere() {
    if shared_storage() {
        std::thread::sleep(std::time::Duration::from_millis(600));
    }
}

/// Whether the tests run on PostgreSQL and S3 (`KENNZAHL_TEST_STORAGE=shared`).
pub fn shared_storage() -> bool {
    std::env::var("KENNZAHL_TEST_STORAGE").is_ok_and(|v| v == "shared")
}

impl DataDir {
    pub fn new() -> Self {
        let env = if shared_storage() {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static PREFIX: AtomicUsize = AtomicUsize::new(0);
            let prefix = format!(
                "t{}-{}",
                std::process::id(),
                PREFIX.fetch_add(1, Ordering::Relaxed)
            );
            let mut env = s3::S3::shared().env("kennzahl", &prefix);
            env.push((
                "KENNZAHL_DATABASE_URL".into(),
                postgres::Postgres::shared().create_database(),
            ));
            env
        } else {
            Vec::new()
        };
        DataDir {
            dir: tempfile::tempdir().expect("temp dir"),
            env,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The store of this data folder, as the binary opens it with the same settings.
    pub fn store(&self) -> kennzahl::store::Store {
        let setting = |name: &str| {
            self.env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let remote = setting("KENNZAHL_OBJECT_STORE").map(|url| {
            kennzahl::store::files::Remote::from_url_with(&url, &self.env).expect("the bucket")
        });
        kennzahl::store::Store::open_at(
            self.path(),
            remote,
            setting("KENNZAHL_DATABASE_URL").as_deref(),
        )
        .expect("the store")
    }

    /// Rows of a query on this data folder's catalogue, each value as text (NULL as ""):
    /// its SQLite file, or its database on the PostgreSQL server.
    pub fn sql(&self, sql: &str) -> Vec<Vec<String>> {
        let url = self
            .env
            .iter()
            .find(|(k, _)| k == "KENNZAHL_DATABASE_URL")
            .map(|(_, v)| v.clone());
        match url {
            Some(url) => postgres::Postgres::shared().psql_fields(&url, sql),
            None => {
                let conn = rusqlite::Connection::open(self.path().join("catalog.sqlite")).unwrap();
                let mut st = conn.prepare(sql).unwrap();
                let width = st.column_count();
                st.query_map([], |r| {
                    (0..width)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => String::new(),
                                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                                rusqlite::types::ValueRef::Real(x) => x.to_string(),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<String>>>()
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
            }
        }
    }

    /// `kennzahl --data DIR args…` with this folder's settings, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kennzahl"));
        c.arg("--data")
            .arg(self.path())
            .args(args)
            .env("KENNZAHL_LANG", "de")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    /// Runs `kennzahl --data DIR args…`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kennzahl")
    }

    /// Runs and requires success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kennzahl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// The KPI table as JSON rows.
    pub fn kpi_json(&self, args: &[&str]) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let mut all = vec!["kpi", "--format", "json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|r| r.as_object().expect("object").clone())
            .collect()
    }
}

/// Runs a command (`kennzahl user add …`) that reads a password from standard input, and
/// requires success.
pub fn with_password(mut cmd: Command, password: &str) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fixture file's path.
pub fn fixture(rel: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", rel]
        .iter()
        .collect();
    p.to_string_lossy().into_owned()
}

/// Finds the row whose given columns have the given values.
pub fn row<'a>(
    rows: &'a [serde_json::Map<String, serde_json::Value>],
    keys: &[(&str, &str)],
) -> &'a serde_json::Map<String, serde_json::Value> {
    rows.iter()
        .find(|r| {
            keys.iter()
                .all(|(k, v)| r.get(*k).and_then(|x| x.as_str()) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no row {keys:?} in {rows:#?}"))
}

/// Asserts a numeric cell equals `expected` within 1e-9.
pub fn assert_num(r: &serde_json::Map<String, serde_json::Value>, col: &str, expected: f64) {
    let got = r
        .get(col)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("{col} is not a number in {r:?}"));
    assert!(
        (got - expected).abs() < 1e-9,
        "{col}: expected {expected}, got {got}"
    );
}

/// Asserts a cell is suppressed (".").
pub fn assert_suppressed(r: &serde_json::Map<String, serde_json::Value>, col: &str) {
    assert_eq!(
        r.get(col).and_then(|v| v.as_str()),
        Some("."),
        "{col} should be suppressed in {r:?}"
    );
}

/// Compares a KPI table (JSON rows) with an independent computation's expected JSON: every
/// cell equal (numbers to 1e-9).
pub fn compare(expected_file: &str, got: &[serde_json::Map<String, serde_json::Value>]) {
    let text = std::fs::read_to_string(fixture(expected_file)).expect("expected file");
    let expected: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(&text).expect("json");
    assert_eq!(got.len(), expected.len(), "number of (month, office) cells");
    for e in &expected {
        let g = row(
            got,
            &[
                ("month", e["month"].as_str().unwrap()),
                ("office", e["office"].as_str().unwrap()),
            ],
        );
        for (k, v) in e {
            match (v, &g[k]) {
                (serde_json::Value::Number(a), serde_json::Value::Number(b)) => {
                    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                    assert!(
                        (a - b).abs() < 1e-9,
                        "{} {} {k}: expected {a}, got {b}",
                        e["month"],
                        e["office"]
                    );
                }
                (a, b) => assert_eq!(a, b, "{} {} {k}", e["month"], e["office"]),
            }
        }
    }
}

/// A data folder with the independent clean visits export published.
pub fn with_clean_visits() -> DataDir {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("independent/visits_clean.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    d
}

/// A data folder with the demo city (all five kinds, 16 months) loaded from `datasets/demo`.
pub fn with_demo_city() -> DataDir {
    let d = DataDir::new();
    d.ok(&[
        "demo",
        "load",
        "--from",
        &format!("{}/datasets/demo", env!("CARGO_MANIFEST_DIR")),
    ]);
    d
}

/// The site's router over a data folder, with these settings.
pub fn router_with(d: &DataDir, settings: kennzahl::config::Settings) -> axum::Router {
    kennzahl::web::router(d.store(), settings).unwrap()
}

/// GETs `uri` over the router: status, headers and body as text.
pub async fn get(
    app: &axum::Router,
    uri: &str,
) -> (axum::http::StatusCode, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let resp = app
        .clone()
        .oneshot(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// `kennzahl serve` on a data folder, killed when dropped.
pub struct Server {
    child: std::process::Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary (optionally under a lower open-file limit) with settings from the
/// environment, and waits until it answers.
pub fn serve(d: &DataDir, env: &[(&str, &str)], open_files: Option<u32>) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let bin = env!("CARGO_BIN_EXE_kennzahl");
    let data = d.path().to_string_lossy().into_owned();
    let mut cmd = match open_files {
        Some(n) => {
            let mut c = std::process::Command::new("sh");
            c.arg("-c").arg(format!(
                "ulimit -n {n} && exec \"$0\" --data \"$1\" serve --listen \"$2\""
            ));
            c.args([bin, &data, &addr]);
            c
        }
        None => {
            let mut c = std::process::Command::new(bin);
            c.args(["--data", &data, "serve", "--listen", &addr]);
            c
        }
    };
    for (k, v) in &d.env {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, addr };
    let started = std::time::Instant::now();
    loop {
        if let Ok(status) = http_get(&server.addr, "/healthz", std::time::Duration::from_secs(2))
            && status == 200
        {
            break;
        }
        assert!(
            // Generous: on a busy 2-core CI machine a replica may wait for another one's
            // demo city (object storage in Python) before it starts.
            started.elapsed() < std::time::Duration::from_secs(150),
            "server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

/// A complete GET on a new connection; the status code.
pub fn http_get(addr: &str, path: &str, timeout: std::time::Duration) -> std::io::Result<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    text.get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {text}")))
}

/// A multipart form as the staff upload form sends it: `fields`, then each of `files`
/// (name, bytes) as a `file` part. The Content-Type to send with it and the body.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    use std::io::Write;
    let boundary = "----kennzahl-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        )
        .unwrap();
    }
    for (file_name, bytes) in files {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .unwrap();
        body.extend_from_slice(bytes);
        write!(body, "\r\n").unwrap();
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={boundary}"), body)
}
