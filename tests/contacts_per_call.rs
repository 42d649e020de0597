//! contacts as one row per call or chat: the real "Anonymous Bank" call-centre log read with
//! its profile against an independent computation (tests/fixtures/contacts/), calls worked
//! out on paper, totals and calls of different months side by side, and the problems of
//! malformed calls with their line and column.

mod common;
use common::*;
use kennzahl::ingest::map::Profile;
use kennzahl::ingest::problem::{HeaderError, Issue, UploadError};
use kennzahl::ingest::{Options, Upload, read_upload};
use kennzahl::kinds::Kind;
use kennzahl::kpi::contacts::{ANSWER_TARGET_KPI, aggregate};
use kennzahl::store::Target;
use kennzahl::timefmt::days_from_civil;
use polars::prelude::*;
use serde_json::{Map, Value};

/// The KPI columns of contacts.
const KPIS: [&str; 5] = [
    "offered",
    "answered",
    "answer_rate",
    "service_level",
    "handle_time_mean_min",
];

/// Reads an export as contacts of the Service-Center; "today" is 1 January 2026.
fn read(text: &str, profile: Option<&str>) -> Result<Upload, UploadError> {
    let opts = Options {
        kind: Some(Kind::Contacts),
        office: Some("Service-Center".into()),
        profile: profile.map(|p| Profile::parse(p).expect("profile")),
        today: Some(days_from_civil(2026, 1, 1)),
        ..Options::default()
    };
    read_upload(text.as_bytes(), &opts)
}

fn ints(u: &Upload, column: &str) -> Vec<i64> {
    let c = u.parsed.frame.column(column).unwrap();
    c.i64().unwrap().iter().map(|v| v.unwrap()).collect()
}

fn floats(u: &Upload, column: &str) -> Vec<Option<f64>> {
    let c = u.parsed.frame.column(column).unwrap();
    c.f64().unwrap().iter().collect()
}

/// Writes `text` into the data folder and imports it as contacts of the Service-Center.
fn import(d: &DataDir, name: &str, text: &str) -> String {
    let path = d.path().join(name);
    std::fs::write(&path, text).unwrap();
    d.ok(&[
        "import",
        path.to_str().unwrap(),
        "--kind",
        "contacts",
        "--office",
        "Service-Center",
        "--publish",
    ])
}

/// The "Anonymous Bank" call centre (Technion), 1–3 February 1999, VRU line AA0101: 251
/// calls as logged (tab-separated, dates YYMMDD, times H:MM:SS without a leading zero,
/// 0:00:00 for "did not happen", outcomes AGENT/HANG/PHANTOM), read with
/// tests/fixtures/contacts/anonymous-bank.toml. Every KPI equals what
/// expected_anonymous_bank.py computes from the raw file with Python's csv module alone:
/// 1 PHANTOM call left out, 25 hang-ups in the voice menu not offered, offered 192 answered
/// + 33 abandoned in the queue = 225, 118 answered within 20 s.
#[test]
fn anonymous_bank_log_read_with_its_profile_gives_the_independent_figures() {
    let d = DataDir::new();
    let out = d.ok(&[
        "import",
        &fixture("contacts/anonymous-bank-1999-02.tsv"),
        "--kind",
        "contacts",
        "--profile",
        &fixture("contacts/anonymous-bank.toml"),
        "--office",
        "Anonymous Bank",
        "--publish",
    ]);
    assert!(out.contains("250 Zeilen gelesen, 0 übersprungen"), "{out}");
    assert!(out.contains("Zeitraum 1999-02"), "{out}");
    assert!(
        out.contains("1 Zeile übersprungen, weil „outcome“ = PHANTOM (laut Profil)."),
        "{out}"
    );
    assert!(
        out.contains("Spalte „server“ wird nicht verwendet."),
        "{out}"
    );
    let rows = d.kpi_json(&["--kind", "contacts", "--by", "month,office"]);
    let text = std::fs::read_to_string(fixture("contacts/expected_anonymous_bank.json")).unwrap();
    let expected: Vec<Map<String, Value>> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), expected.len());
    for e in &expected {
        let month = e["month"].as_str().unwrap();
        let office = e["office"].as_str().unwrap();
        let got = row(&rows, &[("month", month), ("office", office)]);
        for k in KPIS {
            match (&e[k], &got[k]) {
                (Value::Number(a), Value::Number(b)) => {
                    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                    assert!((a - b).abs() < 1e-9, "{month} {office} {k}: {a} ≠ {b}");
                }
                (a, b) => assert_eq!(a, b, "{month} {office} {k}"),
            }
        }
        // The count behind the service level.
        let within = got["service_level"].as_f64().unwrap() * got["answered"].as_f64().unwrap();
        assert!((within - e["answered_within_target"].as_f64().unwrap()).abs() < 1e-6);
    }
    let feb = row(&rows, &[("month", "1999-02")]);
    assert_num(feb, "offered", 225.0);
    assert_num(feb, "answered", 192.0);
    assert_num(feb, "answer_rate", 192.0 / 225.0);
    assert_num(feb, "service_level", 118.0 / 192.0);
}

