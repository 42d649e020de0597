//! Exports as real queue and case systems write them: identical rows that are real visits,
//! numbers that must not repeat, an export appended to itself, headers nobody knows.
//! Fixtures in tests/fixtures/real/, written by hand (Windows-1252, `;`, CRLF, title block).

mod common;
use common::*;
use kennzahl::ingest::problem::UploadError;
use kennzahl::ingest::{Options, guess_headers, read_upload};
use kennzahl::kinds::Kind;

/// Imports a fixture for the Einwohnermeldeamt and returns (exit code, stdout, stderr).
fn import(d: &DataDir, file: &str, kind: &str, office: &str) -> (Option<i32>, String, String) {
    let out = d.run(&[
        "import",
        &fixture(file),
        "--kind",
        kind,
        "--office",
        office,
        "--publish",
    ]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The March 2025 figures of besucher_ohne_nummer.csv and besucher_mit_nummer.csv, both the
/// same seven visits (lines 5–11, after a title block and the header on line 4):
///   5  Mitte, Personalausweis, 03.03. 09:05 → 09:12   walk-in, wait 7
///   6  the same again (a second walk-in in the same minute)          wait 7
///   7  Mitte, Reisepass, 03.03., no times, Termin ja, nicht erschienen ja: no-show
///   8  the same again (a second missed appointment of that slot):   no-show
///   9  Mitte, Anmeldung, 04.03. 10:00 → 10:30, Termin ja            wait 30
///  10  Nord, Anmeldung, 04.03. 11:00 → 11:20                        wait 20
///  11  Nord, Anmeldung, 05.03. 08:00 → 08:03                        wait 3
/// visitors = 7 rows − 2 no-shows = 5; no_shows = 2; appointments = lines 7, 8, 9 = 3,
/// no_show_rate = 2 / 3; served = 5; waits sorted 3, 7, 7, 20, 30 → median (the third of
/// five) 7; mean (3 + 7 + 7 + 20 + 30) / 5 = 67 / 5 = 13.4;
/// p90: h = (5 − 1) · 0.9 = 3.6 → 20 + 0.6 · (30 − 20) = 26.
/// Had line 6 been dropped as a duplicate, the median would be (7 + 20) / 2 = 13.5 and had
/// line 8 been dropped, no_shows would be 1.
fn assert_march_figures(d: &DataDir) {
    let rows = d.kpi_json(&["--kind", "visits", "--by", "month,office"]);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let march = row(
        &rows,
        &[("month", "2025-03"), ("office", "Einwohnermeldeamt")],
    );
    assert_num(march, "visitors", 5.0);
    assert_num(march, "no_shows", 2.0);
    assert_num(march, "appointments", 3.0);
    assert_num(march, "no_show_rate", 2.0 / 3.0);
    assert_num(march, "served", 5.0);
    assert_num(march, "wait_median_min", 7.0);
    assert_num(march, "wait_mean_min", 13.4);
    assert_num(march, "wait_p90_min", 26.0);
}

#[test]
fn identical_rows_without_a_number_are_kept_as_separate_visits() {
    let d = DataDir::new();
    let (code, out, err) = import(
        &d,
        "real/besucher_ohne_nummer.csv",
        "visits",
        "Einwohnermeldeamt",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("7 Zeilen gelesen, 0 übersprungen"), "{out}");
    assert!(out.contains("Kodierung Windows-1252"), "{out}");
    // Lines 6 and 8 repeat lines 5 and 7.
    assert!(
        out.contains(
            "2 Zeilen kommen doppelt vor (gleiche Werte in allen Spalten, z. B. Zeile 6 wie Zeile 5); sie wurden als eigene Besuche übernommen."
        ),
        "{out}"
    );
    assert_march_figures(&d);

    let en = d.run(&[
        "--lang",
        "en",
        "import",
        &fixture("real/besucher_ohne_nummer.csv"),
        "--kind",
        "visits",
        "--office",
        "Einwohnermeldeamt",
        "--dry-run",
    ]);
    let en = String::from_utf8_lossy(&en.stdout);
    assert!(
        en.contains("2 rows occur twice (the same values in every column, e.g. line 6 as line 5); they were kept as separate visits."),
        "{en}"
    );
}

#[test]
fn the_same_visits_with_their_own_numbers_give_the_same_figures_and_no_notice() {
    let d = DataDir::new();
    let (code, out, err) = import(
        &d,
        "real/besucher_mit_nummer.csv",
        "visits",
        "Einwohnermeldeamt",
    );
    assert_eq!(code, Some(0), "{err}");
    // Wartenummer N-3 on 04.03. and again on 05.03.: numbers restart every day.
    assert!(!out.contains("doppelt"), "{out}");
    assert!(
        !out.contains("Wartenummer"),
        "the number column is used: {out}"
    );
    assert_march_figures(&d);
}

#[test]
fn a_number_twice_on_one_day_is_refused_naming_both_lines() {
    let d = DataDir::new();
    let (code, out, err) = import(
        &d,
        "real/besucher_doppelte_nummer.csv",
        "visits",
        "Einwohnermeldeamt",
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(err.contains("1 Problem(e) gefunden"), "{err}");
    assert!(
        err.contains(
            "Zeile 8, Spalte „Vorgangsnummer“, Wert „T-0815“: doppelte Nummer: steht am selben Tag schon in Zeile 7"
        ),
        "{err}"
    );
    // Nothing stored.
    assert_eq!(
        d.ok(&["history", "--kind", "visits"]).lines().count(),
        1,
        "only the heading"
    );
}

#[test]
fn a_case_number_twice_is_refused_naming_both_lines() {
    let d = DataDir::new();
    let (code, _, err) = import(
        &d,
        "real/verfahren_doppeltes_aktenzeichen.csv",
        "cases",
        "Bauordnungsamt",
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "Zeile 4, Spalte „Aktenzeichen“, Wert „63-2025-0001“: doppelte Nummer: steht schon in Zeile 2"
        ),
        "{err}"
    );
}

#[test]
fn an_export_appended_twice_is_refused_with_where_it_repeats() {
    let d = DataDir::new();
    let (code, out, err) = import(
        &d,
        "real/besucher_zweimal_angehaengt.csv",
        "visits",
        "Einwohnermeldeamt",
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        err.contains(
            "Die Datei wiederholt sich: ab Zeile 12 stehen dieselben 7 Zeilen noch einmal wie ab Zeile 5."
        ),
        "{err}"
    );
    assert!(err.contains("zweimal angehängt"), "{err}");
    let en = d.run(&[
        "--lang",
        "en",
        "import",
        &fixture("real/besucher_zweimal_angehaengt.csv"),
        "--kind",
        "visits",
        "--office",
        "Einwohnermeldeamt",
        "--skip-invalid",
    ]);
    assert_eq!(
        en.status.code(),
        Some(1),
        "refused even with --skip-invalid"
    );
    let en = String::from_utf8_lossy(&en.stderr);
    assert!(
        en.contains(
            "The file repeats itself: from line 12 on, the same 7 rows come again as from line 5."
        ),
        "{en}"
    );
}

/// Two identical missed appointments alone, twice two identical rows, or four identical rows
/// are not an export appended twice; four rows that repeat two different ones are.
#[test]
fn small_files_with_identical_rows_are_not_a_repeated_export() {
    let head = "Amt;Datum;Ankunft;Aufruf;Termin;nicht erschienen\n";
    let a = "Einwohnermeldeamt;03.03.2025;;;ja;ja\n";
    let b = "Einwohnermeldeamt;03.03.2025;09:05;09:12;nein;nein\n";
    let c = "Einwohnermeldeamt;04.03.2025;09:05;09:12;nein;nein\n";
    let opts = Options {
        kind: Some(Kind::Visits),
        ..Options::default()
    };
    let read = |rows: &[&str]| read_upload(format!("{head}{}", rows.concat()).as_bytes(), &opts);
    assert_eq!(read(&[a, a]).unwrap().parsed.rows, 2);
    assert_eq!(read(&[a, a, b]).unwrap().parsed.rows, 3);
    assert_eq!(read(&[a, a, b, b]).unwrap().parsed.rows, 4, "a a b b");
    assert_eq!(
        read(&[a, b, c, a, c, b]).unwrap().parsed.rows,
        6,
        "not in order"
    );
    assert_eq!(read(&[a, a, a, a]).unwrap().parsed.rows, 4, "all the same");
    match read(&[a, b, a, b]) {
        Err(UploadError::Repeated {
            line,
            first_line,
            rows,
        }) => assert_eq!((line, first_line, rows), (4, 2, 2)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_headers_are_the_text_row_above_the_values() {
    for (file, line) in [
        ("real/unbekannte_kopfzeile.csv", 1),
        ("real/unbekannte_kopfzeile_mit_titel.csv", 4),
    ] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        for kind in [None, Some(Kind::Visits)] {
            let g = guess_headers(&bytes, kind).unwrap();
            assert_eq!(g.line, line, "{file}");
            assert_eq!(g.headers, ["Foo", "Bar", "Baz", "Qux"], "{file}");
            assert_eq!(
                g.samples,
                ["Einwohnermeldeamt", "03.03.2025", "09:05", "09:12"],
                "{file}"
            );
        }
        let d = DataDir::new();
        let out = d.run(&["import", &fixture(file), "--kind", "visits"]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("Gefundene Spalten: Foo | Bar | Baz | Qux\n"),
            "{err}"
        );
        assert!(
            err.contains(
                "# Spalten der Datei / columns of the file: \"Foo\", \"Bar\", \"Baz\", \"Qux\""
            ),
            "{err}"
        );
        assert!(!err.contains("09:12"), "no data values as headers: {err}");
        let out = d.run(&["import", &fixture(file)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("(Foo | Bar | Baz | Qux)"), "{err}");
    }
}

/// A visits file of `n` distinct rows (February 2025) larger than 4 MiB, so that it is read
/// on two threads; `number` adds a Wartenummer column. Row i (from 0) is on line i + 2.
fn big_visits(n: usize, number: bool) -> Vec<String> {
    (0..n)
        .map(|i| {
            let day = i % 28 + 1;
            let minute = 8 * 60 + (i / 28) % 600;
            let wait = (i / 16_800) % 10 + 1;
            let hm = |m: usize| format!("{:02}:{:02}", m / 60, m % 60);
            let row = format!(
                "Einwohnermeldeamt;{day:02}.02.2025;{};{}\n",
                hm(minute),
                hm(minute + wait)
            );
            if number { format!("W{i};{row}") } else { row }
        })
        .collect()
}

const BIG: usize = 120_000;

fn big_text(number: bool, rows: &[String]) -> Vec<u8> {
    let head = if number {
        "Wartenummer;Amt;Datum;Ankunft;Aufruf\n"
    } else {
        "Amt;Datum;Ankunft;Aufruf\n"
    };
    let text = format!("{head}{}", rows.concat());
    assert!(text.len() > 4 << 20, "read on two threads");
    text.into_bytes()
}

#[test]
fn large_files_count_identical_rows_across_both_halves() {
    let opts = Options {
        kind: Some(Kind::Visits),
        ..Options::default()
    };
    let mut rows = big_visits(BIG, false);
    // Row 10 (line 12) again at the end, in the other half; row 70,000 (line 70,002) again
    // right after itself, on line 70,003.
    let early = rows[10].clone();
    rows.insert(70_001, rows[70_000].clone());
    rows.push(early);
    let u = read_upload(&big_text(false, &rows), &opts).unwrap();
    assert_eq!(u.parsed.rows, BIG + 2);
    let notice = u.notices.iter().find(|n| n.de.contains("doppelt")).unwrap();
    assert!(
        notice
            .de
            .starts_with("2 Zeilen kommen doppelt vor (gleiche Werte in allen Spalten, z. B. Zeile 70003 wie Zeile 70002)"),
        "{notice:?}"
    );

    // The file twice.
    let rows = big_visits(BIG / 2 + 1_000, false);
    let twice = [rows.clone(), rows].concat();
    match read_upload(&big_text(false, &twice), &opts) {
        Err(UploadError::Repeated {
            line,
            first_line,
            rows,
        }) => assert_eq!(
            (line, first_line, rows),
            (BIG / 2 + 1_002, 2, BIG / 2 + 1_000)
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn large_files_find_a_number_repeated_in_the_other_half() {
    let mut opts = Options {
        kind: Some(Kind::Visits),
        ..Options::default()
    };
    let mut rows = big_visits(BIG, true);
    // Row 5 (line 7) again at the end (line BIG + 2) with a later call: same number, same day.
    rows.push(rows[5].replace(";08:00;08:01\n", ";08:00;08:09\n"));
    assert_ne!(rows[5], rows[BIG]);
    let bytes = big_text(true, &rows);
    match read_upload(&bytes, &opts) {
        Err(UploadError::Invalid { problems, total }) => {
            assert_eq!(total, 1, "{problems:?}");
            assert_eq!(problems[0].line, BIG + 2);
            assert_eq!(problems[0].value, "W5");
            assert!(
                problems[0]
                    .render(kennzahl::i18n::Lang::De)
                    .contains("steht am selben Tag schon in Zeile 7"),
                "{problems:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    opts.skip_invalid = true;
    let u = read_upload(&bytes, &opts).unwrap();
    assert_eq!((u.parsed.rows, u.skipped), (BIG, 1));
}

/// A file read in two halves gives every row as written, in file order: texts that appear
/// only in the second half (its parser numbers them apart from the first's), missing texts
/// and missing times on both sides of the cut.
#[test]
fn a_file_read_in_halves_keeps_every_row_as_written() {
    const N: usize = 45_000;
    let cell = |i: usize, first: &'static str, second: &'static str| -> &'static str {
        if i < N / 2 { first } else { second }
    };
    let clock = |s: usize| format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    let mut text = String::from(
        "office,location,service,arrived_at,called_at,finished_at,appointment,appointment_at,no_show\n",
    );
    let mut expected = Vec::with_capacity(N);
    for i in 0..N {
        let office = if i % 3 == 0 {
            cell(i, "Nord", "Süd")
        } else {
            "Nord"
        };
        let location = match i % 5 {
            0 => "",
            1 => "Barmen",
            2 => cell(i, "Elberfeld", "Cronenberg"),
            _ => "Elberfeld",
        };
        let service = match i % 7 {
            0 => "",
            1 => cell(i, "Pass", "Führerschein"),
            _ => "Ausweis",
        };
        let day = format!("2025-03-{:02}", 1 + i / 2_000);
        let arrived = 8 * 3600 + i % 20_000;
        let called = arrived + 300 + i % 11 * 60;
        let appointment = i % 4 == 0;
        let booked = if appointment {
            format!("{day}T{}", clock(arrived - 60))
        } else {
            String::new()
        };
        text.push_str(&format!(
            "{office},{location},{service},{day}T{},{day}T{},{day}T{},{appointment},{booked},false\n",
            clock(arrived),
            clock(called),
            clock(called + 600),
        ));
        expected.push((
            office,
            (!location.is_empty()).then_some(location),
            (!service.is_empty()).then_some(service),
            ((called - arrived) as f64 / 60.0).to_bits(),
            appointment,
        ));
    }
    assert!(text.len() > 4 << 20, "read on two threads");
    let opts = Options {
        kind: Some(Kind::Visits),
        ..Options::default()
    };
    let u = read_upload(text.as_bytes(), &opts).unwrap();
    let f = &u.parsed.frame;
    let texts = |name: &str| -> Vec<Option<String>> {
        let c = f.column(name).unwrap().str().unwrap();
        c.iter().map(|v| v.map(str::to_string)).collect()
    };
    let (office, location, service) = (texts("office"), texts("location"), texts("service"));
    let wait: Vec<Option<f64>> = f
        .column("wait_min")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    let appointment: Vec<Option<bool>> = f
        .column("appointment")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .collect();
    let booked = f.column("appointment_at").unwrap();
    assert_eq!(f.height(), N);
    for (i, (o, l, s, w, a)) in expected.iter().enumerate() {
        assert_eq!(office[i].as_deref(), Some(*o), "row {i}");
        assert_eq!(location[i].as_deref(), *l, "row {i}");
        assert_eq!(service[i].as_deref(), *s, "row {i}");
        assert_eq!(wait[i].map(f64::to_bits), Some(*w), "row {i}");
        assert_eq!(appointment[i], Some(*a), "row {i}");
        assert_eq!(booked.get(i).unwrap().is_null(), !a, "row {i}");
    }
    let months: Vec<(String, i32)> = u.parsed.partitions.keys().cloned().collect();
    assert_eq!(months, [("Nord".into(), 202503), ("Süd".into(), 202503)]);
    assert_eq!(
        u.parsed.partitions.values().sum::<usize>(),
        N,
        "every row in one office-month"
    );
}
