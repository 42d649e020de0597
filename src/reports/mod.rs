//! The monthly report: every office's KPIs of one month, from the KPI engine, as CSV, JSON
//! or XLSX (a sheet per office and a sheet of definitions). PDF is not built yet.

use crate::kinds::Kind;
use crate::kpi::definitions::{Unit, for_kind};
use crate::kpi::table::{neutralise_formula, significant};
use crate::kpi::{self, Dim, KpiError, Query, Value};
use crate::store::Store;
use crate::timefmt::format_month;
use std::collections::BTreeMap;

/// One line of the report: an office's KPI in the month.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Line {
    pub office: String,
    pub kind: &'static str,
    pub kpi: &'static str,
    pub label: &'static str,
    /// The value, or "." when suppressed, or null.
    pub value: serde_json::Value,
    /// The value as in the machine CSV.
    #[serde(skip)]
    pub text: String,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Kpi(#[from] KpiError),
    #[error("XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error(
        "Format {0:?} gibt es nicht; möglich: csv, json, xlsx / no such format; possible: csv, json, xlsx"
    )]
    Format(String),
}

/// The report's lines for a month (`yyyymm`), from the published data.
pub fn lines(store: &Store, month: i32, min_cell: u32) -> Result<Vec<Line>, KpiError> {
    let mut out = Vec::new();
    for kind in [Kind::Visits, Kind::Cases, Kind::Contacts, Kind::Digital] {
        // Grouped by month too, so that month-end figures (backlog) are computed.
        let q = Query {
            from: Some(month),
            to: Some(month),
            min_cell,
            ..Query::new(kind, vec![Dim::Month, Dim::Office])
        };
        let t = kpi::compute(store, &q)?;
        let as_csv = t.to_csv();
        let csv_rows: Vec<Vec<String>> = csv::Reader::from_reader(as_csv.as_bytes())
            .records()
            .filter_map(Result::ok)
            .map(|r| r.iter().map(str::to_string).collect())
            .collect();
        for (row, csv_row) in t.rows.iter().zip(&csv_rows) {
            let Value::Text(office) = &row[1] else {
                continue;
            };
            for d in for_kind(kind) {
                let Some(i) = t.column(d.name) else { continue };
                let value = match &row[i] {
                    Value::Suppressed => ".".into(),
                    Value::Int(n) => (*n).into(),
                    Value::Float(f) => serde_json::Number::from_f64(significant(*f))
                        .map(Into::into)
                        .unwrap_or(serde_json::Value::Null),
                    _ => serde_json::Value::Null,
                };
                let text = csv_row.get(i).cloned().unwrap_or_default();
                out.push(Line {
                    office: office.clone(),
                    kind: kind.as_str(),
                    kpi: d.name,
                    label: d.label_de,
                    value,
                    text,
                });
            }
        }
    }
    Ok(out)
}

/// The report as bytes in a format: `csv` (machine dialect), `json` or `xlsx`.
pub fn render(
    store: &Store,
    month: i32,
    format: &str,
    min_cell: u32,
) -> Result<Vec<u8>, ReportError> {
    let lines = lines(store, month, min_cell)?;
    match format {
        "json" => Ok(serde_json::to_vec_pretty(
            &serde_json::json!({ "month": format_month(month), "lines": lines }),
        )
        .unwrap_or_default()),
        "csv" => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["month", "office", "kind", "kpi", "value"]);
            for l in &lines {
                let _ = w.write_record([
                    format_month(month),
                    neutralise_formula(l.office.clone()),
                    l.kind.into(),
                    l.kpi.into(),
                    l.text.clone(),
                ]);
            }
            Ok(w.into_inner().unwrap_or_default())
        }
        "xlsx" => xlsx(&lines, month),
        other => Err(ReportError::Format(other.into())),
    }
}

/// A sheet per office and a definitions sheet. Texts are written as strings, so a name
/// starting with "=" can never run as a formula.
fn xlsx(lines: &[Line], month: i32) -> Result<Vec<u8>, ReportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let mut by_office: BTreeMap<&str, Vec<&Line>> = BTreeMap::new();
    for l in lines {
        by_office.entry(l.office.as_str()).or_default().push(l);
    }
    let mut used_names: Vec<String> = Vec::new();
    for (office, lines) in by_office {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(office, &mut used_names))?;
        sheet.write_string_with_format(
            0,
            0,
            format!("{office}: Kennzahlen {}", format_month(month)),
            &bold,
        )?;
        for (c, h) in ["Kennzahl", "Wert", "Name", "Datenart"].iter().enumerate() {
            sheet.write_string_with_format(2, c as u16, *h, &bold)?;
        }
        for (i, l) in lines.iter().enumerate() {
            let r = 3 + i as u32;
            sheet.write_string(r, 0, l.label)?;
            match &l.value {
                serde_json::Value::Number(n) => {
                    let v = n.as_f64().unwrap_or(0.0);
                    let unit = for_kind(l.kind.parse().unwrap_or(Kind::Visits))
                        .iter()
                        .find(|d| d.name == l.kpi)
                        .map(|d| d.unit);
                    if unit == Some(Unit::Share) {
                        sheet.write_number_with_format(
                            r,
                            1,
                            v,
                            &Format::new().set_num_format("0.0%"),
                        )?;
                    } else {
                        sheet.write_number(r, 1, v)?;
                    }
                }
                serde_json::Value::String(s) => {
                    sheet.write_string(r, 1, s)?;
                }
                _ => {}
            }
            sheet.write_string(r, 2, l.kpi)?;
            sheet.write_string(r, 3, l.kind)?;
        }
        sheet.set_column_width(0, 42)?;
    }
    let defs = book.add_worksheet();
    defs.set_name("Definitionen")?;
    for (c, h) in [
        "Name",
        "Kennzahl",
        "Definition",
        "Grundlage der Unterdrückung",
    ]
    .iter()
    .enumerate()
    {
        defs.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut r = 1;
    for kind in Kind::ALL {
        for d in for_kind(kind) {
            defs.write_string(r, 0, d.name)?;
            defs.write_string(r, 1, d.label_de)?;
            defs.write_string(r, 2, d.definition_de)?;
            defs.write_string(r, 3, d.base)?;
            r += 1;
        }
    }
    defs.set_column_width(2, 90)?;
    Ok(book.save_to_buffer()?)
}

/// Excel sheet names: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(office: &str, used: &mut Vec<String>) -> String {
    let clean: String = office
        .chars()
        .filter(|c| !"[]:*?/\\'".contains(*c))
        .take(28)
        .collect();
    let clean = if clean.trim().is_empty() {
        "Amt".to_string()
    } else {
        clean
    };
    let mut name = clean.clone();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        name = format!("{clean} {n}");
        n += 1;
    }
    used.push(name.clone());
    name
}
