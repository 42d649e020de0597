//! KPIs of the services catalogue: how many services are online at each month's end.

use super::Dim;
use super::definitions::{Direction, KpiDef, Measure, Unit};
use crate::timefmt::{month_end_day, month_key, next_month};
use polars::prelude::*;

/// The services KPIs.
pub const KPIS: &[KpiDef] = &[
    KpiDef {
        name: "services_online",
        measure: Measure::Col("services_online"),
        base: "_always",
        unit: Unit::Count,
        better: Some(Direction::Higher),
        label_de: "Online verfügbare Dienstleistungen",
        label_en: "Services online",
        definition_de: "Dienstleistungen des Katalogs, die am Monatsende online beantragt werden konnten (online seit ≤ Monatsende).",
        definition_en: "Services of the catalogue that could be applied for online at month end (online since ≤ month end).",
    },
    KpiDef {
        name: "services_total",
        measure: Measure::Col("services_total"),
        base: "_always",
        unit: Unit::Count,
        better: None,
        label_de: "Dienstleistungen im Katalog",
        label_en: "Services in the catalogue",
        definition_de: "Alle Dienstleistungen des zuletzt veröffentlichten Katalogs.",
        definition_en: "All services of the newest published catalogue.",
    },
];

/// The newest published catalogue per office, evaluated at the end of each month from the
/// first service going online up to the running month.
pub fn aggregate(lf: LazyFrame, by: &[Dim], current: i32) -> PolarsResult<LazyFrame> {
    let newest = lf
        .clone()
        .group_by([col("office")])
        .agg([col("month").max().alias("_newest")]);
    let catalogue = lf
        .join(
            newest,
            [col("office")],
            [col("office")],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(col("month").eq(col("_newest")))
        .select([col("office"), col("online_since").cast(DataType::Int32)])
        .collect()?;
    let office = catalogue.column("office")?.str()?.clone();
    let since = catalogue.column("online_since")?.i32()?.clone();
    let first = since
        .iter()
        .flatten()
        .min()
        .map(month_key)
        .unwrap_or(current);
    let mut offices: Vec<Option<String>> = if by.contains(&Dim::Office) {
        office.iter().map(|o| o.map(str::to_string)).collect()
    } else {
        vec![None]
    };
    offices.sort();
    offices.dedup();
    let (mut m_col, mut o_col, mut online_col, mut total_col) = (vec![], vec![], vec![], vec![]);
    let mut m = first;
    while m <= current {
        let end = month_end_day(m);
        for o in &offices {
            let in_office = |i: usize| o.as_deref().is_none_or(|o| office.get(i) == Some(o));
            let total = (0..catalogue.height()).filter(|&i| in_office(i)).count() as i64;
            let online = (0..catalogue.height())
                .filter(|&i| in_office(i) && since.get(i).is_some_and(|d| d <= end))
                .count() as i64;
            m_col.push(m);
            o_col.push(o.clone());
            online_col.push(online);
            total_col.push(total);
        }
        m = next_month(m);
    }
    let n = m_col.len();
    let mut cols = Vec::new();
    if by.contains(&Dim::Month) {
        cols.push(Column::new("month".into(), m_col));
    }
    if by.contains(&Dim::Office) {
        cols.push(Column::new("office".into(), o_col));
    }
    cols.push(Column::new("services_online".into(), online_col));
    cols.push(Column::new("services_total".into(), total_col));
    cols.push(Column::new("_always".into(), vec![i64::MAX; n]));
    let df = DataFrame::new_infer_height(cols)?;
    Ok(if by.contains(&Dim::Month) {
        df.lazy()
    } else {
        df.lazy().filter(lit(false))
    })
}
