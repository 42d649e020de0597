//! Rows out of a CSV text or an XLSX sheet, each with the line number the user sees.
//!
//! Separator detection looks at the first lines only; the title block before the header and
//! totals rows are handled by the pipeline, which knows the kind's headers.

use super::problem::UploadError;
use crate::rows::cell::Cell;
use crate::rows::parse::NumberStyle;
use calamine::{Data, Reader};

/// Longest cell accepted; anything longer is a wrong file or a broken quote.
pub const MAX_CELL_BYTES: usize = 4096;

/// Most columns a row may have. Real exports have a few dozen; a file with thousands is not an
/// export, and reading its header would cost the server seconds and memory for nothing.
pub const MAX_COLUMNS: usize = 500;

/// Longest row in bytes: a header line of megabytes is not an export's.
pub const MAX_ROW_BYTES: usize = 64 * 1024;

/// Most rows of a sheet (Excel's own limit).
const MAX_SHEET_ROWS: u32 = 1_048_576;

/// A source of rows: a decoded CSV text or the cells of the first non-empty XLSX sheet.
pub enum Table<'a> {
    Csv {
        text: &'a str,
        separator: u8,
    },
    /// Text without any quote character: split by hand, cells borrow the text, and it can be
    /// cut into parts that are read in parallel.
    Lines {
        text: &'a str,
        separator: u8,
        first_line: usize,
    },
    Xlsx {
        rows: Vec<Vec<Data>>,
        first_line: usize,
    },
}

impl<'a> Table<'a> {
    /// A CSV table with its separator detected from the first lines.
    pub fn csv(text: &'a str) -> Self {
        let separator = sniff_separator(text);
        if memchr::memchr(b'"', text.as_bytes()).is_none() {
            Table::Lines {
                text,
                separator,
                first_line: 1,
            }
        } else {
            Table::Csv { text, separator }
        }
    }

    /// Cuts quote-free text into two parts at a line end near the middle, so that both
    /// cores can read; other tables stay whole.
    pub fn halves(&self) -> Option<(Table<'a>, Table<'a>)> {
        let Table::Lines {
            text,
            separator,
            first_line,
        } = *self
        else {
            return None;
        };
        let mid = text.len() / 2;
        let cut = mid + memchr::memchr(b'\n', &text.as_bytes()[mid..])? + 1;
        let lines_before = memchr::memchr_iter(b'\n', &text.as_bytes()[..cut]).count();
        Some((
            Table::Lines {
                text: &text[..cut],
                separator,
                first_line,
            },
            Table::Lines {
                text: &text[cut..],
                separator,
                first_line: first_line + lines_before,
            },
        ))
    }

    /// Loads the first sheet that has cells.
    pub fn xlsx(bytes: &[u8]) -> Result<Self, UploadError> {
        Table::from_sheets(xlsx_sheets(bytes, |_| false)?)
    }

    /// The first of the sheets as a table (the sheets of [`xlsx_sheets`] all have cells).
    pub fn from_sheets(sheets: Vec<Sheet>) -> Result<Self, UploadError> {
        let sheet = sheets.into_iter().next().ok_or(UploadError::NoRows)?;
        let first_line = sheet.first_row as usize + 1;
        let mut rows = sheet.rows;
        rows.drain(..sheet.first_row as usize);
        if sheet.first_col > 0 {
            for row in &mut rows {
                row.drain(..(sheet.first_col as usize).min(row.len()));
            }
        }
        Ok(Table::Xlsx { rows, first_line })
    }

    /// Length of the text, for sizing buffers (`None` for a sheet).
    pub fn text_len(&self) -> Option<usize> {
        match self {
            Table::Csv { text, .. } | Table::Lines { text, .. } => Some(text.len()),
            Table::Xlsx { rows, .. } => Some(rows.len() * 60),
        }
    }

    /// About how many rows the table has, for reserving memory once instead of growing
    /// (a guess from the first 64 KB of a text; a little high rather than low, and never
    /// more than a few million, so that odd first lines cannot reserve gigabytes).
    pub fn rows_estimate(&self) -> usize {
        self.rows_guess().min(4_000_000)
    }

