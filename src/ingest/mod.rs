//! From an upload's bytes to validated canonical rows: decode → sniff → read → map → parse →
//! validate. Every row problem of a file is collected before anything is decided, and the
//! result is either the whole file (or, on request, its valid rows) or an error.

pub mod decode;
pub mod map;

pub mod problem;
pub mod read;

pub mod rules;
mod seen;
pub mod zms;

pub use crate::kinds::Notice;
use crate::kinds::{Batch, Kind, Parsed};
use crate::rows::cell::Cell;
use crate::rows::row::{Problems, Row};
use crate::rows::{ColumnMap, parse};
use map::Profile;
use polars::prelude::PlHashMap;
use problem::{HeaderError, UploadError};
use read::{RawLine, Table};
use rules::Rules;
use std::borrow::Cow;

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

/// An upload that has been read and validated: the batch to store, and what reading it
/// found out (skipped rows' problems, the encoding, the header line).
#[derive(Debug)]
pub struct Upload {
    pub batch: Batch,
    /// Problems of the skipped rows (empty unless `skip_invalid`).
    pub problems: Vec<problem::Problem>,
    pub encoding: Option<decode::Encoding>,
    pub header_line: usize,
}

/// An upload is read to become a batch; its batch's fields are read through it.
impl std::ops::Deref for Upload {
    type Target = Batch;
    fn deref(&self) -> &Batch {
        &self.batch
    }
}

