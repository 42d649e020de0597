//! KPIs of visits (DESIGN.md): visitors, appointments, no-shows, waits and service times.

use super::definitions::{Direction, KpiDef, Measure, Unit};
use super::{DEFAULT_WAIT_TARGET_MIN, Dim, NotAvailable};
use crate::kinds::visits::{Marginal, with_aggregate_columns};
use crate::store::Target;
use polars::prelude::*;

/// Target key: the wait in minutes that counts as "within target" for an office.
pub const WAIT_TARGET_KPI: &str = "wait_target_min";

/// The visits KPIs.
pub const KPIS: &[KpiDef] = &[
    KpiDef {
        name: "visitors",
        measure: Measure::Col("visitors"),
        base: "_rows",
        unit: Unit::Count,
        better: None,
        label_de: "Besuche",
        label_en: "Visitors",
        definition_de: "Zeilen der Aufruf- und Terminsysteme, die kein nicht wahrgenommener Termin sind (ein Vorgang je Wartemarke oder Termin). Aus Summenberichten (ZMS): die als erschienen gezählten Personen; je Stunde die Wartenden, je Dienstleistung die erbrachten Dienstleistungen.",
        definition_en: "Rows from the queue and appointment systems that are not missed appointments (one per ticket or appointment). From totals reports (ZMS): the persons counted as served; per hour the people waiting, per service the services rendered.",
    },
    KpiDef {
        name: "appointments",
        measure: Measure::Col("appointments"),
        base: "_rows",
        unit: Unit::Count,
        better: None,
        label_de: "Termine",
        label_en: "Appointments",
        definition_de: "Zeilen mit gebuchtem Termin, nicht wahrgenommene eingeschlossen.",
        definition_en: "Rows with a booked appointment, missed ones included.",
    },
    KpiDef {
        name: "no_shows",
        measure: Measure::Col("no_shows"),
        base: "_rows",
        unit: Unit::Count,
        better: Some(Direction::Lower),
        label_de: "Nicht wahrgenommene Termine",
        label_en: "No-shows",
        definition_de: "Termine, zu denen niemand kam: als nicht erschienen markiert, oder Termin ohne Ankunft.",
        definition_en: "Appointments nobody came to: marked as no-show, or an appointment without arrival.",
    },
    KpiDef {
        name: "no_show_rate",
        measure: Measure::Ratio("no_shows", "appointments"),
        base: "appointments",
        unit: Unit::Share,
        better: Some(Direction::Lower),
        label_de: "Quote nicht wahrgenommener Termine",
        label_en: "No-show rate",
        definition_de: "Nicht wahrgenommene Termine geteilt durch alle Termine.",
        definition_en: "No-shows divided by all appointments.",
    },
    KpiDef {
        name: "appointment_share",
        measure: Measure::Ratio("_appointment_visitors", "visitors"),
        base: "visitors",
        unit: Unit::Share,
        better: None,
        label_de: "Anteil mit Termin",
        label_en: "Share with appointment",
        definition_de: "Besuche mit Termin geteilt durch alle Besuche.",
        definition_en: "Visitors with an appointment divided by all visitors.",
    },
    KpiDef {
        name: "served",
        measure: Measure::Col("served"),
        base: "_rows",
        unit: Unit::Count,
        better: None,
        label_de: "Bediente Besuche",
        label_en: "Served",
        definition_de: "Besuche mit bekannter Wartezeit (aufgerufen oder Wartezeit im Export).",
        definition_en: "Visitors with a known wait (called, or wait given in the export).",
    },
    KpiDef {
        name: "wait_mean_min",
        measure: Measure::Col("wait_mean_min"),
        base: "served",
        unit: Unit::Minutes,
        better: Some(Direction::Lower),
        label_de: "Mittlere Wartezeit (Durchschnitt)",
        label_en: "Mean wait",
        definition_de: "Durchschnitt der Wartezeit von der Ankunft bis zum Aufruf, in Minuten, über bediente Besuche. Aus Summenberichten (ZMS): die Stundenmittel, gewichtet mit der Zahl der Wartenden jeder Stunde.",
        definition_en: "Mean of the wait from arrival to call, in minutes, over served visitors. From totals reports (ZMS): the hourly means, weighted by the number waiting in each hour.",
    },
    KpiDef {
        name: "wait_median_min",
        measure: Measure::Col("wait_median_min"),
        base: "served",
        unit: Unit::Minutes,
        better: Some(Direction::Lower),
        label_de: "Wartezeit (Median)",
        label_en: "Median wait",
        definition_de: "Die Hälfte der bedienten Besuche wartete höchstens so lange (Minuten von Ankunft bis Aufruf; linear interpoliert).",
        definition_en: "Half of the served visitors waited at most this long (minutes from arrival to call; linear interpolation).",
    },
    KpiDef {
        name: "wait_p90_min",
        measure: Measure::Col("wait_p90_min"),
        base: "served",
        unit: Unit::Minutes,
        better: Some(Direction::Lower),
        label_de: "Wartezeit (90 %)",
        label_en: "Wait, 90th percentile",
        definition_de: "9 von 10 bedienten Besuchen warteten höchstens so lange (90-%-Quantil, linear interpoliert wie QUANTIL.INKL).",
        definition_en: "9 in 10 served visitors waited at most this long (90th percentile, linear as Excel QUANTILE.INC).",
    },
    KpiDef {
        name: "wait_max_min",
        measure: Measure::Col("wait_max_min"),
        base: "served",
        unit: Unit::Minutes,
        better: Some(Direction::Lower),
        label_de: "Längste Wartezeit",
        label_en: "Longest wait",
        definition_de: "Die längste Wartezeit eines bedienten Besuchs, in Minuten. Aus Summenberichten (ZMS): das größte Stundenmittel, nicht die längste einzelne Wartezeit.",
        definition_en: "The longest wait of a served visitor, in minutes. From totals reports (ZMS): the largest hourly mean, not the longest single wait.",
    },
    KpiDef {
        name: "within_target_share",
        measure: Measure::Ratio("_within", "served"),
        base: "served",
        unit: Unit::Share,
        better: Some(Direction::Higher),
        label_de: "Anteil innerhalb der Zielwartezeit",
        label_en: "Share within target wait",
        definition_de: "Bediente Besuche mit Wartezeit bis zur Zielwartezeit des Amtes (Standard 30 Minuten) geteilt durch alle bedienten.",
        definition_en: "Served visitors who waited no longer than the office's target wait (default 30 minutes), divided by all served.",
    },
    KpiDef {
        name: "service_median_min",
        measure: Measure::Col("service_median_min"),
        base: "_service_n",
        unit: Unit::Minutes,
        better: None,
        label_de: "Bediendauer (Median)",
        label_en: "Median service time",
        definition_de: "Median der Zeit vom Aufruf bis zum Ende der Bedienung, in Minuten.",
        definition_en: "Median of the time from call to end of service, in minutes.",
    },
];

