//! The public pages in a real browser: starts `kennzahl serve` on an empty data folder (so
//! it loads the demo city) and runs tests/browser/walk.mjs in Debian's headless Chromium
//! with Playwright and axe-core. Needs `/usr/bin/chromium` and the npm packages of
//! tests/browser (`.ci/run` installs both).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn public_pages_pass_axe_at_phone_and_desktop_width() {
    let root = env!("CARGO_MANIFEST_DIR");
    let walker = format!("{root}/tests/browser/walk.mjs");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists()
            && std::path::Path::new(&format!(
                "{root}/tests/browser/node_modules/playwright-core"
            ))
            .exists(),
        "browser tests need Chromium and the npm packages: apt-get install -y chromium && npm ci --prefix tests/browser"
    );
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_kennzahl"))
            .arg("--data")
            .arg(data.path())
            .args(["serve", "--listen", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    loop {
        if std::net::TcpStream::connect(&addr).is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = Command::new("node")
        .arg(&walker)
        .env("KENNZAHL_URL", format!("http://{addr}"))
        .env("SCREENSHOTS", format!("{root}/target/screenshots"))
        .output()
        .expect("node runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "browser walk failed:\n{log}");
    assert!(log.contains("0 failures"), "{log}");
}
