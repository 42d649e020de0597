//! The data kinds of DESIGN.md. Each kind is one file: its canonical columns with German and
//! English header aliases, the parsing and validation of a row, and the frame it stores.
//! Adding a kind is adding one file and one arm in [`Kind`].

pub mod cases;
pub mod contacts;
pub mod digital;
pub mod services;
pub mod visits;

use crate::rows::ColumnMap;
use crate::rows::parse::NumberStyle;
use crate::rows::row::Row;
use polars::prelude::*;
use polars_arrow::array::Array;
use polars_arrow::bitmap::MutableBitmap;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A canonical column with the names exports give it.
#[derive(Debug)]
pub struct ColumnDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// What belongs in it, for the profile template and docs.
    pub help: &'static str,
}

/// The kinds of data an office uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Visits,
    Cases,
    Digital,
    Services,
    Contacts,
}

impl Kind {
    /// Every kind, in the order kinds are tried when recognising a file.
    pub const ALL: [Kind; 5] = [
        Kind::Visits,
        Kind::Cases,
        Kind::Digital,
        Kind::Services,
        Kind::Contacts,
    ];

    /// The kind's name in commands, URLs and files.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Visits => "visits",
            Kind::Cases => "cases",
            Kind::Digital => "digital",
            Kind::Services => "services",
            Kind::Contacts => "contacts",
        }
    }

    /// The canonical columns.
    pub fn columns(self) -> &'static [ColumnDef] {
        match self {
            Kind::Visits => visits::COLUMNS,
            Kind::Cases => cases::COLUMNS,
            Kind::Digital => digital::COLUMNS,
            Kind::Services => services::COLUMNS,
            Kind::Contacts => contacts::COLUMNS,
        }
    }

    /// The columns a file needs besides the office, as groups of alternatives: each
    /// alternative is written `a+b` (columns a and b together), and one of a group suffices.
    pub fn required(self) -> &'static [&'static [&'static str]] {
        match self {
            Kind::Visits => visits::REQUIRED,
            Kind::Cases => cases::REQUIRED,
            Kind::Digital => digital::REQUIRED,
            Kind::Services => services::REQUIRED,
            Kind::Contacts => contacts::REQUIRED,
        }
    }

    /// Required columns that a mapped header row lacks.
    pub fn missing_columns(
        self,
        has: &dyn Fn(&str) -> bool,
        office_given: bool,
    ) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !office_given && !has("office") {
            missing.push("office");
        }
        for alternatives in self.required() {
            let ok = alternatives.iter().any(|alt| alt.split('+').all(has));
            if !ok {
                missing.push(alternatives[0]);
            }
        }
        missing
    }

    /// The column that names a row, if the kind has one. Two rows with the same value are an
    /// error; for visits only on the same day, since queue numbers start again every morning.
    pub fn identity(self) -> Option<&'static str> {
        match self {
            Kind::Visits => Some("ticket_id"),
            Kind::Cases => Some("case_id"),
            _ => None,
        }
    }

    /// Whether the identity is "the value together with the row's day".
    pub fn identity_per_day(self) -> bool {
        self == Kind::Visits
    }

    /// Whether a row that repeats another one exactly is real and kept: two walk-ins in the
    /// same minute, two missed appointments of one slot. Rows of the other kinds are counts
    /// or catalogue entries, so a repeated one would be counted twice: it is refused.
    pub fn keeps_identical_rows(self) -> bool {
        self == Kind::Visits
    }

    /// A parser for rows mapped by `map`.
    pub fn parser(self, map: &ColumnMap, ctx: Context) -> Box<dyn RowParser + Send> {
        match self {
            Kind::Visits => Box::new(visits::Parser::new(map, ctx)),
            Kind::Cases => Box::new(cases::Parser::new(map, ctx)),
            Kind::Digital => Box::new(digital::Parser::new(map, ctx)),
            Kind::Services => Box::new(services::Parser::new(map, ctx)),
            Kind::Contacts => Box::new(contacts::Parser::new(map, ctx)),
        }
    }

    /// The blank CSV template of `datasets/templates/`, built into the binary.
    pub fn template(self) -> &'static str {
        match self {
            Kind::Visits => include_str!("../../datasets/templates/visits.csv"),
            Kind::Cases => include_str!("../../datasets/templates/cases.csv"),
            Kind::Digital => include_str!("../../datasets/templates/digital.csv"),
            Kind::Services => include_str!("../../datasets/templates/services.csv"),
            Kind::Contacts => include_str!("../../datasets/templates/contacts.csv"),
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!("unbekannte Datenart / unknown kind {s:?}: visits, cases, digital, services, contacts")
            })
    }
}

