//! A real S3-compatible server for the tests: moto from PyPI (`.ci/run` installs it and names
//! its Python in `KENNZAHL_MOTO_PYTHON`), on a free port. Where it cannot start, the tests
//! fail saying so; they do not skip.

#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A moto S3 server on a free port, with one bucket; killed when dropped.
pub struct S3 {
    child: std::process::Child,
    pub endpoint: String,
    python: String,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3 {
    pub fn start(bucket: &str) -> S3 {
        let python = std::env::var("KENNZAHL_MOTO_PYTHON").unwrap_or_else(|_| "python3".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Spawned from a thread that lives as long as the test process and tied to it: a
        // server kept in a static (`shared`) is never dropped, and must not outlive the tests.
        let test_pid = unsafe { libc::getpid() };
        let py = python.clone();
        let child = super::postgres::spawn_from_lifelong_thread(Box::new(move || {
            let mut cmd = Command::new(&py);
            cmd.args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
            super::postgres::run_as(&mut cmd, None, Some(test_pid));
            cmd.spawn()
        }))
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
    pub fn boto(&self, code: &str) -> String {
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
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.boto(&format!(
            "for o in s3.list_objects_v2(Bucket={bucket:?}, Prefix={prefix:?}).get('Contents', []): print(o['Key'])"
        ))
        .lines()
        .map(str::to_string)
        .collect()
    }
}

impl S3 {
    /// One server for the whole test process, with the bucket `kennzahl` (started on first
    /// use; it ends with the process).
    pub fn shared() -> &'static S3 {
        static SHARED: OnceLock<S3> = OnceLock::new();
        SHARED.get_or_init(|| S3::start("kennzahl"))
    }

    /// The settings that point `kennzahl` at this server's bucket under `prefix`.
    pub fn env(&self, bucket: &str, prefix: &str) -> Vec<(String, String)> {
        [
            ("KENNZAHL_OBJECT_STORE", format!("s3://{bucket}/{prefix}")),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
