//! KPIs of the phone and chat service centre, from totals per day or month and from single
//! calls alike (see `kinds::contacts`): a call counts 1 in offered and answered, and is within
//! target when its wait is at most the office's target in seconds.

use super::definitions::{Direction, KpiDef, Measure, Unit};
use crate::store::Target;
use polars::prelude::*;

/// Target key: the wait in seconds within which a call counts as "answered within target" for
/// an office (like `wait_target_min` of visits). Used for single calls; totals bring their own
/// count.
pub const ANSWER_TARGET_KPI: &str = "answer_target_s";

/// The answer target in seconds where an office has none.
pub const DEFAULT_ANSWER_TARGET_S: f64 = 20.0;

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
        definition_de: "Anrufe und Chats, die das Service-Center erreichten: angenommen oder in der Warteschlange aufgelegt (im Sprachmenü beendete zählen nicht).",
        definition_en: "Calls and chats that reached the service centre: answered, or abandoned in the queue (those ending in the voice menu do not count).",
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
        definition_de: "In der Zielzeit angenommene geteilt durch angenommene Kontakte (nur Zeilen, die beides angeben). Einzelne Anrufe: Wartezeit höchstens die Zielzeit des Amtes (Standard 20 Sekunden).",
        definition_en: "Answered within target divided by answered (rows giving both only). Single calls: a wait of at most the office's target (default 20 seconds).",
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

/// The lazy plan: sums of the counts of totals rows and calls; a call is within target when
/// its wait is at most its office's [`ANSWER_TARGET_KPI`] (default 20 seconds).
pub fn aggregate(lf: LazyFrame, keys: &[Expr], targets: &[Target]) -> LazyFrame {
    // Batches stored before calls were accepted have no `wait_s`.
    let lf = match crate::kinds::contacts::with_call_columns(lf.clone()) {
        Ok(with) => with,
        Err(_) => lf,
    };
    let mut target = lit(DEFAULT_ANSWER_TARGET_S);
    for t in targets.iter().filter(|t| t.kpi == ANSWER_TARGET_KPI) {
        target = when(col("office").eq(lit(t.office.clone())))
            .then(lit(t.value))
            .otherwise(target);
    }
    // Null for rows of totals (and calls not answered): not counted.
    let call_within = col("wait_s").lt_eq(target).cast(DataType::Int64).sum();
    let gives_target = col("answered_within_target")
        .is_not_null()
        .or(col("wait_s").is_not_null());
    lf.group_by(keys).agg([
        col("offered").sum().alias("offered"),
        col("answered").sum().alias("answered"),
        (col("answered_within_target").sum() + call_within).alias("_within"),
        when(gives_target)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::contacts::with_call_columns;

    /// A totals row as stored before calls were accepted (no `wait_s`).
    fn old_batch() -> LazyFrame {
        df!(
            "office" => ["Amt"],
            "channel" => [Some("Telefon")],
            "month" => [202503i32],
            "offered" => [10i64],
            "answered" => [8i64],
            "answered_within_target" => [Some(6i64)],
            "handle_time_mean_min" => [Some(3.0f64)],
        )
        .unwrap()
        .lazy()
    }

    /// Three calls of another month: waits 20 and 21 s answered, one abandoned.
    fn calls() -> LazyFrame {
        df!(
            "office" => ["Amt", "Amt", "Amt"],
            "channel" => [None::<&str>, None, None],
            "month" => [202504i32, 202504, 202504],
            "offered" => [1i64, 1, 1],
            "answered" => [1i64, 1, 0],
            "answered_within_target" => [None::<i64>, None, None],
            "handle_time_mean_min" => [Some(2.0f64), None, None],
            "wait_s" => [Some(20.0f64), Some(21.0), None],
        )
        .unwrap()
        .lazy()
    }

    fn column(df: &DataFrame, name: &str) -> Vec<i64> {
        let c = df.column(name).unwrap().cast(&DataType::Int64).unwrap();
        c.i64().unwrap().iter().map(|v| v.unwrap()).collect()
    }

    #[test]
    fn old_batches_and_calls_in_one_plan() {
        let month = [col("month")];
        let sorted = SortMultipleOptions::default();
        // Old batches alone: `wait_s` is added as null.
        let df = aggregate(old_batch(), &month, &[]).collect().unwrap();
        assert_eq!(column(&df, "_within"), vec![6]);
        assert_eq!(column(&df, "_answered_with_target"), vec![8]);

        // Old and new batches together: not as they are stored…
        let raw = concat([old_batch(), calls()], UnionArgs::default()).unwrap();
        assert!(aggregate(raw, &month, &[]).collect().is_err());
        // …but each read with the call columns (as the store reads them).
        let both = concat(
            [
                with_call_columns(old_batch()).unwrap(),
                with_call_columns(calls()).unwrap(),
            ],
            UnionArgs::default(),
        )
        .unwrap();
        let df = aggregate(both.clone(), &month, &[])
            .sort(["month"], sorted.clone())
            .collect()
            .unwrap();
        assert_eq!(column(&df, "offered"), vec![10, 3]);
        assert_eq!(column(&df, "answered"), vec![8, 2]);
        assert_eq!(column(&df, "_within"), vec![6, 1]);
        assert_eq!(column(&df, "_answered_with_target"), vec![8, 2]);
        assert_eq!(column(&df, "_answered_with_handle"), vec![8, 1]);

        // A target of 21 s for the office takes the second call in; other KPIs' targets and
        // other offices' do not count.
        let t = |office: &str, kpi: &str, value: f64| Target {
            office: office.into(),
            kpi: kpi.into(),
            value,
            direction: "lower".into(),
        };
        let targets = [
            t("Amt", ANSWER_TARGET_KPI, 21.0),
            t("Amt", "service_level", 0.8),
            t("Anderes Amt", ANSWER_TARGET_KPI, 60.0),
        ];
        let df = aggregate(both, &month, &targets)
            .sort(["month"], sorted)
            .collect()
            .unwrap();
        assert_eq!(column(&df, "_within"), vec![6, 2]);
    }
}
