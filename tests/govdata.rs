//! GovData harvests the open-data catalogue only if it passes GovData's own SHACL shapes
//! (DCAT-AP.de 3.0 and 2.0 with conventions). `tests/fixtures/govdata/validate.py` runs them
//! with pyshacl as GovData's validator does (shapes, sources and licences in its README);
//! `.ci/run` installs pyshacl and names the Python in `KENNZAHL_SHACL_PYTHON`.

mod common;
use common::*;
use kennzahl::config::Settings;

/// Validates the catalogue served with `settings`: exit code and the validator's report.
async fn validate(settings: Settings) -> (i32, String) {
    let d = with_clean_visits();
    let app = router_with(&d, settings);
    let (status, _, body) = get(&app, "/opendata/catalog.jsonld").await;
    assert_eq!(status, 200);
    let file = d.path().join("catalog.jsonld");
    std::fs::write(&file, &body).unwrap();
    let python = std::env::var("KENNZAHL_SHACL_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg(fixture("govdata/validate.py"))
        .arg(&file)
        .arg("--quiet")
        .output()
        .unwrap_or_else(|e| panic!("{python} could not run: {e}"));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(
        code, 2,
        "the validator could not run (is pyshacl installed for {python}? .ci/run installs it): {report}"
    );
    (code, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_govdata_settings_the_catalogue_passes_govdatas_shapes() {
    let settings = Settings {
        public_url: Some("https://kennzahlen.musterstadt.example".into()),
        govdata_contributor: Some("openNRW".into()),
        municipality_key: Some("05124000".into()),
        municipality_centroid: Some("POINT(7.18 51.26)".into()),
        ..Settings::default()
    };
    let (code, report) = validate(settings).await;
    assert_eq!(code, 0, "violations or warnings:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_them_govdata_would_refuse_it_and_serve_says_which_are_missing() {
    let settings = Settings::default();
    let (code, report) = validate(settings.clone()).await;
    assert_eq!(code, 1, "{report}");
    assert!(report.contains("contributorID"), "{report}");
    let missing = settings.missing_for_govdata();
    for setting in ["public_url", "govdata_contributor", "municipality_key"] {
        assert!(
            missing.iter().any(|m| m.starts_with(setting)),
            "{setting} in {missing:?}"
        );
    }
}

#[test]
fn settings_govdata_cannot_use_are_refused_when_loaded() {
    for (contributor, key, centroid) in [
        (Some("open NRW"), None, None),
        (None, Some("5124000"), None),
        (None, Some("0512400a"), None),
        (None, None, Some("POINT(7.18)")),
        (None, None, Some("7.18 51.26")),
    ] {
        let s = Settings {
            govdata_contributor: contributor.map(String::from),
            municipality_key: key.map(String::from),
            municipality_centroid: centroid.map(String::from),
            ..Settings::default()
        };
        assert!(s.check().is_err(), "{contributor:?} {key:?} {centroid:?}");
    }
}
