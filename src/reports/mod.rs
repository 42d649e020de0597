//! The monthly report: every office's KPIs of one month, from the KPI engine, as CSV, JSON,
//! XLSX (a sheet per office and a sheet of definitions) or PDF (fit to print: per office
//! its figures, the charts of its dashboard page with their tables, and the staff's notes).

pub mod pdf;

use crate::dashboards::{ChartType, Dashboards};
use crate::i18n::Lang;
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
    /// The value, or "." when suppressed, "x" when not meaningful (as in the CSV of the same
    /// report), or null.
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
        "Format {0:?} gibt es nicht; möglich: csv, json, xlsx, pdf / no such format; possible: csv, json, xlsx, pdf"
    )]
    Format(String),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
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
                    Value::NotApplicable(_) => "x".into(),
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

/// What a report needs besides the data: the dashboards (which charts the PDF shows) and
/// the administration's name.
pub struct ReportContext<'a> {
    pub dashboards: &'a Dashboards,
    pub site_name: &'a str,
}

/// The report as bytes in a format: `csv` (machine dialect), `json`, `xlsx` or `pdf`.
pub fn render(
    store: &Store,
    month: i32,
    format: &str,
    min_cell: u32,
    cx: &ReportContext<'_>,
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
        "pdf" => printed(store, &lines, month, min_cell, cx),
        other => Err(ReportError::Format(other.into())),
    }
}

/// The printed report: a title page paragraph, then per office its figures of the month,
/// the staff's notes and the charts of its dashboard page over the twelve months before,
/// each chart followed by its table; the definitions at the end.
fn printed(
    store: &Store,
    lines: &[Line],
    month: i32,
    min_cell: u32,
    cx: &ReportContext<'_>,
) -> Result<Vec<u8>, ReportError> {
    use crate::present::format::month_long;
    use crate::present::views::{Drawing, ViewFilter};
    let title = format!("Monatsbericht {}", month_long(month));
    let mut doc = pdf::PdfDocument::new(&format!("{} – {title}", cx.site_name), "de-DE");
    doc.heading(1, &format!("{}: {title}", cx.site_name));
    doc.paragraph(&format!(
        "Kennzahlen der Ämter für {}, berechnet aus den Exporten ihrer Fachverfahren. Die Grafiken zeigen die zwölf Monate davor zum Vergleich. Ein Punkt (.) steht für Werte aus weniger als {min_cell} Fällen, ein x für Werte, die nicht sinnvoll sind (etwa eine Quote ohne Termine). Was jede Kennzahl bedeutet, steht am Ende des Berichts.",
        month_long(month)
    ));
    let mut by_office: BTreeMap<&str, Vec<&Line>> = BTreeMap::new();
    for l in lines {
        by_office.entry(l.office.as_str()).or_default().push(l);
    }
    if by_office.is_empty() {
        doc.paragraph("Für diesen Monat sind keine Kennzahlen veröffentlicht.");
    }
    let year_before = (0..12).fold(month, |m, _| crate::timefmt::prev_month(m));
    for (office, office_lines) in by_office {
        doc.heading(2, office);
        let rows: Vec<Vec<String>> = office_lines
            .iter()
            .map(|l| {
                let unit = crate::kpi::definitions::find(l.kpi)
                    .map(|(_, d)| d.unit)
                    .unwrap_or(Unit::Count);
                let v = match &l.value {
                    serde_json::Value::Number(n) if unit == Unit::Count => {
                        Value::Int(n.as_f64().unwrap_or(0.0).round() as i64)
                    }
                    serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
                    serde_json::Value::String(s) if s == "x" => {
                        Value::NotApplicable(crate::kpi::NotApplicable::NothingToMeasure)
                    }
                    serde_json::Value::String(_) => Value::Suppressed,
                    _ => Value::Null,
                };
                vec![
                    l.label.to_string(),
                    crate::present::format::with_unit(&v, unit, Lang::De),
                ]
            })
            .collect();
        doc.table(
            &format!("Kennzahlen {}", month_long(month)),
            &["Kennzahl".to_string(), "Wert".to_string()],
            &rows,
        );
        let notes: Vec<(i32, String)> = store
            .notes(Some(office))?
            .into_iter()
            .map(|(_, m, t)| (m, t))
            .filter(|(m, _)| (year_before..=month).contains(m))
            .collect();
        for (m, text) in &notes {
            doc.paragraph(&format!("Hinweis des Amtes zu {}: {text}", month_long(*m)));
        }
        let kinds: Vec<&str> = office_lines.iter().map(|l| l.kind).collect();
        for spec in cx
            .dashboards
            .office_page(office)
            .charts()
            .filter(|c| kinds.contains(&c.kind.as_str()))
        {
            let filter = match spec.chart_type {
                ChartType::Line => ViewFilter {
                    from: Some(year_before),
                    to: Some(month),
                    ..ViewFilter::default()
                },
                ChartType::WeekdayHour => ViewFilter {
                    from: Some(month),
                    to: Some(month),
                    ..ViewFilter::default()
                },
            };
            let view = crate::present::office_chart(
                store,
                spec,
                office,
                &notes,
                &filter,
                min_cell,
                Lang::De,
            )?;
            // The engine's table behind the chart (`raw`): a chart without data is left out.
            if view.table.raw.rows.is_empty() {
                continue;
            }
            let size = match &view.drawing {
                Drawing::Line(_) => (crate::charts::WIDTH, crate::charts::HEIGHT),
                Drawing::Grid(grid) => grid.size(false),
            };
            // Heading, sentence and chart stay together on a page.
            doc.keep_together(pdf::PdfDocument::chart_height(size.0, size.1) + 60.0);
            doc.heading(3, &view.title);
            doc.paragraph(&view.description);
            match &view.drawing {
                Drawing::Line(chart) => {
                    doc.chart(crate::charts::WIDTH, crate::charts::HEIGHT, |root| {
                        let _ = chart.draw(root);
                    })
                }
                Drawing::Grid(grid) => {
                    let (w, h) = grid.size(false);
                    doc.chart(w, h, |root| {
                        let _ = grid.draw(root);
                    })
                }
            }
            doc.table(&view.table.caption, &view.table.headers, &view.table.rows);
        }
    }
    doc.heading(2, "Definitionen");
    for kind in Kind::ALL {
        for d in for_kind(kind) {
            doc.paragraph(&format!("{} ({}): {}", d.label_de, d.name, d.definition_de));
        }
    }
    Ok(doc.finish())
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
