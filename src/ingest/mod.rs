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
use polars::prelude::PlHashMap;
use problem::{HeaderError, UploadError};
use read::Table;
use row::{Problems, Row};

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
const TOTAL_WORDS: &[&str] = &[
    "summe",
    "gesamt",
    "gesamtsumme",
    "insgesamt",
    "total",
    "totals",
    "sum",
];

/// How many leading rows are searched for the header.
const HEADER_SEARCH_ROWS: usize = 50;

/// Reads, maps, parses and validates an upload.
pub fn read_upload(bytes: &[u8], opts: &Options) -> Result<Upload, UploadError> {
    if opts.max_bytes > 0 && bytes.len() as u64 > opts.max_bytes {
        return Err(UploadError::TooLarge {
            size: bytes.len() as u64,
            limit: opts.max_bytes,
        });
    }
    with_table(bytes, |table, encoding| {
        read_table(bytes, table, encoding, opts)
    })
}

/// Opens an upload as a table (XLSX, or text decoded from whatever encoding it is in) and
/// hands it to `f`.
fn with_table<T>(
    bytes: &[u8],
    f: impl FnOnce(&Table, Option<decode::Encoding>) -> Result<T, UploadError>,
) -> Result<T, UploadError> {
    match decode::sniff_format(bytes)? {
        decode::Format::Xlsx => f(&Table::xlsx(bytes)?, None),
        decode::Format::Text => {
            let (text, enc) = decode::decode(bytes);
            f(&Table::csv(&text), Some(enc))
        }
    }
}

/// The header row of an export whose headers were not all recognised, for the form that maps
/// them: the kind if one was recognised (or asked for), the headers and a value of each from
/// the first data row.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderGuess {
    pub kind: Option<Kind>,
    pub line: usize,
    pub headers: Vec<String>,
    pub samples: Vec<String>,
}

/// Finds the header row of an upload the way [`read_upload`] does, without reading the rows.
pub fn guess_headers(bytes: &[u8], kind: Option<Kind>) -> Result<HeaderGuess, UploadError> {
    with_table(bytes, |table, _| {
        let (kind, line, headers) = match find_header(table, kind, None) {
            Ok((k, line, headers)) => (Some(k), line, headers),
            Err(UploadError::Headers(_)) => {
                let (line, headers) = widest_early_row(table)?;
                (kind, line, headers)
            }
            Err(e) => return Err(e),
        };
        let mut samples = Vec::new();
        table.for_each_row(|l, cells| {
            if l > line && !cells.iter().all(Cell::is_empty) {
                samples = cells.iter().map(Cell::display).collect();
                return false;
            }
            true
        })?;
        samples.resize(headers.len(), String::new());
        Ok(HeaderGuess {
            kind,
            line,
            headers,
            samples,
        })
    })
}

/// Reads an upload with the first saved mapping profile (office, profile) that names its
/// headers and maps them: for exports whose headers the aliases do not know. `None` when no
/// profile fits; else the office the profile was saved for ("" for one made for a file that
/// names its offices itself) and the reading, which notes the profile it used.
pub fn read_with_saved_profiles<'p>(
    bytes: &[u8],
    opts: &Options,
    profiles: impl IntoIterator<Item = &'p (String, Profile)>,
) -> Option<(String, Result<Upload, UploadError>)> {
    let guess = guess_headers(bytes, opts.kind).ok()?;
    for (office, profile) in profiles {
        let same_kind = match (opts.kind, profile.kind.as_deref()) {
            (Some(k), Some(p)) => k.as_str() == p,
            _ => true,
        };
        if !same_kind || !profile.fits(&guess.headers) {
            continue;
        }
        let with = Options {
            profile: Some(profile.clone()),
            ..opts.clone()
        };
        let read = read_upload(bytes, &with);
        if matches!(read, Err(UploadError::Headers(_))) {
            continue;
        }
        let (de, en) = if office.is_empty() {
            ("mehrere Ämter", "several offices")
        } else {
            (office.as_str(), office.as_str())
        };
        let read = read.map(|mut u| {
            u.notices.push(Notice {
                de: format!("Die gespeicherte Spaltenzuordnung für „{de}“ wurde verwendet."),
                en: format!("The saved column mapping for \"{en}\" was used."),
            });
            u
        });
        return Some((office.clone(), read));
    }
    None
}

