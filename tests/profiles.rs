//! Mapping profiles for real formats: `date_format`, `empty`, `[values.COLUMN]` with
//! `ignore`, and a real public request log read with them (tests/fixtures/profiles/).

mod common;
use common::*;
use kennzahl::i18n::Lang;
use kennzahl::ingest::map::Profile;
use kennzahl::ingest::problem::{Issue, UploadError};
use kennzahl::ingest::{Options, Upload, read_upload};
use kennzahl::kinds::Kind;
use kennzahl::timefmt::days_from_civil;
use polars::prelude::DataType;

/// Reads an export with a profile given as TOML; "today" is 1 January 2026.
fn read(text: &str, kind: Kind, profile: &str) -> Result<Upload, UploadError> {
    let opts = Options {
        kind: Some(kind),
        profile: Some(Profile::parse(profile).expect("profile")),
        today: Some(days_from_civil(2026, 1, 1)),
        ..Options::default()
    };
    read_upload(text.as_bytes(), &opts)
}

fn texts(u: &Upload, column: &str) -> Vec<Option<String>> {
    u.parsed
        .frame
        .column(column)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn numbers(u: &Upload, column: &str) -> Vec<Option<f64>> {
    let c = u.parsed.frame.column(column).unwrap();
    c.f64().unwrap().iter().collect()
}

/// A datetime column as epoch milliseconds.
fn millis(u: &Upload, column: &str) -> Vec<Option<i64>> {
    let c = u.parsed.frame.column(column).unwrap();
    c.cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect()
}

fn notices(u: &Upload, lang: Lang) -> Vec<String> {
    u.notices.iter().map(|n| n.text(lang).to_string()).collect()
}

/// The DOJ's FOIA request log 2017 (244 closed requests, dates MM/DD/YYYY) through
/// tests/fixtures/profiles/foia.toml: every KPI cell per (month, office) equals what
/// expected_foia.py computes from the CSV with Python's csv and datetime alone. For example
/// the Office of the Attorney General, July 2017: 30 requests closed, median 72.5 days,
/// 90th percentile 1106 days, 41 still open at the end of July; August has no backlog (the
/// log lists closed requests only), so it is suppressed.
#[test]
fn doj_foia_log_2017_read_with_its_profile_gives_the_independent_figures() {
    let d = DataDir::new();
    let out = d.ok(&[
        "import",
        &fixture("profiles/foia-log-2017.csv"),
        "--kind",
        "cases",
        "--profile",
        &fixture("profiles/foia.toml"),
        "--publish",
    ]);
    assert!(out.contains("244 Zeilen gelesen, 0 übersprungen"), "{out}");
    assert!(out.contains("Zeitraum 2017-06 – 2017-08"), "{out}");
    assert!(
        out.contains("Spalte „Detail“ wird nicht verwendet."),
        "{out}"
    );
    let rows = d.kpi_json(&["--kind", "cases", "--by", "month,office"]);
    compare("profiles/expected_foia.json", &rows);
    let ag = row(
        &rows,
        &[
            ("month", "2017-07"),
            ("office", "Office of the Attorney General"),
        ],
    );
    assert_num(ag, "decided", 30.0);
    assert_num(ag, "processing_days_median", 72.5);
    assert_num(ag, "processing_days_p90", 1106.0);
    assert_num(ag, "backlog", 41.0);
    let ag_august = row(
        &rows,
        &[
            ("month", "2017-08"),
            ("office", "Office of the Attorney General"),
        ],
    );
    assert_num(ag_august, "decided", 42.0);
    assert_suppressed(ag_august, "backlog");
}

/// Without `date_format` the same log is read as dd/mm/yyyy: `07/31/2017` is no date, and
/// the file is refused instead of being misread.
#[test]
fn without_its_date_format_the_foia_log_is_refused() {
    let d = DataDir::new();
    let profile = std::fs::read_to_string(fixture("profiles/foia.toml"))
        .unwrap()
        .replace("date_format = \"%m/%d/%Y\"\n", "");
    assert!(!profile.contains("date_format"));
    let p = d.path().join("no_format.toml");
    std::fs::write(&p, profile).unwrap();
    let out = d.run(&[
        "import",
        &fixture("profiles/foia-log-2017.csv"),
        "--kind",
        "cases",
        "--profile",
        p.to_str().unwrap(),
        "--publish",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("kein gültiges Datum"), "{err}");
}

const CASES_PROFILE: &str = r#"
kind = "cases"
office = "Bauamt"
[columns]
case_id = "Nr"
received_on = "Eingang am"
decided_on = "Erledigt"
outcome = "Code"
"#;

#[test]
fn empty_values_mean_no_value() {
    let csv = "Nr;Eingang am;Erledigt;Code\n\
               A1;03.03.2025;10.03.2025;G\n\
               A2;04.03.2025;NA;-\n\
               A3;05.03.2025; - ;G\n";
    let profile = format!("empty = [\"NA\", \"-\"]\n{CASES_PROFILE}");
    let u = read(csv, Kind::Cases, &profile).unwrap();
    assert_eq!(u.parsed.rows, 3);
    assert_eq!(numbers(&u, "processing_days"), vec![Some(7.0), None, None]);
    assert_eq!(
        texts(&u, "outcome"),
        vec![Some("G".into()), None, Some("G".into())]
    );

    // Without `empty`, "NA" is a date that cannot be read.
    let Err(UploadError::Invalid { problems, .. }) = read(csv, Kind::Cases, CASES_PROFILE) else {
        panic!("NA read as a date");
    };
    assert_eq!(problems[0].line, 3);
    assert_eq!(problems[0].column, "Erledigt");
    assert_eq!(problems[0].value, "NA");
    assert_eq!(problems[0].issue, Issue::NotADate);
}

const CODES: &str = "Nr;Eingang am;Erledigt;Code\n\
                     A1;03.03.2025;10.03.2025;G\n\
                     A2;04.03.2025;11.03.2025;PHANTOM\n\
                     A3;05.03.2025;12.03.2025;D\n\
                     A4;05.03.2025;12.03.2025; PHANTOM \n\
                     A5;06.03.2025;13.03.2025;Sonstiges\n\
                     A6;06.03.2025;;X\n";

const CODES_PROFILE: &str = r#"
[values.outcome]
granted = ["G"]
denied = ["D"]
ignore = ["PHANTOM", "X"]
"#;

/// Codes become canonical values, a code not listed stays as it is, and rows whose code is
/// listed under `ignore` are left out and counted in a notice.
#[test]
fn codes_are_mapped_and_ignored_rows_are_counted() {
    let u = read(
        CODES,
        Kind::Cases,
        &format!("{CASES_PROFILE}{CODES_PROFILE}"),
    )
    .unwrap();
    assert_eq!(u.parsed.rows, 3);
    assert_eq!(u.skipped, 0);
    assert_eq!(
        texts(&u, "case_id"),
        vec![Some("A1".into()), Some("A3".into()), Some("A5".into())]
    );
    assert_eq!(
        texts(&u, "outcome"),
        vec![
            Some("granted".into()),
            Some("denied".into()),
            Some("Sonstiges".into())
        ]
    );
    let de = notices(&u, Lang::De);
    assert!(
        de.contains(&"2 Zeilen übersprungen, weil „outcome“ = PHANTOM (laut Profil).".to_string()),
        "{de:?}"
    );
    assert!(
        de.contains(&"1 Zeile übersprungen, weil „outcome“ = X (laut Profil).".to_string()),
        "{de:?}"
    );
    let en = notices(&u, Lang::En);
    assert!(
        en.contains(
            &"2 rows skipped because \"outcome\" = PHANTOM (as the profile says).".to_string()
        ),
        "{en:?}"
    );
}

/// The same through `kennzahl import`: the summary says how many rows the profile left out.
#[test]
fn the_import_summary_counts_ignored_rows() {
    let d = DataDir::new();
    let file = d.path().join("codes.csv");
    let profile = d.path().join("codes.toml");
    std::fs::write(&file, CODES).unwrap();
    std::fs::write(&profile, format!("{CASES_PROFILE}{CODES_PROFILE}")).unwrap();
    let out = d.ok(&[
        "import",
        file.to_str().unwrap(),
        "--kind",
        "cases",
        "--profile",
        profile.to_str().unwrap(),
        "--publish",
    ]);
    assert!(out.contains("3 Zeilen gelesen, 0 übersprungen"), "{out}");
    assert!(
        out.contains("2 Zeilen übersprungen, weil „outcome“ = PHANTOM (laut Profil)."),
        "{out}"
    );
    assert!(
        out.contains("1 Zeile übersprungen, weil „outcome“ = X (laut Profil)."),
        "{out}"
    );
}

/// Yes/no written as codes (`T`/`S`), and times `H:MM:SS` without a leading zero.
#[test]
fn boolean_codes_and_hours_without_a_leading_zero() {
    let csv = "Amt;Tag;Ankunft;Aufruf;Ende;Termin\n\
               Bürgeramt;03.03.2025;9:05:00;9:12:30;9:20:00;T\n\
               Bürgeramt;03.03.2025;10:00:00;10:30:00;10:45:00;S\n\
               Bürgeramt;04.03.2025;8:00:00;8:03:00;8:10:00;T\n";
    let profile = r#"
kind = "visits"
[columns]
office = "Amt"
date = "Tag"
arrived = "Ankunft"
called = "Aufruf"
finished = "Ende"
appointment = "Termin"
[values.appointment]
true = ["T"]
false = ["S"]
"#;
    let u = read(csv, Kind::Visits, profile).unwrap();
    assert_eq!(u.parsed.rows, 3);
    let appointment: Vec<Option<bool>> = u
        .parsed
        .frame
        .column("appointment")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(appointment, vec![Some(true), Some(false), Some(true)]);
    let at = |d: u32, h: i64, m: i64, s: i64| {
        Some((days_from_civil(2025, 3, d) as i64 * 86_400 + h * 3600 + m * 60 + s) * 1000)
    };
    assert_eq!(
        millis(&u, "arrived_at"),
        vec![at(3, 9, 5, 0), at(3, 10, 0, 0), at(4, 8, 0, 0)]
    );
    assert_eq!(
        millis(&u, "called_at"),
        vec![at(3, 9, 12, 30), at(3, 10, 30, 0), at(4, 8, 3, 0)]
    );

    // Without the codes, T and S are not yes/no.
    let plain = profile.split("[values").next().unwrap();
    let Err(UploadError::Invalid { problems, total }) = read(csv, Kind::Visits, plain) else {
        panic!("T read as yes/no");
    };
    assert_eq!(total, 3);
    assert_eq!(problems[0].issue, Issue::NotABool);
}

/// A value not in the date format is a problem with its line, column and value, and the
/// message names the format and shows an example.
#[test]
fn a_value_not_in_the_date_format_is_a_located_problem() {
    let csv = "Nr,Submitted,Closed\n\
               A1,07/03/2017,07/31/2017\n\
               A2,2017-07-04,07/31/2017\n\
               A3,07/05/2017,31/07/2017\n";
    let profile = r#"
kind = "cases"
office = "FOIA"
date_format = "%m/%d/%Y"
[columns]
case_id = "Nr"
received_on = "Submitted"
decided_on = "Closed"
"#;
    let Err(UploadError::Invalid { problems, total }) = read(csv, Kind::Cases, profile) else {
        panic!("dates in another format accepted");
    };
    assert_eq!(total, 2);
    let issue = Issue::NotInDateFormat {
        format: "%m/%d/%Y".into(),
        example: "03/31/2025".into(),
    };
    assert_eq!(
        (
            problems[0].line,
            problems[0].column.as_str(),
            problems[0].value.as_str()
        ),
        (3, "Submitted", "2017-07-04")
    );
    assert_eq!(problems[0].issue, issue);
    assert_eq!(
        (
            problems[1].line,
            problems[1].column.as_str(),
            problems[1].value.as_str()
        ),
        (4, "Closed", "31/07/2017")
    );
    assert_eq!(
        problems[0].render(Lang::De),
        "Zeile 3, Spalte „Submitted“, Wert „2017-07-04“: passt nicht zum Datumsformat „%m/%d/%Y“ des Zuordnungsprofils; erwartet z. B. 03/31/2025"
    );
    assert_eq!(
        problems[1].render(Lang::En),
        "line 4, column \"Closed\", value \"31/07/2017\": does not match the mapping profile's date format \"%m/%d/%Y\"; expected e.g. 03/31/2025"
    );

    // The valid row alone: 3 to 31 July, read as US dates.
    let opts = Options {
        kind: Some(Kind::Cases),
        profile: Some(Profile::parse(profile).unwrap()),
        today: Some(days_from_civil(2026, 1, 1)),
        skip_invalid: true,
        ..Options::default()
    };
    let u = read_upload(csv.as_bytes(), &opts).unwrap();
    assert_eq!(u.parsed.rows, 1);
    assert_eq!(numbers(&u, "processing_days"), vec![Some(28.0)]);
}

/// A format chrono does not know, or one without a whole date, is refused when the profile
/// is loaded, by the library and by `kennzahl import`.
#[test]
fn an_invalid_date_format_is_refused_when_the_profile_is_loaded() {
    let with = |f: &str| format!("kind = \"cases\"\ndate_format = \"{f}\"\n");
    let Err(UploadError::Profile(msg)) = Profile::parse(&with("%m/%Q/%Y")) else {
        panic!("%Q accepted");
    };
    assert!(msg.contains("%m/%Q/%Y"), "{msg}");
    assert!(msg.contains("unknown % specifier"), "{msg}");
    for f in ["%H:%M", "%m/%Y", ""] {
        let Err(UploadError::Profile(msg)) = Profile::parse(&with(f)) else {
            panic!("{f:?} accepted");
        };
        assert!(msg.contains("date_format"), "{msg}");
    }
    assert!(Profile::parse(&with("%y%m%d")).is_ok());

    let d = DataDir::new();
    let p = d.path().join("bad.toml");
    std::fs::write(
        &p,
        "kind = \"cases\"\ndate_format = \"%m/%Q/%Y\"\n[columns]\ncase_id = \"Tracking Number\"\n",
    )
    .unwrap();
    let out = d.run(&[
        "import",
        &fixture("profiles/foia-log-2017.csv"),
        "--kind",
        "cases",
        "--profile",
        p.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("%m/%Q/%Y"), "{err}");
}

/// A typo in a key is an error that names it: at the top, as a column of `[values]`.
#[test]
fn a_typo_in_a_key_is_an_error_naming_it() {
    for (text, named) in [
        (
            "kind = \"cases\"\ndate_fromat = \"%m/%d/%Y\"\n",
            "`date_fromat`",
        ),
        ("kind = \"cases\"\nemtpy = [\"NA\"]\n", "`emtpy`"),
        (
            "kind = \"cases\"\n[value.outcome]\nignore = [\"X\"]\n",
            "`value`",
        ),
        (
            "kind = \"cases\"\n[values.outcom]\nignore = [\"X\"]\n",
            "outcom",
        ),
    ] {
        let Err(UploadError::Profile(msg)) = Profile::parse(text) else {
            panic!("{text} accepted");
        };
        assert!(msg.contains(named), "{named}: {msg}");
    }
    // A code under two values.
    let Err(UploadError::Profile(msg)) =
        Profile::parse("kind = \"cases\"\n[values.outcome]\ngranted = [\"G\"]\ndenied = [\"G\"]\n")
    else {
        panic!("G under two values accepted");
    };
    assert!(msg.contains("„G“"), "{msg}");
    // Without a kind in the profile, `[values]` is checked against the kind of the upload.
    let csv = "Nr;Eingang am\nA1;03.03.2025\n";
    let profile = "office = \"Bauamt\"\n[columns]\ncase_id = \"Nr\"\nreceived_on = \"Eingang am\"\n[values.outcom]\nignore = [\"X\"]\n";
    let Err(UploadError::Profile(msg)) = read(csv, Kind::Cases, profile) else {
        panic!("values.outcom accepted");
    };
    assert!(msg.contains("outcom"), "{msg}");
}

/// The new keys survive saving (the staff form keeps profiles as TOML), and a profile
/// without them is written as before.
#[test]
fn profiles_with_value_rules_are_saved_and_read_back() {
    let text = format!(
        "date_format = \"%d.%m.%y\"\nempty = [\"NA\", \"-\"]\n{CASES_PROFILE}{CODES_PROFILE}"
    );
    let p = Profile::parse(&text).unwrap();
    assert_eq!(p.date_format.as_deref(), Some("%d.%m.%y"));
    assert_eq!(p.empty, vec!["NA", "-"]);
    assert_eq!(p.values["outcome"]["ignore"], vec!["PHANTOM", "X"]);
    assert_eq!(Profile::parse(&p.to_toml()).unwrap(), p);

    let plain = Profile::parse(CASES_PROFILE).unwrap();
    let saved = plain.to_toml();
    for key in ["date_format", "empty", "values"] {
        assert!(!saved.contains(key), "{saved}");
    }
    assert_eq!(Profile::parse(&saved).unwrap(), plain);
}

// ---- The staff mapping form saves the date format and the empty values. ----

mod web {
    use super::common::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use kennzahl::config::Settings;

    use tower::ServiceExt;

    const PASSWORD: &str = "ein sehr langes passwort";

    pub struct Resp {
        pub status: StatusCode,
        pub headers: axum::http::HeaderMap,
        pub body: String,
    }

    /// `kennzahl user add NAME --role editor` (responsible for all offices).
    pub fn add_editor(d: &DataDir, name: &str) {
        with_password(
            d.command(&["user", "add", name, "--role", "editor"]),
            PASSWORD,
        );
    }

    pub fn app(d: &DataDir) -> axum::Router {
        kennzahl::web::router(d.store(), Settings::default()).unwrap()
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

    fn cookie(r: &Resp, name: &str) -> String {
        let set = r
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .expect("cookie");
        set.split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_string()
    }

    fn csrf_of(html: &str) -> String {
        let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
        html[at..at + 64].to_string()
    }

    fn urlencode(s: &str) -> String {
        kennzahl::present::views::url_encode(s)
    }

    /// A logged-in browser.
    pub struct Browser {
        session: String,
        csrf: String,
    }

    pub async fn log_in(app: &axum::Router, name: &str) -> Browser {
        let form = send(
            app,
            Request::get("/staff/login").body(Body::empty()).unwrap(),
        )
        .await;
        let r = send(
            app,
            Request::post("/staff/login")
                .header(
                    header::COOKIE,
                    format!("kz_login={}", cookie(&form, "kz_login")),
                )
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "csrf={}&name={}&password={}",
                    csrf_of(&form.body),
                    urlencode(name),
                    urlencode(PASSWORD)
                )))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let session = cookie(&r, "kz_session");
        let home = send(
            app,
            Request::get("/staff")
                .header(header::COOKIE, format!("kz_session={session}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        Browser {
            csrf: csrf_of(&home.body),
            session,
        }
    }

    impl Browser {
        pub async fn post(&self, app: &axum::Router, uri: &str, form: &[(&str, &str)]) -> Resp {
            let mut body = format!("csrf={}", self.csrf);
            for (k, v) in form {
                body.push_str(&format!("&{k}={}", urlencode(v)));
            }
            send(
                app,
                Request::post(uri)
                    .header(header::COOKIE, format!("kz_session={}", self.session))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
        }

        pub async fn upload(&self, app: &axum::Router, bytes: &[u8], kind: &str) -> Resp {
            let (content_type, body) = multipart(
                &[("csrf", self.csrf.as_str()), ("kind", kind), ("office", "")],
                &[("foia.csv", bytes)],
            );
            send(
                app,
                Request::post("/staff/upload")
                    .header(header::COOKIE, format!("kz_session={}", self.session))
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
        }
    }

    /// The token of the mapping form on a page (`/staff/mapping/{token}`).
    pub fn mapping_token(html: &str) -> String {
        let at = html.find("/staff/mapping/").expect("a mapping form") + 15;
        html[at..].split(['"', '?']).next().unwrap().to_string()
    }
}

/// The FOIA log uploaded in the staff area: its headers are mapped in the form, with the
/// date format and the empty values, which are checked, kept when the form comes back and
/// saved in the profile with the stored upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mapping_form_saves_date_format_and_empty_values() {
    use axum::http::StatusCode;
    let d = DataDir::new();
    web::add_editor(&d, "erika");
    let app = web::app(&d);
    let erika = web::log_in(&app, "erika").await;
    let foia = std::fs::read(fixture("profiles/foia-log-2017.csv")).unwrap();
    let r = erika.upload(&app, &foia, "cases").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("name=\"date_format\""), "{}", r.body);
    assert!(r.body.contains("name=\"empty\""), "{}", r.body);
    let path = format!("/staff/mapping/{}", web::mapping_token(&r.body));
    let form = |date_format: &'static str| {
        [
            ("kind", "cases"),
            ("office", ""),
            ("c0", "case_id"),
            ("c1", "office"),
            ("c2", "received_on"),
            ("c3", "decided_on"),
            ("c4", "drop"),
            ("c5", "outcome"),
            ("date_format", date_format),
            ("empty", "NA, -"),
        ]
    };

    // A format chrono does not know: said in the form, which keeps what was typed.
    let r = erika.post(&app, &path, &form("%m/%Q/%Y")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // (The page escapes "/".)
    assert!(
        r.body.contains("Datumsformat: date_format „%m"),
        "{}",
        r.body
    );
    assert!(r.body.contains("unbekannte %-Angabe"), "{}", r.body);
    assert!(r.body.contains("value=\"NA, -\""), "{}", r.body);

    let r = erika.post(&app, &path, &form("%m/%d/%Y")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("noch nicht veröffentlicht"), "{}", r.body);
    let profiles = kennzahl::import::read_profiles(d.store().profiles().unwrap());
    assert_eq!(profiles.len(), 1, "{profiles:?}");
    let p = &profiles[0].1;
    assert_eq!(p.date_format.as_deref(), Some("%m/%d/%Y"));
    assert_eq!(p.empty, vec!["NA", "-"]);
    assert_eq!(p.drop, vec!["Detail"]);
}

/// A visits file over 4 MB is read in two halves at once: the rows the profile leaves out
/// are counted in both and reported once, and empty values are emptied in both.
#[test]
fn a_large_visits_file_read_in_halves_counts_ignored_rows_once() {
    let mut csv = String::from("Amt;Tag;Ankunft;Aufruf;Anliegen\n");
    let (mut ignored, mut never_called) = (0, 0);
    let n = 110_000;
    for i in 0..n {
        let service = if i % 10 == 3 {
            ignored += 1;
            "TEST".to_string()
        } else {
            format!("Anliegen {i}")
        };
        let called = if i % 7 == 0 && i % 10 != 3 {
            never_called += 1;
            "NA".to_string()
        } else {
            format!("{}:{:02}:30", 8 + i % 9, i % 60)
        };
        csv.push_str(&format!(
            "Bürgeramt;{:02}.03.2025;{}:{:02}:00;{called};{service}\n",
            1 + i % 28,
            8 + i % 9,
            i % 60
        ));
    }
    assert!(csv.len() > 4 << 20, "{} bytes", csv.len());
    let profile = r#"
kind = "visits"
empty = ["NA"]
[columns]
office = "Amt"
date = "Tag"
arrived = "Ankunft"
called = "Aufruf"
service = "Anliegen"
[values.service]
ignore = ["TEST"]
"#;
    let u = read(&csv, Kind::Visits, profile).unwrap();
    assert_eq!(u.parsed.rows, n - ignored);
    let called = millis(&u, "called_at");
    assert_eq!(called.iter().filter(|c| c.is_none()).count(), never_called);
    let de = notices(&u, Lang::De);
    assert_eq!(
        de,
        vec![format!(
            "{ignored} Zeilen übersprungen, weil „service“ = TEST (laut Profil)."
        )]
    );
}
