//! KPIs of cases: processing times of decided cases and the backlog of open ones.
//!
//! A case can appear in several months' exports (open, later decided): the newest published
//! row per (office, case_id) counts.

use super::Dim;
use super::definitions::{Direction, KpiDef, Measure, Unit};
use crate::timefmt::month_end_day;
use polars::prelude::*;
use std::collections::HashMap;

/// The cases KPIs.
pub const KPIS: &[KpiDef] = &[
    KpiDef {
        name: "decided",
        measure: Measure::Col("decided"),
        base: "decided",
        unit: Unit::Count,
        better: None,
        label_de: "Entschiedene Verfahren",
        label_en: "Cases decided",
        definition_de: "Verfahren, die im Monat entschieden wurden.",
        definition_en: "Cases decided in the month.",
    },
    KpiDef {
        name: "processing_days_median",
        measure: Measure::Col("processing_days_median"),
        base: "decided",
        unit: Unit::Days,
        better: Some(Direction::Lower),
        label_de: "Bearbeitungsdauer (Median)",
        label_en: "Median processing time",
        definition_de: "Median der Tage vom Eingang bis zur Entscheidung, über die im Monat entschiedenen Verfahren.",
        definition_en: "Median days from receipt to decision over cases decided in the month.",
    },
    KpiDef {
        name: "processing_days_p90",
        measure: Measure::Col("processing_days_p90"),
        base: "decided",
        unit: Unit::Days,
        better: Some(Direction::Lower),
        label_de: "Bearbeitungsdauer (90 %)",
        label_en: "Processing time, 90th percentile",
        definition_de: "9 von 10 entschiedenen Verfahren dauerten höchstens so viele Tage.",
        definition_en: "9 in 10 decided cases took at most this many days.",
    },
    KpiDef {
        name: "backlog",
        measure: Measure::Col("backlog"),
        base: "backlog",
        unit: Unit::Count,
        better: Some(Direction::Lower),
        label_de: "Offene Verfahren am Monatsende",
        label_en: "Backlog at month end",
        definition_de: "Verfahren, die bis Monatsende eingegangen und bis Monatsende nicht entschieden waren.",
        definition_en: "Cases received by month end and not decided by month end.",
    },
];

/// KPIs that are a stock at the end of a month: not meaningful summed over months (by
/// quarter or year, or without month), where they are "x".
pub const STOCKS: &[&str] = &["backlog"];

/// The lazy plan: newest row per case, processing statistics of decided cases per group,
/// and the backlog at the end of each month (only when grouped by month).
pub fn aggregate(lf: LazyFrame, keys: &[Expr], by: &[Dim]) -> PolarsResult<LazyFrame> {
    let latest = lf
        .sort(
            ["month"],
            SortMultipleOptions::default().with_order_descending(true),
        )
        .unique_stable_generic(
            Some(vec![col("office"), col("case_id")]),
            UniqueKeepStrategy::First,
        );
    let stats = latest
        .clone()
        .filter(col("processing_days").is_not_null())
        .group_by(keys)
        .agg([
            len().alias("decided"),
            col("processing_days")
                .median()
                .alias("processing_days_median"),
            col("processing_days")
                .quantile(lit(0.9), QuantileMethod::Linear)
                .alias("processing_days_p90"),
        ]);
    if !by.contains(&Dim::Month)
        || by
            .iter()
            .any(|d| !matches!(d, Dim::Month | Dim::Office | Dim::Service))
    {
        return Ok(stats.with_column(lit(NULL).cast(DataType::Int64).alias("backlog")));
    }
    // Backlog per month: evaluated in Rust over the (small) case list.
    let cases = latest
        .select([
            col("office"),
            col("service"),
            col("received_on").cast(DataType::Int32),
            col("decided_on").cast(DataType::Int32),
        ])
        .collect()?;
    let months = stats.clone().select([col("month")]).collect()?;
    let mut wanted: Vec<i32> = months.column("month")?.i32()?.iter().flatten().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let office = cases.column("office")?.str()?.clone();
    let service = cases.column("service")?.str()?.clone();
    let received = cases.column("received_on")?.i32()?.clone();
    let decided = cases.column("decided_on")?.i32()?.clone();
    let mut backlog: HashMap<(i32, Option<String>, Option<String>), i64> = HashMap::new();
    for i in 0..cases.height() {
        let (Some(r), d) = (received.get(i), decided.get(i)) else {
            continue;
        };
        for &m in &wanted {
            let end = month_end_day(m);
            if r <= end && d.is_none_or(|d| d > end) {
                let o = by
                    .contains(&Dim::Office)
                    .then(|| office.get(i).unwrap_or("").to_string());
                let s = by
                    .contains(&Dim::Service)
                    .then(|| service.get(i).map(str::to_string))
                    .flatten();
                *backlog.entry((m, o, s)).or_default() += 1;
            }
        }
    }
    let mut m_col = Vec::new();
    let mut o_col = Vec::new();
    let mut s_col = Vec::new();
    let mut b_col = Vec::new();
    for ((m, o, s), n) in backlog {
        m_col.push(m);
        o_col.push(o);
        s_col.push(s);
        b_col.push(n);
    }
    let mut cols = vec![Column::new("month".into(), m_col)];
    let mut on = vec![col("month")];
    if by.contains(&Dim::Office) {
        cols.push(Column::new("office".into(), o_col));
        on.push(col("office"));
    }
    if by.contains(&Dim::Service) {
        cols.push(Column::new("service".into(), s_col));
        on.push(col("service"));
    }
    cols.push(Column::new("backlog".into(), b_col));
    let backlog_df = DataFrame::new_infer_height(cols)?;
    Ok(stats.join(
        backlog_df.lazy(),
        on.clone(),
        on,
        JoinArgs::new(JoinType::Full).with_coalesce(JoinCoalesce::CoalesceColumns),
    ))
}