fn read_table(
    bytes: &[u8],
    table: &Table,
    encoding: Option<decode::Encoding>,
    opts: &Options,
) -> Result<Upload, UploadError> {
    let office = opts
        .office
        .clone()
        .or_else(|| opts.profile.as_ref().and_then(|p| p.office.clone()));
    let profile_kind = match opts.profile.as_ref().and_then(|p| p.kind.as_deref()) {
        Some(k) => Some(k.parse::<Kind>().map_err(UploadError::Profile)?),
        None => None,
    };
    let wanted = opts.kind.or(profile_kind);

    let (kind, header_line, headers) = find_header(table, wanted, opts.profile.as_ref())?;
    let map = map::map_headers(
        kind,
        &headers,
        header_line,
        opts.profile.as_ref(),
        office.is_some(),
    )?;
    let notices: Vec<Notice> = map
        .ignored
        .iter()
        .map(|h| Notice {
            de: format!("Spalte „{h}“ wird nicht verwendet."),
            en: format!("Column \"{h}\" is not used."),
        })
        .collect();

    let today = opts.today.unwrap_or_else(crate::timefmt::today);
    let ctx = crate::kinds::Context {
        office,
        today,
        style: table.number_style(),
        rows_hint: 0,
    };
    // Visits files are the large ones: read them on two cores. (Other kinds decide things
    // from the whole file, such as the month of open cases.)
    let halves = if kind == Kind::Visits && bytes.len() > PARALLEL_FROM_BYTES {
        table.halves()
    } else {
        None
    };
    let (chunks, parts) = match halves {
        Some((a, b)) => {
            let (ra, rb) = std::thread::scope(|s| {
                let second = s.spawn(|| read_chunk(&b, kind, header_line, &map, &ctx));
                let first = read_chunk(&a, kind, header_line, &map, &ctx);
                (first, second.join().expect("reader thread"))
            });
            let (ca, pa) = ra?;
            let (cb, pb) = rb?;
            (vec![ca, cb], vec![pa, pb])
        }
        None => {
            let (c, p) = read_chunk(table, kind, header_line, &map, &ctx)?;
            (vec![c], vec![p])
        }
    };
    let mut chunks = chunks.into_iter();
    let mut all = chunks.next().expect("one chunk at least");
    let mut cross_duplicates = 0;
    for c in chunks {
        for (key, line) in &c.seen {
            if let Some(first_line) = all.seen.get(key) {
                all.problems.push(
                    *line,
                    "-".into(),
                    &Cell::Text(""),
                    problem::Issue::Duplicate {
                        first_line: *first_line,
                    },
                );
                cross_duplicates += 1;
            }
        }
        all.problems.total += c.problems.total;
        let room = problem::MAX_LISTED_PROBLEMS.saturating_sub(all.problems.list.len());
        all.problems
            .list
            .extend(c.problems.list.into_iter().take(room));
        all.invalid_rows += c.invalid_rows;
        all.totals_dropped.extend(c.totals_dropped);
    }
    all.problems.list.sort_by_key(|p| p.line);
    if cross_duplicates > 0 && opts.skip_invalid {
        // The duplicate's row is already in the second half's frame: read again in one piece,
        // so that it is left out like any other invalid row.
        let (c, p) = read_chunk(table, kind, header_line, &map, &ctx)?;
        return finish_upload(kind, vec![p], c, notices, opts, encoding, header_line);
    }
    finish_upload(kind, parts, all, notices, opts, encoding, header_line)
}

/// Files larger than this are read on two threads.
const PARALLEL_FROM_BYTES: usize = 4 << 20;

/// What reading (part of) a table found besides the parsed rows.
struct Chunk {
    problems: Problems,
    invalid_rows: usize,
    seen: PlHashMap<u128, usize>,
    totals_dropped: Vec<usize>,
}

/// Reads the data rows of a table (or a part of one) into a kind's parser.
fn read_chunk(
    table: &Table,
    kind: Kind,
    header_line: usize,
    map: &ColumnMap,
    ctx: &crate::kinds::Context,
) -> Result<(Chunk, Parsed), UploadError> {
    let mut parser = kind.parser(map, ctx.clone());
    let mut c = Chunk {
        problems: Problems::default(),
        invalid_rows: 0,
        seen: PlHashMap::default(),
        totals_dropped: Vec::new(),
    };
    let mapped = map.mapped_columns();
    let style = table.number_style();
    table.for_each_row(|line, cells| {
        if line <= header_line || cells.iter().all(Cell::is_empty) {
            return true;
        }
        if is_totals_row(cells) {
            c.totals_dropped.push(line);
            return true;
        }
        let before = c.problems.total;
        for (i, cell) in cells.iter().enumerate() {
            if let Cell::Text(s) = cell
                && s.len() > read::MAX_CELL_BYTES
            {
                c.problems
                    .push(line, header_name(map, i), cell, problem::Issue::CellTooLong);
            }
        }
        if c.problems.total == before {
            let key = row_hash(cells, &mapped);
            if let Some(first_line) = c.seen.get(&key) {
                let shown: Vec<String> = mapped
                    .iter()
                    .filter_map(|&i| cells.get(i))
                    .map(Cell::display)
                    .collect();
                let shown = shown.join(";");
                c.problems.push(
                    line,
                    "-".into(),
                    &Cell::Text(&shown),
                    problem::Issue::Duplicate {
                        first_line: *first_line,
                    },
                );
            } else {
                c.seen.insert(key, line);
            }
        }
        if c.problems.total == before {
            let mut row = Row::new(line, cells, map, &mut c.problems, style);
            parser.row(&mut row);
        }
        if c.problems.total > before {
            c.invalid_rows += 1;
        }
        true
    })?;
    // Building the frame here lets both halves of a large file do it at once.
    Ok((c, parser.finish()))
}

