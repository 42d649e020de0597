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
use std::collections::{BTreeMap, HashMap};
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
        let mut counts: HashMap<(&str, i32), usize> = HashMap::new();
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

    /// Joins the parts of a file read in parallel, in file order.
    pub fn concat(parts: Vec<Parsed>) -> Parsed {
        let mut parts = parts.into_iter();
        let mut all = parts
            .next()
            .unwrap_or_else(|| Parsed::new(DataFrame::empty()));
        for p in parts {
            if all.rows == 0 {
                all = p;
                continue;
            }
            if p.rows == 0 {
                continue;
            }
            all.frame
                .vstack_mut_owned(p.frame)
                .expect("parts of one kind have one schema");
            for (k, n) in p.partitions {
                *all.partitions.entry(k).or_default() += n;
            }
            all.rows += p.rows;
        }
        all
    }
}

/// Repeated texts (office, location, service) kept once, so a million rows cost a million
/// integers and not a million strings.
#[derive(Debug, Default)]
pub struct Interner {
    ids: PlHashMap<String, u32>,
    values: Vec<String>,
}

impl Interner {
    /// The id of a text.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.values.len() as u32;
        self.values.push(s.to_string());
        self.ids.insert(s.to_string(), id);
        id
    }

    /// A string column from ids.
    pub fn column(&self, name: &str, ids: &[Option<u32>]) -> Column {
        let ca: StringChunked = ids
            .iter()
            .map(|i| i.map(|i| self.values[i as usize].as_str()))
            .collect();
        ca.with_name(name.into()).into_column()
    }
}

/// A datetime column from epoch seconds.
pub fn datetime_column(name: &str, secs: &[Option<i64>]) -> Column {
    let ca: Int64Chunked = secs.iter().map(|s| s.map(|s| s * 1000)).collect();
    ca.with_name(name.into())
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