/// What a parser knows beyond the row.
#[derive(Debug, Clone)]
pub struct Context {
    /// The office for rows that name none.
    pub office: Option<String>,
    /// Today as a day number: later dates are refused.
    pub today: i32,
    pub style: NumberStyle,
    /// About how many rows the part being read holds, to size buffers once.
    pub rows_hint: usize,
}

/// Parses rows of one kind into column builders.
pub trait RowParser {
    /// Parses one row; problems go to the row, and a row with problems is not kept.
    fn row(&mut self, row: &mut Row);
    /// The frame of the kept rows.
    fn finish(self: Box<Self>) -> Parsed;
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
    pub fn text(&self, lang: crate::i18n::Lang) -> &str {
        lang.pick(&self.de, &self.en)
    }
}

/// What the store keeps of an upload: its kind and rows, how many rows were left out, what
/// staff were told about it, and which part of its months it stands for.
#[derive(Debug)]
pub struct Batch {
    pub kind: Kind,
    pub parsed: Parsed,
    /// Rows left out with `skip_invalid`.
    pub skipped: usize,
    pub notices: Vec<Notice>,
    /// "" for whole months; a report that gives only some figures of its months (a ZMS report
    /// of one location) names its part, and the parts of a month complement each other when
    /// published.
    pub part: String,
}

impl Batch {
    /// Whether publishing both would make one replace the other: the same kind and a shared
    /// (office, month), for the same part or where one of them is whole months. (The
    /// catalogue's `current_revisions` view applies the same rule to published revisions.)
    pub fn collides_with(&self, other: &Batch) -> bool {
        let same_part = self.part == other.part || self.part.is_empty() || other.part.is_empty();
        self.kind == other.kind
            && same_part
            && self
                .parsed
                .partitions
                .keys()
                .any(|k| other.parsed.partitions.contains_key(k))
    }
}

/// The canonical rows of an upload and the (office, month) cells they cover, with the
/// number of rows in each.
#[derive(Debug)]
pub struct Parsed {
    pub frame: DataFrame,
    pub partitions: BTreeMap<(String, i32), usize>,
    pub rows: usize,
}

impl Parsed {
    /// Builds the result; every kind's frame has `office` and `month`.
    pub fn new(frame: DataFrame) -> Self {
        let mut counts: PlHashMap<(&str, i32), usize> = PlHashMap::default();
        let offices = frame.column("office").ok().and_then(|c| c.str().ok());
        let months = frame.column("month").ok().and_then(|c| c.i32().ok());
        if let (Some(o), Some(m)) = (offices, months) {
            for (o, m) in o.iter().zip(m.iter()) {
                if let (Some(o), Some(m)) = (o, m) {
                    *counts.entry((o, m)).or_default() += 1;
                }
            }
        }
        let partitions: BTreeMap<(String, i32), usize> = counts
            .into_iter()
            .map(|((o, m), n)| ((o.to_string(), m), n))
            .collect();
        Parsed {
            rows: frame.height(),
            frame,
            partitions,
        }
    }
}

