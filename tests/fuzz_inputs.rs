//! Structure-aware fuzzing of everything that reads input from outside, run for a bounded
//! number of cases in every test run: CSV text with quotes, separators, encodings and title
//! blocks; real XLSX workbooks with arbitrary cells, and the same workbooks with bytes flipped;
//! and the query-string/form decoder. The property is always the same: an answer (rows or a
//! refusal with a message), never a panic.

use kennzahl::ingest::{Options, read_upload};
use kennzahl::kinds::Kind;
use proptest::prelude::*;

fn opts(kind: Option<Kind>) -> Options {
    Options {
        kind,
        office: Some("Amt".into()),
        ..Options::default()
    }
}

const KINDS: [Option<Kind>; 4] = [
    None,
    Some(Kind::Visits),
    Some(Kind::Cases),
    Some(Kind::Contacts),
];

/// A cell as exports write them: dates, times, numbers in both styles, words, quotes.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "(0[1-9]|[12][0-9]|3[01])\\.(0[1-9]|1[0-2])\\.20[0-9]{2}",
        "20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9])( [0-2][0-9]:[0-5][0-9](:[0-5][0-9])?)?",
        "[0-2]?[0-9]:[0-5][0-9](:[0-5][0-9])?",
        "-?[0-9]{1,6}([.,][0-9]{1,3})?",
        "(ja|nein|x|1|0|true|false|Summe|Gesamt)",
        "[A-Za-zÄÖÜäöüß \"';,\t]{0,20}",
        any::<String>().prop_map(|s| s.chars().take(30).collect()),
    ]
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("office".to_string()),
        Just("Amt".to_string()),
        Just("Datum".to_string()),
        Just("Ankunft".to_string()),
        Just("Aufruf".to_string()),
        Just("arrived_at".to_string()),
        Just("called_at".to_string()),
        Just("Termin".to_string()),
        Just("Wartezeit".to_string()),
        Just("Vorgangsnummer".to_string()),
        Just("case_id".to_string()),
        Just("received_on".to_string()),
        Just("decided_on".to_string()),
        Just("Name".to_string()),
        "[A-Za-z ]{1,12}",
    ]
}

/// Quotes a cell the way a spreadsheet program would, or sometimes wrongly.
fn quote(cell: &str, style: u8) -> String {
    match style % 4 {
        0 => cell.to_string(),
        1 => format!("\"{}\"", cell.replace('"', "\"\"")),
        2 => format!("\"{cell}"),
        _ => format!("{cell}\""),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn csv_exports_of_any_shape_never_panic(
        title in proptest::collection::vec("[A-Za-z: .0-9]{0,30}", 0..3),
        headers in proptest::collection::vec(header(), 1..8),
        rows in proptest::collection::vec(proptest::collection::vec((cell(), any::<u8>()), 0..9), 0..25),
        sep in prop_oneof![Just(';'), Just(','), Just('\t'), Just('|')],
        crlf in any::<bool>(),
        bom in any::<bool>(),
        cp1252 in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for t in &title {
            text.push_str(t);
            text.push_str(nl);
        }
        text.push_str(&headers.join(&sep.to_string()));
        text.push_str(nl);
        for row in &rows {
            let cells: Vec<String> = row.iter().map(|(c, q)| quote(c, *q)).collect();
            text.push_str(&cells.join(&sep.to_string()));
            text.push_str(nl);
        }
        let mut bytes = Vec::new();
        if cp1252 {
            let (encoded, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
            bytes.extend_from_slice(&encoded);
        } else {
            if bom {
                bytes.extend_from_slice(b"\xEF\xBB\xBF");
            }
            bytes.extend_from_slice(text.as_bytes());
        }
        for kind in KINDS {
            match read_upload(&bytes, &opts(kind)) {
                Ok(upload) => prop_assert!(upload.header_line >= 1),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn xlsx_workbooks_with_any_cells_never_panic(
        headers in proptest::collection::vec(header(), 1..6),
        rows in proptest::collection::vec(proptest::collection::vec((cell(), any::<u8>(), -1.0e6f64..1.0e6), 0..7), 0..15),
        offset in (0u32..4, 0u16..4),
    ) {
        let bytes = workbook(&headers, &rows, offset);
        for kind in KINDS {
            match read_upload(&bytes, &opts(kind)) {
                Ok(upload) => prop_assert!(upload.header_line >= 1),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn damaged_xlsx_workbooks_are_refused_or_read_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = workbook(
            &["office".into(), "arrived_at".into(), "called_at".into()],
            &[vec![("Amt".into(), 0, 0.0), ("2025-03-03 09:00".into(), 0, 0.0), ("2025-03-03 09:10".into(), 0, 0.0)]],
            (0, 0),
        );
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()).max(4));
        }
        let _ = read_upload(&bytes, &opts(Some(Kind::Visits)));
        let _ = read_upload(&bytes, &opts(None));
    }

    #[test]
    fn the_form_decoder_takes_any_text_and_gives_back_what_was_encoded(
        raw in any::<String>(),
        pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..6),
    ) {
        let _ = kennzahl::web::form_pairs(&raw);
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let decoded = kennzahl::web::form_pairs(&encoded.join("&"));
        prop_assert_eq!(decoded, pairs);
    }
}

/// Percent-encodes every byte that is not unreserved.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A real workbook (rust_xlsxwriter): headers, then rows of text, numbers and dates, moved
/// down and right by `offset`.
fn workbook(headers: &[String], rows: &[Vec<(String, u8, f64)>], offset: (u32, u16)) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let (r0, c0) = offset;
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string(r0, c0 + c as u16, h).unwrap();
    }
    let date = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy hh:mm");
    for (r, row) in rows.iter().enumerate() {
        let r = r0 + 1 + r as u32;
        for (c, (text, how, number)) in row.iter().enumerate() {
            let c = c0 + c as u16;
            match how % 3 {
                0 => {
                    sheet.write_string(r, c, text).unwrap();
                }
                1 => {
                    sheet.write_number(r, c, *number).unwrap();
                }
                _ => {
                    sheet
                        .write_number_with_format(r, c, 45000.0 + number.abs() % 3000.0, &date)
                        .unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}
