//! Mergeable partial aggregates of visits, so that a question costs what it asks, not what is
//! stored. Each batch of visits gets, once, a small table per (office, month) and per split
//! the pages use ([`SPLITS`]): counts, and for waits and service times a histogram (value →
//! how many). Months, quarters, years and filters then merge these instead of rescanning
//! rows, with the same figures: sums add up, maxima take the maximum, and a quantile read off
//! a merged histogram is the same linear interpolation between order statistics as on the
//! rows (values are kept exactly, not binned).
//!
//! Questions by weekday or hour get partials computed from their rows when asked
//! ([`weekday_hour`]): kept, such a histogram would hold nearly a value per visit. Questions
//! no split answers (a filter by location with a split by appointment, say) are computed from
//! the rows as before.

use super::{DEFAULT_WAIT_TARGET_MIN, Dim, KpiError, Query};
use crate::kinds::visits::Marginal;
use crate::kinds::visits::partials::{Period, WeekdayHour};
use crate::store::{Cells, Store, Target};
use polars::prelude::*;

use crate::kinds::visits::partials::{
    COUNTS, SERVICE_TIMES, SPLITS as SPLIT_COLUMNS, WAITS, list_quantiles,
};

/// The splits kept per (office, month), as dimensions.
fn split_dims(i: usize) -> Vec<Dim> {
    SPLIT_COLUMNS[i]
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
}

/// Whether every group of a question's answer is one (office, month) cell, whose quantiles
/// are kept with its counts.
fn one_cell(q: &Query) -> bool {
    q.by.contains(&Dim::Month)
        && !q.by.iter().any(|d| matches!(d, Dim::Quarter | Dim::Year))
        && (q.by.contains(&Dim::Office) || q.office.is_some())
}

/// Whether a question needs the histograms, not only the counts: to merge quantiles over
/// several months or offices, or to count the waits within an office's own target.
pub fn needs_histograms(q: &Query, targets: &[Target]) -> bool {
    let own_target = targets.iter().any(|t| {
        t.kpi == super::visits::WAIT_TARGET_KPI && q.office.as_ref().is_none_or(|o| *o == t.office)
    });
    !one_cell(q) || own_target
}

/// How a question's partials are merged into its groups.
#[derive(Debug, Clone, Copy)]
pub struct Merge {
    /// Each group of the answer is one partial group of single visits: its quantiles are those
    /// kept with its counts.
    pub kept_quantiles: bool,
    /// The figures of waits come from the histograms (quantiles across groups, or an office's
    /// own wait target); else from the counts (`w_within_default` then counts against the
    /// target the partials were made with).
    pub histograms: bool,
}

impl Merge {
    /// How kept partials (made with the default target, per office and month) answer `q`.
    pub fn of_kept(q: &Query, targets: &[Target]) -> Merge {
        Merge {
            kept_quantiles: one_cell(q),
            histograms: needs_histograms(q, targets),
        }
    }
}

/// The answer to a question by weekday or hour (and month, quarter, year or office besides,
/// any filters) from partials of its rows computed now (see [`WeekdayHour`]); `None` for other
/// questions, or when a row's weekday or hour is out of range (the rows answer then).
pub fn weekday_hour(
    store: &Store,
    q: &Query,
    cells: &Cells,
    targets: &[Target],
) -> Result<Option<DataFrame>, KpiError> {
    let (by_weekday, by_hour) = (q.by.contains(&Dim::Weekday), q.by.contains(&Dim::Hour));
    if !(by_weekday || by_hour)
        || q.by.iter().any(|d| {
            !matches!(
                d,
                Dim::Month | Dim::Quarter | Dim::Year | Dim::Office | Dim::Weekday | Dim::Hour
            )
        })
    {
        return Ok(None);
    }
    let period = [
        (Dim::Month, Period::Month),
        (Dim::Quarter, Period::Quarter),
        (Dim::Year, Period::Year),
    ]
    .into_iter()
    .find(|(d, _)| q.by.contains(d))
    .map(|(_, p)| p);
    let own_targets = targets
        .iter()
        .filter(|t| t.kpi == super::visits::WAIT_TARGET_KPI)
        .map(|t| (t.office.clone(), t.value))
        .collect();
    let service_times = q
        .kpis
        .as_ref()
        .is_none_or(|k| k.contains(&"service_median_min"));
    let mut partials = WeekdayHour::new(period, by_weekday, by_hour, service_times, own_targets);
    let batches = store.published_row_batches(q.kind, cells)?;
    if batches.is_empty() {
        return Ok(None);
    }
    for rows in batches {
        if !partials.add(super::filtered(rows, q))? {
            return Ok(None);
        }
    }
    // Groups are per office: one partial group per group of the answer where the answer is
    // per office (or of one office); across offices the histograms merge.
    let per_office = q.by.contains(&Dim::Office) || q.office.is_some();
    let merge = Merge {
        kept_quantiles: per_office,
        histograms: !per_office,
    };
    let keys: Vec<Expr> = q.by.iter().map(|d| d.expr()).collect();
    Ok(Some(aggregate_visits(
        partials.finish(merge.histograms)?,
        &keys,
        q,
        targets,
        merge,
    )?))
}