/// Repeated texts (office, location, service) kept once, so a million rows cost a million
/// integers and not a million strings.
#[derive(Debug)]
pub struct Interner {
    ids: PlHashMap<String, u32>,
    values: Vec<String>,
    /// Ids of texts seen lately, plus one (0: none), by a slot their first and last bytes
    /// choose: a column repeats a few texts, so most rows find theirs here with one
    /// comparison instead of hashing the text.
    recent: [u32; RECENT_SLOTS],
}

/// Slots of [`Interner::recent`].
const RECENT_SLOTS: usize = 64;

impl Default for Interner {
    fn default() -> Self {
        Interner {
            ids: PlHashMap::default(),
            values: Vec::new(),
            recent: [0; RECENT_SLOTS],
        }
    }
}

impl Interner {
    /// The id of a text.
    pub fn id(&mut self, s: &str) -> u32 {
        let slot = recent_slot(s.as_bytes());
        if let Some(seen) = self.recent[slot].checked_sub(1)
            && self.values[seen as usize] == s
        {
            return seen;
        }
        let id = match self.ids.get(s) {
            Some(id) => *id,
            None => {
                let id = self.values.len() as u32;
                self.values.push(s.to_string());
                self.ids.insert(s.to_string(), id);
                id
            }
        };
        self.recent[slot] = id + 1;
        id
    }

    /// A string column from ids: the distinct texts once, gathered by id, so that each row
    /// costs a view into them and no copy of its text.
    pub fn column(&self, name: &str, ids: Nullable<u32>) -> Column {
        let len = ids.len();
        if self.values.is_empty() {
            return StringChunked::full_null(name.into(), len).into_column();
        }
        let texts =
            StringChunked::from_iter_values(name.into(), self.values.iter().map(String::as_str));
        let ids: IdxCa = ids.into_chunked(name);
        texts
            .take(&ids)
            .expect("ids come from this interner")
            .into_column()
    }
}

/// A text's slot among [`RECENT_SLOTS`], from its length and its first and last (up to)
/// eight bytes.
fn recent_slot(b: &[u8]) -> usize {
    let word = |c: &[u8]| match <[u8; 8]>::try_from(c) {
        Ok(w) => u64::from_le_bytes(w),
        Err(_) => c.iter().fold(0u64, |w, x| (w << 8) | *x as u64),
    };
    let n = b.len();
    let (head, tail) = (word(&b[..n.min(8)]), word(&b[n.saturating_sub(8)..]));
    let h = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - RECENT_SLOTS.trailing_zeros())) as usize
}

/// The id that stands for a missing text (see [`Texts`]).
pub const MISSING: u32 = u32::MAX;

/// Texts of columns read from a frame, each once: the counterpart of [`Interner`] for
/// texts that are already in memory, which it borrows. [`MISSING`] stands for a missing one.
#[derive(Default)]
pub struct Texts<'a> {
    ids: PlHashMap<&'a str, u32>,
    pub values: Vec<&'a str>,
}

impl<'a> Texts<'a> {
    /// Texts known by their ids already (`values[id]`); they are not looked up again.
    pub fn of_values(values: Vec<&'a str>) -> Self {
        Texts {
            ids: PlHashMap::default(),
            values,
        }
    }

    /// The id of a text.
    pub fn id(&mut self, s: Option<&'a str>) -> u32 {
        let Some(s) = s else { return MISSING };
        *self.ids.entry(s).or_insert_with(|| {
            self.values.push(s);
            (self.values.len() - 1) as u32
        })
    }

    /// The id of each value of a column, told apart by their 16-byte views (within one
    /// array equal views are equal texts, and texts a reader interned or read from a
    /// Parquet dictionary share their view), so that a text is hashed once per array and
    /// not once per row.
    pub fn ids_of(&mut self, ca: &'a StringChunked) -> Vec<u32> {
        let mut out = Vec::with_capacity(ca.len());
        for arr in ca.downcast_iter() {
            let views = arr.views().iter().map(|v| v.as_u128());
            out.extend(keys_by_bits(views, Array::validity(arr), MISSING, |i| {
                self.id(Some(arr.value(i)))
            }));
        }
        out
    }