/// The log's rows checked by hand, read without the KPI engine: call 34536 (line 2) went to
/// an agent without queueing (wait 0, 7:02:55–7:05:41 = 166 s); 34539 (line 5) hung up after
/// 5 s in the queue (offered, not answered); 34585 (line 51) hung up in the voice menu (not
/// offered); 34684 waited exactly 20 s.
#[test]
fn anonymous_bank_rows_by_hand() {
    let text = std::fs::read_to_string(fixture("contacts/anonymous-bank-1999-02.tsv")).unwrap();
    let profile = std::fs::read_to_string(fixture("contacts/anonymous-bank.toml")).unwrap();
    let u = read(&text, Some(&profile)).unwrap();
    assert_eq!(u.parsed.rows, 250);
    let offered = ints(&u, "offered");
    let answered = ints(&u, "answered");
    let wait = floats(&u, "wait_s");
    let handle = floats(&u, "handle_time_mean_min");
    // Frame row i is file line i + 2 up to the PHANTOM call on line 109, i + 3 after it.
    assert_eq!((offered[0], answered[0], wait[0]), (1, 1, Some(0.0)));
    assert!((handle[0].unwrap() - 166.0 / 60.0).abs() < 1e-12);
    assert_eq!((offered[3], answered[3], wait[3]), (1, 0, None));
    assert_eq!((offered[49], answered[49], wait[49]), (0, 0, None));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[50].contains("\t34585\t"));
    assert!(lines[109 - 1].contains("PHANTOM"));
    let i = lines.iter().position(|l| l.contains("\t34684\t")).unwrap() - 2;
    assert_eq!((answered[i], wait[i]), (1, Some(20.0)));
    assert_eq!(offered.iter().sum::<i64>(), 225);
    assert_eq!(answered.iter().sum::<i64>(), 192);
}

/// Without `empty = ["0:00:00"]` the log's "did not happen" is read as midnight: the first
/// call that hung up in the queue (line 5) would have been answered at 0:00:00. The file is
/// refused, not misread.
#[test]
fn without_its_empty_values_the_log_is_refused() {
    let text = std::fs::read_to_string(fixture("contacts/anonymous-bank-1999-02.tsv")).unwrap();
    let profile = std::fs::read_to_string(fixture("contacts/anonymous-bank.toml"))
        .unwrap()
        .replace("empty = [\"0:00:00\"]", "");
    let Err(UploadError::Invalid { problems, .. }) = read(&text, Some(&profile)) else {
        panic!("0:00:00 read as a time");
    };
    let p = &problems[0];
    assert_eq!(
        (p.line, p.column.as_str(), p.value.as_str()),
        (5, "ser_start", "0:00:00")
    );
    assert_eq!(p.issue, Issue::AbandonedWithAnswer);
}