/// KPIs that need single visits (a median, a quantile, a share under a limit): not available
/// for a cell that holds aggregates.
pub const SINGLE_VISIT_KPIS: &[&str] = &[
    "wait_median_min",
    "wait_p90_min",
    "within_target_share",
    "service_median_min",
];

/// KPIs of waits: not available for a cell whose counts come from aggregates without waits
/// (a split by service).
pub const WAIT_KPIS: &[&str] = &["served", "wait_mean_min", "wait_max_min"];

/// KPIs of appointments and no-shows: not available where the counts come from a report that
/// does not split them (the hourly or the per-service report).
pub const APPOINTMENT_KPIS: &[&str] = &[
    "appointments",
    "no_shows",
    "no_show_rate",
    "appointment_share",
];

/// KPIs counted from the daily report (or from single visits).
pub const COUNT_KPIS: &[&str] = &[
    "visitors",
    "appointments",
    "no_shows",
    "no_show_rate",
    "appointment_share",
];

/// The hidden columns that say a group's KPIs are not available, which KPIs, and why.
pub const NOT_AVAILABLE: &[(&str, &[&str], NotAvailable)] = &[
    ("_missing_counts", COUNT_KPIS, NotAvailable::ReportMissing),
    ("_missing_waits", WAIT_KPIS, NotAvailable::ReportMissing),
    (
        "_na_single",
        SINGLE_VISIT_KPIS,
        NotAvailable::OnlyHourlyMeans,
    ),
    ("_na_waits", WAIT_KPIS, NotAvailable::NotSplit),
    ("_na_appointments", APPOINTMENT_KPIS, NotAvailable::NotSplit),
];

/// Which aggregate rows answer a grouping: the counts (visitors …) from the report that has
/// the grouping's split, the waits from the hourly report (split by appointment if asked).
/// `None` for waits: no report has them in that split.
pub(super) fn sources(by: &[Dim], service_filtered: bool) -> (Marginal, Option<Marginal>) {
    let by_appointment = by.contains(&Dim::Appointment);
    let hourly = if by_appointment {
        Marginal::HourByAppointment
    } else {
        Marginal::Hour
    };
    if by.contains(&Dim::Service) || service_filtered {
        (Marginal::Service, None)
    } else if by.contains(&Dim::Hour) {
        (hourly, Some(hourly))
    } else {
        (Marginal::Day, Some(hourly))
    }
}

