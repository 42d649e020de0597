//! KPIs of visits (DESIGN.md): visitors, appointments, no-shows, waits and service times.

use super::DEFAULT_WAIT_TARGET_MIN;
use super::definitions::{Direction, KpiDef, Measure, Unit};
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
        definition_de: "Zeilen der Aufruf- und Terminsysteme, die kein nicht wahrgenommener Termin sind (ein Vorgang je Wartemarke oder Termin).",
        definition_en: "Rows from the queue and appointment systems that are not missed appointments (one per ticket or appointment).",
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
        definition_de: "Durchschnitt der Wartezeit von der Ankunft bis zum Aufruf, in Minuten, über bediente Besuche.",
        definition_en: "Mean of the wait from arrival to call, in minutes, over served visitors.",
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
        definition_de: "Die längste Wartezeit eines bedienten Besuchs, in Minuten.",
        definition_en: "The longest wait of a served visitor, in minutes.",
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

/// The lazy plan: one group per key combination with the aggregates the KPIs read.
pub fn aggregate(lf: LazyFrame, keys: &[Expr], targets: &[Target]) -> LazyFrame {
    let mut target = lit(DEFAULT_WAIT_TARGET_MIN);
    for t in targets.iter().filter(|t| t.kpi == WAIT_TARGET_KPI) {
        target = when(col("office").eq(lit(t.office.clone())))
            .then(lit(t.value))
            .otherwise(target);
    }
    let visitor = col("no_show").not();
    lf.group_by(keys).agg([
        len().alias("_rows"),
        visitor.clone().sum().alias("visitors"),
        col("appointment").sum().alias("appointments"),
        col("no_show").sum().alias("no_shows"),
        (col("appointment").and(visitor))
            .sum()
            .alias("_appointment_visitors"),
        col("wait_min").count().alias("served"),
        col("wait_min").mean().alias("wait_mean_min"),
        col("wait_min").median().alias("wait_median_min"),
        col("wait_min")
            .quantile(lit(0.9), QuantileMethod::Linear)
            .alias("wait_p90_min"),
        col("wait_min").max().alias("wait_max_min"),
        col("wait_min").lt_eq(target).sum().alias("_within"),
        col("service_min").median().alias("service_median_min"),
        col("service_min").count().alias("_service_n"),
    ])
}
