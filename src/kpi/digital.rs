//! KPIs of digital services: online share and form completion.

use super::definitions::{Direction, KpiDef, Measure, Unit};
use polars::prelude::*;

/// The digital KPIs.
pub const KPIS: &[KpiDef] = &[
    KpiDef {
        name: "online",
        measure: Measure::Col("online"),
        base: "_applications",
        unit: Unit::Count,
        better: None,
        label_de: "Anträge online",
        label_en: "Applications online",
        definition_de: "Online eingegangene Anträge.",
        definition_en: "Applications received online.",
    },
    KpiDef {
        name: "offline",
        measure: Measure::Col("offline"),
        base: "_applications",
        unit: Unit::Count,
        better: None,
        label_de: "Anträge auf Papier oder vor Ort",
        label_en: "Applications offline",
        definition_de: "Auf Papier oder am Schalter eingegangene Anträge.",
        definition_en: "Applications received on paper or at the counter.",
    },
    KpiDef {
        name: "digital_share",
        measure: Measure::Ratio("online", "_applications"),
        base: "_applications",
        unit: Unit::Share,
        better: Some(Direction::Higher),
        label_de: "Digitalquote",
        label_en: "Digital share",
        definition_de: "Online-Anträge geteilt durch alle Anträge (online + Papier/vor Ort).",
        definition_en: "Online applications divided by all applications (online + offline).",
    },
    KpiDef {
        name: "completion_rate",
        measure: Measure::Ratio("completed", "started"),
        base: "started",
        unit: Unit::Share,
        better: Some(Direction::Higher),
        label_de: "Abschlussquote Online-Formulare",
        label_en: "Form completion rate",
        definition_de: "Abgesendete geteilt durch begonnene Online-Formulare.",
        definition_en: "Online forms sent divided by forms started.",
    },
    KpiDef {
        name: "satisfaction_rate",
        measure: Measure::Ratio("satisfied", "responses"),
        base: "responses",
        unit: Unit::Share,
        better: Some(Direction::Higher),
        label_de: "Zufriedenheit",
        label_en: "Satisfaction",
        definition_de: "Zufriedene Rückmeldungen geteilt durch alle Rückmeldungen.",
        definition_en: "Satisfied responses divided by all responses.",
    },
];

/// The lazy plan. Started/completed and responses count only where both halves are given.
pub fn aggregate(lf: LazyFrame, keys: &[Expr]) -> LazyFrame {
    let both = |a: &str, b: &str| col(a).is_not_null().and(col(b).is_not_null());
    lf.group_by(keys).agg([
        col("online").sum().alias("online"),
        col("offline").sum().alias("offline"),
        (col("online") + col("offline"))
            .sum()
            .alias("_applications"),
        when(both("started", "completed"))
            .then(col("started"))
            .otherwise(lit(NULL))
            .sum()
            .alias("started"),
        when(both("started", "completed"))
            .then(col("completed"))
            .otherwise(lit(NULL))
            .sum()
            .alias("completed"),
        when(both("satisfied", "responses"))
            .then(col("responses"))
            .otherwise(lit(NULL))
            .sum()
            .alias("responses"),
        when(both("satisfied", "responses"))
            .then(col("satisfied"))
            .otherwise(lit(NULL))
            .sum()
            .alias("satisfied"),
    ])
}
