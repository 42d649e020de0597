//! View models of the public pages, built from KPI engine tables only: every number on a
//! page, in a chart, in its table and in its download comes from the same `kpi::compute`.

use super::format::{self, month_long, month_short};
use crate::charts::{LineChart, Series, TargetLine};
use crate::kinds::Kind;
use crate::kpi::definitions::{KpiDef, Unit, for_kind};
use crate::kpi::{self, Dim, KpiError, KpiTable, Query, Value};
use crate::store::Store;
use crate::timefmt::{month_key, parse_month_arg, today};
use serde::Serialize;

/// A chart with its data table and downloads.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub svg: String,
    pub table: TableView,
    pub definitions: Vec<&'static str>,
}

/// A data table as displayed (formatted), plus the raw table for downloads.
#[derive(Debug, Clone, Serialize)]
pub struct TableView {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    #[serde(skip)]
    pub raw: KpiTable,
}

/// One key figure of an overview tile.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub kpi: &'static str,
    pub label: &'static str,
    pub value: String,
    pub change: String,
    pub status: Option<(&'static str, &'static str)>,
}

/// An office on the overview.
#[derive(Debug, Clone, Serialize)]
pub struct Tile {
    pub office: String,
    pub slug: String,
    pub month: String,
    pub figures: Vec<Figure>,
    pub sparkline: String,
}

/// A chart definition: which KPIs of which kind, grouped how.
#[derive(Debug, Clone, Copy)]
pub struct ChartSpec {
    pub id: &'static str,
    pub kind: Kind,
    pub title: &'static str,
    /// KPI columns drawn as lines (or, with `split`, the one KPI split by a dimension).
    pub kpis: &'static [&'static str],
    pub split: Option<Dim>,
    pub y_label: &'static str,
}

/// The charts of an office page, per kind.
pub const CHARTS: &[ChartSpec] = &[
    ChartSpec {
        id: "besuche",
        kind: Kind::Visits,
        title: "Besuche pro Monat, mit und ohne Termin",
        kpis: &["visitors"],
        split: Some(Dim::Appointment),
        y_label: "Besuche",
    },
    ChartSpec {
        id: "wartezeit",
        kind: Kind::Visits,
        title: "Wartezeit von der Ankunft bis zum Aufruf",
        kpis: &["wait_median_min", "wait_p90_min"],
        split: None,
        y_label: "Minuten",
    },
    ChartSpec {
        id: "ziel",
        kind: Kind::Visits,
        title: "Anteil innerhalb der Zielwartezeit und nicht wahrgenommene Termine",
        kpis: &["within_target_share", "no_show_rate"],
        split: None,
        y_label: "Prozent",
    },
    ChartSpec {
        id: "bearbeitung",
        kind: Kind::Cases,
        title: "Bearbeitungsdauer entschiedener Verfahren",
        kpis: &["processing_days_median", "processing_days_p90"],
        split: None,
        y_label: "Tage",
    },
    ChartSpec {
        id: "rueckstand",
        kind: Kind::Cases,
        title: "Offene Verfahren am Monatsende",
        kpis: &["backlog"],
        split: None,
        y_label: "Verfahren",
    },
    ChartSpec {
        id: "erreichbarkeit",
        kind: Kind::Contacts,
        title: "Erreichbarkeit des Service-Centers",
        kpis: &["answer_rate", "service_level"],
        split: None,
        y_label: "Prozent",
    },
    ChartSpec {
        id: "digital",
        kind: Kind::Digital,
        title: "Digitalquote je Online-Dienst",
        kpis: &["digital_share"],
        split: Some(Dim::Service),
        y_label: "Prozent",
    },
];

fn def(kind: Kind, name: &str) -> &'static KpiDef {
    for_kind(kind)
        .iter()
        .find(|d| d.name == name)
        .expect("chart names known KPIs")
}

fn month_of(v: &Value) -> Option<i32> {
    match v {
        Value::Text(s) => parse_month_arg(s),
        _ => None,
    }
}

/// The running month: not closed, figures provisional.
pub fn running_month() -> i32 {
    month_key(today())
}

fn scale(v: f64, unit: Unit) -> f64 {
    if unit == Unit::Share { v * 100.0 } else { v }
}

