//! View models of the public pages, built from KPI engine tables only: every number on a
//! page, in a chart, in its table and in its download comes from the same `kpi::compute`.
//! What a page shows comes from its dashboard file ([`crate::dashboards`]).

use super::format::{self, month_long_in, month_short};
use crate::charts::{Heatmap, LineChart, Series, TargetLine};
use crate::dashboards::{ChartSpec, ChartType, Page};
use crate::i18n::Lang;
use crate::kinds::Kind;
use crate::kpi::definitions::{KpiDef, Unit, for_kind};
use crate::kpi::{self, Dim, KpiError, KpiTable, Query, Value};
use crate::store::Store;
use crate::timefmt::{month_key, parse_month_arg, prev_month, today};
use serde::Serialize;

/// A chart with its data table and downloads.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub svg: String,
    /// The same chart drawn for a phone screen.
    pub svg_narrow: String,
    pub table: TableView,
    /// The KPIs shown, linked to their definitions by name.
    pub definitions: Vec<Definition>,
    /// The chart itself, to draw it elsewhere (the printed report).
    #[serde(skip)]
    pub drawing: Drawing,
}

/// A KPI of a chart: its code (the anchor on the methodology page) and its name in words.
#[derive(Debug, Clone, Serialize)]
pub struct Definition {
    pub name: &'static str,
    pub label: &'static str,
}

/// The definitions of a chart's KPIs in the page's language.
fn definitions(spec: &ChartSpec, lang: Lang) -> Vec<Definition> {
    spec.kpis
        .iter()
        .map(|name| Definition {
            name,
            label: kpi_label(def(spec.kind, name), lang),
        })
        .collect()
}

/// A chart ready to draw on any plotters backend.
#[derive(Debug, Clone)]
pub enum Drawing {
    Line(LineChart),
    Grid(Heatmap),
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
    /// (words, css class): "erreicht"/"ok", "knapp verfehlt"/"near", "verfehlt"/"miss".
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

/// What a visitor narrowed an office page to: every view has a shareable URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ViewFilter {
    pub from: Option<i32>,
    pub to: Option<i32>,
    pub location: Option<String>,
    pub service: Option<String>,
}

/// The longest office, location or service name a filter may carry (a real one is a few
/// dozen characters; a longer one is an attempt to make the server keep it).
pub const MAX_FILTER_CHARS: usize = 200;