    fn rows_guess(&self) -> usize {
        match self {
            Table::Csv { text, .. } | Table::Lines { text, .. } => {
                let head = &text.as_bytes()[..text.len().min(64 * 1024)];
                let lines = memchr::memchr_iter(b'\n', head).count().max(1);
                text.len() / (head.len() / lines).max(1) * 21 / 20 + 1
            }
            Table::Xlsx { rows, .. } => rows.len(),
        }
    }

    /// How numbers are written: German Excel CSVs use `;` and a decimal comma.
    pub fn number_style(&self) -> NumberStyle {
        match self {
            Table::Csv {
                separator: b',', ..
            }
            | Table::Lines {
                separator: b',', ..
            } => NumberStyle::Point,
            _ => NumberStyle::German,
        }
    }

    /// Calls `f(line, cells)` for every row, stopping when it returns `false`.
    pub fn for_each_row(
        &self,
        mut f: impl FnMut(usize, &[Cell<'_>]) -> bool,
    ) -> Result<(), UploadError> {
        self.for_each_raw_row(|line, cells, _| f(line, cells))
    }

    /// [`Table::for_each_row`] that also gives, for a table of plain lines, each row's line
    /// as it is in the file (without its line break) and the separator: `cells` are then
    /// exactly the pieces of the line between separators.
    pub fn for_each_raw_row(
        &self,
        mut f: impl FnMut(usize, &[Cell<'_>], Option<RawLine<'_>>) -> bool,
    ) -> Result<(), UploadError> {
        match self {
            Table::Lines {
                text,
                separator,
                first_line,
            } => {
                let sep = *separator;
                let mut cells: Vec<Cell> = Vec::with_capacity(16);
                let body = text.strip_suffix('\n').unwrap_or(text);
                if body.is_empty() {
                    return Ok(());
                }
                let ends = memchr::memchr_iter(b'\n', body.as_bytes()).chain([body.len()]);
                let mut start = 0;
                for (i, end) in ends.enumerate() {
                    let raw = &body[start..end];
                    start = end + 1;
                    let raw = raw.strip_suffix('\r').unwrap_or(raw);
                    cells.clear();
                    let mut from = 0;
                    let mut cut = |to: usize| {
                        if cells.len() <= MAX_COLUMNS {
                            cells.push(match &raw[from..to] {
                                "" => Cell::Empty,
                                f => Cell::Text(f),
                            });
                        }
                        from = to + 1;
                    };
                    separators(raw.as_bytes(), sep, &mut cut);
                    cut(raw.len());
                    check_width(first_line + i, cells.len(), raw.len())?;
                    let line = RawLine {
                        text: raw,
                        separator: sep,
                    };
                    if !f(first_line + i, &cells, Some(line)) {
                        break;
                    }
                }
                Ok(())
            }
            Table::Csv { text, separator } => read_quoted(text, *separator, |l, c| f(l, c, None)),
            Table::Xlsx { rows, first_line } => {
                let mut cells: Vec<Cell> = Vec::with_capacity(16);
                for (i, row) in rows.iter().enumerate() {
                    cells.clear();
                    cells.extend(row.iter().map(cell_of));
                    let bytes = cells.iter().map(|c| c.text().map_or(8, str::len)).sum();
                    check_width(first_line + i, cells.len(), bytes)?;
                    if !f(first_line + i, &cells, None) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A row of a table of plain lines as it is in the file (see [`Table::for_each_raw_row`]).
#[derive(Debug, Clone, Copy)]
pub struct RawLine<'a> {
    pub text: &'a str,
    pub separator: u8,
}

/// Calls `each(i)` for every position `i` of `sep` in `bytes`, in order. Eight bytes at a
/// time: a line of an export has a separator every dozen bytes, where a search call per
/// cell cost more than the rest of splitting the row.
fn separators(bytes: &[u8], sep: u8, mut each: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = u64::from_ne_bytes([sep; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // The high bit of each byte that is zero, that is, that was `sep` (exact: no carry
        // crosses bytes).
        let mut found = !(((x & LOW7) + LOW7) | x | LOW7);
        while found != 0 {
            each(at + (found.trailing_zeros() / 8) as usize);
            found &= found - 1;
        }
        at += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == sep {
            each(at + i);
        }
    }
}

/// A workbook cell as a [`Cell`].
pub fn cell_of(d: &Data) -> Cell<'_> {
    match d {
        Data::Int(n) => Cell::Number(*n as f64),
        Data::Float(n) => Cell::Number(*n),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            if s.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(s)
            }
        }
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => Cell::DateTime(dt.as_f64()),
        Data::Error(_) => Cell::Text("#FEHLER"),
        Data::Empty => Cell::Empty,
    }
}

/// One sheet of a workbook that has cells: rows from row 1 and cells from column A, so that
/// `rows[r][c]` is the cell the user finds at that address; `first_row` and `first_col` say
/// where the used area starts.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Data>>,
    pub first_row: u32,
    pub first_col: u32,
}

/// Reads the sheets with cells of an XLSX workbook, cell by cell: the first one, and the
/// following ones while `more(first)` says so (a report of several sheets). A sheet's cells
/// are stored sparsely; laying them out as a grid before looking at them would let two
/// cells at A1 and XFD1048576 ask for billions of cells of memory. Columns beyond
/// [`MAX_COLUMNS`] are refused before any grid is built.
pub fn xlsx_sheets(bytes: &[u8], more: impl Fn(&Sheet) -> bool) -> Result<Vec<Sheet>, UploadError> {
    super::decode::check_zip(bytes)?;
    let Ok(mut book) =
        calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(bytes))
    else {
        return other_workbook(bytes);
    };
    let bad = |e: calamine::XlsxError| UploadError::BadXlsx(e.to_string());
    let mut sheets: Vec<Sheet> = Vec::new();
    for name in book.sheet_names() {
        if sheets.first().is_some_and(|first| !more(first)) {
            break;
        }
        let mut cells: Vec<((u32, u32), Data)> = Vec::new();
        {
            let mut reader = book.worksheet_cells_reader(&name).map_err(bad)?;
            while let Some(cell) = reader.next_cell().map_err(bad)? {
                let (row, col) = cell.get_position();
                let value = Data::from(cell.get_value().clone());
                if value == Data::Empty {
                    continue;
                }
                if col as usize >= MAX_COLUMNS {
                    return Err(UploadError::TooManyColumns {
                        line: row as usize + 1,
                        limit: MAX_COLUMNS,
                    });
                }
                if row >= MAX_SHEET_ROWS {
                    return Err(UploadError::BadXlsx(format!(
                        "Zeile {} / row {}",
                        row + 1,
                        row + 1
                    )));
                }
                cells.push(((row, col), value));
            }
        }
        if cells.is_empty() {
            continue;
        }
        let first_row = cells.iter().map(|c| c.0.0).min().unwrap_or(0);
        let last_row = cells.iter().map(|c| c.0.0).max().unwrap_or(0);
        let first_col = cells.iter().map(|c| c.0.1).min().unwrap_or(0);
        let mut rows: Vec<Vec<Data>> = vec![Vec::new(); last_row as usize + 1];
        for ((r, c), value) in cells {
            let row = &mut rows[r as usize];
            if row.len() <= c as usize {
                row.resize(c as usize + 1, Data::Empty);
            }
            row[c as usize] = value;
        }
        sheets.push(Sheet {
            name,
            rows,
            first_row,
            first_col,
        });
    }
    if sheets.is_empty() {
        return Err(UploadError::NoRows);
    }
    Ok(sheets)
}

/// The first sheet with cells of a workbook that is not plain XLSX (calamine's other
/// formats), laid out by calamine.
fn other_workbook(bytes: &[u8]) -> Result<Vec<Sheet>, UploadError> {
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .map_err(|e| UploadError::BadXlsx(e.to_string()))?;
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| UploadError::BadXlsx(e.to_string()))?;
        if range.is_empty() {
            continue;
        }
        let first_row = range.start().map(|(r, _)| r).unwrap_or(0);
        let mut rows = vec![Vec::new(); first_row as usize];
        rows.extend(range.rows().map(|r| r.to_vec()));
        return Ok(vec![Sheet {
            name,
            rows,
            first_row,
            first_col: 0,
        }]);
    }
    Err(UploadError::NoRows)
}

/// Refuses a row wider than [`MAX_COLUMNS`] or longer than [`MAX_ROW_BYTES`].
fn check_width(line: usize, columns: usize, bytes: usize) -> Result<(), UploadError> {
    if bytes > MAX_ROW_BYTES {
        return Err(UploadError::RowTooLong {
            line,
            bytes,
            limit: MAX_ROW_BYTES,
        });
    }
    if columns > MAX_COLUMNS {
        return Err(UploadError::TooManyColumns {
            line,
            limit: MAX_COLUMNS,
        });
    }
    Ok(())
}

/// Picks the separator that splits the first lines into the same number (> 1) of fields
/// most often. Title lines ("Zeitraum: …") have no separators and do not count.
pub fn sniff_separator(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(40)
        .collect();
    let mut best = (b';', 0usize, 0usize);
    for sep in [b';', b',', b'\t', b'|'] {
        let mut counts = std::collections::HashMap::<usize, usize>::new();
        for l in &lines {
            let n = count_fields(l, sep);
            if n > 1 {
                *counts.entry(n).or_default() += 1;
            }
        }
        if let Some((fields, lines_with)) = counts.into_iter().max_by_key(|(n, c)| (*c, *n))
            && (lines_with, fields) > (best.1, best.2)
        {
            best = (sep, lines_with, fields);
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

/// Reads CSV with quoted fields (RFC 4180: `""` inside quotes, separators and line breaks
/// inside quotes), counting lines as an editor does. A quote that never closes is an error
/// naming the line it opened on.
fn read_quoted<'a>(
    text: &'a str,
    sep: u8,
    mut f: impl FnMut(usize, &[Cell<'_>]) -> bool,
) -> Result<(), UploadError> {
    use std::borrow::Cow;
    let b = text.as_bytes();
    let mut i = 0;
    let mut line = 1;
    let mut fields: Vec<Cow<'a, str>> = Vec::with_capacity(16);
    while i < b.len() {
        let record_line = line;
        let record_start = i;
        fields.clear();
        loop {
            let field: Cow<'a, str>;
            if b[i..].first() == Some(&b'"') {
                let opened = line;
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                let end = loop {
                    let Some(k) = memchr::memchr(b'"', &b[j..]) else {
                        return Err(UploadError::UnterminatedQuote { line: opened });
                    };
                    line += memchr::memchr_iter(b'\n', &b[j..j + k]).count();
                    j += k;
                    if b.get(j + 1) == Some(&b'"') {
                        escaped = true;
                        j += 2;
                    } else {
                        break j;
                    }
                };
                // Text between the closing quote and the next separator is kept, as Excel does.
                let after = end + 1;
                let stop = after
                    + b[after..]
                        .iter()
                        .position(|c| *c == sep || *c == b'\n')
                        .unwrap_or(b.len() - after);
                let tail = text[after..stop].trim_end_matches('\r');
                let inner = &text[start..end];
                field = if escaped || !tail.is_empty() {
                    Cow::Owned(format!("{}{tail}", inner.replace("\"\"", "\"")))
                } else {
                    Cow::Borrowed(inner)
                };
                i = stop;
            } else {
                let stop = i + b[i..]
                    .iter()
                    .position(|c| *c == sep || *c == b'\n')
                    .unwrap_or(b.len() - i);
                field = Cow::Borrowed(text[i..stop].strip_suffix('\r').unwrap_or(&text[i..stop]));
                i = stop;
            }
            fields.push(field);
            check_width(record_line, fields.len(), i - record_start)?;
            match b.get(i) {
                Some(c) if *c == sep => i += 1,
                Some(b'\n') => {
                    i += 1;
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        let cells: Vec<Cell> = fields
            .iter()
            .map(|f| {
                if f.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(f)
                }
            })
            .collect();
        if !f(record_line, &cells) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators() {
        assert_eq!(
            sniff_separator("Auswertung\nZeitraum: 01.03.2025 bis 31.03.2025\n\na;b;c\n1;2,5;3\n"),
            b';'
        );
        assert_eq!(sniff_separator("a,b,c\n1,\"2;5\",3\n"), b',');
        assert_eq!(sniff_separator("a\tb\tc\n1\t2\t3\n"), b'\t');
    }

    fn rows(text: &str) -> Result<Vec<(usize, Vec<String>)>, UploadError> {
        let mut out = Vec::new();
        Table::csv(text).for_each_row(|l, c| {
            out.push((
                l,
                c.iter()
                    .map(|c| c.text().unwrap_or("").to_string())
                    .collect(),
            ));
            true
        })?;
        Ok(out)
    }

    #[test]
    fn quoted_fields() {
        let r = rows("a;b\n1;\"x;\"\"y\"\"\nz\"\n2;3\n").unwrap();
        assert_eq!(
            r,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["1".into(), "x;\"y\"\nz".into()]),
                (4, vec!["2".into(), "3".into()])
            ]
        );
        assert!(matches!(
            rows("a;b\n1;\"x\n2;3\n"),
            Err(UploadError::UnterminatedQuote { line: 2 })
        ));
    }
}

#[cfg(test)]
mod plain_line_tests {
    use super::*;
    use proptest::prelude::*;

    fn cells_of(table: &Table) -> Vec<(usize, Vec<String>)> {
        let mut out = Vec::new();
        table
            .for_each_row(|line, cells| {
                out.push((line, cells.iter().map(Cell::display).collect()));
                true
            })
            .unwrap();
        out
    }

    proptest! {
        /// The separators found eight bytes at a time are those a byte-by-byte look finds,
        /// wherever they fall in a word and between multi-byte letters.
        #[test]
        fn separators_are_found_exactly(
            bytes in proptest::collection::vec(prop_oneof![Just(b';'), Just(b','), Just(0xc3), Just(0xa4), any::<u8>()], 0..80),
            sep in prop_oneof![Just(b';'), Just(b','), Just(b'\t')],
        ) {
            let mut found = Vec::new();
            super::separators(&bytes, sep, |i| found.push(i));
            let want: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == sep).map(|(i, _)| i).collect();
            prop_assert_eq!(found, want);
        }

        /// A file without quotes is split into the same cells, on the same lines, by the
        /// plain-line reader as by the reader of quoted fields.
        #[test]
        fn plain_lines_read_as_quoted_ones(
            rows in proptest::collection::vec(
                proptest::collection::vec("[a-zäöüß0-9 .:-]{0,14}", 1..12), 1..20),
            crlf in any::<bool>(),
        ) {
            let end = if crlf { "\r\n" } else { "\n" };
            let text: String = rows.iter().map(|r| r.join(";") + end).collect();
            let plain = Table::Lines { text: &text, separator: b';', first_line: 1 };
            let quoted = Table::Csv { text: &text, separator: b';' };
            prop_assert_eq!(cells_of(&plain), cells_of(&quoted));
        }
    }
}

#[cfg(test)]
mod line_number_tests {
    use super::*;

    fn lines_of(table: &Table) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        table
            .for_each_row(|line, cells| {
                out.push((line, cells.first().map(|c| c.display()).unwrap_or_default()));
                true
            })
            .unwrap();
        out
    }

    /// Quoted and unquoted files give the line numbers an editor shows, blank lines and CRLF
    /// included.
    #[test]
    fn line_numbers_are_the_editors() {
        let plain = "Titel\r\nZeitraum\r\n\r\na;b\r\nx;1\r\ny;2\r\n";
        let quoted = "Titel\r\nZeitraum\r\n\r\na;b\r\n\"x\";1\r\ny;2\r\n";
        let p = lines_of(&Table::csv(plain));
        let q = lines_of(&Table::csv(quoted));
        assert!(matches!(Table::csv(quoted), Table::Csv { .. }));
        let want = |v: &[(usize, String)]| {
            v.iter()
                .filter(|(_, s)| s == "x" || s == "y")
                .map(|(l, _)| *l)
                .collect::<Vec<_>>()
        };
        assert_eq!(want(&p), vec![5, 6]);
        assert_eq!(want(&q), vec![5, 6]);
    }
}
