//! The monthly report: the same figures as the KPI engine, a sheet per office and a sheet of
//! definitions; names that look like formulas stay text.

mod common;
use calamine::{Data, Reader, Xlsx};
use common::*;

#[test]
fn monthly_report_in_xlsx_csv_and_json() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    d.ok(&[
        "import",
        &fixture("golden/cases_small.csv"),
        "--kind",
        "cases",
        "--office",
        "=Bauamt",
        "--publish",
    ]);
    let out = d.path().join("bericht.xlsx");
    d.ok(&[
        "report",
        "--month",
        "2025-03",
        "--format",
        "xlsx",
        "--out",
        out.to_str().unwrap(),
    ]);
    let mut book: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let names = book.sheet_names();
    assert_eq!(names, vec!["=Bauamt", "Bürgeramt", "Definitionen"]);
    let sheet = book.worksheet_range("Bürgeramt").unwrap();
    let value_of = |kpi: &str| {
        sheet
            .rows()
            .find(|r| r.get(2) == Some(&Data::String(kpi.into())))
            .and_then(|r| r.get(1).cloned())
            .unwrap_or_else(|| panic!("{kpi} missing"))
    };
    // Hand-worked in golden_kpis.rs: median 7, p90 17.2, 6 visitors.
    assert_eq!(value_of("wait_median_min"), Data::Float(7.0));
    assert_eq!(value_of("wait_p90_min"), Data::Float(17.2));
    assert_eq!(value_of("visitors"), Data::Float(6.0));
    let bau = book.worksheet_range("=Bauamt").unwrap();
    assert_eq!(
        bau.get((0, 0)),
        Some(&Data::String("=Bauamt: Kennzahlen 2025-03".into())),
        "a text, not a formula"
    );

    let csv = d.path().join("bericht.csv");
    d.ok(&[
        "report",
        "--month",
        "2025-03",
        "--format",
        "csv",
        "--out",
        csv.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains("2025-03,Bürgeramt,visits,wait_p90_min,17.2\n"),
        "{text}"
    );
    assert!(
        text.contains("2025-03,'=Bauamt,cases,processing_days_median,30\n"),
        "{text}"
    );
    let json = d.path().join("bericht.json");
    d.ok(&[
        "report",
        "--month",
        "2025-03",
        "--format",
        "json",
        "--out",
        json.to_str().unwrap(),
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["month"], "2025-03");
    let refused = d.run(&[
        "report",
        "--month",
        "2025-03",
        "--format",
        "docx",
        "--out",
        json.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("xlsx, pdf"));
}

/// The text in WinAnsi (cp1252) bytes, as the PDF's standard fonts take it.
fn winansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| {
            if (c as u32) < 256 {
                c as u32 as u8
            } else {
                b'?'
            }
        })
        .collect()
}

/// Whether the PDF shows `text` at the start of a string, written either as a literal
/// string `(…)` or as a hex string `<…>` (the writer picks one).
fn shows(pdf: &[u8], text: &str) -> bool {
    let bytes = winansi(text);
    let mut literal = vec![b'('];
    for &b in &bytes {
        if b == b'(' || b == b')' || b == b'\\' {
            literal.push(b'\\');
        }
        literal.push(b);
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    let hex = format!("<{hex}");
    contains(pdf, &literal) || contains(pdf, hex.as_bytes())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn monthly_report_as_pdf_fit_to_print() {
    let d = DataDir::new();
    d.ok(&[
        "import",
        &fixture("golden/visits_small.csv"),
        "--kind",
        "visits",
        "--publish",
    ]);
    d.store()
        .add_note(
            "Bürgeramt",
            202503,
            "Umzug in neue Räume (Erdgeschoss)",
            "test",
        )
        .unwrap();
    let out = d.path().join("bericht.pdf");
    d.ok(&[
        "report",
        "--month",
        "2025-03",
        "--format",
        "pdf",
        "--out",
        out.to_str().unwrap(),
    ]);
    let pdf = std::fs::read(&out).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
    assert!(contains(&pdf, b"/MediaBox [0 0 595.28 841.89]"), "A4");
    // The office, its figures (hand-worked in golden_kpis.rs: median 7, p90 17.2 → 17,
    // 6 visitors) and the staff note, each as text a reader can search and copy.
    for text in [
        "Bürgeramt",
        "Kennzahlen März 2025",
        "Wartezeit (Median)",
        "7 Min.",
        "17 Min.",
        "Besuche",
        "Definitionen",
    ] {
        assert!(shows(&pdf, text), "{text:?} not in the PDF");
    }
    assert!(contains(&pdf, b"(6)"), "6 visitors");
    assert!(
        shows(
            &pdf,
            "Hinweis des Amtes zu März 2025: Umzug in neue Räume (Erdgeschoss)"
        ),
        "the note"
    );
    let pages = pdf
        .windows(12)
        .filter(|w| &w[..11] == b"/Type /Page" && w[11] != b's')
        .count();
    assert!(pages >= 2, "{pages} pages");
    assert!(shows(&pdf, &format!("Seite 1 von {pages}")));
}