/// Decides on the whole file: refuse it, or build the upload from the parts' rows.
fn finish_upload(
    kind: Kind,
    parts: Vec<Parsed>,
    all: Chunk,
    mut notices: Vec<Notice>,
    opts: &Options,
    encoding: Option<decode::Encoding>,
    header_line: usize,
) -> Result<Upload, UploadError> {
    let Chunk {
        problems,
        invalid_rows,
        totals_dropped,
        ..
    } = all;
    for line in totals_dropped {
        notices.push(Notice {
            de: format!("Summenzeile in Zeile {line} wurde nicht übernommen."),
            en: format!("Totals row on line {line} was left out."),
        });
    }
    if problems.total > 0 && !opts.skip_invalid {
        return Err(UploadError::Invalid {
            problems: problems.list,
            total: problems.total,
        });
    }
    let parsed = Parsed::concat(parts);
    if parsed.rows == 0 {
        return Err(if problems.total > 0 {
            UploadError::Invalid {
                problems: problems.list,
                total: problems.total,
            }
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
    map.headers
        .get(i)
        .cloned()
        .unwrap_or_else(|| format!("#{}", i + 1))
}

fn is_totals_row(cells: &[Cell]) -> bool {
    // Cheap test first: the words all start with s, g, i or t and are short.
    let first = cells.iter().find(|c| !c.is_empty()).and_then(Cell::text);
    if !first.is_some_and(|t| {
        t.len() <= 16 && matches!(t.as_bytes()[0] | 0x20, b's' | b'g' | b'i' | b't')
    }) {
        return false;
    }
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
fn row_hash(cells: &[Cell], mapped: &[usize]) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for &i in mapped {
        match cells.get(i).copied().unwrap_or(Cell::Empty) {
            Cell::Text(s) => h.update(s.as_bytes()),
            Cell::Number(n) | Cell::DateTime(n) => h.update(&n.to_bits().to_le_bytes()),
            Cell::Bool(x) => h.update(&[x as u8 + 2]),
            Cell::Empty => {}
        }
        h.update(&[0xff]);
    }
    h.digest128()
}

/// The widest of the first rows: most likely the real header when no kind recognises any.
fn widest(first_rows: &[(usize, Vec<String>)]) -> (usize, Vec<String>) {
    first_rows
        .iter()
        .max_by_key(|(_, h)| h.iter().filter(|c| !c.is_empty()).count())
        .cloned()
        .unwrap_or_default()
}

/// The first non-empty rows of a table, as text.
fn early_rows(table: &Table) -> Result<Vec<(usize, Vec<String>)>, UploadError> {
    let mut first_rows: Vec<(usize, Vec<String>)> = Vec::new();
    table.for_each_row(|line, cells| {
        if !cells.iter().all(Cell::is_empty) {
            first_rows.push((line, cells.iter().map(Cell::display).collect()));
        }
        first_rows.len() < HEADER_SEARCH_ROWS
    })?;
    Ok(first_rows)
}

fn widest_early_row(table: &Table) -> Result<(usize, Vec<String>), UploadError> {
    Ok(widest(&early_rows(table)?))
}

/// Finds the header row among the first rows: the one the kind (or, if not given, any kind)
/// recognises most cells of. Rows before it are the export's title block.
fn find_header(
    table: &Table,
    kind: Option<Kind>,
    profile: Option<&Profile>,
) -> Result<(Kind, usize, Vec<String>), UploadError> {
    let mut first_rows = early_rows(table)?;
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
            let (line, headers) = widest(&first_rows);
            let found: Vec<String> = headers.iter().filter(|h| !h.is_empty()).cloned().collect();
            match kind {
                Some(k) => {
                    let m = map::map_headers(k, &headers, line, profile, false);
                    Err(m
                        .err()
                        .unwrap_or(HeaderError::KindNotRecognised { found })
                        .into())
                }
                None => Err(HeaderError::KindNotRecognised { found }.into()),
            }
        }
    }
}
