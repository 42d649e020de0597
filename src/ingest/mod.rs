//! From an upload's bytes to validated canonical rows: decode → sniff → read → map → parse →
//! validate. Every row problem of a file is collected before anything is decided, and the
//! result is either the whole file (or, on request, its valid rows) or an error.

pub mod cell;
pub mod decode;
pub mod map;
pub mod parse;
pub mod problem;
pub mod read;
pub mod row;

use crate::i18n::Lang;
use crate::kinds::{Kind, Parsed};
use cell::Cell;
use map::{ColumnMap, Profile};
use problem::{HeaderError, UploadError};
use read::Table;
use row::{Problems, Row};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// How an upload is to be read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The kind, or `None` to recognise it from the headers.
    pub kind: Option<Kind>,
    /// The office for rows (or files) that do not name one.
    pub office: Option<String>,
    pub profile: Option<Profile>,
    /// Import the valid rows and count the others instead of refusing the file.
    pub skip_invalid: bool,
    /// Largest accepted upload in bytes (0 = no limit).
    pub max_bytes: u64,
    /// "Today" as a day number, the limit for dates in the future; `None` = the real today.
    pub today: Option<i32>,
}

/// Something staff should know about an accepted upload (a dropped totals row, an ignored
/// column), in both languages.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Notice {
    pub de: String,
    pub en: String,
}

impl Notice {
    /// The notice in one language.
    pub fn text(&self, lang: Lang) -> &str {
        lang.pick(&self.de, &self.en)
    }
}

/// An upload that has been read and validated: ready to be stored as a batch.
#[derive(Debug)]
pub struct Upload {
    pub kind: Kind,
    pub parsed: Parsed,
    /// Rows left out with `skip_invalid`.
    pub skipped: usize,
    /// Problems of the skipped rows (empty unless `skip_invalid`).
    pub problems: Vec<problem::Problem>,
    pub notices: Vec<Notice>,
    pub encoding: Option<decode::Encoding>,
    pub header_line: usize,
}

/// Words in the first cell of a totals row.
const TOTAL_WORDS: &[&str] = &["summe", "gesamt", "gesamtsumme", "insgesamt", "total", "totals", "sum"];

/// How many leading rows are searched for the header.
const HEADER_SEARCH_ROWS: usize = 50;

/// Reads, maps, parses and validates an upload.
pub fn read_upload(bytes: &[u8], opts: &Options) -> Result<Upload, UploadError> {
    if opts.max_bytes > 0 && bytes.len() as u64 > opts.max_bytes {
        return Err(UploadError::TooLarge { size: bytes.len() as u64, limit: opts.max_bytes });
    }
    let (decoded, encoding);
    let table = match decode::sniff_format(bytes)? {
        decode::Format::Xlsx => {
            encoding = None;
            Table::xlsx(bytes)?
        }
        decode::Format::Text => {
            let (text, enc) = decode::decode(bytes);
            decoded = text;
            encoding = Some(enc);
            Table::csv(&decoded)
        }
    };
    let office = opts.office.clone().or_else(|| opts.profile.as_ref().and_then(|p| p.office.clone()));
    let profile_kind = match opts.profile.as_ref().and_then(|p| p.kind.as_deref()) {
        Some(k) => Some(k.parse::<Kind>().map_err(UploadError::Profile)?),
        None => None,
    };
    let wanted = opts.kind.or(profile_kind);

    let (kind, header_line, headers) = find_header(&table, wanted, opts.profile.as_ref())?;
    let map = map::map_headers(kind, &headers, header_line, opts.profile.as_ref(), office.is_some())?;
    let mut notices: Vec<Notice> = map
        .ignored
        .iter()
        .map(|h| Notice {
            de: format!("Spalte „{h}“ wird nicht verwendet."),
            en: format!("Column \"{h}\" is not used."),
        })
        .collect();

    let today = opts.today.unwrap_or_else(crate::timefmt::today);
    let ctx = crate::kinds::Context { office, today, style: table.number_style() };
    let mut parser = kind.parser(&map, ctx);
    let mut problems = Problems::default();
    let mut invalid_rows = 0usize;
    let mut seen: HashMap<u128, usize> = HashMap::new();
    let mapped = map.mapped_columns();
    let hasher = std::collections::hash_map::RandomState::new();
    let mut totals_dropped = Vec::new();
    table.for_each_row(|line, cells| {
        if line <= header_line || cells.iter().all(Cell::is_empty) {
            return true;
        }
        if is_totals_row(cells) {
            totals_dropped.push(line);
            return true;
        }
        let before = problems.total;
        for (i, c) in cells.iter().enumerate() {
            if let Cell::Text(s) = c {
                if s.len() > read::MAX_CELL_BYTES {
                    problems.push(line, header_name(&map, i), c, problem::Issue::CellTooLong);
                }
            }
        }
        if problems.total == before {
            let key = row_hash(&hasher, cells, &mapped);
            if let Some(first_line) = seen.get(&key) {
                let shown: Vec<String> = mapped.iter().filter_map(|&i| cells.get(i)).map(Cell::display).collect();
                let shown = shown.join(";");
                problems.push(line, "-".into(), &Cell::Text(&shown), problem::Issue::Duplicate { first_line: *first_line });
            } else {
                seen.insert(key, line);
            }
        }
        if problems.total == before {
            let mut row = Row::new(line, cells, &map, &mut problems, table.number_style());
            parser.row(&mut row);
        }
        if problems.total > before {
            invalid_rows += 1;
        }
        true
    })?;
    for line in totals_dropped {
        notices.push(Notice {
            de: format!("Summenzeile in Zeile {line} wurde nicht übernommen."),
            en: format!("Totals row on line {line} was left out."),
        });
    }
    if problems.total > 0 && !opts.skip_invalid {
        return Err(UploadError::Invalid { problems: problems.list, total: problems.total });
    }
    let parsed = parser.finish();
    if parsed.rows == 0 {
        return Err(if problems.total > 0 {
            UploadError::Invalid { problems: problems.list, total: problems.total }
        } else {
            UploadError::NoRows
        });
    }
    if invalid_rows > 0 {
        notices.push(Notice {
            de: format!("{invalid_rows} fehlerhafte Zeile(n) übersprungen."),
            en: format!("{invalid_rows} invalid row(s) skipped."),
        });
    }
    Ok(Upload {
        kind,
        parsed,
        skipped: invalid_rows,
        problems: problems.list,
        notices,
        encoding,
        header_line,
    })
}