impl ViewFilter {
    /// Reads `from`, `to`, `location`, `service` from query parameters; empty values are "all".
    pub fn from_params(params: &std::collections::HashMap<String, String>) -> Result<Self, String> {
        let text = |k: &str| {
            params
                .get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let month = |k: &str| -> Result<Option<i32>, String> {
            text(k)
                .map(|v| {
                    crate::timefmt::parse_month_canonical(&v).ok_or_else(|| {
                        format!("{k}={v:?}: erwartet JJJJ-MM, z. B. 2026-03 / expected YYYY-MM")
                    })
                })
                .transpose()
        };
        for k in ["location", "service"] {
            if text(k).is_some_and(|v| v.chars().count() > MAX_FILTER_CHARS) {
                return Err(format!(
                    "{k}: höchstens {MAX_FILTER_CHARS} Zeichen / at most {MAX_FILTER_CHARS} characters"
                ));
            }
        }
        let f = ViewFilter {
            from: month("from")?,
            to: month("to")?,
            location: text("location"),
            service: text("service"),
        };
        if let (Some(a), Some(b)) = (f.from, f.to)
            && a > b
        {
            return Err("from liegt nach to / from is after to".into());
        }
        Ok(f)
    }

    /// Whether anything is narrowed.
    pub fn is_empty(&self) -> bool {
        *self == ViewFilter::default()
    }

    /// The query string (`?from=…&lang=en`) that reproduces this view, or "".
    pub fn query(&self, lang: Lang) -> String {
        let mut parts = Vec::new();
        if let Some(m) = self.from {
            parts.push(format!("from={}", crate::timefmt::format_month(m)));
        }
        if let Some(m) = self.to {
            parts.push(format!("to={}", crate::timefmt::format_month(m)));
        }
        if let Some(l) = &self.location {
            parts.push(format!("location={}", url_encode(l)));
        }
        if let Some(sv) = &self.service {
            parts.push(format!("service={}", url_encode(sv)));
        }
        if lang == Lang::En {
            parts.push("lang=en".into());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The choices of an office page's filter form.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FilterOptions {
    /// (YYYY-MM, "März 2026").
    pub months: Vec<(String, String)>,
    pub locations: Vec<String>,
    pub services: Vec<String>,
}

/// The months, locations and services an office has published, for its filter form.
pub fn filter_options(
    store: &Store,
    office: &str,
    kinds: &[Kind],
    lang: Lang,
) -> Result<FilterOptions, KpiError> {
    let mut months: Vec<i32> = Vec::new();
    let mut locations: Vec<String> = Vec::new();
    let mut services: Vec<String> = Vec::new();
    // One question per split (month × location, month × service): each is answered from
    // partial aggregates where the kind has them, not from all of the office's rows.
    let mut questions = Vec::new();
    for &kind in kinds {
        let splits: Vec<Dim> = [Dim::Location, Dim::Service]
            .into_iter()
            .filter(|d| Dim::allowed(kind).contains(d))
            .collect();
        if splits.is_empty() {
            questions.push(Query::new(kind, vec![Dim::Month]));
        }
        for d in splits {
            questions.push(Query::new(kind, vec![Dim::Month, d]));
        }
    }
    for q in questions {
        let t = kpi::compute(
            store,
            &Query {
                office: Some(office.to_string()),
                ..q
            },
        )?;
        for r in &t.rows {
            if let Some(m) = month_of(&r[0]) {
                months.push(m);
            }
            for (name, list) in [("location", &mut locations), ("service", &mut services)] {
                if let Some(Value::Text(v)) = t.column(name).map(|i| &r[i])
                    && !list.contains(v)
                {
                    list.push(v.clone());
                }
            }
        }
    }
    months.sort_unstable();
    months.dedup();
    locations.sort();
    services.sort();
    Ok(FilterOptions {
        months: months
            .into_iter()
            .map(|m| (crate::timefmt::format_month(m), month_long_in(m, lang)))
            .collect(),
        locations,
        services,
    })
}

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

/// The period a weekday × hour chart covers: the filter's, or the last three closed months.
fn grid_period(filter: &ViewFilter) -> (i32, i32) {
    let last_closed = prev_month(running_month());
    let to = filter.to.unwrap_or(last_closed);
    let from = filter
        .from
        .unwrap_or_else(|| prev_month(prev_month(to.min(last_closed))));
    (from, to)
}

/// The KPI table behind a chart: exactly what the chart draws, for the page, CSV and JSON.
pub fn chart_table(
    store: &Store,
    spec: &ChartSpec,
    office: &str,
    filter: &ViewFilter,
    min_cell: u32,
) -> Result<KpiTable, KpiError> {
    let (by, from, to) = match spec.chart_type {
        ChartType::Line => {
            let mut by = vec![Dim::Month];
            by.extend(spec.split);
            (by, filter.from, filter.to)
        }
        ChartType::WeekdayHour => {
            let (from, to) = grid_period(filter);
            (vec![Dim::Weekday, Dim::Hour], Some(from), Some(to))
        }
    };
    let q = Query {
        office: Some(office.to_string()),
        location: filter.location.clone(),
        service: filter.service.clone(),
        from,
        to,
        min_cell,
        kpis: Some(spec.kpis.clone()),
        ..Query::new(spec.kind, by)
    };
    kpi::compute(store, &q)
}

/// The target line of a chart: the catalogue's target of the chart's `target` KPI; for the
/// median wait without one, the wait target behind `within_target_share`.
pub fn chart_target(
    store: &Store,
    spec: &ChartSpec,
    office: &str,
    lang: Lang,
) -> Result<Option<(f64, String)>, KpiError> {
    let Some(kpi_name) = spec.target else {
        return Ok(None);
    };
    let targets = store.targets(spec.kind).map_err(KpiError::from)?;
    let shown = |v: f64| format::int_in(v.round() as i64, lang);
    Ok(
        match targets
            .iter()
            .find(|t| t.office == office && t.kpi == kpi_name)
        {
            Some(t) => {
                let unit = crate::kpi::definitions::find(kpi_name).map(|(_, d)| d.unit);
                let v = if unit == Some(Unit::Share) {
                    t.value * 100.0
                } else {
                    t.value
                };
                Some((v, format!("{} {}", lang.pick("Ziel", "Target"), shown(v))))
            }
            None if kpi_name == "wait_median_min" => {
                let wait = targets
                    .iter()
                    .find(|t| t.office == office && t.kpi == kpi::visits::WAIT_TARGET_KPI)
                    .map(|t| t.value)
                    .unwrap_or(kpi::DEFAULT_WAIT_TARGET_MIN);
                Some((
                    wait,
                    match lang {
                        Lang::De => format!("Zielwartezeit {} Min.", shown(wait)),
                        Lang::En => format!("Target wait {} min", shown(wait)),
                    },
                ))
            }
            None => None,
        },
    )
}

/// What a chart needs besides its table.
pub struct ChartContext<'a> {
    pub office: &'a str,
    /// Staff notes: (month, text).
    pub notes: &'a [(i32, String)],
    /// The target line: (value, label).
    pub target: Option<(f64, String)>,
    pub filter: &'a ViewFilter,
    pub lang: Lang,
}

/// Builds a chart and its table from its KPI table.
pub fn chart_view(spec: &ChartSpec, table: KpiTable, cx: &ChartContext<'_>) -> ChartView {
    match spec.chart_type {
        ChartType::Line => line_view(spec, table, cx),
        ChartType::WeekdayHour => grid_view(spec, table, cx),
    }
}

fn kpi_label(d: &KpiDef, lang: Lang) -> &'static str {
    match lang {
        Lang::De => d.label_de,
        Lang::En => d.label_en,
    }
}

fn line_view(spec: &ChartSpec, table: KpiTable, cx: &ChartContext<'_>) -> ChartView {
    let lang = cx.lang;
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
    let unit = def(spec.kind, spec.kpis[0]).unit;
    // One line per KPI, or per value of the split; each with the table cell of every month.
    let mut lines: Vec<(String, Vec<Option<Value>>)> = Vec::new();
    match spec.split {
        Some(dim) => {
            let si = col(dim.as_str()).unwrap_or(0);
            let vi = col(spec.kpis[0]).unwrap_or(0);
            for r in &table.rows {
                let k = split_label(&r[si], lang);
                if !lines.iter().any(|(l, _)| *l == k) {
                    let cells = months
                        .iter()
                        .map(|m| {
                            table
                                .rows
                                .iter()
                                .find(|r| {
                                    month_of(&r[month_i]) == Some(*m)
                                        && split_label(&r[si], lang) == k
                                })
                                .map(|r| r[vi].clone())
                        })
                        .collect();
                    lines.push((k, cells));
                }
            }
        }
        None => {
            for name in &spec.kpis {
                let vi = col(name).unwrap_or(0);
                let cells = months
                    .iter()
                    .map(|m| {
                        table
                            .rows
                            .iter()
                            .find(|r| month_of(&r[month_i]) == Some(*m))
                            .map(|r| r[vi].clone())
                    })
                    .collect();
                lines.push((kpi_label(def(spec.kind, name), lang).to_string(), cells));
            }
        }
    }
    let series: Vec<Series> = lines
        .iter()
        .map(|(label, cells)| Series {
            label: label.clone(),
            points: months
                .iter()
                .zip(cells)
                .map(|(m, v)| {
                    (
                        month_short(*m),
                        v.as_ref().and_then(Value::as_f64).map(|v| scale(v, unit)),
                    )
                })
                .collect(),
        })
        .collect();
    let title = spec.title.get(lang).to_string();
    let description = describe(
        spec,
        &series,
        &months,
        running,
        cx.target.as_ref().map(|t| t.0),
        lang,
    );
    let chart = LineChart {
        id: format!("chart-{}", spec.id),
        title: format!("{title}: {}", cx.office),
        description: description.clone(),
        y_label: spec.y_label.get(lang).to_string(),
        series,
        target: cx
            .target
            .clone()
            .map(|(value, label)| TargetLine { label, value }),
        notes: cx
            .notes
            .iter()
            .filter(|(m, _)| months.contains(m))
            .map(|(m, _)| month_short(*m))
            .collect(),
        note_label: lang.pick("Hinweis", "Note").into(),
    };
    // The table shows what the chart shows: one row per month, one column per line.
    let mut headers = vec![lang.pick("Monat", "Month").to_string()];
    headers.extend(lines.iter().map(|(l, _)| l.clone()));
    headers.push(lang.pick("Hinweis", "Note").into());
    let rows = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut row = vec![if *m >= running {
                format!(
                    "{} ({})",
                    month_long_in(*m, lang),
                    lang.pick("vorläufig", "provisional")
                )
            } else {
                month_long_in(*m, lang)
            }];
            for (_, cells) in &lines {
                row.push(
                    cells[i]
                        .as_ref()
                        .map(|v| format::value_in(v, unit, lang))
                        .unwrap_or_else(|| "–".into()),
                );
            }
            row.push(
                cx.notes
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
        id: spec.id.clone(),
        title: title.clone(),
        description,
        svg: chart.to_svg(),
        svg_narrow: chart.to_svg_narrow(),
        table: TableView {
            caption: format!("{}: {title}", lang.pick("Daten zu", "Data for")),
            headers,
            rows,
            raw: table,
        },
        definitions: definitions(spec, lang),
        drawing: Drawing::Line(chart),
    }
}

fn split_label(v: &Value, lang: Lang) -> String {
    match v {
        Value::Bool(true) => lang.pick("mit Termin", "with appointment").into(),
        Value::Bool(false) => lang.pick("ohne Termin", "without appointment").into(),
        Value::Text(s) => s.clone(),
        Value::Null => lang.pick("ohne Angabe", "not stated").into(),
        other => format::value_in(other, Unit::Count, lang),
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
    lang: Lang,
) -> String {
    let title = spec.title.get(lang);
    let closed: Vec<usize> = months
        .iter()
        .enumerate()
        .filter(|(_, m)| **m < running)
        .map(|(i, _)| i)
        .collect();
    let Some(&last) = closed.last() else {
        return format!(
            "{title}: {}",
            lang.pick(
                "noch keine abgeschlossenen Monate.",
                "no closed months yet."
            )
        );
    };
    let Some(first) = series.first() else {
        return title.to_string();
    };
    let d = def(spec.kind, spec.kpis[0]);
    let word = |v: f64| match (d.unit, lang) {
        (Unit::Share, _) => format!("{}{}", v.round(), lang.pick(" %", "%")),
        (Unit::Minutes, Lang::De) => format!("{} Minuten", v.round()),
        (Unit::Minutes, Lang::En) => format!("{} minutes", v.round()),
        (Unit::Days, Lang::De) => format!("{} Tagen", v.round()),
        (Unit::Days, Lang::En) => format!("{} days", v.round()),
        (Unit::Count, _) => format::int_in(v.round() as i64, lang),
    };
    let month = month_long_in(months[last], lang);
    let Some(now) = first.points[last].1 else {
        return match lang {
            Lang::De => format!(
                "{}: für {month} wegen zu weniger Fälle nicht ausgewiesen.",
                first.label
            ),
            Lang::En => format!(
                "{}: not shown for {month} because there were too few cases.",
                first.label
            ),
        };
    };
    let what = match spec.split {
        Some(_) => format!("{} {}", kpi_label(d, lang), first.label),
        None => first.label.clone(),
    };
    let mut s = match lang {
        Lang::De => format!("{what}: im {month} {}", word(now)),
        Lang::En => format!("{what}: {} in {month}", word(now)),
    };
    if let Some(prev) = closed
        .len()
        .checked_sub(2)
        .map(|i| closed[i])
        .and_then(|i| first.points[i].1)
    {
        // Compared as displayed, so that 93 % is never "up from 93 %".
        let verb = if word(now) == word(prev) {
            lang.pick("gleich wie im Vormonat:", "same as the month before:")
        } else if now < prev {
            lang.pick("gesunken von", "down from")
        } else {
            lang.pick("gestiegen von", "up from")
        };
        s.push_str(&format!(" ({verb} {})", word(prev)));
    }
    if let Some(t) = target {
        s.push_str(&format!("; {}: {}", lang.pick("Ziel", "target"), word(t)));
    }
    s.push('.');
    s
}

const DAYS_DE: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];
const DAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn day_name(d: i64, lang: Lang) -> &'static str {
    let i = (d.clamp(1, 7) - 1) as usize;
    match lang {
        Lang::De => DAYS_DE[i],
        Lang::En => DAYS_EN[i],
    }
}