/// The split that answers a question, if one does: its grouping and filters besides month,
/// quarter, year and office are exactly the split's dimensions.
pub fn split_for(q: &Query) -> Option<usize> {
    let mut wanted: Vec<Dim> =
        q.by.iter()
            .copied()
            .filter(|d| !matches!(d, Dim::Month | Dim::Quarter | Dim::Year | Dim::Office))
            .collect();
    if q.location.is_some() && !wanted.contains(&Dim::Location) {
        wanted.push(Dim::Location);
    }
    if q.service.is_some() && !wanted.contains(&Dim::Service) {
        wanted.push(Dim::Service);
    }
    (0..SPLIT_COLUMNS.len()).find(|&i| {
        let s = split_dims(i);
        s.len() == wanted.len() && wanted.iter().all(|d| s.contains(d))
    })
}

/// The visits KPI aggregates of a question from the partials of its split (already filtered
/// by month and the query's filters): the same columns, by the same keys, as
/// [`super::visits::aggregate`] gives from rows. One pass: each KPI's rows are picked by a
/// filter within each group (counts, waits of the reports that answer, single visits' waits
/// and service times); quantiles are kept ones or read off each group's merged histogram, as
/// `merge` says.
pub fn aggregate_visits(
    partials: LazyFrame,
    keys: &[Expr],
    q: &Query,
    targets: &[Target],
    merge: Merge,
) -> PolarsResult<DataFrame> {
    let one_cell = merge.kept_quantiles;
    let histograms = merge.histograms;
    let (counts_from, waits_from) = super::visits::sources(&q.by, q.service.is_some());
    let single = || col("marginal").is_null();
    let is = |m: Marginal| col("marginal").eq(lit(m as i32));
    let metric = |m: i32| col("metric").eq(lit(m));
    let counted = || metric(COUNTS).and(single().or(is(counts_from)));
    let wait_row = || {
        metric(WAITS).and(match waits_from {
            Some(w) => single().or(is(w)),
            None => single(),
        })
    };
    let single_wait = || metric(WAITS).and(single());
    let single_service = || metric(SERVICE_TIMES).and(single());
    let mut kept = single().or(is(counts_from));
    if let Some(w) = waits_from {
        kept = kept.or(is(w));
    }
    let mut target = lit(DEFAULT_WAIT_TARGET_MIN);
    for t in targets
        .iter()
        .filter(|t| t.kpi == super::visits::WAIT_TARGET_KPI)
    {
        target = when(col("office").eq(lit(t.office.clone())))
            .then(lit(t.value))
            .otherwise(target);
    }
    let sum_of = |c: &str, rows: Expr| col(c).filter(rows).sum();
    let uses = |rows: Expr| rows.sum().gt(lit(0));
    let mut aggs = vec![
        sum_of("c_rows", counted()).alias("_rows"),
        sum_of("c_visitors", counted()).alias("visitors"),
        sum_of("c_appointments", counted()).alias("appointments"),
        sum_of("c_no_shows", counted()).alias("no_shows"),
        sum_of("c_appointment_visitors", counted()).alias("_appointment_visitors"),
        uses(metric(COUNTS).and(is(counts_from))).alias("_uses_counts"),
        match waits_from {
            Some(w) => uses(metric(COUNTS).and(is(w))),
            None => lit(false),
        }
        .alias("_uses_waits"),
        uses(metric(COUNTS).and(single().not())).alias("_any_aggregate"),
    ];
    if histograms {
        aggs.extend([
            sum_of("count", wait_row()).alias("served"),
            (col("value") * col("count").cast(DataType::Float64))
                .filter(wait_row())
                .sum()
                .alias("_wait_sum"),
            col("value").filter(wait_row()).max().alias("wait_max_min"),
            sum_of("count", single_wait().and(col("value").lt_eq(target))).alias("_within"),
            sum_of("count", single_service()).alias("_service_n"),
        ]);
    } else {
        // The same figures kept with each group's counts (the default target only).
        let wait_group = || {
            metric(COUNTS).and(match waits_from {
                Some(w) => single().or(is(w)),
                None => single(),
            })
        };
        let single_counts = || metric(COUNTS).and(single());
        aggs.extend([
            sum_of("w_served", wait_group()).alias("served"),
            sum_of("w_sum", wait_group()).alias("_wait_sum"),
            col("w_max")
                .filter(wait_group())
                .max()
                .alias("wait_max_min"),
            sum_of("w_within_default", single_counts()).alias("_within"),
            sum_of("s_count", single_counts()).alias("_service_n"),
        ]);
    }
    // Quantiles: where every group is one (office, month) cell, those kept with its counts;
    // else read off the group's merged histogram (lists per group, below).
    if one_cell {
        let single_counts = || metric(COUNTS).and(single());
        for (name, kept) in [
            ("wait_median_min", "q_wait_50"),
            ("wait_p90_min", "q_wait_90"),
            ("service_median_min", "q_service_50"),
        ] {
            aggs.push(col(kept).filter(single_counts()).first().alias(name));
        }
    } else {
        for (name, rows) in [("waits", single_wait()), ("service", single_service())] {
            aggs.push(
                col("value")
                    .filter(rows.clone())
                    .alias(format!("_{name}_values")),
            );
            aggs.push(col("count").filter(rows).alias(format!("_{name}_counts")));
        }
    }
    let flag = |e: Expr, name: &str| e.alias(name);
    let any = || col("_any_aggregate");
    let uses_counts = || col("_uses_counts");
    let lf = partials
        .filter(kept)
        .group_by(keys)
        .agg(aggs)
        .with_columns([
            when(col("served").gt(lit(0)))
                .then(col("_wait_sum") / col("served").cast(DataType::Float64))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("wait_mean_min"),
            flag(any(), "_na_single"),
            flag(
                if waits_from.is_none() {
                    uses_counts()
                } else {
                    lit(false)
                },
                "_na_waits",
            ),
            flag(
                if counts_from != Marginal::Day {
                    uses_counts()
                } else {
                    lit(false)
                },
                "_na_appointments",
            ),
            flag(any().and(uses_counts().not()), "_missing_counts"),
            flag(
                if waits_from.is_some() {
                    any().and(col("_uses_waits").not())
                } else {
                    lit(false)
                },
                "_missing_waits",
            ),
        ]);
    let mut df = lf.collect()?;
    let histograms = if one_cell {
        Vec::new()
    } else {
        vec![
            (
                "_waits_values",
                "_waits_counts",
                &[("wait_median_min", 0.5), ("wait_p90_min", 0.9)][..],
            ),
            (
                "_service_values",
                "_service_counts",
                &[("service_median_min", 0.5)][..],
            ),
        ]
    };
    for (values, counts, outputs) in histograms {
        let qs: Vec<f64> = outputs.iter().map(|(_, q)| *q).collect();
        let columns = list_quantiles(df.column(values)?.list()?, df.column(counts)?.list()?, &qs)?;
        for ((name, _), values) in outputs.iter().zip(columns) {
            df.with_column(Column::new((*name).into(), values))?;
        }
    }
    for c in [
        "_wait_sum",
        "_uses_counts",
        "_uses_waits",
        "_any_aggregate",
        "_waits_values",
        "_waits_counts",
        "_service_values",
        "_service_counts",
    ] {
        if df.column(c).is_ok() {
            let _ = df.drop_in_place(c)?;
        }
    }
    Ok(df)
}
