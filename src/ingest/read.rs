//! Rows out of a CSV text or an XLSX sheet, each with the line number the user sees.
//!
//! Separator detection looks at the first lines only; the title block before the header and
//! totals rows are handled by the pipeline, which knows the kind's headers.

use super::cell::Cell;
use super::parse::NumberStyle;
use super::problem::UploadError;
use calamine::{Data, Reader};

/// Longest cell accepted; anything longer is a wrong file or a broken quote.
pub const MAX_CELL_BYTES: usize = 4096;

/// A source of rows: a decoded CSV text or the cells of the first non-empty XLSX sheet.
pub enum Table<'a> {
    Csv { text: &'a str, separator: u8 },
    Xlsx { rows: Vec<Vec<Data>>, first_line: usize },
}

impl<'a> Table<'a> {
    /// A CSV table with its separator detected from the first lines.
    pub fn csv(text: &'a str) -> Self {
        Table::Csv { text, separator: sniff_separator(text) }
    }

    /// Loads the first sheet that has cells.
    pub fn xlsx(bytes: &[u8]) -> Result<Self, UploadError> {
        super::decode::check_zip(bytes)?;
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .map_err(|e| UploadError::BadXlsx(e.to_string()))?;
        for name in book.sheet_names() {
            let range = book
                .worksheet_range(&name)
                .map_err(|e| UploadError::BadXlsx(e.to_string()))?;
            if range.is_empty() {
                continue;
            }
            let first_line = range.start().map(|(r, _)| r as usize + 1).unwrap_or(1);
            let rows = range.rows().map(|r| r.to_vec()).collect();
            return Ok(Table::Xlsx { rows, first_line });
        }
        Err(UploadError::NoRows)
    }

    /// How numbers are written: German Excel CSVs use `;` and a decimal comma.
    pub fn number_style(&self) -> NumberStyle {
        match self {
            Table::Csv { separator: b',', .. } => NumberStyle::Point,
            _ => NumberStyle::German,
        }
    }

    /// Calls `f(line, cells)` for every row, stopping when it returns `false`.
    pub fn for_each_row(
        &self,
        mut f: impl FnMut(usize, &[Cell<'_>]) -> bool,
    ) -> Result<(), UploadError> {
        match self {
            Table::Csv { text, separator } => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .delimiter(*separator)
                    .from_reader(text.as_bytes());
                let mut record = csv::ByteRecord::new();
                let mut width = 16;
                let mut quotes_checked = false;
                loop {
                    match reader.read_byte_record(&mut record) {
                        Ok(false) => break,
                        Ok(true) => {}
                        Err(e) => {
                            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                            return Err(UploadError::UnterminatedQuote { line });
                        }
                    }
                    let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
                    // A field spanning lines may be a quote that never closes: scan once.
                    if !quotes_checked && record.iter().any(|f| f.contains(&b'\n')) {
                        quotes_checked = true;
                        if let Some(line) = unterminated_quote_line(text, *separator) {
                            return Err(UploadError::UnterminatedQuote { line });
                        }
                    }
                    let mut cells: Vec<Cell> = Vec::with_capacity(width);
                    // Fields split at ASCII bytes of valid UTF-8 are valid UTF-8.
                    cells.extend(record.iter().map(|f| match std::str::from_utf8(f) {
                        Ok(s) if s.is_empty() => Cell::Empty,
                        Ok(s) => Cell::Text(s),
                        Err(_) => Cell::Empty,
                    }));
                    width = cells.len();
                    if !f(line, &cells) {
                        break;
                    }
                }
                Ok(())
            }
            Table::Xlsx { rows, first_line } => {
                let mut cells: Vec<Cell> = Vec::with_capacity(16);
                for (i, row) in rows.iter().enumerate() {
                    cells.clear();
                    cells.extend(row.iter().map(|d| match d {
                        Data::Int(n) => Cell::Number(*n as f64),
                        Data::Float(n) => Cell::Number(*n),
                        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                            if s.is_empty() { Cell::Empty } else { Cell::Text(s) }
                        }
                        Data::Bool(b) => Cell::Bool(*b),
                        Data::DateTime(dt) => Cell::DateTime(dt.as_f64()),
                        Data::Error(_) => Cell::Text("#FEHLER"),
                        Data::Empty => Cell::Empty,
                    }));
                    if !f(first_line + i, &cells) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Picks the separator that splits the first lines into the same number (> 1) of fields
/// most often. Title lines ("Zeitraum: …") have no separators and do not count.
pub fn sniff_separator(text: &str) -> u8 {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(40).collect();
    let mut best = (b';', 0usize, 0usize);
    for sep in [b';', b',', b'\t', b'|'] {
        let mut counts = std::collections::HashMap::<usize, usize>::new();
        for l in &lines {
            let n = count_fields(l, sep);
            if n > 1 {
                *counts.entry(n).or_default() += 1;
            }
        }
        if let Some((fields, lines_with)) = counts.into_iter().max_by_key(|(n, c)| (*c, *n)) {
            if (lines_with, fields) > (best.1, best.2) {
                best = (sep, lines_with, fields);
            }
        }
    }
    best.0
}

fn count_fields(line: &str, sep: u8) -> usize {
    let mut in_quote = false;
    let mut n = 1;
    for b in line.bytes() {
        if b == b'"' {
            in_quote = !in_quote;
        } else if b == sep && !in_quote {
            n += 1;
        }
    }
    n
}

/// The line on which a quoted field opens and is never closed, if any.
pub fn unterminated_quote_line(text: &str, sep: u8) -> Option<usize> {
    let mut line = 1;
    let mut in_quote = false;
    let mut opened_at = 0;
    let mut field_start = true;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quote {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quote = false;
                }
            }
            if b == b'\n' {
                line += 1;
            }
        } else if b == b'"' && field_start {
            in_quote = true;
            opened_at = line;
        } else if b == b'\n' {
            line += 1;
        }
        field_start = b == sep || b == b'\n' || (b == b'"' && !in_quote && field_start);
        i += 1;
    }
    in_quote.then_some(opened_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        assert_eq!(sniff_separator("Auswertung\nZeitraum: 01.03.2025 bis 31.03.2025\n\na;b;c\n1;2,5;3\n"), b';');
        assert_eq!(sniff_separator("a,b,c\n1,\"2;5\",3\n"), b',');
        assert_eq!(sniff_separator("a\tb\tc\n1\t2\t3\n"), b'\t');
    }

    #[test]
    fn unterminated_quotes_are_found() {
        assert_eq!(unterminated_quote_line("a;b\n1;\"x\n2;3\n", b';'), Some(2));
        assert_eq!(unterminated_quote_line("a;b\n1;\"x\"\"y\"\n", b';'), None);
    }
}
