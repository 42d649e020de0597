//! Originals and Parquet files in S3-compatible object storage (`KENNZAHL_OBJECT_STORE`),
//! against a real S3 server: moto from PyPI (`.ci/run` installs it and names its Python in
//! `KENNZAHL_MOTO_PYTHON`), started on a free port. The data folder keeps the catalogue and a
//! cache of the files read; with the cache gone, every figure and every original comes back
//! from the bucket.

mod common;
use common::*;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A moto S3 server on a free port, with one bucket; killed when dropped.
struct S3 {
    child: std::process::Child,
    endpoint: String,
    python: String,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3 {
    fn start(bucket: &str) -> S3 {
        let python = std::env::var("KENNZAHL_MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{python} -m moto.server could not run: {e}"));
        let s3 = S3 {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            python,
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s3.boto(&format!("s3.create_bucket(Bucket={bucket:?})"));
        s3
    }

    /// Runs a line of Python with `s3`, a boto3 client of this server; its standard output.
    fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url={:?}, aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')\n{code}\n",
            self.endpoint
        );
        let out = Command::new(&self.python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The keys in a bucket under a prefix.
    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.boto(&format!(
            "for o in s3.list_objects_v2(Bucket={bucket:?}, Prefix={prefix:?}).get('Contents', []): print(o['Key'])"
        ))
        .lines()
        .map(str::to_string)
        .collect()
    }
}

/// `kennzahl --data DIR args…` with the object store settings.
fn kennzahl(d: &DataDir, s3: &S3, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kennzahl"))
        .arg("--data")
        .arg(d.path())
        .args(args)
        .env("KENNZAHL_LANG", "de")
        .env("KENNZAHL_OBJECT_STORE", "s3://kennzahl/stadt")
        .env("AWS_ENDPOINT_URL", &s3.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true")
        .output()
        .unwrap()
}

fn ok(d: &DataDir, s3: &S3, args: &[&str]) -> String {
    let out = kennzahl(d, s3, args);
    assert!(
        out.status.success(),
        "kennzahl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn files_live_in_the_bucket_and_come_back_when_the_cache_is_gone() {
    let s3 = S3::start("kennzahl");
    let d = DataDir::new();
    ok(
        &d,
        &s3,
        &[
            "import",
            &fixture("independent/visits_clean.csv"),
            "--kind",
            "visits",
            "--publish",
        ],
    );
    // The original, the rows and the partials are in the bucket, under the prefix.
    let keys = s3.keys("kennzahl", "stadt/");
    assert!(
        keys.iter()
            .any(|k| k.starts_with("stadt/originals/") && k.ends_with(".zst")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|k| k.starts_with("stadt/batches/") && k.ends_with(".partials-0-hist.parquet")),
        "{keys:?}"
    );
    assert_eq!(
        keys.len(),
        10,
        "original, rows, 4 splits × 2 partials: {keys:?}"
    );
    let kpis = |d: &DataDir| {
        ok(
            d,
            &s3,
            &[
                "kpi",
                "--kind",
                "visits",
                "--by",
                "month,office",
                "--format",
                "json",
            ],
        )
    };
    let before = kpis(&d);
    compare(
        "independent/expected_visits_clean.json",
        &serde_json::from_str::<Vec<serde_json::Map<String, serde_json::Value>>>(&before).unwrap(),
    );

    // The local copies gone (a new machine with the same catalogue): the same figures, and
    // the original byte for byte, from the bucket.
    for dir in ["batches", "originals"] {
        std::fs::remove_dir_all(d.path().join(dir)).unwrap();
    }
    assert_eq!(kpis(&d), before);
    let b = DataDir::new();
    let report = ok(&d, &s3, &["backup", "--to", b.path().to_str().unwrap()]);
    assert!(report.contains("10 Dateien kopiert"), "{report}");
    let backup = kennzahl::store::Store::open_with(b.path(), None).unwrap();
    assert_eq!(
        backup.original(1).unwrap(),
        std::fs::read(fixture("independent/visits_clean.csv")).unwrap()
    );
}

#[test]
fn an_unreachable_bucket_is_a_clear_error_and_nothing_is_published() {
    let s3 = S3::start("other");
    let d = DataDir::new();
    // The bucket `kennzahl` does not exist on this server.
    let out = kennzahl(
        &d,
        &s3,
        &[
            "import",
            &fixture("independent/visits_clean.csv"),
            "--kind",
            "visits",
            "--publish",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Objektspeicher") && err.contains("KENNZAHL_OBJECT_STORE"),
        "{err}"
    );
    let out = kennzahl(
        &d,
        &s3,
        &["kpi", "--kind", "visits", "--by", "month,office"],
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 1, "only the header: {table}");
}
