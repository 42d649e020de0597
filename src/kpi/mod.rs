//! The KPI engine: the one path every number takes, for pages, charts, downloads, the API
//! and reports. Each kind's formulas (DESIGN.md) are a polars lazy plan in its own file;
//! this module groups, suppresses small cells, applies targets and adds comparisons.

pub mod cases;
pub mod contacts;
pub mod definitions;
pub mod digital;
pub mod partials;
pub mod services;
pub mod table;
pub mod visits;

use crate::kinds::Kind;
use crate::store::{Store, StoreError, Target};
use crate::timefmt::{format_month, month_key, prev_month};
pub use definitions::{Direction, KpiDef, Measure};
use polars::prelude::*;
use std::collections::HashMap;
use std::str::FromStr;
pub use table::{KpiTable, NotApplicable, NotAvailable, Value};
use thiserror::Error;

/// What can go wrong computing KPIs.
#[derive(Debug, Error)]
pub enum KpiError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Berechnung fehlgeschlagen / computation failed: {0}")]
    Polars(#[from] PolarsError),
    #[error(
        "„{dim}“ kann für {kind} nicht gruppiert werden; möglich: {allowed} / cannot group {kind} by \"{dim}\"; possible: {allowed}"
    )]
    BadDimension {
        kind: Kind,
        dim: String,
        allowed: String,
    },
    #[error(
        "{kind} ist ein Bestand am Monatsende und wird nur je Monat gezählt: by muss month enthalten / {kind} is a stock at month end, counted per month only: by must include month"
    )]
    NeedsMonth { kind: Kind },
}

/// Whether a kind is only meaningful per month (a stock at month end: the services
/// catalogue), so that every question about it must group by month.
pub fn needs_month(kind: Kind) -> bool {
    kind == Kind::Services
}

/// A grouping dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    Month,
    Quarter,
    Year,
    Office,
    Location,
    Service,
    Weekday,
    Hour,
    Appointment,
    Channel,
    Outcome,
}

impl Dim {
    /// The column name in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Month => "month",
            Dim::Quarter => "quarter",
            Dim::Year => "year",
            Dim::Office => "office",
            Dim::Location => "location",
            Dim::Service => "service",
            Dim::Weekday => "weekday",
            Dim::Hour => "hour",
            Dim::Appointment => "appointment",
            Dim::Channel => "channel",
            Dim::Outcome => "outcome",
        }
    }

    /// The grouping expression over a kind's stored rows.
    fn expr(self) -> Expr {
        match self {
            // Integer division by truncating casts (month keys are positive).
            Dim::Quarter => (year_of_month() * lit(10)
                + ((col("month") % lit(100) - lit(1)) / lit(3)).cast(DataType::Int32)
                + lit(1))
            .alias("quarter"),
            Dim::Year => year_of_month().alias("year"),
            other => col(other.as_str()),
        }
    }

    /// Dimensions a kind can be grouped by.
    pub fn allowed(kind: Kind) -> &'static [Dim] {
        use Dim::*;
        match kind {
            Kind::Visits => &[
                Month,
                Quarter,
                Year,
                Office,
                Location,
                Service,
                Weekday,
                Hour,
                Appointment,
            ],
            Kind::Cases => &[Month, Quarter, Year, Office, Service, Outcome],
            Kind::Digital => &[Month, Quarter, Year, Office, Service],
            Kind::Services => &[Month, Office],
            Kind::Contacts => &[Month, Quarter, Year, Office, Channel],
        }
    }
}

impl FromStr for Dim {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use Dim::*;
        Ok(match s.trim() {
            "month" => Month,
            "quarter" => Quarter,
            "year" => Year,
            "office" => Office,
            "location" => Location,
            "service" => Service,
            "weekday" => Weekday,
            "hour" => Hour,
            "appointment" => Appointment,
            "channel" => Channel,
            "outcome" => Outcome,
            other => return Err(format!("unknown grouping {other:?}")),
        })
    }
}

/// The year of a `yyyymm` month key.
fn year_of_month() -> Expr {
    (col("month") / lit(100)).cast(DataType::Int32)
}

/// Parses `month,office` into dimensions.
pub fn parse_dims(s: &str) -> Result<Vec<Dim>, String> {
    let dims: Vec<Dim> = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    for (i, d) in dims.iter().enumerate() {
        if dims[..i].contains(d) {
            return Err(format!(
                "Gruppierung {:?} mehrfach angegeben / grouping {:?} given more than once",
                d.as_str(),
                d.as_str()
            ));
        }
    }
    Ok(dims)
}