/// Nine calls worked out on paper (times H:MM:SS with or without a leading zero):
///
/// | line | call | what | offered | answered | wait s | within 20 s | handle min |
/// | 2 | 1 | hung up in the voice menu (no queue time) | 0 | 0 | | | |
/// | 3 | 2 | hung up in the queue | 1 | 0 | | | |
/// | 4 | 3 | answered after exactly 20 s | 1 | 1 | 20 | yes | 4 |
/// | 5 | 4 | answered after 21 s | 1 | 1 | 21 | no | 2 |
/// | 6 | 5 | 8:05:00 → 8:05:05, no leading zero | 1 | 1 | 5 | yes | 6 |
/// | 7 | 6 | queued 23:59:50, answered 0:00:15 the next day | 1 | 1 | 25 | no | 3 |
/// | 8 | 7 | chat answered without queueing | 1 | 1 | 0 | yes | 5 |
/// | 9 | 8 | chat, only its wait in seconds | 1 | 1 | 45 | no | |
/// | 10 | 9 | no outcome: answered, as it has an answer time | 1 | 1 | 10 | yes | 1 |
///
/// offered 8, answered 7, answer_rate 7/8, service_level 4/7, handle time 21/6 = 3.5 min.
const CALLS: &str = "Datum;Kanal;Anruf-ID;Eingang Warteschlange;Angenommen;Wartezeit (s);Anrufergebnis;Gesprächsende
03.03.2025;Telefon;1;;;;abandoned;
03.03.2025;Telefon;2;9:00:00;;;abandoned;
03.03.2025;Telefon;3;09:10:00;09:10:20;;answered;09:14:20
03.03.2025;Telefon;4;09:20:00;09:20:21;;answered;09:22:21
03.03.2025;Telefon;5;8:05:00;8:05:05;;answered;8:11:05
03.03.2025;Telefon;6;23:59:50;0:00:15;;answered;0:03:15
04.03.2025;Chat;7;;10:00:00;;angenommen;10:05:00
04.03.2025;Chat;8;;;45;answered;
04.03.2025;Telefon;9;11:00:00;11:00:10;;;11:01:10
";

