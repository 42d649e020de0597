//! KPIs of the phone and chat service centre.

use super::definitions::{Direction, KpiDef, Measure, Unit};
use polars::prelude::*;

/// The contacts KPIs.
pub const KPIS: &[KpiDef] = &[
    KpiDef {
        name: "offered",
        measure: Measure::Col("offered"),
        base: "offered",
        unit: Unit::Count,
        better: None,
        label_de: "Eingegangene Kontakte",
        label_en: "Contacts offered",
        definition_de: "Anrufe und Chats, die das Service-Center erreichten.",
        definition_en: "Calls and chats that reached the service centre.",
    },
    KpiDef {
        name: "answered",
        measure: Measure::Col("answered"),
        base: "offered",
        unit: Unit::Count,
        better: None,
        label_de: "Angenommene Kontakte",
        label_en: "Contacts answered",
        definition_de: "Angenommene Anrufe und Chats.",
        definition_en: "Calls and chats answered.",
    },
    KpiDef {
        name: "answer_rate",
        measure: Measure::Ratio("answered", "offered"),
        base: "offered",
        unit: Unit::Share,
        better: Some(Direction::Higher),
        label_de: "Erreichbarkeit",
        label_en: "Answer rate",
        definition_de: "Angenommene geteilt durch eingegangene Kontakte.",
        definition_en: "Answered divided by offered contacts.",
    },
    KpiDef {
        name: "service_level",
        measure: Measure::Ratio("_within", "_answered_with_target"),
        base: "_answered_with_target",
        unit: Unit::Share,
        better: Some(Direction::Higher),
        label_de: "Servicelevel",
        label_en: "Service level",
        definition_de: "In der Zielzeit angenommene geteilt durch angenommene Kontakte (nur Zeilen, die beides angeben).",
        definition_en: "Answered within target divided by answered (rows giving both only).",
    },
    KpiDef {
        name: "handle_time_mean_min",
        measure: Measure::Ratio("_handle_total", "_answered_with_handle"),
        base: "_answered_with_handle",
        unit: Unit::Minutes,
        better: None,
        label_de: "Mittlere Bearbeitungszeit",
        label_en: "Mean handle time",
        definition_de: "Mittlere Gesprächs- und Bearbeitungszeit in Minuten, gewichtet mit den angenommenen Kontakten.",
        definition_en: "Mean handle time in minutes, weighted by answered contacts.",
    },
];

/// The lazy plan.
pub fn aggregate(lf: LazyFrame, keys: &[Expr]) -> LazyFrame {
    lf.group_by(keys).agg([
        col("offered").sum().alias("offered"),
        col("answered").sum().alias("answered"),
        col("answered_within_target").sum().alias("_within"),
        when(col("answered_within_target").is_not_null())
            .then(col("answered"))
            .otherwise(lit(0))
            .sum()
            .alias("_answered_with_target"),
        (col("handle_time_mean_min") * col("answered").cast(DataType::Float64))
            .sum()
            .alias("_handle_total"),
        when(col("handle_time_mean_min").is_not_null())
            .then(col("answered"))
            .otherwise(lit(0))
            .sum()
            .alias("_answered_with_handle"),
    ])
}