/// A KPI request, as given by `kennzahl kpi`, the API and the pages.
#[derive(Debug, Clone)]
pub struct Query {
    pub kind: Kind,
    pub by: Vec<Dim>,
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub office: Option<String>,
    pub location: Option<String>,
    pub service: Option<String>,
    /// Cells from fewer rows are published as ".".
    pub min_cell: u32,
    /// Add previous-month and previous-year values (only with `month` in `by`).
    pub compare: bool,
    /// The running month (not closed); `None` = from today's date.
    pub current_month: Option<i32>,
    /// The KPIs asked for (`None`: all of the kind's): the table holds only their columns
    /// besides the grouping and `provisional`, and what only other KPIs need may be left
    /// unread (a weekday × hour chart of waits reads no service times).
    pub kpis: Option<Vec<&'static str>>,
}

impl Query {
    /// A query with the defaults of DESIGN.md.
    pub fn new(kind: Kind, by: Vec<Dim>) -> Self {
        Query {
            kind,
            by,
            from: None,
            to: None,
            office: None,
            location: None,
            service: None,
            min_cell: 3,
            compare: false,
            current_month: None,
            kpis: None,
        }
    }
}

/// Targets that are settings of a KPI rather than goals for one: the wait that counts as
/// within target (visits, minutes) and the answer time of the service level (contacts,
/// seconds). They are set like targets, per office.
pub fn target_settings(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Visits => &[visits::WAIT_TARGET_KPI],
        Kind::Contacts => &[contacts::ANSWER_TARGET_KPI],
        _ => &[],
    }
}

/// Whether `kpi` can be given a target for `kind`: one of its KPIs or [`target_settings`].
pub fn takes_target(kind: Kind, kpi: &str) -> bool {
    target_settings(kind).contains(&kpi)
        || definitions::for_kind(kind).iter().any(|d| d.name == kpi)
}

pub use crate::kinds::visits::DEFAULT_WAIT_TARGET_MIN;

/// Computes the KPI table of a query from the published data.
pub fn compute(store: &Store, q: &Query) -> Result<KpiTable, KpiError> {
    let table = compute_all(store, q)?;
    Ok(match &q.kpis {
        None => table,
        Some(kpis) => table.only(|c| {
            c == "provisional" || q.by.iter().any(|d| d.as_str() == c) || kpis.contains(&c)
        }),
    })
}

/// [`compute`] with every KPI of the kind.
fn compute_all(store: &Store, q: &Query) -> Result<KpiTable, KpiError> {
    for d in &q.by {
        if !Dim::allowed(q.kind).contains(d) {
            return Err(KpiError::BadDimension {
                kind: q.kind,
                dim: d.as_str().into(),
                allowed: Dim::allowed(q.kind)
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            });
        }
    }
    if needs_month(q.kind) && !q.by.contains(&Dim::Month) {
        return Err(KpiError::NeedsMonth { kind: q.kind });
    }
    let targets = store.targets(q.kind)?;
    let cells = cells_of(q);
    if q.kind == Kind::Visits
        && let Some(split) = partials::split_for(q)
    {
        let histograms = partials::needs_histograms(q, &targets);
        let Some(p) = store.published_partials(&cells, split, histograms)? else {
            return compute_from(None, q, &targets);
        };
        let keys: Vec<Expr> = q.by.iter().map(|d| d.expr()).collect();
        let merge = partials::Merge::of_kept(q, &targets);
        let df = partials::aggregate_visits(filtered(p, q), &keys, q, &targets, merge)?;
        return finish(df, q, &targets);
    }
    if q.kind == Kind::Visits
        && let Some(df) = partials::weekday_hour(store, q, &cells, &targets)?
    {
        return finish(df, q, &targets);
    }
    // Open cases and service catalogues carry over from earlier months: all months are read.
    let rows = match q.kind {
        Kind::Visits | Kind::Digital | Kind::Contacts => store.published_rows_of(q.kind, &cells)?,
        Kind::Cases | Kind::Services => store.published_rows(q.kind)?,
    };
    compute_from(rows, q, &targets)
}

/// The published cells a question reads: its office, and its months (with the year before
/// `from` when it compares).
fn cells_of(q: &Query) -> crate::store::Cells {
    crate::store::Cells {
        office: q.office.clone(),
        from: first_month_read(q),
        to: q.to,
    }
}

