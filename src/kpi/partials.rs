//! Mergeable partial aggregates of visits, so that a question costs what it asks, not what is
//! stored. Each batch of visits gets, once, a small table per (office, month) and per split
//! the pages use ([`SPLITS`]): counts, and for waits and service times a histogram (value →
//! how many). Months, quarters, years and filters then merge these instead of rescanning
//! rows, with the same figures: sums add up, maxima take the maximum, and a quantile read off
//! a merged histogram is the same linear interpolation between order statistics as on the
//! rows (values are kept exactly, not binned).
//!
//! Questions no split answers (a filter by location with a split by appointment, say) are
//! computed from the rows as before.

use super::{DEFAULT_WAIT_TARGET_MIN, Dim, Query};
use crate::kinds::visits::Marginal;
use crate::store::Target;
use polars::prelude::*;
use std::collections::HashMap;

use crate::kinds::visits::partials::{COUNTS, SERVICE_TIMES, SPLITS as SPLIT_COLUMNS, WAITS};

/// The splits kept per (office, month), as dimensions.
fn split_dims(i: usize) -> Vec<Dim> {
    SPLIT_COLUMNS[i]
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect()
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

/// The visits KPI aggregates of a question from partials (already filtered by month and the
/// query's filters): the same columns, by the same keys, as [`super::visits::aggregate`] gives
/// from rows.
pub fn aggregate_visits(
    partials: LazyFrame,
    keys: &[Expr],
    q: &Query,
    split: usize,
    targets: &[Target],
) -> PolarsResult<DataFrame> {
    let (counts_from, waits_from) = super::visits::sources(&q.by, q.service.is_some());
    let lf = partials.filter(col("split").eq(lit(split as i32)));
    let of = |m: Option<Marginal>| {
        let single = col("marginal").is_null();
        match m {
            Some(m) => single.or(col("marginal").eq(lit(m as i32))),
            None => single,
        }
    };
    let key_names: Vec<String> = q.by.iter().map(|d| d.as_str().to_string()).collect();
    // Counts, and the flags of what is not available, per group: from the rows of single
    // visits and of the two reports that answer the question.
    let kept = match waits_from {
        Some(w) => of(Some(counts_from)).or(col("marginal").eq(lit(w as i32))),
        None => of(Some(counts_from)),
    };
    let uses = |m: Marginal| col("marginal").eq(lit(m as i32)).sum().gt(lit(0));
    let counts = lf
        .clone()
        .filter(col("metric").eq(lit(COUNTS)))
        .filter(kept)
        .with_column(of(Some(counts_from)).alias("_counted"))
        .group_by(keys)
        .agg([
            col("c_rows").filter(col("_counted")).sum().alias("_rows"),
            col("c_visitors")
                .filter(col("_counted"))
                .sum()
                .alias("visitors"),
            col("c_appointments")
                .filter(col("_counted"))
                .sum()
                .alias("appointments"),
            col("c_no_shows")
                .filter(col("_counted"))
                .sum()
                .alias("no_shows"),
            col("c_appointment_visitors")
                .filter(col("_counted"))
                .sum()
                .alias("_appointment_visitors"),
            uses(counts_from).alias("_uses_counts"),
            match waits_from {
                Some(w) => uses(w),
                None => lit(false),
            }
            .alias("_uses_waits"),
            col("marginal")
                .is_not_null()
                .sum()
                .gt(lit(0))
                .alias("_any_aggregate"),
        ]);
    // Waits: served, mean, max and within target from the histogram in polars; quantiles below.
    let mut target = lit(DEFAULT_WAIT_TARGET_MIN);
    for t in targets
        .iter()
        .filter(|t| t.kpi == super::visits::WAIT_TARGET_KPI)
    {
        target = when(col("office").eq(lit(t.office.clone())))
            .then(lit(t.value))
            .otherwise(target);
    }
    let waits = lf
        .clone()
        .filter(col("metric").eq(lit(WAITS)))
        .filter(of(waits_from))
        .group_by(keys)
        .agg([
            col("count").sum().alias("served"),
            (col("value") * col("count").cast(DataType::Float64))
                .sum()
                .alias("_wait_sum"),
            col("value").max().alias("wait_max_min"),
            col("count")
                .filter(col("value").lt_eq(target).and(col("marginal").is_null()))
                .sum()
                .alias("_within"),
        ]);
    let mut df = counts.collect()?;
    let waits = waits.collect()?;
    let group_of = |df: &DataFrame| -> PolarsResult<Vec<String>> { group_keys(df, &key_names) };
    let df_groups = group_of(&df)?;
    let wait_groups = group_of(&waits)?;
    let index: HashMap<&str, usize> = wait_groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.as_str(), i))
        .collect();
    let pick_i64 = |name: &str| -> PolarsResult<Vec<Option<i64>>> {
        let c = waits.column(name)?.cast(&DataType::Int64)?;
        let c = c.i64()?;
        Ok(df_groups
            .iter()
            .map(|g| index.get(g.as_str()).and_then(|&i| c.get(i)))
            .collect())
    };
    let pick_f64 = |name: &str| -> PolarsResult<Vec<Option<f64>>> {
        let c = waits.column(name)?.cast(&DataType::Float64)?;
        let c = c.f64()?;
        Ok(df_groups
            .iter()
            .map(|g| index.get(g.as_str()).and_then(|&i| c.get(i)))
            .collect())
    };
    let served = pick_i64("served")?;
    let wait_sum = pick_f64("_wait_sum")?;
    let wait_mean: Vec<Option<f64>> = served
        .iter()
        .zip(&wait_sum)
        .map(|(n, s)| match (n, s) {
            (Some(n), Some(s)) if *n > 0 => Some(s / *n as f64),
            _ => None,
        })
        .collect();
    // Quantiles of single visits only: a group with aggregate waits has none (flagged).
    let single_waits = quantiles(
        lf.clone()
            .filter(col("metric").eq(lit(WAITS)))
            .filter(col("marginal").is_null()),
        keys,
        &key_names,
        &[0.5, 0.9],
    )?;
    let service_times = quantiles(
        lf.filter(col("metric").eq(lit(SERVICE_TIMES)))
            .filter(col("marginal").is_null()),
        keys,
        &key_names,
        &[0.5],
    )?;
    let q_of = |table: &HashMap<String, (i64, Vec<f64>)>, k: usize| -> Vec<Option<f64>> {
        df_groups
            .iter()
            .map(|g| table.get(g).map(|(_, v)| v[k]))
            .collect()
    };
    let uses_counts = bools(&df, "_uses_counts")?;
    let uses_waits = bools(&df, "_uses_waits")?;
    let any_aggregate = bools(&df, "_any_aggregate")?;
    let flags = |f: &dyn Fn(usize) -> bool| -> Vec<bool> { (0..df.height()).map(f).collect() };
    let na_single = any_aggregate.clone();
    let missing_waits = flags(&|i| waits_from.is_some() && any_aggregate[i] && !uses_waits[i]);
    let na_waits = flags(&|i| waits_from.is_none() && uses_counts[i]);
    let na_appointments = flags(&|i| counts_from != Marginal::Day && uses_counts[i]);
    let missing_counts = flags(&|i| any_aggregate[i] && !uses_counts[i]);
    let service_n: Vec<Option<i64>> = df_groups
        .iter()
        .map(|g| service_times.get(g).map(|(n, _)| *n))
        .collect();
    let within = pick_i64("_within")?;
    let columns = [
        Column::new("served".into(), served),
        Column::new("wait_mean_min".into(), wait_mean),
        Column::new("wait_median_min".into(), q_of(&single_waits, 0)),
        Column::new("wait_p90_min".into(), q_of(&single_waits, 1)),
        Column::new("wait_max_min".into(), pick_f64("wait_max_min")?),
        Column::new("_within".into(), within),
        Column::new("service_median_min".into(), q_of(&service_times, 0)),
        Column::new("_service_n".into(), service_n),
        Column::new("_na_single".into(), na_single),
        Column::new("_na_waits".into(), na_waits),
        Column::new("_na_appointments".into(), na_appointments),
        Column::new("_missing_counts".into(), missing_counts),
        Column::new("_missing_waits".into(), missing_waits),
    ];
    for c in columns {
        df.with_column(c)?;
    }
    for flag in ["_uses_counts", "_uses_waits", "_any_aggregate"] {
        let _ = df.drop_in_place(flag)?;
    }
    Ok(df)
}