/// The KPI table behind a chart: exactly what the chart draws, for the page, CSV and JSON.
pub fn chart_table(
    store: &Store,
    spec: &ChartSpec,
    office: &str,
    min_cell: u32,
) -> Result<KpiTable, KpiError> {
    let mut by = vec![Dim::Month];
    by.extend(spec.split);
    let q = Query {
        office: Some(office.to_string()),
        min_cell,
        ..Query::new(spec.kind, by)
    };
    let full = kpi::compute(store, &q)?;
    // Keep the grouping columns, `provisional` and the drawn KPIs.
    let keep: Vec<usize> = full
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.as_str() == "month"
                || c.as_str() == "provisional"
                || spec.split.is_some_and(|d| d.as_str() == c.as_str())
                || spec.kpis.contains(&c.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    Ok(KpiTable {
        columns: keep.iter().map(|&i| full.columns[i].clone()).collect(),
        rows: full
            .rows
            .iter()
            .map(|r| keep.iter().map(|&i| r[i].clone()).collect())
            .collect(),
    })
}

/// Builds a chart and its table from its KPI table.
pub fn chart_view(
    spec: &ChartSpec,
    office: &str,
    table: KpiTable,
    notes: &[(i32, String)],
    target: Option<(f64, String)>,
) -> ChartView {
    let col = |n: &str| table.column(n);
    let month_i = col("month").unwrap_or(0);
    let mut months: Vec<i32> = table
        .rows
        .iter()
        .filter_map(|r| month_of(&r[month_i]))
        .collect();
    months.sort_unstable();
    months.dedup();
    let running = running_month();
    let mut series: Vec<Series> = Vec::new();
    let unit = def(spec.kind, spec.kpis[0]).unit;
    match spec.split {
        Some(dim) => {
            let si = col(dim.as_str()).unwrap_or(0);
            let vi = col(spec.kpis[0]).unwrap_or(0);
            let mut keys: Vec<String> = Vec::new();
            for r in &table.rows {
                let k = split_label(&r[si]);
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            for k in keys {
                let points = months
                    .iter()
                    .map(|m| {
                        let v = table
                            .rows
                            .iter()
                            .find(|r| month_of(&r[month_i]) == Some(*m) && split_label(&r[si]) == k)
                            .and_then(|r| r[vi].as_f64());
                        (month_short(*m), v.map(|v| scale(v, unit)))
                    })
                    .collect();
                series.push(Series { label: k, points });
            }
        }
        None => {
            for name in spec.kpis {
                let d = def(spec.kind, name);
                let vi = col(name).unwrap_or(0);
                let points = months
                    .iter()
                    .map(|m| {
                        let v = table
                            .rows
                            .iter()
                            .find(|r| month_of(&r[month_i]) == Some(*m))
                            .and_then(|r| r[vi].as_f64());
                        (month_short(*m), v.map(|v| scale(v, d.unit)))
                    })
                    .collect();
                series.push(Series {
                    label: d.label_de.to_string(),
                    points,
                });
            }
        }
    }
    let description = describe(
        spec,
        &series,
        &months,
        running,
        target.as_ref().map(|t| t.0),
    );
    let chart = LineChart {
        id: format!("chart-{}", spec.id),
        title: format!("{}: {office}", spec.title),
        description: description.clone(),
        y_label: spec.y_label.to_string(),
        series: series.clone(),
        target: target
            .clone()
            .map(|(value, label)| TargetLine { label, value }),
        notes: notes
            .iter()
            .filter(|(m, _)| months.contains(m))
            .map(|(m, _)| month_short(*m))
            .collect(),
    };
    // The table shows what the chart shows: one row per month, one column per line.
    let mut headers = vec!["Monat".to_string()];
    headers.extend(series.iter().map(|s| s.label.clone()));
    headers.push("Hinweis".into());
    let rows = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut row = vec![if *m >= running {
                format!("{} (vorläufig)", month_long(*m))
            } else {
                month_long(*m)
            }];
            for s in &series {
                let raw = match spec.split {
                    Some(dim) => {
                        let si = col(dim.as_str()).unwrap_or(0);
                        let vi = col(spec.kpis[0]).unwrap_or(0);
                        table
                            .rows
                            .iter()
                            .find(|r| {
                                month_of(&r[month_i]) == Some(*m) && split_label(&r[si]) == s.label
                            })
                            .map(|r| r[vi].clone())
                    }
                    None => {
                        let name = spec
                            .kpis
                            .iter()
                            .find(|n| def(spec.kind, n).label_de == s.label)
                            .copied()
                            .unwrap_or(spec.kpis[0]);
                        let vi = col(name).unwrap_or(0);
                        table
                            .rows
                            .iter()
                            .find(|r| month_of(&r[month_i]) == Some(*m))
                            .map(|r| r[vi].clone())
                    }
                };
                let _ = i;
                row.push(
                    raw.map(|v| format::value(&v, unit))
                        .unwrap_or_else(|| "–".into()),
                );
            }
            row.push(
                notes
                    .iter()
                    .filter(|(nm, _)| nm == m)
                    .map(|(_, t)| t.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            row
        })
        .collect();
    ChartView {
        id: spec.id.to_string(),
        title: spec.title.to_string(),
        description,
        svg: chart.to_svg(),
        table: TableView {
            caption: format!("Daten zu: {}", spec.title),
            headers,
            rows,
            raw: table,
        },
        definitions: spec.kpis.to_vec(),
    }
}

fn split_label(v: &Value) -> String {
    match v {
        Value::Bool(true) => "mit Termin".into(),
        Value::Bool(false) => "ohne Termin".into(),
        Value::Text(s) => s.clone(),
        Value::Null => "ohne Angabe".into(),
        other => format::value(other, Unit::Count),
    }
}

/// One sentence on what the chart says: the newest closed month, against the month before
/// and the target.
fn describe(
    spec: &ChartSpec,
    series: &[Series],
    months: &[i32],
    running: i32,
    target: Option<f64>,
) -> String {
    let closed: Vec<usize> = months
        .iter()
        .enumerate()
        .filter(|(_, m)| **m < running)
        .map(|(i, _)| i)
        .collect();
    let Some(&last) = closed.last() else {
        return format!("{}: noch keine abgeschlossenen Monate.", spec.title);
    };
    let Some(first) = series.first() else {
        return spec.title.to_string();
    };
    let unit = def(spec.kind, spec.kpis[0]).unit;
    let word = |v: f64| match unit {
        Unit::Share => format!("{} %", v.round()),
        Unit::Minutes => format!("{} Minuten", v.round()),
        Unit::Days => format!("{} Tagen", v.round()),
        Unit::Count => format::int(v.round() as i64),
    };
    let Some(now) = first.points[last].1 else {
        return format!(
            "{}: für {} wegen zu weniger Fälle nicht ausgewiesen.",
            first.label,
            month_long(months[last])
        );
    };
    let what = match spec.split {
        Some(_) => format!("{} {}", def(spec.kind, spec.kpis[0]).label_de, first.label),
        None => first.label.clone(),
    };
    let mut s = format!("{what}: im {} {}", month_long(months[last]), word(now));
    if let Some(prev) = closed
        .len()
        .checked_sub(2)
        .map(|i| closed[i])
        .and_then(|i| first.points[i].1)
    {
        // Compared as displayed, so that 93 % is never "up from 93 %".
        let verb = if word(now) == word(prev) {
            "gleich wie im Vormonat:"
        } else if now < prev {
            "gesunken von"
        } else {
            "gestiegen von"
        };
        s.push_str(&format!(" ({verb} {})", word(prev)));
    }
    if let Some(t) = target {
        s.push_str(&format!("; Ziel: {}", word(t)));
    }
    s.push('.');
    s
}

/// A small trend line for a tile, as inline SVG with its own text alternative.
pub fn sparkline(values: &[Option<f64>], label: &str) -> String {
    let vals: Vec<f64> = values.iter().flatten().copied().collect();
    if vals.len() < 2 {
        return String::new();
    }
    let max = vals.iter().cloned().fold(f64::MIN, f64::max);
    let min = vals.iter().cloned().fold(f64::MAX, f64::min);
    let span = if max > min { max - min } else { 1.0 };
    let n = values.len().max(2) - 1;
    let mut points = String::new();
    for (i, v) in values.iter().enumerate() {
        if let Some(v) = v {
            let x = 2.0 + 116.0 * i as f64 / n as f64;
            let y = 28.0 - 24.0 * (v - min) / span;
            points.push_str(&format!("{x:.1},{y:.1} "));
        }
    }
    format!(
        "<svg class=\"sparkline\" viewBox=\"0 0 120 30\" role=\"img\" aria-label=\"{}\"><polyline points=\"{}\" fill=\"none\" stroke=\"#004b87\" stroke-width=\"2\"/></svg>",
        crate::charts::xml_escape(label),
        points.trim_end()
    )
}

/// The offices with published data, each with the kinds it has.
pub fn offices(store: &Store) -> Result<Vec<(String, Vec<Kind>)>, KpiError> {
    let mut out: Vec<(String, Vec<Kind>)> = Vec::new();
    for kind in [Kind::Visits, Kind::Cases, Kind::Contacts, Kind::Digital] {
        let t = kpi::compute(store, &Query::new(kind, vec![Dim::Office]))?;
        for r in &t.rows {
            if let Value::Text(o) = &r[0] {
                match out.iter_mut().find(|(n, _)| n == o) {
                    Some((_, kinds)) => kinds.push(kind),
                    None => out.push((o.clone(), vec![kind])),
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The overview tiles: per office its newest closed month's key figures.
pub fn tiles(store: &Store, min_cell: u32) -> Result<Vec<Tile>, KpiError> {
    let running = running_month();
    let mut tiles = Vec::new();
    for (office, kinds) in offices(store)? {
        let kind = kinds[0];
        let key_kpis: &[&str] = match kind {
            Kind::Visits => &["visitors", "wait_median_min", "within_target_share"],
            Kind::Cases => &["decided", "processing_days_median", "backlog"],
            Kind::Contacts => &["offered", "answer_rate", "service_level"],
            _ => &["online", "digital_share"],
        };
        let q = Query {
            office: Some(office.clone()),
            compare: true,
            min_cell,
            ..Query::new(kind, vec![Dim::Month])
        };
        let t = kpi::compute(store, &q)?;
        let mi = t.column("month").unwrap_or(0);
        let closed: Vec<&Vec<Value>> = t
            .rows
            .iter()
            .filter(|r| month_of(&r[mi]).is_some_and(|m| m < running))
            .collect();
        let Some(last) = closed.last() else { continue };
        let month = month_of(&last[mi]).unwrap_or(running);
        let targets = store.targets(kind).map_err(KpiError::from)?;
        let figures = key_kpis
            .iter()
            .map(|name| {
                let d = def(kind, name);
                let v = t
                    .column(name)
                    .map(|i| last[i].clone())
                    .unwrap_or(Value::Null);
                let prev = t
                    .column(&format!("{name}_prev_month"))
                    .map(|i| last[i].clone())
                    .unwrap_or(Value::Null);
                let year = t
                    .column(&format!("{name}_prev_year"))
                    .map(|i| last[i].clone())
                    .unwrap_or(Value::Null);
                let mut change = Vec::new();
                if prev.as_f64().is_some() {
                    change.push(format!(
                        "Vormonat: {}{}",
                        format::value(&prev, d.unit),
                        format::unit_word(d.unit)
                    ));
                }
                if year.as_f64().is_some() {
                    change.push(format!(
                        "Vorjahresmonat: {}{}",
                        format::value(&year, d.unit),
                        format::unit_word(d.unit)
                    ));
                }
                let status = targets
                    .iter()
                    .find(|tg| tg.office == office && tg.kpi == *name)
                    .and_then(|tg| {
                        let dir = if tg.direction == "higher" {
                            kpi::Direction::Higher
                        } else {
                            kpi::Direction::Lower
                        };
                        v.as_f64()
                            .map(|x| kpi::table::target_status(x, tg.value, dir))
                    })
                    .map(|s| {
                        (
                            s,
                            match s {
                                "erreicht" => "ok",
                                "knapp verfehlt" => "near",
                                _ => "miss",
                            },
                        )
                    });
                Figure {
                    kpi: d.name,
                    label: d.label_de,
                    value: format!("{}{}", format::value(&v, d.unit), format::unit_word(d.unit)),
                    change: change.join(" · "),
                    status,
                }
            })
            .collect();
        let spark_kpi = key_kpis[1];
        let si = t.column(spark_kpi).unwrap_or(0);
        let values: Vec<Option<f64>> = closed
            .iter()
            .rev()
            .take(13)
            .rev()
            .map(|r| r[si].as_f64())
            .collect();
        let spark_label = format!(
            "Verlauf {} der letzten {} Monate",
            def(kind, spark_kpi).label_de,
            values.len()
        );
        tiles.push(Tile {
            slug: format::slug(&office),
            sparkline: sparkline(&values, &spark_label),
            office,
            month: month_long(month),
            figures,
        });
    }
    Ok(tiles)
}

/// "Wann ist wenig los?": visitors and median wait by weekday and hour over the last three
/// closed months, with the quietest hour said in words.
pub fn quiet_times(
    store: &Store,
    office: &str,
    min_cell: u32,
) -> Result<Option<(String, TableView)>, KpiError> {
    let running = running_month();
    let to = crate::timefmt::prev_month(running);
    let from = crate::timefmt::prev_month(crate::timefmt::prev_month(to));
    let q = Query {
        office: Some(office.to_string()),
        from: Some(from),
        to: Some(to),
        min_cell,
        ..Query::new(Kind::Visits, vec![Dim::Weekday, Dim::Hour])
    };
    let t = kpi::compute(store, &q)?;
    let (Some(wi), Some(hi), Some(vi), Some(mi)) = (
        t.column("weekday"),
        t.column("hour"),
        t.column("visitors"),
        t.column("wait_median_min"),
    ) else {
        return Ok(None);
    };
    const DAYS: [&str; 7] = [
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ];
    let int = |v: &Value| match v {
        Value::Int(i) => Some(*i),
        _ => None,
    };
    let mut days: Vec<i64> = t.rows.iter().filter_map(|r| int(&r[wi])).collect();
    days.sort_unstable();
    days.dedup();
    let mut hours: Vec<i64> = t.rows.iter().filter_map(|r| int(&r[hi])).collect();
    hours.sort_unstable();
    hours.dedup();
    if days.is_empty() || hours.is_empty() {
        return Ok(None);
    }
    let cell = |d: i64, h: i64| {
        t.rows
            .iter()
            .find(|r| int(&r[wi]) == Some(d) && int(&r[hi]) == Some(h))
    };
    let mut headers = vec!["Uhrzeit".to_string()];
    headers.extend(
        days.iter()
            .map(|d| DAYS[(*d as usize).clamp(1, 7) - 1].to_string()),
    );
    let rows = hours
        .iter()
        .map(|h| {
            let mut row = vec![format!("{h}–{} Uhr", h + 1)];
            for d in &days {
                row.push(match cell(*d, *h) {
                    Some(r) => format!(
                        "{} Min. · {} Besuche",
                        format::value(&r[mi], Unit::Minutes),
                        format::value(&r[vi], Unit::Count)
                    ),
                    None => "–".into(),
                });
            }
            row
        })
        .collect();
    let quiet = t
        .rows
        .iter()
        .filter(|r| r[mi].as_f64().is_some() && r[vi].as_f64().is_some_and(|v| v > 0.0))
        .min_by(|a, b| {
            a[mi]
                .as_f64()
                .partial_cmp(&b[mi].as_f64())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(
                    a[vi]
                        .as_f64()
                        .partial_cmp(&b[vi].as_f64())
                        .unwrap_or(std::cmp::Ordering::Equal),
                )
        });
    let sentence = match quiet {
        Some(r) => format!(
            "Am kürzesten war die Wartezeit in den letzten drei Monaten ({} bis {}) am {} zwischen {} und {} Uhr: im Median {} Minuten.",
            month_long(from),
            month_long(to),
            DAYS[(int(&r[wi]).unwrap_or(1) as usize).clamp(1, 7) - 1],
            int(&r[hi]).unwrap_or(0),
            int(&r[hi]).unwrap_or(0) + 1,
            format::value(&r[mi], Unit::Minutes)
        ),
        None => "Für die letzten drei Monate liegen zu wenige Besuche vor.".into(),
    };
    Ok(Some((
        sentence,
        TableView {
            caption: format!(
                "Wartezeit (Median) und Besuche nach Wochentag und Uhrzeit, {} bis {}",
                month_long(from),
                month_long(to)
            ),
            headers,
            rows,
            raw: t,
        },
    )))
}