/// The first month a question reads: `from`, or the year and a month before it when it
/// compares (the previous month and the same month last year).
fn first_month_read(q: &Query) -> Option<i32> {
    match (q.compare, q.from) {
        (true, Some(f)) => Some((0..13).fold(f, |m, _| prev_month(m))),
        (_, f) => f,
    }
}

/// Computes from the published rows even where partial aggregates answer the question: the
/// reference the partials are checked against.
pub fn compute_from_rows(store: &Store, q: &Query) -> Result<KpiTable, KpiError> {
    let targets = store.targets(q.kind)?;
    compute_from(store.published_rows(q.kind)?, q, &targets)
}

/// The months a question reads (those before `from` too when it compares) and its filters.
fn filtered(lf: LazyFrame, q: &Query) -> LazyFrame {
    let mut lf = lf;
    if let Some(f) = first_month_read(q) {
        lf = lf.filter(col("month").gt_eq(lit(f)));
    }
    if let Some(t) = q.to {
        lf = lf.filter(col("month").lt_eq(lit(t)));
    }
    for (dim, v) in [
        ("office", &q.office),
        ("location", &q.location),
        ("service", &q.service),
    ] {
        if let Some(v) = v
            && Dim::allowed(q.kind).iter().any(|d| d.as_str() == dim)
        {
            lf = lf.filter(col(dim).eq(lit(v.clone())));
        }
    }
    lf
}

/// Computes from given rows (used by the upload preview, before anything is stored).
pub fn compute_from(
    rows: Option<LazyFrame>,
    q: &Query,
    targets: &[Target],
) -> Result<KpiTable, KpiError> {
    let Some(rows) = rows else {
        return Ok(KpiTable {
            columns: columns_of(q),
            rows: Vec::new(),
        });
    };
    let current = current_month(q);
    let lf = filtered(rows, q);
    let keys: Vec<Expr> = q.by.iter().map(|d| d.expr()).collect();
    let aggregated = match q.kind {
        Kind::Visits => visits::aggregate(lf, &keys, &q.by, q.service.is_some(), targets)?,
        Kind::Cases => cases::aggregate(lf, &keys, &q.by)?,
        Kind::Digital => digital::aggregate(lf, &keys),
        Kind::Contacts => contacts::aggregate(lf, &keys, targets),
        Kind::Services => services::aggregate(lf, &q.by, current)?,
    };
    finish(aggregated.collect()?, q, targets)
}

/// The running month (not closed) of a question.
fn current_month(q: &Query) -> i32 {
    q.current_month
        .unwrap_or_else(|| month_key(crate::timefmt::today()))
}

/// The columns of a question's table: grouping, `provisional` with months, the KPIs.
fn columns_of(q: &Query) -> Vec<String> {
    let mut columns: Vec<String> = q.by.iter().map(|d| d.as_str().to_string()).collect();
    if q.by.contains(&Dim::Month) {
        columns.push("provisional".into());
    }
    columns.extend(
        definitions::for_kind(q.kind)
            .iter()
            .map(|d| d.name.to_string()),
    );
    columns
}

