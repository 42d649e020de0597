//! A computed KPI table and its machine-readable forms (CSV, JSON). Suppressed cells are "."
//! in every form, as DESIGN.md requires.

use super::Dim;
use super::definitions::{Direction, KpiDef, Unit};
use crate::store::Target;
use std::collections::HashMap;

/// One cell of a KPI table.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Fewer rows than `min_cell`: published as ".".
    Suppressed,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    /// Cannot be computed from what the source gives (aggregates instead of single visits):
    /// null in JSON with the reason, empty in CSV, "nicht verfügbar" on pages.
    NotAvailable(NotAvailable),
    /// Not meaningful (Destatis' "x", as against "." for suppressed): a rate or mean of
    /// nothing, or a figure the grouping cannot give. "x" in CSV and on pages, null in JSON
    /// with the reason.
    NotApplicable(NotApplicable),
}

/// Why a KPI is not meaningful for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotApplicable {
    /// Its base is zero: a no-show rate without appointments, a median wait of nobody.
    NothingToMeasure,
    /// The grouping cannot give it: a stock such as the backlog by year or quarter.
    NotForThisGrouping,
}

impl NotApplicable {
    /// The reason in words, for pages and the API.
    pub fn reason(self, lang: crate::i18n::Lang) -> &'static str {
        match self {
            NotApplicable::NothingToMeasure => lang.pick(
                "nicht sinnvoll: keine Fälle, auf die sich der Wert bezieht",
                "not meaningful: there is nothing the value would describe",
            ),
            NotApplicable::NotForThisGrouping => lang.pick(
                "nicht sinnvoll für diese Gruppierung (ein Bestand lässt sich nicht über Monate summieren)",
                "not meaningful for this grouping (a stock cannot be summed over months)",
            ),
        }
    }
}

/// Why a KPI is not available for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAvailable {
    /// The source gives hourly means and daily counts, not single visits (a median needs them).
    OnlyHourlyMeans,
    /// The source does not split the figure this way (no-shows by hour, waits by service).
    NotSplit,
    /// The report that gives the figure was not uploaded for the month (only the
    /// Wartestatistik, say, without the Kundenstatistik).
    ReportMissing,
}

impl NotAvailable {
    /// The reason in words, for pages and the API.
    pub fn reason(self, lang: crate::i18n::Lang) -> &'static str {
        match self {
            NotAvailable::OnlyHourlyMeans => lang.pick(
                "nicht verfügbar: die Quelle liefert Stundenmittel",
                "not available: the source gives hourly means",
            ),
            NotAvailable::NotSplit => lang.pick(
                "nicht verfügbar: die Quelle liefert diese Aufteilung nicht",
                "not available: the source does not split this figure this way",
            ),
            NotAvailable::ReportMissing => lang.pick(
                "nicht verfügbar: der Bericht mit dieser Zahl fehlt für den Monat",
                "not available: the report with this figure is missing for the month",
            ),
        }
    }
}

impl Value {
    /// The numeric value, if any.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    fn csv(&self) -> String {
        match self {
            Value::Null | Value::NotAvailable(_) => String::new(),
            Value::Suppressed => ".".into(),
            Value::NotApplicable(_) => "x".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Text(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::NotAvailable(_) | Value::NotApplicable(_) => {
                serde_json::Value::Null
            }
            Value::Suppressed => ".".into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => serde_json::Number::from_f64(significant(*f))
                .map(Into::into)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) => s.clone().into(),
            Value::Bool(b) => (*b).into(),
        }
    }
}

/// A float to 12 significant digits (so that 17.199999999999996 is published as 17.2),
/// without a trailing `.0` on whole numbers.
fn format_float(f: f64) -> String {
    let f = significant(f);
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Rounds to 12 significant digits: far below any displayed precision, above float noise.
pub fn significant(f: f64) -> f64 {
    format!("{f:.11e}").parse().unwrap_or(f)
}

/// A KPI table: grouping columns, then KPI columns, then target and comparison columns.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiTable {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// Target status in words (DESIGN.md): met, narrowly missed (within 10 %), missed.
pub fn target_status(value: f64, target: f64, direction: Direction) -> &'static str {
    let (met, near) = match direction {
        Direction::Lower => (value <= target, value <= target * 1.1),
        Direction::Higher => (value >= target, value >= target * 0.9),
    };
    if met {
        "erreicht"
    } else if near {
        "knapp verfehlt"
    } else {
        "verfehlt"
    }
}