    /// The text of an id.
    pub fn get(&self, id: u32) -> Option<&'a str> {
        (id != MISSING).then(|| self.values[id as usize])
    }
}

/// The key of each row, given each row's bits (a text's view, a float's bit pattern): a
/// row whose bits sit in a small direct-mapped table takes the key there, any other asks
/// `key_of(row)`; a missing value gets `missing` without a lookup. Columns of an export
/// repeat a few values, so nearly every row is found without hashing its value.
pub fn keys_by_bits(
    bits: impl ExactSizeIterator<Item = u128>,
    validity: Option<&polars_arrow::bitmap::Bitmap>,
    missing: u32,
    mut key_of: impl FnMut(usize) -> u32,
) -> Vec<u32> {
    // Up to 4,096 slots, fewer for fewer rows: a small column needs no 128 KB table.
    let slot_bits = bits.len().next_power_of_two().trailing_zeros().clamp(1, 12);
    let mut slots: Vec<(u128, u32)> = vec![(0, u32::MAX); 1 << slot_bits];
    bits.enumerate()
        .map(|(i, b)| {
            if validity.is_some_and(|v| !v.get_bit(i)) {
                return missing;
            }
            let h = (b as u64 ^ (b >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                >> (64 - slot_bits);
            let slot = &mut slots[h as usize];
            if slot.1 == u32::MAX || slot.0 != b {
                *slot = (b, key_of(i));
            }
            slot.1
        })
        .collect()
}

/// A column being read, laid out as polars keeps it (values and a validity bitmap):
/// finishing hands the buffers over instead of copying a million `Option`s, and a missing
/// value costs a bit rather than the width of an `Option`.
#[derive(Debug, Default)]
pub struct Nullable<T> {
    values: Vec<T>,
    valid: MutableBitmap,
}

impl<T: Copy + Default> Nullable<T> {
    /// Room for `n` values, so a million rows are not copied while the column grows.
    pub fn with_capacity(n: usize) -> Self {
        Nullable {
            values: Vec::with_capacity(n),
            valid: MutableBitmap::with_capacity(n),
        }
    }

    /// `n` missing values.
    pub fn nulls(n: usize) -> Self {
        let mut c = Self::with_capacity(n);
        c.values.resize(n, T::default());
        c.valid.extend_constant(n, false);
        c
    }

    /// Adds the next row's value (`None`: missing).
    pub fn push(&mut self, v: Option<T>) {
        self.values.push(v.unwrap_or_default());
        self.valid.push(v.is_some());
    }

    /// Adds the rows of `later` after these.
    pub fn append(&mut self, later: Nullable<T>) {
        self.values.extend_from_slice(&later.values);
        self.append_valid(&later);
    }

    /// Adds the rows of `later` after these, each value through `map` (a text id of
    /// another interner to this one's).
    pub fn append_mapped(&mut self, later: Nullable<T>, map: impl Fn(T) -> T) {
        self.values.extend(later.values.iter().map(|v| map(*v)));
        self.append_valid(&later);
    }

    fn append_valid(&mut self, later: &Nullable<T>) {
        let (bytes, len) = (later.valid.as_slice(), later.valid.len());
        self.valid.extend_from_slice(bytes, 0, len);
    }

    /// Rows so far, missing values included.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The polars array of the values, without copying them.
    pub fn into_chunked<P: PolarsNumericType<Native = T>>(self, name: &str) -> ChunkedArray<P> {
        ChunkedArray::from_vec_validity(name.into(), self.values, self.valid.into())
    }

    /// The values as a column of polars type `P`.
    pub fn into_column<P: PolarsNumericType<Native = T>>(self, name: &str) -> Column {
        self.into_chunked::<P>(name).into_column()
    }
}

/// A datetime column from epoch seconds.
pub fn datetime_column(name: &str, mut secs: Nullable<i64>) -> Column {
    for s in &mut secs.values {
        *s *= 1000;
    }
    secs.into_chunked::<Int64Type>(name)
        .into_datetime(TimeUnit::Milliseconds, None)
        .into_column()
}

/// A date column from day numbers.
pub fn date_column(name: &str, days: &[Option<i32>]) -> Column {
    let ca: Int32Chunked = days.iter().copied().collect();
    ca.with_name(name.into()).into_date().into_column()
}

/// A frame from columns; the columns are built by the kind and always have equal length.
pub fn frame(columns: Vec<Column>) -> DataFrame {
    DataFrame::new_infer_height(columns).expect("kind builds columns of equal length")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A text's id is its first appearance's, whatever other texts share its slot among the
    /// recent ones: texts alike in length and in their first and last eight bytes, short
    /// ones, the empty one, umlauts.
    #[test]
    fn equal_texts_get_one_id_and_different_ones_another() {
        let mut texts: Vec<String> = (0..300)
            .map(|i| format!("Bürgerbüro {i:04} Barmen"))
            .collect();
        texts.extend(["", "a", "Amt", "Straßenverkehrsamt", "Einwohnermeldeamt"].map(String::from));
        let mut interner = Interner::default();
        let mut seed = 11u64;
        let mut first: PlHashMap<String, u32> = PlHashMap::default();
        for _ in 0..20_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Mostly a few texts, as a column has, sometimes any of them.
            let i = if seed >> 62 == 0 {
                (seed >> 33) as usize % texts.len()
            } else {
                texts.len() - 1 - (seed >> 33) as usize % 3
            };
            let id = interner.id(&texts[i]);
            let next = first.len() as u32;
            let expected = *first.entry(texts[i].clone()).or_insert(next);
            assert_eq!(id, expected, "{:?}", texts[i]);
            assert_eq!(interner.values[id as usize], texts[i]);
        }
    }

    /// Missing values stay missing, present ones keep their value, in order.
    #[test]
    fn nullable_columns_keep_values_and_gaps() {
        let mut waits = Nullable::with_capacity(2);
        for w in [Some(1.5), None, Some(0.0), None] {
            waits.push(w);
        }
        let waits = waits.into_column::<Float64Type>("wait_min");
        let read: Vec<Option<f64>> = waits.f64().unwrap().iter().collect();
        assert_eq!(read, [Some(1.5), None, Some(0.0), None]);
        assert_eq!(waits.name().as_str(), "wait_min");

        let mut arrived = Nullable::nulls(1);
        arrived.push(Some(86_400));
        let arrived = datetime_column("arrived_at", arrived);
        let ms: Vec<Option<i64>> = arrived.datetime().unwrap().physical().iter().collect();
        assert_eq!(ms, [None, Some(86_400_000)]);
    }

    /// Texts come back by id; a missing id is a missing text; no texts at all is all nulls.
    #[test]
    fn interned_texts_come_back_as_strings() {
        let mut strings = Interner::default();
        let mut ids = Nullable::default();
        for t in [
            Some("Bürgeramt Mitte"),
            None,
            Some("Nord"),
            Some("Bürgeramt Mitte"),
        ] {
            ids.push(t.map(|t| strings.id(t)));
        }
        let office = strings.column("office", ids);
        let read: Vec<Option<&str>> = office.str().unwrap().iter().collect();
        assert_eq!(
            read,
            [
                Some("Bürgeramt Mitte"),
                None,
                Some("Nord"),
                Some("Bürgeramt Mitte")
            ]
        );
        assert_eq!(office.name().as_str(), "office");

        let none = Interner::default().column("service", Nullable::nulls(3));
        assert_eq!(none.null_count(), 3);
        assert_eq!(none.dtype(), &DataType::String);
    }
}