/// The lazy plan: one group per key combination with the aggregates the KPIs read. Rows of
/// single visits count once; aggregate rows count `n` times where their marginal is the one
/// that answers the grouping (see [`sources`]) and not at all elsewhere.
pub fn aggregate(
    lf: LazyFrame,
    keys: &[Expr],
    by: &[Dim],
    service_filtered: bool,
    targets: &[Target],
) -> PolarsResult<LazyFrame> {
    let lf = with_aggregate_columns(lf)?;
    let mut target = lit(DEFAULT_WAIT_TARGET_MIN);
    for t in targets.iter().filter(|t| t.kpi == WAIT_TARGET_KPI) {
        target = when(col("office").eq(lit(t.office.clone())))
            .then(lit(t.value))
            .otherwise(target);
    }
    let (counts, waits) = sources(by, service_filtered);
    let single = col("marginal").is_null();
    let weight = |m: Option<Marginal>| {
        let from_aggregate = match m {
            Some(m) => when(col("marginal").eq(lit(m as i32)))
                .then(col("n").cast(DataType::Int64))
                .otherwise(lit(0i64)),
            None => lit(0i64),
        };
        when(single.clone())
            .then(lit(1i64))
            .otherwise(from_aggregate)
    };
    // Aggregate rows of the other cuts count nothing here: leave them out, or they would
    // make groups of their own (a service "null" of the daily counts).
    let lf = lf
        .with_columns([
            weight(Some(counts)).alias("_count_w"),
            (weight(waits) * col("wait_min").is_not_null().cast(DataType::Int64)).alias("_wait_w"),
        ])
        .filter(
            col("_count_w")
                .gt(lit(0))
                .or(col("_wait_w").gt(lit(0)))
                .or(single.clone()),
        );
    let cw = || col("_count_w");
    let ww = || col("_wait_w");
    let visitor = col("no_show").not();
    let single_wait = col("wait_min").filter(single.clone());
    let uses = |m: Marginal| col("marginal").eq(lit(m as i32)).sum().gt(lit(0));
    let served = ww().sum();
    let any_aggregate = col("marginal").is_not_null().sum().gt(lit(0));
    Ok(lf.group_by(keys).agg([
        cw().sum().alias("_rows"),
        cw().filter(visitor.clone()).sum().alias("visitors"),
        cw().filter(col("appointment")).sum().alias("appointments"),
        cw().filter(col("no_show")).sum().alias("no_shows"),
        cw().filter(col("appointment").and(visitor))
            .sum()
            .alias("_appointment_visitors"),
        served.clone().alias("served"),
        when(served.clone().gt(lit(0)))
            .then(
                (ww().cast(DataType::Float64) * col("wait_min").fill_null(lit(0.0))).sum()
                    / served.cast(DataType::Float64),
            )
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("wait_mean_min"),
        single_wait.clone().median().alias("wait_median_min"),
        single_wait
            .clone()
            .quantile(lit(0.9), QuantileMethod::Linear)
            .alias("wait_p90_min"),
        col("wait_min")
            .filter(ww().gt(lit(0)))
            .max()
            .alias("wait_max_min"),
        col("wait_min")
            .lt_eq(target)
            .and(single.clone())
            .sum()
            .alias("_within"),
        col("service_min").median().alias("service_median_min"),
        col("service_min").count().alias("_service_n"),
        // Any aggregate row that counts here: single-visit KPIs are not available.
        col("marginal")
            .is_not_null()
            .and(cw().gt(lit(0)).or(ww().gt(lit(0))))
            .sum()
            .gt(lit(0))
            .alias("_na_single"),
        match waits {
            Some(_) => lit(false),
            None => uses(counts),
        }
        .alias("_na_waits"),
        match counts {
            Marginal::Day => lit(false),
            m => uses(m),
        }
        .alias("_na_appointments"),
        // Aggregates of the group but not the report with this figure (only the
        // Wartestatistik of a month uploaded, say): the counts or the waits are missing.
        any_aggregate
            .clone()
            .and(uses(counts).not())
            .alias("_missing_counts"),
        match waits {
            Some(w) => any_aggregate.and(uses(w).not()),
            None => lit(false),
        }
        .alias("_missing_waits"),
    ]))
}