impl KpiTable {
    /// The table with only the columns `keep` names, in their order.
    pub fn only(self, keep: impl Fn(&str) -> bool) -> KpiTable {
        let kept: Vec<usize> = (0..self.columns.len())
            .filter(|&i| keep(&self.columns[i]))
            .collect();
        KpiTable {
            columns: kept.iter().map(|&i| self.columns[i].clone()).collect(),
            rows: self
                .rows
                .into_iter()
                .map(|mut r| {
                    kept.iter()
                        .map(|&i| std::mem::replace(&mut r[i], Value::Null))
                        .collect()
                })
                .collect(),
        }
    }

    /// Index of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Adds `{kpi}_target` and `{kpi}_status` for every KPI that has a target for some office.
    pub fn add_targets(
        &mut self,
        defs: &[KpiDef],
        office_idx: usize,
        targets: &[Target],
        kpi_start: usize,
    ) {
        for (k, def) in defs.iter().enumerate() {
            let for_kpi: HashMap<&str, &Target> = targets
                .iter()
                .filter(|t| t.kpi == def.name)
                .map(|t| (t.office.as_str(), t))
                .collect();
            if for_kpi.is_empty() {
                continue;
            }
            self.columns.push(format!("{}_target", def.name));
            self.columns.push(format!("{}_status", def.name));
            for row in &mut self.rows {
                let office = match &row[office_idx] {
                    Value::Text(s) => s.clone(),
                    _ => String::new(),
                };
                match for_kpi.get(office.as_str()) {
                    Some(t) => {
                        let dir = if t.direction == "higher" {
                            Direction::Higher
                        } else {
                            Direction::Lower
                        };
                        let status = row[kpi_start + k]
                            .as_f64()
                            .map(|v| Value::Text(target_status(v, t.value, dir).into()))
                            .unwrap_or(Value::Null);
                        row.push(Value::Float(t.value));
                        row.push(status);
                    }
                    None => {
                        row.push(Value::Null);
                        row.push(Value::Null);
                    }
                }
            }
        }
    }