fn header_name(map: &ColumnMap, i: usize) -> String {
    map.headers.get(i).cloned().unwrap_or_else(|| format!("#{}", i + 1))
}

fn is_totals_row(cells: &[Cell]) -> bool {
    cells
        .iter()
        .find(|c| !c.is_empty())
        .and_then(Cell::text)
        .map(|t| {
            let t = t.trim_end_matches(':').to_lowercase();
            TOTAL_WORDS.contains(&t.as_str()) || t.starts_with("summe ") || t.starts_with("gesamt ")
        })
        .unwrap_or(false)
}

/// A 128-bit fingerprint of the mapped cells, so duplicates are found without keeping rows.
fn row_hash(state: &impl BuildHasher, cells: &[Cell], mapped: &[usize]) -> u128 {
    let mut a = state.build_hasher();
    let mut b = state.build_hasher();
    b.write_u8(0x5a);
    for &i in mapped {
        let c = cells.get(i).copied().unwrap_or(Cell::Empty);
        match c {
            Cell::Text(s) => {
                a.write(s.trim().as_bytes());
                b.write(s.trim().as_bytes());
            }
            Cell::Number(n) | Cell::DateTime(n) => {
                a.write_u64(n.to_bits());
                b.write_u64(n.to_bits());
            }
            Cell::Bool(x) => {
                a.write_u8(x as u8 + 2);
                b.write_u8(x as u8 + 2);
            }
            Cell::Empty => {}
        }
        a.write_u8(0xff);
        b.write_u8(0xfe);
    }
    ((a.finish() as u128) << 64) | b.finish() as u128
}

/// Finds the header row among the first rows: the one the kind (or, if not given, any kind)
/// recognises most cells of. Rows before it are the export's title block.
fn find_header(
    table: &Table,
    kind: Option<Kind>,
    profile: Option<&Profile>,
) -> Result<(Kind, usize, Vec<String>), UploadError> {
    let mut first_rows: Vec<(usize, Vec<String>)> = Vec::new();
    table.for_each_row(|line, cells| {
        if !cells.iter().all(Cell::is_empty) {
            first_rows.push((line, cells.iter().map(Cell::display).collect()));
        }
        first_rows.len() < HEADER_SEARCH_ROWS
    })?;
    if first_rows.is_empty() {
        return Err(UploadError::Empty);
    }
    let kinds: Vec<Kind> = match kind {
        Some(k) => vec![k],
        None => Kind::ALL.to_vec(),
    };
    let mut best: Option<(usize, Kind, usize)> = None;
    for (idx, (_, headers)) in first_rows.iter().enumerate() {
        for &k in &kinds {
            let s = map::score(k, headers, profile);
            if s > 0 && best.is_none_or(|(bs, _, _)| s > bs) {
                best = Some((s, k, idx));
            }
        }
    }
    match best {
        Some((_, k, idx)) => {
            let (line, headers) = first_rows.swap_remove(idx);
            Ok((k, line, headers))
        }
        None => {
            // Show the widest early row: most likely the real header.
            let (line, headers) = first_rows
                .iter()
                .max_by_key(|(_, h)| h.iter().filter(|c| !c.is_empty()).count())
                .cloned()
                .unwrap_or_default();
            let found: Vec<String> = headers.iter().filter(|h| !h.is_empty()).cloned().collect();
            match kind {
                Some(k) => {
                    let m = map::map_headers(k, &headers, line, profile, false);
                    Err(m.err().unwrap_or(HeaderError::KindNotRecognised { found }).into())
                }
                None => Err(HeaderError::KindNotRecognised { found }.into()),
            }
        }
    }
}