impl std::ops::DerefMut for Upload {
    fn deref_mut(&mut self) -> &mut Batch {
        &mut self.batch
    }
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

/// A reader for a report format that is not a table of rows: a system's statistics download
/// whose layout says what it is (ZMS's Kundenstatistik …). Recognisers are asked before the
/// tabular reader; adding a format is adding one to [`RECOGNISERS`].
pub trait Recogniser: Sync {
    /// Whether a workbook whose first sheet is `first` is this format.
    fn recognises(&self, first: &read::Sheet) -> bool;
    /// Reads the workbook's sheets (all of them, as it recognised itself).
    fn read(&self, sheets: &[read::Sheet], opts: &Options) -> Result<Upload, UploadError>;
}

/// The report formats read beside the tabular reader.
pub const RECOGNISERS: &[&dyn Recogniser] = &[&zms::Zms];

/// Reads, maps, parses and validates an upload.
pub fn read_upload(bytes: &[u8], opts: &Options) -> Result<Upload, UploadError> {
    if opts.max_bytes > 0 && bytes.len() as u64 > opts.max_bytes {
        return Err(UploadError::TooLarge {
            size: bytes.len() as u64,
            limit: opts.max_bytes,
        });
    }
    if decode::sniff_format(bytes)? == decode::Format::Xlsx {
        let recogniser = |first: &read::Sheet| RECOGNISERS.iter().find(|r| r.recognises(first));
        let sheets = read::xlsx_sheets(bytes, |first| recogniser(first).is_some())?;
        if let Some(r) = recogniser(&sheets[0]) {
            return r.read(&sheets, opts);
        }
        return read_table(bytes, &Table::from_sheets(sheets)?, None, opts);
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
                let (line, headers) = likely_header_row(table)?;
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

/// Reads an upload with the first of `profiles` (office, profile) that names the headers of
/// `guess` and maps them: for exports whose headers the aliases do not know. `None` when no
/// profile fits; else the office the profile was saved for ("" for one made for a file that
/// names its offices itself) and the reading, which notes the profile it used.
pub fn read_with_profiles_for<'p>(
    bytes: &[u8],
    opts: &Options,
    guess: &HeaderGuess,
    profiles: impl IntoIterator<Item = &'p (String, Profile)>,
) -> Option<(String, Result<Upload, UploadError>)> {
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
    let rules = Rules::new(opts.profile.as_ref(), kind, &map)?;
    let mut notices: Vec<Notice> = map
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
    let same = Sameness::new(kind, &map, rules.dates.clone());
    // Visits files are the large ones: read them on two cores. (Other kinds decide things
    // from the whole file, such as the month of open cases.)
    let halves = if kind == Kind::Visits && bytes.len() > PARALLEL_FROM_BYTES {
        table.halves()
    } else {
        None
    };
    let (mut all, parsed) = match halves {
        Some((a, b)) => {
            // Each half read by a parser of its own; the first makes room for the whole
            // file, so that the second's rows are appended without copying the first's.
            let half = |t: &Table, rows: usize| {
                let mut p = crate::kinds::visits::Parser::new(&map, sized(&ctx, rows));
                read_rows(t, header_line, &map, &same, &rules, &mut p).map(|c| (c, p))
            };
            let (ra, rb) = std::thread::scope(|s| {
                let second = s.spawn(|| half(&b, b.rows_estimate()));
                let first = half(&a, table.rows_estimate());
                (first, second.join().expect("reader thread"))
            });
            let (ca, pa) = ra?;
            let (cb, pb) = rb?;
            // The halves' rows are made one frame while their checks are joined.
            let (joined, parsed) = std::thread::scope(|s| {
                let parsed = s.spawn(move || pa.finish_with(pb));
                let joined = join_chunks(ca, cb, &same);
                (joined, parsed.join().expect("joining thread"))
            });
            match joined {
                Some(all) => (all, parsed),
                // A number (or a refused repeated row) of the second half is also in the
                // first: read again in one piece, so that the problem is reported with its
                // value and the row is left out like any other invalid row.
                None => read_chunk(table, kind, header_line, &map, &ctx, &same, &rules)?,
            }
        }
        None => read_chunk(table, kind, header_line, &map, &ctx, &same, &rules)?,
    };
    if let Some(rows) = maybe_repeated(&all)
        && let Some((first_line, line)) = repetition(table, header_line, &same, &rules, rows)?
    {
        return Err(UploadError::Repeated {
            line,
            first_line,
            rows: rows / 2,
        });
    }
    if !same.keeps_identical() {
        // Repeated rows are problems (or rows with a number, refused by it): no notice.
        all.first_identical = None;
    }
    for ((column, code), &n) in rules.ignores.iter().zip(&all.ignored) {
        if n > 0 {
            notices.push(ignored_rows_notice(n, column, code));
        }
    }
    finish_upload(kind, parsed, all, notices, opts, encoding, header_line)
}

/// Says how many rows were left out because the profile lists their value under `ignore`.
fn ignored_rows_notice(n: usize, column: &str, code: &str) -> Notice {
    let (de, en) = if n == 1 {
        ("1 Zeile".to_string(), "1 row".to_string())
    } else {
        (format!("{n} Zeilen"), format!("{n} rows"))
    };
    Notice {
        de: format!("{de} übersprungen, weil „{column}“ = {code} (laut Profil)."),
        en: format!("{en} skipped because \"{column}\" = {code} (as the profile says)."),
    }
}

/// Files larger than this are read on two threads.
const PARALLEL_FROM_BYTES: usize = 4 << 20;

/// Fewest data rows of a file that is refused for repeating itself: two identical missed
/// appointments alone are not an export appended twice.
const REPEATED_FILE_MIN_ROWS: usize = 4;

/// How rows of a file are told apart: by their mapped cells (a row that repeats another one
/// exactly) and, where the kind has one, by an identity column (a ticket or case number).
struct Sameness {
    /// The mapped file columns, hashed to find rows that repeat another one.
    mapped: Vec<usize>,
    /// Whether the mapped columns are the first ones (`0..mapped.len()`), so that a line
    /// with no more cells than those is hashed as it is ([`row_hash`]).
    mapped_first: bool,
    /// Whether a repeated row is refused (kinds whose rows are counts, or no identity).
    refuse_identical: bool,
    /// The identity column, if the file has one.
    id: Option<usize>,
    /// Columns to take the row's day from, in order, when the identity is per day: a date
    /// column first, then datetime columns.
    day_from: Option<(Option<usize>, Vec<usize>)>,
    /// The profile's date format, to read that day with.
    dates: Option<parse::DateFormat>,
}

impl Sameness {
    fn new(kind: Kind, map: &ColumnMap, dates: Option<parse::DateFormat>) -> Self {
        let id = kind.identity().and_then(|c| map.get(c));
        let day_from = (id.is_some() && kind.identity_per_day()).then(|| {
            let datetimes = ["arrived_at", "appointment_at", "called_at", "finished_at"]
                .iter()
                .filter_map(|c| map.get(c))
                .collect();
            (map.get("date"), datetimes)
        });
        let mapped = map.mapped_columns();
        Sameness {
            mapped_first: mapped.iter().enumerate().all(|(n, &i)| n == i),
            mapped,
            refuse_identical: !kind.keeps_identical_rows() && id.is_none(),
            id,
            day_from,
            dates,
        }
    }

    /// Whether rows that repeat another one exactly are kept (and counted in a notice): in
    /// files of a kind that keeps them and without an identity column.
    fn keeps_identical(&self) -> bool {
        !self.refuse_identical && self.id.is_none()
    }

    /// The fingerprint of a row's identity (its number, and its day where numbers restart
    /// daily); `None` when the file has no identity column or the row's is empty.
    fn identity(&self, cells: &[Cell]) -> Option<u128> {
        let id = match cells.get(self.id?)? {
            Cell::Text(s) => std::borrow::Cow::Borrowed(s.trim()),
            other => std::borrow::Cow::Owned(other.display()),
        };
        if id.is_empty() {
            return None;
        }
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(id.as_bytes());
        if let Some((date, datetimes)) = &self.day_from {
            let cell = |i: usize| cells.get(i).copied().unwrap_or(Cell::Empty);
            let dates = self.dates.as_ref();
            let day = date
                .and_then(|i| parse::date_cell_in(&cell(i), dates))
                .or_else(|| {
                    datetimes.iter().find_map(|&i| {
                        parse::datetime_cell_in(&cell(i), dates)
                            .map(|t| t.div_euclid(86_400) as i32)
                    })
                });
            h.update(&[0xff]);
            h.update(&day.unwrap_or(i32::MIN).to_le_bytes());
        }
        Some(h.digest128())
    }
}

/// What reading (part of) a table found besides the parsed rows.
struct Chunk {
    problems: Problems,
    invalid_rows: usize,
    /// Fingerprint of each distinct row → the line it first occurs on.
    seen: seen::SeenRows,
    /// Fingerprint of each identity → the line it first occurs on.
    ids: PlHashMap<u128, usize>,
    totals_dropped: Vec<usize>,
    /// Data rows (not empty, not totals).
    data_rows: usize,
    /// Rows that repeat an earlier row exactly.
    identical: usize,
    /// The first of them: (its line, the line it repeats).
    first_identical: Option<(usize, usize)>,
    /// Rows left out per `ignore` entry of the profile ([`Rules::ignores`]).
    ignored: Vec<usize>,
}

/// Reads the data rows of a table into a parser of its kind, and builds their frame.
fn read_chunk(
    table: &Table,
    kind: Kind,
    header_line: usize,
    map: &ColumnMap,
    ctx: &crate::kinds::Context,
    same: &Sameness,
    rules: &Rules,
) -> Result<(Chunk, Parsed), UploadError> {
    let mut parser = kind.parser(map, sized(ctx, table.rows_estimate()));
    let c = read_rows(table, header_line, map, same, rules, &mut *parser)?;
    Ok((c, parser.finish()))
}

/// `ctx` for a parser that makes room for `rows` rows.
fn sized(ctx: &crate::kinds::Context, rows: usize) -> crate::kinds::Context {
    crate::kinds::Context {
        rows_hint: rows,
        ..ctx.clone()
    }
}

/// Reads the rows of `table` below the header into `parser`, checking each; what the checks
/// found is returned, the rows stay in the parser.
fn read_rows(
    table: &Table,
    header_line: usize,
    map: &ColumnMap,
    same: &Sameness,
    rules: &Rules,
    parser: &mut (impl crate::kinds::RowParser + ?Sized),
) -> Result<Chunk, UploadError> {
    let rows_hint = table.rows_estimate();
    let mut c = Chunk {
        problems: Problems::default(),
        invalid_rows: 0,
        // Sized once: growing a table of a million fingerprints rehashes it twenty times.
        seen: seen::SeenRows::with_capacity(rows_hint),
        ids: PlHashMap::default(),
        totals_dropped: Vec::new(),
        data_rows: 0,
        identical: 0,
        first_identical: None,
        ignored: vec![0; rules.ignores.len()],
    };
    let style = table.number_style();
    table.for_each_raw_row(|line, cells, raw| {
        if line <= header_line {
            return true;
        }
        // Only when the profile asks for it: the row with its empty values and codes
        // replaced, or left out for a code listed under `ignore`.
        let cells = match rules.row(cells) {
            Ok(cells) => cells,
            Err(i) => {
                c.ignored[i] += 1;
                return true;
            }
        };
        // The line is the row only while no rule rewrites it (in a file, rules rewrite
        // every row or none).
        let raw = raw.filter(|_| matches!(cells, Cow::Borrowed(_)));
        let cells = &cells[..];
        if cells.iter().all(Cell::is_empty) {
            return true;
        }
        if is_totals_row(cells) {
            c.totals_dropped.push(line);
            return true;
        }
        c.data_rows += 1;
        let before = c.problems.total;
        for (i, cell) in cells.iter().enumerate() {
            if let Cell::Text(s) = cell
                && s.len() > read::MAX_CELL_BYTES
            {
                c.problems
                    .push(line, header_name(map, i), cell, problem::Issue::CellTooLong);
            }
        }
        let fingerprint = row_hash(cells, same, raw);
        let line_u32 = u32::try_from(line).unwrap_or(u32::MAX);
        // A repeated row is a problem only where the profile refuses them; elsewhere only
        // the counts need it, found after the reading.
        let repeats = if same.refuse_identical {
            let first = c.seen.first_line(fingerprint, line_u32) as usize;
            (first != line).then_some(first)
        } else {
            c.seen.note(fingerprint, line_u32);
            None
        };
        if let Some(first_line) = repeats {
            c.identical += 1;
            c.first_identical.get_or_insert((line, first_line));
        }
        if c.problems.total == before {
            if let Some(key) = same.identity(cells) {
                let first_line = *c.ids.entry(key).or_insert(line);
                if first_line != line {
                    let col = same.id.expect("an identity has a column");
                    c.problems.push(
                        line,
                        header_name(map, col),
                        &cells[col],
                        problem::Issue::DuplicateId {
                            first_line,
                            per_day: same.day_from.is_some(),
                        },
                    );
                }
            } else if let Some(first_line) = repeats
                && same.refuse_identical
            {
                let shown: Vec<String> = same
                    .mapped
                    .iter()
                    .filter_map(|&i| cells.get(i))
                    .map(Cell::display)
                    .collect();
                c.problems.push(
                    line,
                    "-".into(),
                    &Cell::Text(&shown.join(";")),
                    problem::Issue::Duplicate { first_line },
                );
            }
        }
        if c.problems.total == before {
            let mut row = Row::new(
                line,
                cells,
                map,
                &mut c.problems,
                style,
                rules.dates.as_ref(),
            );
            parser.row(&mut row);
        }
        if c.problems.total > before {
            c.invalid_rows += 1;
        }
        true
    })?;
    c.seen.settle(|line, first_line| {
        c.identical += 1;
        c.first_identical
            .get_or_insert((line as usize, first_line as usize));
    });
    Ok(c)
}

/// Joins what the two halves of a file found; `None` when a row of the second half is
/// refused because of a row of the first (the same number, or a repeated row where those
/// are refused): then the file is read again in one piece.
fn join_chunks(mut a: Chunk, b: Chunk, same: &Sameness) -> Option<Chunk> {
    if b.ids.keys().any(|k| a.ids.contains_key(k)) {
        return None;
    }
    let mut first_identical = a.first_identical.into_iter().chain(b.first_identical).min();
    for (line, first_line) in b.seen.repeats_of(&a.seen) {
        if same.refuse_identical {
            return None;
        }
        a.identical += 1;
        let (line, first_line) = (line as usize, first_line as usize);
        if first_identical.is_none_or(|(l, _)| line < l) {
            first_identical = Some((line, first_line));
        }
    }
    a.identical += b.identical;
    a.first_identical = first_identical;
    a.data_rows += b.data_rows;
    a.problems.total += b.problems.total;
    let room = problem::MAX_LISTED_PROBLEMS.saturating_sub(a.problems.list.len());
    a.problems
        .list
        .extend(b.problems.list.into_iter().take(room));
    a.problems.list.sort_by_key(|p| p.line);
    a.invalid_rows += b.invalid_rows;
    a.totals_dropped.extend(b.totals_dropped);
    for (n, m) in a.ignored.iter_mut().zip(b.ignored) {
        *n += m;
    }
    Some(a)
}

/// The number of data rows when the file may be one export appended twice: at least half of
/// its rows repeat an earlier row, and there are two different rows at least (rows that are
/// all the same say nothing about appending). Cheap; [`repetition`] then compares the halves.
fn maybe_repeated(c: &Chunk) -> Option<usize> {
    let n = c.data_rows;
    (n >= REPEATED_FILE_MIN_ROWS
        && n.is_multiple_of(2)
        && c.identical * 2 >= n
        && n.saturating_sub(c.identical) >= 2)
        .then_some(n)
}

/// Whether the second half of the `rows` data rows repeats the first, row by row, and the
/// first half has two different rows at least: then the lines where the first and the second
/// copy start.
fn repetition(
    table: &Table,
    header_line: usize,
    same: &Sameness,
    rules: &Rules,
    rows: usize,
) -> Result<Option<(usize, usize)>, UploadError> {
    let half = rows / 2;
    let mut first: Vec<u128> = Vec::with_capacity(half);
    let (mut i, mut lines, mut equal) = (0, (0, 0), true);
    table.for_each_raw_row(|line, cells, raw| {
        if line <= header_line {
            return true;
        }
        let Ok(cells) = rules.row(cells) else {
            return true;
        };
        let raw = raw.filter(|_| matches!(cells, Cow::Borrowed(_)));
        let cells = &cells[..];
        if cells.iter().all(Cell::is_empty) || is_totals_row(cells) {
            return true;
        }
        let h = row_hash(cells, same, raw);
        if i == 0 {
            lines.0 = line;
        }
        if i < half {
            first.push(h);
        } else {
            if i == half {
                lines.1 = line;
            }
            equal = first.get(i - half) == Some(&h);
        }
        i += 1;
        equal
    })?;
    let varied = first.iter().any(|h| Some(h) != first.first());
    Ok((equal && varied && i == rows).then_some(lines))
}

/// Decides on the whole file: refuse it, or build the upload from its rows.
fn finish_upload(
    kind: Kind,
    parsed: Parsed,
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
        identical,
        first_identical,
        ..
    } = all;
    for line in totals_dropped {
        notices.push(Notice {
            de: format!("Summenzeile in Zeile {line} wurde nicht übernommen."),
            en: format!("Totals row on line {line} was left out."),
        });
    }
    if let Some((line, first_line)) = first_identical {
        notices.push(identical_rows_notice(identical, line, first_line));
    }
    if problems.total > 0 && !opts.skip_invalid {
        return Err(UploadError::Invalid {
            problems: problems.list,
            total: problems.total,
        });
    }
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
        batch: Batch {
            kind,
            parsed,
            skipped: invalid_rows,
            notices,
            part: String::new(),
        },
        problems: problems.list,
        encoding,
        header_line,
    })
}