/// From the aggregates of each group to the published table: sorted by the grouping, cells
/// from too few rows suppressed, what is not available said, targets and comparisons added.
fn finish(df: DataFrame, q: &Query, targets: &[Target]) -> Result<KpiTable, KpiError> {
    let defs = definitions::for_kind(q.kind);
    let current = current_month(q);
    let columns = columns_of(q);
    let by_month = q.by.contains(&Dim::Month);
    let sort_cols: Vec<PlSmallStr> = q.by.iter().map(|d| d.as_str().into()).collect();
    let df = if sort_cols.is_empty() {
        df
    } else {
        df.sort(
            sort_cols,
            SortMultipleOptions::default().with_nulls_last(true),
        )?
    };
    let mut raw: HashMap<String, Vec<Option<f64>>> = HashMap::new();
    for c in df.columns() {
        if q.by.iter().any(|d| d.as_str() == c.name().as_str()) {
            continue;
        }
        let f = c.cast(&DataType::Float64)?;
        raw.insert(c.name().to_string(), f.f64()?.iter().collect());
    }
    let key_values: Vec<Vec<Value>> =
        q.by.iter()
            .map(|d| key_column(&df, *d))
            .collect::<Result<_, _>>()?;

    let month_idx = q.by.iter().position(|d| *d == Dim::Month);
    let office_idx = q.by.iter().position(|d| *d == Dim::Office);
    let mut out_rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut row: Vec<Value> = key_values.iter().map(|k| k[i].clone()).collect();
        if let Some(mi) = month_idx {
            let m = month_of(&row[mi]);
            row.push(Value::Bool(m.is_some_and(|m| m >= current)));
        }
        // Whether a KPI's value is shown, not suppressed (see `KpiDef::value`).
        let shows = |d: &definitions::KpiDef| {
            d.base_in(&raw, i)
                .is_some_and(|b| b >= f64::from(q.min_cell))
        };
        // Whether a zero in `base` is public already: the count it is is shown, or a count it
        // cannot exceed is shown as zero (no service times where nobody was served).
        let shown_count = |column: &str| {
            defs.iter()
                .find(|d| matches!(d.measure, definitions::Measure::Col(c) if c == column))
                .filter(|d| shows(d))
        };
        let zero_public = |base: &str| {
            shown_count(base).is_some()
                || definitions::BASE_WITHIN
                    .iter()
                    .filter(|(inner, _)| *inner == base)
                    .any(|(_, outer)| {
                        shown_count(outer).is_some()
                            && raw
                                .get(*outer)
                                .and_then(|v| v.get(i).copied().flatten())
                                .unwrap_or(0.0)
                                == 0.0
                    })
        };
        for def in defs {
            let stock = q.kind == Kind::Cases && cases::STOCKS.contains(&def.name);
            row.push(if stock && !by_month {
                Value::NotApplicable(NotApplicable::NotForThisGrouping)
            } else {
                not_available(q.kind, def.name, &raw, i)
                    .unwrap_or_else(|| def.value(&raw, i, q.min_cell, zero_public(def.base)))
            });
        }
        out_rows.push(row);
    }
    let mut table = KpiTable {
        columns,
        rows: out_rows,
    };
    if let Some(oi) = office_idx {
        table.add_targets(defs, oi, targets, q.by.len() + usize::from(by_month));
    }
    if q.compare
        && let Some(mi) = month_idx
    {
        table.add_comparisons(defs, mi, current, &q.by, q.by.len() + usize::from(by_month));
    }
    // Months before `from` were only read for the comparisons.
    if let (Some(f), Some(mi)) = (q.from, month_idx) {
        table
            .rows
            .retain(|r| month_of(&r[mi]).is_none_or(|m| m >= f));
    }
    Ok(table)
}

/// Whether a KPI cannot be computed for a group because its rows are aggregates that lack
/// what it needs (see [`visits::NOT_AVAILABLE`]), and why.
fn not_available(
    kind: Kind,
    kpi: &str,
    raw: &HashMap<String, Vec<Option<f64>>>,
    i: usize,
) -> Option<Value> {
    if kind != Kind::Visits {
        return None;
    }
    visits::NOT_AVAILABLE.iter().find_map(|(flag, kpis, why)| {
        let set = raw
            .get(*flag)
            .and_then(|v| v.get(i).copied().flatten())
            .is_some_and(|v| v > 0.0);
        (set && kpis.contains(&kpi)).then_some(Value::NotAvailable(*why))
    })
}

fn month_of(v: &Value) -> Option<i32> {
    match v {
        Value::Text(s) => crate::timefmt::parse_month_arg(s),
        _ => None,
    }
}

/// The output values of a grouping column: months as `2025-03`, quarters as `2025-Q1`.
fn key_column(df: &DataFrame, d: Dim) -> PolarsResult<Vec<Value>> {
    let c = df.column(d.as_str())?;
    Ok(match d {
        Dim::Month => c
            .i32()?
            .iter()
            .map(|v| {
                v.map(|m| Value::Text(format_month(m)))
                    .unwrap_or(Value::Null)
            })
            .collect(),
        Dim::Quarter => c
            .cast(&DataType::Int32)?
            .i32()?
            .iter()
            .map(|v| {
                v.map(|q| Value::Text(format!("{}-Q{}", q / 10, q % 10)))
                    .unwrap_or(Value::Null)
            })
            .collect(),
        Dim::Year | Dim::Weekday | Dim::Hour => c
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .map(|v| v.map(Value::Int).unwrap_or(Value::Null))
            .collect(),
        Dim::Appointment => c
            .bool()?
            .iter()
            .map(|v| v.map(Value::Bool).unwrap_or(Value::Null))
            .collect(),
        _ => c
            .str()?
            .iter()
            .map(|v| v.map(|s| Value::Text(s.to_string())).unwrap_or(Value::Null))
            .collect(),
    })
}
