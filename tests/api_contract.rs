//! The data API keeps the contract its OpenAPI document states: Schemathesis (from PyPI;
//! `.ci/run` installs it and names its Python in `KENNZAHL_SCHEMATHESIS_PYTHON`) generates
//! requests from `/api/v1/openapi.json` against the real binary on the demo city, valid ones
//! (every grouping, filter and month the document allows must be answered) and invalid ones
//! (which must be refused with 4xx), and checks status codes, content types and the answers'
//! shapes. Bounded: a fixed number of examples per operation and a fixed seed.

mod common;
use common::*;

#[test]
fn schemathesis_finds_nothing_against_the_openapi_document() {
    let d = with_demo_city();
    let server = serve(&d, &[], None);
    let python = std::env::var("KENNZAHL_SCHEMATHESIS_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args([
            "-m",
            "schemathesis.cli",
            "run",
            &format!("http://{}/api/v1/openapi.json", server.addr),
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--seed",
            "20261126",
            "--workers",
            "2",
            "--no-color",
        ])
        // Schemathesis keeps a cache in its working folder: the data folder, not the checkout.
        .current_dir(d.path())
        .output()
        .unwrap_or_else(|e| panic!("{python} could not run: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "Schemathesis found problems (exit {:?}):\n{report}",
        out.status.code()
    );
    // It did test every kind's operation.
    assert!(report.contains("Tested: 5"), "{report}");
}