#[test]
fn calls_worked_out_on_paper() {
    let u = read(CALLS, None).unwrap();
    assert_eq!(ints(&u, "offered"), vec![0, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(ints(&u, "answered"), vec![0, 0, 1, 1, 1, 1, 1, 1, 1]);
    assert_eq!(
        floats(&u, "wait_s"),
        vec![
            None,
            None,
            Some(20.0),
            Some(21.0),
            Some(5.0),
            Some(25.0),
            Some(0.0),
            Some(45.0),
            Some(10.0)
        ]
    );
    let minutes: Vec<Option<f64>> = floats(&u, "handle_time_mean_min")
        .into_iter()
        .map(|m| m.map(|m| (m * 1e9).round() / 1e9))
        .collect();
    assert_eq!(
        minutes,
        vec![
            None,
            None,
            Some(4.0),
            Some(2.0),
            Some(6.0),
            Some(3.0),
            Some(5.0),
            None,
            Some(1.0)
        ]
    );

    // The same through the command line and the KPI engine; the kind is recognised from the
    // headers.
    let d = DataDir::new();
    let path = d.path().join("anrufe.csv");
    std::fs::write(&path, CALLS).unwrap();
    let out = d.ok(&[
        "import",
        path.to_str().unwrap(),
        "--office",
        "Service-Center",
        "--publish",
    ]);
    assert!(out.starts_with("contacts: 9 Zeilen gelesen"), "{out}");
    let rows = d.kpi_json(&["--kind", "contacts", "--by", "month,office"]);
    let march = row(&rows, &[("month", "2025-03")]);
    assert_num(march, "offered", 8.0);
    assert_num(march, "answered", 7.0);
    assert_num(march, "answer_rate", 7.0 / 8.0);
    assert_num(march, "service_level", 4.0 / 7.0);
    assert_num(march, "handle_time_mean_min", 3.5);
    // By channel: the telephone 6 offered, 5 answered, 3 within; the chat's 2 are too few.
    let rows = d.kpi_json(&["--kind", "contacts", "--by", "month,channel"]);
    let phone = row(&rows, &[("channel", "Telefon")]);
    assert_num(phone, "offered", 6.0);
    assert_num(phone, "answer_rate", 5.0 / 6.0);
    assert_num(phone, "service_level", 3.0 / 5.0);
    assert_suppressed(row(&rows, &[("channel", "Chat")]), "offered");
}

/// The office's answer target in seconds (`answer_target_s`, stored like the visits wait
/// target) decides which calls are within target: with 21 s call 4 of the paper example
/// counts too (5 of 7); another office's target changes nothing.
#[test]
fn the_offices_answer_target_in_seconds() {
    let d = DataDir::new();
    import(&d, "anrufe.csv", CALLS);
    let store = d.store();
    let within = |targets: &[Target]| -> (i64, i64) {
        let lf = store.published_rows(Kind::Contacts).unwrap().unwrap();
        let df = aggregate(lf, &[col("month")], targets).collect().unwrap();
        let get = |c: &str| {
            df.column(c)
                .unwrap()
                .cast(&DataType::Int64)
                .unwrap()
                .i64()
                .unwrap()
                .get(0)
                .unwrap()
        };
        (get("_within"), get("_answered_with_target"))
    };
    assert_eq!(within(&[]), (4, 7));
    let target = |office: &str, value: f64| Target {
        office: office.into(),
        kpi: ANSWER_TARGET_KPI.into(),
        value,
        direction: "lower".into(),
    };
    store
        .set_target(Kind::Contacts, &target("Service-Center", 21.0))
        .unwrap();
    store
        .set_target(Kind::Contacts, &target("Bürgeramt", 60.0))
        .unwrap();
    let targets = store.targets(Kind::Contacts).unwrap();
    assert_eq!(within(&targets), (5, 7));
    assert_eq!(within(&[target("Service-Center", 4.0)]), (1, 7));

    // The same through the command line: the service level follows the office's target.
    let level = |d: &DataDir| {
        let rows = d.kpi_json(&["--kind", "contacts", "--by", "office", "--min-cell", "0"]);
        row(&rows, &[("office", "Service-Center")])["service_level"]
            .as_f64()
            .unwrap()
    };
    let d = DataDir::new();
    import(&d, "anrufe.csv", CALLS);
    assert!((level(&d) - 4.0 / 7.0).abs() < 1e-9);
    d.ok(&[
        "target",
        "--kind",
        "contacts",
        "--office",
        "Service-Center",
        "--kpi",
        "answer_target_s",
        "--value",
        "21",
    ]);
    assert!((level(&d) - 5.0 / 7.0).abs() < 1e-9);
    let wrong_kind = d.run(&[
        "target",
        "--kind",
        "cases",
        "--office",
        "Service-Center",
        "--kpi",
        "answer_target_s",
        "--value",
        "21",
    ]);
    assert!(
        !wrong_kind.status.success(),
        "answer_target_s is a contacts setting"
    );
}

/// April as totals with the same figures as March's calls: both months are published side by
/// side, and the KPI plan gives the same numbers for both.
#[test]
fn totals_and_calls_of_different_months_coexist_and_agree() {
    let d = DataDir::new();
    import(&d, "maerz.csv", CALLS);
    import(
        &d,
        "april.csv",
        "Datum;Kanal;Angeboten;Angenommen;In Zielzeit;Gesprächsdauer\n\
         01.04.2025;Telefon;7;6;4;3,5\n\
         02.04.2025;Chat;1;1;0;\n",
    );
    let rows = d.kpi_json(&["--kind", "contacts", "--by", "month,office"]);
    assert_eq!(rows.len(), 2);
    let march = row(&rows, &[("month", "2025-03")]);
    let april = row(&rows, &[("month", "2025-04")]);
    for k in KPIS {
        let (m, a) = (march[k].as_f64().unwrap(), april[k].as_f64().unwrap());
        assert!((m - a).abs() < 1e-9, "{k}: March {m}, April {a}");
    }
    assert_num(april, "service_level", 4.0 / 7.0);
    // Both months together: 16 offered, 14 answered, 8 within.
    let rows = d.kpi_json(&["--kind", "contacts", "--by", "office"]);
    assert_num(&rows[0], "offered", 16.0);
    assert_num(&rows[0], "service_level", 8.0 / 14.0);
}

/// A file with columns of totals and of single calls is refused at its header, naming both,
/// and nothing is stored.
#[test]
fn a_file_mixing_totals_and_calls_is_refused() {
    let text = "Datum;Angeboten;Angenommen;Anrufergebnis\n03.03.2025;10;8;\n04.03.2025;;9:00:00;answered\n";
    let Err(UploadError::Headers(HeaderError::MixedLayout { totals, per_call })) = read(text, None)
    else {
        panic!("mixed file accepted");
    };
    assert_eq!(totals, vec!["Angeboten".to_string()]);
    assert_eq!(per_call, vec!["Anrufergebnis".to_string()]);

    let d = DataDir::new();
    let path = d.path().join("gemischt.csv");
    std::fs::write(&path, text).unwrap();
    let out = d.run(&[
        "import",
        path.to_str().unwrap(),
        "--kind",
        "contacts",
        "--office",
        "Service-Center",
        "--publish",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("mischt Summen je Tag oder Monat (Spalten „Angeboten“) und einzelne Anrufe (Spalten „Anrufergebnis“)"),
        "{err}"
    );
    assert!(
        d.kpi_json(&["--kind", "contacts", "--by", "month"])
            .is_empty()
    );
}

/// A call needs its day: a file of calls with a month column only is refused at its header,
/// naming `date`.
#[test]
fn calls_need_a_date_column() {
    let text =
        "Monat;Eingang Warteschlange;Angenommen;Anrufergebnis\n03/2025;9:00:00;9:00:10;answered\n";
    let Err(UploadError::Headers(HeaderError::Unknown { missing, .. })) = read(text, None) else {
        panic!("calls without a day accepted");
    };
    assert_eq!(missing, vec!["date"]);
}

/// Every malformed call is reported with its line, column and value, and nothing panics.
#[test]
fn malformed_calls_give_problems_with_line_and_column() {
    let text = "Datum;Eingang Warteschlange;Angenommen;Anrufergebnis;Wartezeit (s);Gesprächsende
03.03.2025;9:00:00;9:00:10;answered;;9:05:00
31.02.2025;9:00:00;9:00:10;answered;;
03.03.2025;25:00:00;;abandoned;;
03.03.2025;9:00:00;9:00:10;vielleicht;;
03.03.2025;9:00:00;9:00:10;abandoned;;
03.03.2025;9:00:00;;answered;-5;
03.03.2025;10:00:00;2:00:00;answered;;
;9:00:00;9:00:10;answered;;
03.03.2030;9:00:00;9:00:10;answered;;
03.03.2025;9:00:00;9:00:10;answered;;8:00:00
03.03.2025;9:00:00;9:00:10;answered;zehn;
03.03.2025;9:00;morgen;;;
";
    let Err(UploadError::Invalid { problems, total }) = read(text, None) else {
        panic!("malformed calls accepted");
    };
    let got: Vec<(usize, &str, &str, &Issue)> = problems
        .iter()
        .map(|p| (p.line, p.column.as_str(), p.value.as_str(), &p.issue))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "Datum", "31.02.2025", &Issue::NotADate),
            (4, "Eingang Warteschlange", "25:00:00", &Issue::NotATime),
            (5, "Anrufergebnis", "vielleicht", &Issue::NotAnOutcome),
            (6, "Angenommen", "9:00:10", &Issue::AbandonedWithAnswer),
            (7, "Wartezeit (s)", "-5", &Issue::Negative),
            (8, "Angenommen", "2:00:00", &Issue::AnsweredBeforeQueued),
            (9, "Datum", "", &Issue::Missing),
            (10, "Datum", "03.03.2030", &Issue::InFuture),
            (11, "Gesprächsende", "8:00:00", &Issue::EndedBeforeAnswered),
            (12, "Wartezeit (s)", "zehn", &Issue::NotANumber),
            (13, "Angenommen", "morgen", &Issue::NotATime),
        ]
    );
    assert_eq!(total, 11);
    let shown = problems[2].render(kennzahl::i18n::Lang::De);
    assert!(
        shown.starts_with(
            "Zeile 5, Spalte „Anrufergebnis“, Wert „vielleicht“: unbekanntes Ergebnis"
        ),
        "{shown}"
    );
}

/// datasets/examples/contacts-per-call.tsv with its profile gives the figures its README
/// works out: offered 10, answered 8, 5 within 20 s, handle time 2219 s over 8 calls.
#[test]
fn the_example_export_gives_its_figures() {
    let example = |f: &str| format!("{}/datasets/examples/{f}", env!("CARGO_MANIFEST_DIR"));
    let d = DataDir::new();
    let out = d.ok(&[
        "import",
        &example("contacts-per-call.tsv"),
        "--profile",
        &example("contacts-per-call.toml"),
        "--publish",
    ]);
    assert!(out.contains("11 Zeilen gelesen"), "{out}");
    assert!(out.contains("= TEST (laut Profil)"), "{out}");
    let rows = d.kpi_json(&["--kind", "contacts", "--by", "month,office"]);
    let march = row(&rows, &[("month", "2025-03"), ("office", "Service-Center")]);
    assert_num(march, "offered", 10.0);
    assert_num(march, "answer_rate", 0.8);
    assert_num(march, "service_level", 5.0 / 8.0);
    let handle = march["handle_time_mean_min"].as_f64().unwrap();
    assert!((handle - 2219.0 / 8.0 / 60.0).abs() < 1e-9, "{handle}");
}