fn bools(df: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
    Ok(df
        .column(name)?
        .bool()?
        .iter()
        .map(|v| v.unwrap_or(false))
        .collect())
}

/// A text key per row from the grouping columns, to match groups across tables.
fn group_keys(df: &DataFrame, names: &[String]) -> PolarsResult<Vec<String>> {
    let columns: Vec<Column> = names
        .iter()
        .map(|n| df.column(n).and_then(|c| c.cast(&DataType::String)))
        .collect::<PolarsResult<_>>()?;
    let texts: Vec<&StringChunked> = columns
        .iter()
        .map(|c| c.str())
        .collect::<PolarsResult<_>>()?;
    Ok((0..df.height())
        .map(|i| {
            let mut k = String::new();
            for t in &texts {
                match t.get(i) {
                    Some(v) => k.push_str(v),
                    None => k.push('\u{0}'),
                }
                k.push('\u{1f}');
            }
            k
        })
        .collect())
}

/// Quantiles per group of a histogram (value, count), linear between order statistics as
/// polars and numpy compute them on rows: group key → (rows, quantiles).
fn quantiles(
    hist: LazyFrame,
    keys: &[Expr],
    key_names: &[String],
    qs: &[f64],
) -> PolarsResult<HashMap<String, (i64, Vec<f64>)>> {
    // Merge equal values of the group first (the same wait in several months).
    let merged = hist
        .group_by([keys.to_vec(), vec![col("value")]].concat())
        .agg([col("count").sum()])
        .collect()?;
    let groups = group_keys(&merged, key_names)?;
    let values = merged.column("value")?.f64()?.clone();
    let counts = merged.column("count")?.cast(&DataType::Int64)?;
    let counts = counts.i64()?;
    let mut by_group: HashMap<String, Vec<(f64, i64)>> = HashMap::new();
    for (i, g) in groups.into_iter().enumerate() {
        if let (Some(v), Some(c)) = (values.get(i), counts.get(i))
            && c > 0
        {
            by_group.entry(g).or_default().push((v, c));
        }
    }
    Ok(by_group
        .into_iter()
        .map(|(g, mut hist)| {
            hist.sort_by(|a, b| a.0.total_cmp(&b.0));
            let n: i64 = hist.iter().map(|(_, c)| c).sum();
            let at = |k: i64| -> f64 {
                // The k-th smallest value (0-based).
                let mut seen = 0;
                for (v, c) in &hist {
                    seen += c;
                    if k < seen {
                        return *v;
                    }
                }
                hist.last().map(|(v, _)| *v).unwrap_or(f64::NAN)
            };
            let values = qs
                .iter()
                .map(|q| {
                    let h = (n - 1) as f64 * q;
                    let lo = h.floor() as i64;
                    let frac = h - lo as f64;
                    let a = at(lo);
                    if frac == 0.0 {
                        a
                    } else {
                        a + frac * (at(lo + 1) - a)
                    }
                })
                .collect();
            (g, (n, values))
        })
        .collect())
}