/// "Wann ist wenig los?": the first KPI (median wait) and the second (visitors) by weekday
/// and hour, the quietest hour said in words.
fn grid_view(spec: &ChartSpec, table: KpiTable, cx: &ChartContext<'_>) -> ChartView {
    let lang = cx.lang;
    let (from, to) = grid_period(cx.filter);
    let title = spec.title.get(lang).to_string();
    let mut shade = def(spec.kind, spec.kpis[0]);
    // Offices that upload hourly means (ZMS) have no median: shade by the mean instead.
    let unavailable = table.column(shade.name).is_some_and(|i| {
        table
            .rows
            .iter()
            .any(|r| matches!(r[i], Value::NotAvailable(_)))
    });
    if unavailable && table.column("wait_mean_min").is_some() {
        shade = def(spec.kind, "wait_mean_min");
    }
    let count = def(spec.kind, spec.kpis.get(1).copied().unwrap_or(spec.kpis[0]));
    let (wi, hi) = (
        table.column("weekday").unwrap_or(0),
        table.column("hour").unwrap_or(0),
    );
    let (si, ci) = (
        table.column(shade.name).unwrap_or(0),
        table.column(count.name).unwrap_or(0),
    );
    let int = |v: &Value| match v {
        Value::Int(i) => Some(*i),
        _ => None,
    };
    let mut days: Vec<i64> = table.rows.iter().filter_map(|r| int(&r[wi])).collect();
    days.sort_unstable();
    days.dedup();
    let mut hours: Vec<i64> = table.rows.iter().filter_map(|r| int(&r[hi])).collect();
    hours.sort_unstable();
    hours.dedup();
    let cell = |d: i64, h: i64| {
        table
            .rows
            .iter()
            .find(|r| int(&r[wi]) == Some(d) && int(&r[hi]) == Some(h))
    };
    let hour_label = |h: i64| match lang {
        Lang::De => format!("{h}–{} Uhr", h + 1),
        Lang::En => format!("{h}:00–{}:00", h + 1),
    };
    let unit_short = format::unit_word(shade.unit, lang);
    // A suppressed cell is a bare "." (no unit after it).
    let shaded = |v: &Value| match v {
        Value::Int(_) | Value::Float(_) => {
            format!("{}{unit_short}", format::value_in(v, shade.unit, lang))
        }
        _ => format::value_in(v, shade.unit, lang),
    };
    let count_word = kpi_label(count, lang);
    let mut headers = vec![lang.pick("Uhrzeit", "Time").to_string()];
    headers.extend(days.iter().map(|d| day_name(*d, lang).to_string()));
    let rows: Vec<Vec<String>> = hours
        .iter()
        .map(|h| {
            let mut row = vec![hour_label(*h)];
            for d in &days {
                row.push(match cell(*d, *h) {
                    Some(r) => format!(
                        "{} · {} {count_word}",
                        shaded(&r[si]),
                        format::value_in(&r[ci], count.unit, lang)
                    ),
                    None => "–".into(),
                });
            }
            row
        })
        .collect();
    let quiet = table
        .rows
        .iter()
        .filter(|r| r[si].as_f64().is_some() && r[ci].as_f64().is_some_and(|v| v > 0.0))
        .min_by(|a, b| {
            let key = |r: &Vec<Value>| (r[si].as_f64(), r[ci].as_f64());
            key(a)
                .partial_cmp(&key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    let (from_l, to_l) = (month_long_in(from, lang), month_long_in(to, lang));
    let description = match (quiet, lang) {
        (Some(r), Lang::De) => format!(
            "Am kürzesten war die Wartezeit von {from_l} bis {to_l} am {} zwischen {} und {} Uhr: im Median {} Minuten.",
            day_name(int(&r[wi]).unwrap_or(1), lang),
            int(&r[hi]).unwrap_or(0),
            int(&r[hi]).unwrap_or(0) + 1,
            format::value_in(&r[si], shade.unit, lang)
        ),
        (Some(r), Lang::En) => format!(
            "From {from_l} to {to_l} the wait was shortest on {} between {}:00 and {}:00: a median of {} minutes.",
            day_name(int(&r[wi]).unwrap_or(1), lang),
            int(&r[hi]).unwrap_or(0),
            int(&r[hi]).unwrap_or(0) + 1,
            format::value_in(&r[si], shade.unit, lang)
        ),
        (None, _) => lang
            .pick(
                "Für diesen Zeitraum liegen zu wenige Besuche vor.",
                "There are too few visits in this period.",
            )
            .to_string(),
    };
    let heatmap = Heatmap {
        id: format!("chart-{}", spec.id),
        title: format!("{title}: {}", cx.office),
        description: description.clone(),
        columns: days
            .iter()
            .map(|d| day_name(*d, lang)[..2].to_string())
            .collect(),
        rows: hours.iter().map(|h| hour_label(*h)).collect(),
        cells: hours
            .iter()
            .map(|h| {
                days.iter()
                    .map(|d| {
                        cell(*d, *h).map(|r| {
                            (
                                r[si].as_f64(),
                                shaded(&r[si]),
                                format!(
                                    "{} {count_word}",
                                    format::value_in(&r[ci], count.unit, lang)
                                ),
                            )
                        })
                    })
                    .collect()
            })
            .collect(),
        legend: match lang {
            Lang::De => format!(
                "{}: je dunkler, desto länger. Zeitraum {from_l} bis {to_l}.",
                kpi_label(shade, lang)
            ),
            Lang::En => format!(
                "{}: the darker, the longer. Period {from_l} to {to_l}.",
                kpi_label(shade, lang)
            ),
        },
    };
    ChartView {
        id: spec.id.clone(),
        title: title.clone(),
        description,
        svg: heatmap.to_svg(),
        svg_narrow: heatmap.to_svg_narrow(),
        table: TableView {
            caption: match lang {
                Lang::De => format!(
                    "{} und {} nach Wochentag und Uhrzeit, {from_l} bis {to_l}",
                    kpi_label(shade, lang),
                    kpi_label(count, lang)
                ),
                Lang::En => format!(
                    "{} and {} by weekday and hour, {from_l} to {to_l}",
                    kpi_label(shade, lang),
                    kpi_label(count, lang)
                ),
            },
            headers,
            rows,
            raw: table,
        },
        definitions: definitions(spec, lang),
        drawing: Drawing::Grid(heatmap),
    }
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
        for (o, _) in store.published_offices(kind, i32::MAX)? {
            match out.iter_mut().find(|(n, _)| *n == o) {
                Some((_, kinds)) => kinds.push(kind),
                None => out.push((o, vec![kind])),
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The overview tiles: per office its newest closed month's key figures, as the overview's
/// dashboard file says.
pub fn tiles(store: &Store, page: &Page, min_cell: u32, lang: Lang) -> Result<Vec<Tile>, KpiError> {
    let running = running_month();
    let mut tiles = Vec::new();
    for (office, kinds) in offices(store)? {
        let Some(spec) = kinds
            .iter()
            .find_map(|k| page.tiles.iter().find(|t| t.kind == *k))
        else {
            continue;
        };
        let kind = spec.kind;
        // The newest closed month with data, the year before it and the months they are
        // compared with: not all the office's history.
        let newest = store
            .published_offices(kind, running)?
            .into_iter()
            .find(|(o, _)| *o == office)
            .and_then(|(_, m)| m);
        let q = Query {
            office: Some(office.clone()),
            compare: true,
            // The sparkline shows the last 13 closed months.
            from: newest.map(|m| (0..12).fold(m, |m, _| crate::timefmt::prev_month(m))),
            to: newest,
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
        let cell = |name: &str| {
            t.column(name)
                .map(|i| last[i].clone())
                .unwrap_or(Value::Null)
        };
        let figures = spec
            .kpis
            .iter()
            .map(|name| {
                let d = def(kind, name);
                let v = cell(name);
                let shown = |v: &Value| format::with_unit(v, d.unit, lang);
                let mut change = Vec::new();
                for (suffix, de, en) in [
                    ("prev_month", "Vormonat", "previous month"),
                    ("prev_year", "Vorjahresmonat", "same month last year"),
                ] {
                    let before = cell(&format!("{name}_{suffix}"));
                    if before.as_f64().is_some() {
                        change.push(format!("{}: {}", lang.pick(de, en), shown(&before)));
                    }
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
                    .map(|s| status_words(s, lang));
                Figure {
                    kpi: d.name,
                    label: kpi_label(d, lang),
                    value: shown(&v),
                    change: change.join(" · "),
                    status,
                }
            })
            .collect();
        let si = t.column(spec.sparkline).unwrap_or(0);
        let values: Vec<Option<f64>> = closed
            .iter()
            .rev()
            .take(13)
            .rev()
            .map(|r| r[si].as_f64())
            .collect();
        let spark_label = match lang {
            Lang::De => format!(
                "Verlauf {} der letzten {} Monate",
                def(kind, spec.sparkline).label_de,
                values.len()
            ),
            Lang::En => format!(
                "{} over the last {} months",
                def(kind, spec.sparkline).label_en,
                values.len()
            ),
        };
        tiles.push(Tile {
            slug: format::slug(&office),
            sparkline: sparkline(&values, &spark_label),
            office,
            month: month_long_in(month, lang),
            figures,
        });
    }
    Ok(tiles)
}

/// A target status ("erreicht", …) in words of the language, with its CSS class.
pub fn status_words(status: &str, lang: Lang) -> (&'static str, &'static str) {
    match status {
        "erreicht" => (lang.pick("Ziel erreicht", "target met"), "ok"),
        "knapp verfehlt" => (
            lang.pick("Ziel knapp verfehlt", "target narrowly missed"),
            "near",
        ),
        _ => (lang.pick("Ziel verfehlt", "target missed"), "miss"),
    }
}
