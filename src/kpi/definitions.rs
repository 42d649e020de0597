//! The KPI definitions: formula, base for suppression, unit, which direction is better, and
//! the plain-language definition shown beside every number.

use super::table::{NotApplicable, Value};
use std::collections::HashMap;

/// How a KPI value is formed from the aggregate columns of its kind's plan.
#[derive(Debug, Clone, Copy)]
pub enum Measure {
    /// An aggregate column as it is.
    Col(&'static str),
    /// Numerator column / denominator column.
    Ratio(&'static str, &'static str),
}

/// What a value counts, for formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Share,
    Minutes,
    Days,
}

/// Whether lower or higher values are better (for target status and colour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Lower,
    Higher,
}

impl Direction {
    /// `lower` / `higher`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Lower => "lower",
            Direction::Higher => "higher",
        }
    }
}

/// One KPI of DESIGN.md.
#[derive(Debug)]
pub struct KpiDef {
    pub name: &'static str,
    pub measure: Measure,
    /// The aggregate column whose value decides suppression: the number of rows the value is
    /// computed from.
    pub base: &'static str,
    pub unit: Unit,
    pub better: Option<Direction>,
    pub label_de: &'static str,
    pub label_en: &'static str,
    pub definition_de: &'static str,
    pub definition_en: &'static str,
}

impl KpiDef {
    /// The value in row `i` of the aggregates: "x" (not applicable) when, for a rate, mean or
    /// quantile, its base is zero; "." when the base is below `min_cell`. A zero base shows
    /// as "x" only where that zero is public anyway (`zero_public`: the count of the base is
    /// shown): elsewhere "x" would tell a count that "." hides.
    pub fn value(
        &self,
        raw: &HashMap<String, Vec<Option<f64>>>,
        i: usize,
        min_cell: u32,
        zero_public: bool,
    ) -> Value {
        let base = self.base_in(raw, i).unwrap_or(0.0);
        if base == 0.0 && self.unit != Unit::Count && zero_public {
            return Value::NotApplicable(NotApplicable::NothingToMeasure);
        }
        let get = |c: &str| raw.get(c).and_then(|v| v.get(i).copied().flatten());
        if base < min_cell as f64 {
            return Value::Suppressed;
        }
        let v = match self.measure {
            Measure::Col(c) => get(c),
            Measure::Ratio(n, d) => match (get(n), get(d)) {
                (Some(n), Some(d)) if d > 0.0 => Some(n / d),
                _ => None,
            },
        };
        match (v, self.unit) {
            (None, _) => Value::Null,
            (Some(v), Unit::Count) => Value::Int(v.round() as i64),
            (Some(v), _) => Value::Float(v),
        }
    }
}

/// Base columns no KPI shows, with a shown count they cannot exceed: where that count is
/// shown as zero, their zero is public too (see [`KpiDef::value`]).
pub const BASE_WITHIN: &[(&str, &str)] = &[
    ("_service_n", "served"),
    ("_answered_with_target", "answered"),
    ("_answered_with_handle", "answered"),
];

impl KpiDef {
    /// The number of rows the value in row `i` is computed from (`None`: none).
    pub fn base_in(&self, raw: &HashMap<String, Vec<Option<f64>>>, i: usize) -> Option<f64> {
        raw.get(self.base).and_then(|v| v.get(i).copied().flatten())
    }
}

/// The KPIs of a kind, in output order.
pub fn for_kind(kind: crate::kinds::Kind) -> &'static [KpiDef] {
    use crate::kinds::Kind;
    match kind {
        Kind::Visits => super::visits::KPIS,
        Kind::Cases => super::cases::KPIS,
        Kind::Digital => super::digital::KPIS,
        Kind::Services => super::services::KPIS,
        Kind::Contacts => super::contacts::KPIS,
    }
}

/// Finds a KPI by name in any kind.
pub fn find(name: &str) -> Option<(crate::kinds::Kind, &'static KpiDef)> {
    crate::kinds::Kind::ALL
        .into_iter()
        .find_map(|k| for_kind(k).iter().find(|d| d.name == name).map(|d| (k, d)))
}