/// Says how many rows repeat an earlier row exactly, and that they were kept.
fn identical_rows_notice(n: usize, line: usize, first_line: usize) -> Notice {
    if n == 1 {
        return Notice {
            de: format!(
                "1 Zeile kommt doppelt vor (gleiche Werte in allen Spalten: Zeile {line} wie Zeile {first_line}); sie wurde als eigener Besuch übernommen."
            ),
            en: format!(
                "1 row occurs twice (the same values in every column: line {line} as line {first_line}); it was kept as a separate visit."
            ),
        };
    }
    Notice {
        de: format!(
            "{n} Zeilen kommen doppelt vor (gleiche Werte in allen Spalten, z. B. Zeile {line} wie Zeile {first_line}); sie wurden als eigene Besuche übernommen."
        ),
        en: format!(
            "{n} rows occur twice (the same values in every column, e.g. line {line} as line {first_line}); they were kept as separate visits."
        ),
    }
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
/// Cells of a plain line (`line`) are joined by its separator, which none of them contains,
/// so that a line whose cells are all mapped is its own fingerprint and is hashed as it is;
/// other cells each end with 0xff, which no text contains.
fn row_hash(cells: &[Cell], same: &Sameness, line: Option<RawLine>) -> u128 {
    if let Some(l) = line
        && same.mapped_first
        && cells.len() == same.mapped.len()
    {
        return xxhash_rust::xxh3::xxh3_128(l.text.as_bytes());
    }
    ROW_BYTES.with_borrow_mut(|buf| {
        buf.clear();
        for (n, &i) in same.mapped.iter().enumerate() {
            if let Some(l) = line
                && n > 0
            {
                buf.push(l.separator);
            }
            match cells.get(i).copied().unwrap_or(Cell::Empty) {
                Cell::Text(s) => buf.extend_from_slice(s.as_bytes()),
                Cell::Number(n) | Cell::DateTime(n) => {
                    buf.extend_from_slice(&n.to_bits().to_le_bytes())
                }
                Cell::Bool(x) => buf.push(x as u8 + 2),
                Cell::Empty => {}
            }
            if line.is_none() {
                buf.push(0xff);
            }
        }
        // One call over the whole row: hashing cell by cell costs three times as much.
        xxhash_rust::xxh3::xxh3_128(buf)
    })
}

thread_local! {
    /// The bytes of the row being fingerprinted by [`row_hash`], kept between rows.
    static ROW_BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The header among the first rows when no kind recognises any: the widest row of text
/// cells (at least two) that is followed by a row with values (dates, times, numbers,
/// yes/no); else the widest row of text cells; else the widest row. The first wins a tie, so
/// a title block above and the data below are never taken for the header.
fn likely_header(first_rows: &[(usize, Vec<String>)]) -> (usize, Vec<String>) {
    type Early = (usize, Vec<String>);
    fn filled(r: &[String]) -> usize {
        r.iter().filter(|c| !c.trim().is_empty()).count()
    }
    fn widest_first<'a>(rows: impl Iterator<Item = &'a Early>) -> Option<&'a Early> {
        rows.fold(None, |best: Option<&Early>, row| match best {
            Some(b) if filled(&b.1) >= filled(&row.1) => Some(b),
            _ => Some(row),
        })
    }
    let has_values = |r: &[String]| r.iter().any(|c| looks_like_value(c));
    let text_row = |r: &[String]| filled(r) >= 2 && !has_values(r);
    let above_data = first_rows
        .windows(2)
        .filter(|w| text_row(&w[0].1) && has_values(&w[1].1))
        .map(|w| &w[0]);
    widest_first(above_data)
        .or_else(|| widest_first(first_rows.iter().filter(|r| text_row(&r.1))))
        .or_else(|| widest_first(first_rows.iter()))
        .cloned()
        .unwrap_or_default()
}