    /// Adds `{kpi}_prev_month` and `{kpi}_prev_year`: the same group's value one month and
    /// twelve months earlier, only where both months are closed.
    pub fn add_comparisons(
        &mut self,
        defs: &[KpiDef],
        month_idx: usize,
        current: i32,
        by: &[Dim],
        kpi_start: usize,
    ) {
        let key_of = |row: &[Value], month: i32| -> String {
            let mut k = String::new();
            for (i, v) in row.iter().take(by.len()).enumerate() {
                if i == month_idx {
                    k.push_str(&month.to_string());
                } else {
                    k.push_str(&v.csv());
                }
                k.push('\u{1f}');
            }
            k
        };
        let month_at = |row: &[Value]| match &row[month_idx] {
            Value::Text(s) => crate::timefmt::parse_month_arg(s),
            _ => None,
        };
        let index: HashMap<String, usize> = self
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| month_at(r).map(|m| (key_of(r, m), i)))
            .collect();
        let mut extra: Vec<Vec<Value>> = Vec::with_capacity(self.rows.len());
        for row in &self.rows {
            let mut add = Vec::new();
            let m = month_at(row);
            let prev = m.map(crate::timefmt::prev_month);
            let year = m.map(|m| m - 100);
            for (k, def) in defs.iter().enumerate() {
                if def.unit == Unit::Count && def.name.starts_with('_') {
                    continue;
                }
                for other in [prev, year] {
                    let v = match (m, other) {
                        (Some(m), Some(o)) if m < current => index
                            .get(&key_of(row, o))
                            .map(|&j| self.rows[j][kpi_start + k].clone())
                            .unwrap_or(Value::Null),
                        _ => Value::Null,
                    };
                    add.push(v);
                }
            }
            extra.push(add);
        }
        for def in defs {
            self.columns.push(format!("{}_prev_month", def.name));
            self.columns.push(format!("{}_prev_year", def.name));
        }
        for (row, add) in self.rows.iter_mut().zip(extra) {
            row.extend(add);
        }
    }

    /// RFC 4180 CSV with `.` decimals and ISO months: the machine dialect.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r.iter().map(|v| neutralise_formula(v.csv())));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// The German Excel dialect: UTF-8 with BOM, `;`, decimal comma, so that a double click
    /// opens it correctly in a German Excel.
    pub fn to_csv_excel_de(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r.iter().map(|v| {
                let text = match v {
                    Value::Float(_) => v.csv().replace('.', ","),
                    Value::Bool(b) => {
                        if *b {
                            "ja".into()
                        } else {
                            "nein".into()
                        }
                    }
                    _ => v.csv(),
                };
                neutralise_formula(text)
            }));
        }
        let mut out = b"\xEF\xBB\xBF".to_vec();
        out.extend(w.into_inner().unwrap_or_default());
        out
    }

    /// An array of objects, one per row. A row with KPIs that are not available says why in
    /// `not_available` (KPI → reason in English).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.rows
                .iter()
                .map(|r| {
                    let mut object: serde_json::Map<String, serde_json::Value> = self
                        .columns
                        .iter()
                        .cloned()
                        .zip(r.iter().map(Value::json))
                        .collect();
                    // Why a value is null: the source cannot give it, or it is not meaningful.
                    let reasons = |keep: &dyn Fn(&Value) -> Option<&'static str>| {
                        self.columns
                            .iter()
                            .zip(r)
                            .filter_map(|(c, v)| keep(v).map(|why| (c.clone(), why.into())))
                            .collect::<serde_json::Map<String, serde_json::Value>>()
                    };
                    let not_available = reasons(&|v| match v {
                        Value::NotAvailable(why) => Some(why.reason(crate::i18n::Lang::En)),
                        _ => None,
                    });
                    let not_applicable = reasons(&|v| match v {
                        Value::NotApplicable(why) => Some(why.reason(crate::i18n::Lang::En)),
                        _ => None,
                    });
                    if !not_available.is_empty() {
                        object.insert("not_available".into(), not_available.into());
                    }
                    if !not_applicable.is_empty() {
                        object.insert("not_applicable".into(), not_applicable.into());
                    }
                    serde_json::Value::Object(object)
                })
                .collect(),
        )
    }
}

/// Text starting with `=`, `+`, `-` or `@` would run as a formula in a spreadsheet: prefix it
/// with an apostrophe. Numbers (a negative change) are left alone.
pub fn neutralise_formula(s: String) -> String {
    let starts = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if starts && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_csv_dialects_and_formula_safety() {
        let t = KpiTable {
            columns: vec!["office".into(), "share".into(), "n".into(), "x".into()],
            rows: vec![vec![
                Value::Text("=HYPERLINK(\"x\")".into()),
                Value::Float(0.5),
                Value::Int(-3),
                Value::Suppressed,
            ]],
        };
        assert_eq!(
            t.to_csv(),
            "office,share,n,x\n\"'=HYPERLINK(\"\"x\"\")\",0.5,-3,.\n"
        );
        let de = String::from_utf8(t.to_csv_excel_de()).unwrap();
        assert_eq!(
            de,
            "\u{feff}office;share;n;x\r\n\"'=HYPERLINK(\"\"x\"\")\";0,5;-3;.\r\n"
        );
        for s in ["+1+1", "-2+3", "@SUM(A1)"] {
            assert!(neutralise_formula(s.into()).starts_with('\''));
        }
        assert_eq!(neutralise_formula("-3".into()), "-3");
    }
}
