//! The site in a real browser: starts `kennzahl serve` on an empty data folder (so it loads
//! the demo city) and runs a walker in Debian's headless Chromium with Playwright and
//! axe-core: tests/browser/walk.mjs for the public pages, tests/browser/staff.mjs for the
//! staff journey (log in, upload, fix, submit, approve, see it public). Needs
//! `/usr/bin/chromium` and the npm packages of tests/browser (`.ci/run` installs both).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn require_browser() {
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && std::path::Path::new(&format!(
                "{ROOT}/tests/browser/node_modules/playwright-core"
            ))
            .exists(),
        "browser tests need Chromium and the npm packages: apt-get install -y chromium && npm ci --prefix tests/browser"
    );
}

/// Starts `kennzahl serve` on a data folder and waits until it answers.
fn serve(data: &std::path::Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_kennzahl"))
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (server, format!("http://{addr}"))
}

/// Runs a walker script against a URL and requires it to report no failures.
fn walk(script: &str, url: &str, env: &[(&str, &str)]) {
    let out = Command::new("node")
        .arg(format!("{ROOT}/tests/browser/{script}"))
        .env("KENNZAHL_URL", url)
        .env("SCREENSHOTS", format!("{ROOT}/target/screenshots"))
        .env("FIXTURES", format!("{ROOT}/tests/fixtures"))
        .envs(env.iter().copied())
        .output()
        .expect("node runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser walk failed:\n{log}");
    assert!(log.contains(" 0 failures"), "{log}");
}

#[test]
fn public_pages_pass_axe_at_phone_and_desktop_width() {
    require_browser();
    let data = tempfile::tempdir().unwrap();
    let (_server, url) = serve(data.path());
    walk("walk.mjs", &url, &[]);
}

const PASSWORD: &str = "ein sehr langes passwort";

fn add_user(data: &std::path::Path, name: &str, role: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kennzahl"));
    cmd.arg("--data")
        .arg(data)
        .args(["user", "add", name, "--role", role]);
    common::with_password(cmd, PASSWORD);
}

#[test]
fn staff_journey_from_upload_to_public_page() {
    require_browser();
    let data = tempfile::tempdir().unwrap();
    add_user(data.path(), "anna", "editor");
    add_user(data.path(), "paul", "publisher");
    add_user(data.path(), "ada", "admin");
    let (_server, url) = serve(data.path());
    walk("staff.mjs", &url, &[("STAFF_PASSWORD", PASSWORD)]);
}