/// Whether a cell reads as a value rather than a header: a date, a time, a number, yes/no.
fn looks_like_value(cell: &str) -> bool {
    let c = cell.trim();
    !c.is_empty()
        && (parse::date(c).is_some()
            || parse::time(c).is_some()
            || parse::datetime(c).is_some()
            || parse::number(c, parse::NumberStyle::German).is_some()
            || parse::boolean(c).is_some())
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

/// The header row of a table whose headers no kind recognises.
fn likely_header_row(table: &Table) -> Result<(usize, Vec<String>), UploadError> {
    Ok(likely_header(&early_rows(table)?))
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
            let (line, headers) = likely_header(&first_rows);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain line hashed as it is has the fingerprint its cells would have: a row with an
    /// unmapped cell more, or one short of empty cells, is still the same row.
    #[test]
    fn a_plain_line_is_its_own_fingerprint() {
        let same = Sameness {
            mapped: vec![0, 1, 2],
            mapped_first: true,
            refuse_identical: false,
            id: None,
            day_from: None,
            dates: None,
        };
        let line = |text| {
            Some(RawLine {
                text,
                separator: b';',
            })
        };
        let (a, b) = (Cell::Text("Nord"), Cell::Text("ä"));
        let whole = row_hash(&[a, b, Cell::Text("x")], &same, line("Nord;ä;x"));
        let longer = row_hash(
            &[a, b, Cell::Text("x"), Cell::Text("9")],
            &same,
            line("Nord;ä;x;9"),
        );
        assert_eq!(whole, longer);
        let short = row_hash(&[a, b], &same, line("Nord;ä"));
        let empty_last = row_hash(&[a, b, Cell::Empty], &same, line("Nord;ä;"));
        assert_eq!(short, empty_last);
        assert_ne!(short, whole);
        // Cells that are not a plain line's keep their own encoding.
        assert_ne!(row_hash(&[a, b, Cell::Text("x")], &same, None), whole);
    }

    fn header_of(text: &str) -> (usize, Vec<String>) {
        likely_header_row(&Table::csv(text)).unwrap()
    }

    /// Headers no kind knows: the row of text above the values, wherever the title block
    /// puts it and however wide the rows are.
    #[test]
    fn the_header_is_the_text_row_above_the_values() {
        let data =
            "Einwohnermeldeamt;03.03.2025;09:05;09:12\nEinwohnermeldeamt;03.03.2025;09:10;09:20\n";
        let want = |line| {
            (
                line,
                vec!["Foo".into(), "Bar".into(), "Baz".into(), "Qux".into()],
            )
        };
        assert_eq!(header_of(&format!("Foo;Bar;Baz;Qux\n{data}")), want(1));
        assert_eq!(
            header_of(&format!(
                "Auswertung Besucher\nZeitraum: 01.03.2025 bis 31.03.2025\n\nFoo;Bar;Baz;Qux\n{data}"
            )),
            want(4)
        );
        // A title block split into cells, with dates in it.
        assert_eq!(
            header_of(&format!(
                "Zeitraum:;01.03.2025;31.03.2025\nFoo;Bar;Baz;Qux\n{data}"
            )),
            want(2)
        );
        // Rows of text only (a catalogue): the first of the widest.
        assert_eq!(
            header_of("Foo;Bar;Baz;Qux\nAmt;Anmeldung;online;ja\nAmt;Ummeldung;online;nein\n").0,
            1
        );
    }
}
