//! No input makes the reader panic: arbitrary bytes, CSV-like noise, broken XLSX.

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_upload(&bytes, &opts(Some(Kind::Visits)));
        let _ = read_upload(&bytes, &opts(None));
    }

    #[test]
    fn csv_like_text_never_panics(
        header in "(office|Amt|Ankunft|arrived_at|Aufruf|called_at|Datum|Termin|Wartezeit|Eingang|Monat|Online|Papier)([;,\t](office|Ankunft|Aufruf|Ende|Datum|Termin|nicht erschienen|Wartezeit|Personen|Aktenzeichen|Eingangsdatum|Monat|Online|Papier|Angeboten|Angenommen)){0,6}",
        body in proptest::collection::vec("[0-9a-zA-Zäöü:.,;\t\" -]{0,60}", 0..30),
    ) {
        let text = format!("{header}\n{}", body.join("\n"));
        for kind in [None, Some(Kind::Visits), Some(Kind::Cases), Some(Kind::Digital), Some(Kind::Contacts), Some(Kind::Services)] {
            let _ = read_upload(text.as_bytes(), &opts(kind));
        }
    }

    #[test]
    fn zip_magic_with_garbage_is_refused_cleanly(rest in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend(rest);
        prop_assert!(read_upload(&bytes, &opts(Some(Kind::Visits))).is_err());
    }
}

#[test]
fn an_eight_megabyte_cell_is_a_problem_not_a_crash() {
    let mut text = String::from("office;arrived_at\nAmt;");
    text.push_str(&"x".repeat(8 * 1024 * 1024));
    text.push('\n');
    let err = read_upload(text.as_bytes(), &opts(Some(Kind::Visits))).unwrap_err();
    assert!(
        err.render(kennzahl::i18n::Lang::En).contains("line 2"),
        "{}",
        err.render(kennzahl::i18n::Lang::En)
    );
}

#[test]
fn a_size_limit_refuses_large_uploads() {
    let o = Options {
        max_bytes: 10,
        ..opts(Some(Kind::Visits))
    };
    let err = read_upload(b"office;arrived_at\nAmt;2025-01-01T08:00\n", &o).unwrap_err();
    assert!(err.to_string().contains("größer als erlaubt"));
}

#[test]
fn a_zip_bomb_is_refused() {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let chunk = vec![b'0'; 1 << 20];
        for _ in 0..600 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
    }
    let bytes = buf.into_inner();
    assert!(
        bytes.len() < 2 * 1024 * 1024,
        "600 MB packed small: {}",
        bytes.len()
    );
    let err = read_upload(&bytes, &opts(Some(Kind::Visits))).unwrap_err();
    assert!(err.to_string().contains("entpackt"), "{err}");
}

#[test]
fn a_header_of_three_hundred_thousand_columns_is_refused_at_once() {
    let header: Vec<String> = (0..300_000).map(|i| format!("c{i}")).collect();
    let text = format!("{}\n{}\n", header.join(";"), header.join(";"));
    for kind in [None, Some(Kind::Visits)] {
        let err = read_upload(text.as_bytes(), &opts(kind)).unwrap_err();
        let msg = err.render(kennzahl::i18n::Lang::En);
        assert!(msg.contains("line 1") && msg.contains("at most"), "{msg}");
        let guess = kennzahl::ingest::guess_headers(text.as_bytes(), kind).unwrap_err();
        assert!(guess.to_string().contains("höchstens"), "{guess}");
    }
    // Short but wide: the column limit.
    let header: Vec<String> = (0..600).map(|i| format!("c{i}")).collect();
    let text = format!("{}\n{}\n", header.join(";"), header.join(";"));
    let err = read_upload(text.as_bytes(), &opts(None)).unwrap_err();
    assert!(err.to_string().contains("mehr als 500 Spalten"), "{err}");
    // Quoted cells take the other reader: the same limit.
    let quoted = format!("\"{}\"\n", header.join("\";\""));
    let err = read_upload(quoted.as_bytes(), &opts(Some(Kind::Visits))).unwrap_err();
    assert!(err.to_string().contains("mehr als 500 Spalten"), "{err}");
    // 500 columns are still a file (with unknown headers), not a refusal for width.
    let fits: Vec<String> = (0..500).map(|i| format!("c{i}")).collect();
    let text = format!("{}\n{}\n", fits.join(";"), fits.join(";"));
    let err = read_upload(text.as_bytes(), &opts(Some(Kind::Visits))).unwrap_err();
    assert!(!err.to_string().contains("mehr als 500 Spalten"), "{err}");
}

#[test]
fn a_megabyte_header_line_is_refused() {
    let text = format!("office;{}\nAmt;1\n", "x".repeat(1 << 20));
    let err = read_upload(text.as_bytes(), &opts(Some(Kind::Visits))).unwrap_err();
    assert!(err.to_string().contains("Zeile 1"), "{err}");
}

#[test]
fn a_workbook_with_cells_far_apart_is_refused_without_building_the_grid() {
    // Two cells at A1 and XFD1048576: laid out as a grid that would be 17 billion cells.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "office").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let err = read_upload(&bytes, &opts(Some(Kind::Visits))).unwrap_err();
    assert!(err.to_string().contains("mehr als 500 Spalten"), "{err}");
    // Far down in one column is a sheet of empty rows, refused for having no data.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "office").unwrap();
    sheet.write_string(1_048_575, 0, "Amt").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert!(read_upload(&bytes, &opts(Some(Kind::Visits))).is_err());
}
