//! Dashboard pages as files: `dashboards/*.toml` say which tiles, sections and charts a page
//! shows, so that an office can change its page without a new release. Every file is checked
//! when it is loaded; a mistake is reported with the file, line and column and what to do.

use crate::i18n::Lang;
use crate::kinds::Kind;
use crate::kpi::Dim;
use crate::kpi::definitions::{KpiDef, for_kind};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The files shipped with the binary: used when no dashboards folder is present.
const EMBEDDED: [(&str, &str); 3] = [
    (
        "overview.toml",
        include_str!("../../dashboards/overview.toml"),
    ),
    ("office.toml", include_str!("../../dashboards/office.toml")),
    (
        "einwohnermeldeamt.toml",
        include_str!("../../dashboards/einwohnermeldeamt.toml"),
    ),
];

/// A text in German and, where given, English (falls back to German).
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub de: String,
    pub en: Option<String>,
}

impl Text {
    /// The text in a language.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => self.en.as_deref().unwrap_or(&self.de),
            Lang::De => &self.de,
        }
    }
}

/// How a chart draws its KPIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartType {
    /// One line per KPI (or per value of `split`) over the months.
    Line,
    /// A weekday × hour grid: the first KPI as shade and number, the second as number.
    WeekdayHour,
}

/// A checked chart definition.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    pub id: String,
    pub kind: Kind,
    pub chart_type: ChartType,
    pub title: Text,
    /// KPI columns drawn as lines (or, with `split`, the one KPI split by a dimension).
    pub kpis: Vec<&'static str>,
    pub split: Option<Dim>,
    pub y_label: Text,
    /// The KPI whose target (from the catalogue) is drawn as a line.
    pub target: Option<&'static str>,
}

/// A checked section: a heading over the charts of one kind.
#[derive(Debug, Clone)]
pub struct Section {
    pub kind: Kind,
    pub title: Text,
    pub charts: Vec<ChartSpec>,
}

/// A checked overview tile definition for offices whose first kind is `kind`.
#[derive(Debug, Clone)]
pub struct TileSpec {
    pub kind: Kind,
    pub kpis: Vec<&'static str>,
    pub sparkline: &'static str,
}

/// The filters a page offers as a GET form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Period,
    Location,
    Service,
}

/// A checked page.
#[derive(Debug, Clone)]
pub struct Page {
    pub file: String,
    pub title: Option<Text>,
    pub filters: Vec<Filter>,
    pub tiles: Vec<TileSpec>,
    pub sections: Vec<Section>,
}

impl Page {
    /// All charts of the page, in order.
    pub fn charts(&self) -> impl Iterator<Item = &ChartSpec> {
        self.sections.iter().flat_map(|s| s.charts.iter())
    }
}

/// All dashboard pages.
#[derive(Debug, Clone)]
pub struct Dashboards {
    pub overview: Page,
    /// The page of offices without a file of their own.
    pub office: Page,
    /// Pages of single offices, by office name.
    pub offices: HashMap<String, Page>,
}

impl Dashboards {
    /// The page of an office.
    pub fn office_page(&self, office: &str) -> &Page {
        self.offices.get(office).unwrap_or(&self.office)
    }

    /// The files shipped with the binary.
    pub fn embedded() -> Self {
        Self::from_files(
            EMBEDDED
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
        )
        .expect("the shipped dashboards are checked by the tests")
    }

    /// Reads and checks every `*.toml` in a folder.
    pub fn load_dir(dir: &Path) -> Result<Self, DashboardErrors> {
        let mut files = Vec::new();
        for path in toml_files(dir).map_err(|e| DashboardErrors::io(dir, e))? {
            let text = std::fs::read_to_string(&path).map_err(|e| DashboardErrors::io(&path, e))?;
            files.push((path.display().to_string(), text));
        }
        Self::from_files(files)
    }

    /// Checks files given as (name, text); reports every mistake in every file.
    pub fn from_files(files: Vec<(String, String)>) -> Result<Self, DashboardErrors> {
        let mut errors = Vec::new();
        let mut overview = None;
        let mut office = None;
        let mut offices: HashMap<String, Page> = HashMap::new();
        let mut seen = (false, false);
        for (name, text) in &files {
            let at = |span: std::ops::Range<usize>, message: String| {
                let (line, column) = line_column(text, span.start);
                DashboardError {
                    file: name.clone(),
                    line,
                    column,
                    message,
                }
            };
            let raw: RawPage = match toml::from_str(text) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(at(e.span().unwrap_or(0..0), e.message().trim().to_string()));
                    continue;
                }
            };
            // A page with mistakes is still there: it is not reported as missing as well.
            match (raw.page.get_ref().as_str(), &raw.office) {
                ("overview", _) => seen.0 = true,
                (_, None) => seen.1 = true,
                _ => {}
            }
            let mut problems = Vec::new();
            let page = check_page(name, &raw, &mut problems);
            errors.extend(problems.into_iter().map(|(span, m)| at(span, m)));
            let Some(page) = page else { continue };
            match (raw.page.get_ref().as_str(), &raw.office) {
                ("overview", _) if overview.is_some() => errors.push(at(
                    raw.page.span(),
                    "a second overview page; keep one file with page = \"overview\"".into(),
                )),
                ("overview", _) => overview = Some(page),
                (_, None) if office.is_some() => errors.push(at(
                    raw.page.span(),
                    "a second default office page; give this one `office = \"Name\"`".into(),
                )),
                (_, None) => office = Some(page),
                (_, Some(o)) => {
                    if offices.contains_key(o.get_ref()) {
                        errors.push(at(
                            o.span(),
                            format!("a second page for office {:?}", o.get_ref()),
                        ));
                    }
                    offices.insert(o.get_ref().clone(), page);
                }
            }
        }
        let missing = |what: &str, errors: &mut Vec<DashboardError>| {
            errors.push(DashboardError {
                file: "dashboards".into(),
                line: 0,
                column: 0,
                message: format!("no {what} page: add a file with page = \"{what}\""),
            })
        };
        if !seen.0 {
            missing("overview", &mut errors);
        }
        if !seen.1 {
            missing("office", &mut errors);
        }
        match (overview, office) {
            (Some(overview), Some(office)) if errors.is_empty() => Ok(Dashboards {
                overview,
                office,
                offices,
            }),
            _ => Err(DashboardErrors(errors)),
        }
    }
}

/// The `*.toml` files of a folder, sorted by name.
pub fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    out.sort();
    Ok(out)
}

/// One mistake in a dashboard file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct DashboardError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every mistake found, one per line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct DashboardErrors(pub Vec<DashboardError>);

impl DashboardErrors {
    fn io(path: &Path, e: std::io::Error) -> Self {
        DashboardErrors(vec![DashboardError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        }])
    }
}

impl std::fmt::Display for DashboardErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    page: Spanned<String>,
    office: Option<Spanned<String>>,
    title: Option<String>,
    title_en: Option<String>,
    #[serde(default)]
    filters: Vec<Spanned<String>>,
    #[serde(default)]
    tiles: Vec<RawTile>,
    #[serde(default)]
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTile {
    kind: Spanned<String>,
    kpis: Vec<Spanned<String>>,
    sparkline: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    kind: Spanned<String>,
    title: String,
    title_en: Option<String>,
    #[serde(default)]
    charts: Vec<RawChart>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChart {
    id: Spanned<String>,
    #[serde(rename = "type")]
    chart_type: Option<Spanned<String>>,
    title: String,
    title_en: Option<String>,
    kpis: Spanned<Vec<Spanned<String>>>,
    split: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    #[serde(default)]
    y_label: String,
    y_label_en: Option<String>,
}

type Problems = Vec<(std::ops::Range<usize>, String)>;

fn check_kind(k: &Spanned<String>, problems: &mut Problems) -> Option<Kind> {
    match k.get_ref().parse::<Kind>() {
        Ok(Kind::Services) | Err(_) => {
            problems.push((
                k.span(),
                format!(
                    "unknown kind {:?}; use visits, cases, contacts or digital",
                    k.get_ref()
                ),
            ));
            None
        }
        Ok(kind) => Some(kind),
    }
}

fn check_kpi(kind: Kind, k: &Spanned<String>, problems: &mut Problems) -> Option<&'static str> {
    match for_kind(kind).iter().find(|d| d.name == k.get_ref()) {
        Some(d) => Some(d.name),
        None => {
            let known: Vec<&str> = for_kind(kind).iter().map(|d: &KpiDef| d.name).collect();
            problems.push((
                k.span(),
                format!(
                    "{:?} is not a KPI of {kind}; known: {}",
                    k.get_ref(),
                    known.join(", ")
                ),
            ));
            None
        }
    }
}

fn check_page(file: &str, raw: &RawPage, problems: &mut Problems) -> Option<Page> {
    let before = problems.len();
    let page_type = raw.page.get_ref().as_str();
    if page_type != "overview" && page_type != "office" {
        problems.push((
            raw.page.span(),
            format!("page = {page_type:?}: use \"overview\" or \"office\""),
        ));
    }
    if page_type == "overview" {
        if let Some(o) = &raw.office {
            problems.push((
                o.span(),
                "`office` belongs to office pages; remove it here".into(),
            ));
        }
        if !raw.sections.is_empty() {
            problems.push((
                raw.page.span(),
                "the overview shows tiles; put sections into an office page".into(),
            ));
        }
    } else if !raw.tiles.is_empty() {
        problems.push((
            raw.page.span(),
            "tiles belong to the overview page; use sections and charts here".into(),
        ));
    }
    let mut filters = Vec::new();
    for f in &raw.filters {
        match f.get_ref().as_str() {
            "period" => filters.push(Filter::Period),
            "location" => filters.push(Filter::Location),
            "service" => filters.push(Filter::Service),
            other => problems.push((
                f.span(),
                format!("unknown filter {other:?}; use period, location or service"),
            )),
        }
    }
    let mut tiles = Vec::new();
    for t in &raw.tiles {
        let Some(kind) = check_kind(&t.kind, problems) else {
            continue;
        };
        let kpis: Vec<&'static str> = t
            .kpis
            .iter()
            .filter_map(|k| check_kpi(kind, k, problems))
            .collect();
        if let Some(sparkline) = check_kpi(kind, &t.sparkline, problems) {
            tiles.push(TileSpec {
                kind,
                kpis,
                sparkline,
            });
        }
    }
    let mut ids: Vec<&str> = Vec::new();
    let mut sections = Vec::new();
    for s in &raw.sections {
        let Some(kind) = check_kind(&s.kind, problems) else {
            continue;
        };
        let mut charts = Vec::new();
        for c in &s.charts {
            let id = c.id.get_ref();
            if id.is_empty()
                || !id
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                || id.ends_with("-excel")
            {
                problems.push((
                    c.id.span(),
                    format!("chart id {id:?}: use lowercase letters, digits and '-' (it becomes a URL), not ending in -excel"),
                ));
            } else if ids.contains(&id.as_str()) {
                problems.push((
                    c.id.span(),
                    format!("chart id {id:?} is used twice on this page"),
                ));
            }
            ids.push(id);
            let chart_type = match c.chart_type.as_ref().map(|t| (t, t.get_ref().as_str())) {
                None | Some((_, "line")) => ChartType::Line,
                Some((_, "weekday_hour")) => ChartType::WeekdayHour,
                Some((t, other)) => {
                    problems.push((
                        t.span(),
                        format!("unknown chart type {other:?}; use line or weekday_hour"),
                    ));
                    ChartType::Line
                }
            };
            let kpis: Vec<&'static str> = c
                .kpis
                .get_ref()
                .iter()
                .filter_map(|k| check_kpi(kind, k, problems))
                .collect();
            if c.kpis.get_ref().is_empty() {
                problems.push((c.kpis.span(), "a chart needs at least one KPI".into()));
            }
            let split = c
                .split
                .as_ref()
                .and_then(|sp| match sp.get_ref().parse::<Dim>() {
                    Ok(d)
                        if Dim::allowed(kind).contains(&d)
                            && !matches!(d, Dim::Month | Dim::Quarter | Dim::Year) =>
                    {
                        Some(d)
                    }
                    _ => {
                        problems.push((
                            sp.span(),
                            format!(
                                "{kind} cannot be split by {:?}; possible: {}",
                                sp.get_ref(),
                                Dim::allowed(kind)
                                    .iter()
                                    .filter(|d| !matches!(d, Dim::Month | Dim::Quarter | Dim::Year))
                                    .map(|d| d.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                        None
                    }
                });
            if split.is_some() && c.kpis.get_ref().len() > 1 {
                problems.push((
                    c.kpis.span(),
                    "a split chart draws one KPI; name only one".into(),
                ));
            }
            if chart_type == ChartType::WeekdayHour {
                if kind != Kind::Visits {
                    problems.push((
                        c.id.span(),
                        "weekday_hour charts need visits (arrival times)".into(),
                    ));
                }
                if c.kpis.get_ref().len() != 2 {
                    problems.push((
                        c.kpis.span(),
                        "weekday_hour charts take two KPIs: the shaded one and a count, e.g. [\"wait_median_min\", \"visitors\"]".into(),
                    ));
                }
            }
            let target = c.target.as_ref().and_then(|t| check_kpi(kind, t, problems));
            if kpis.is_empty() {
                continue;
            }
            charts.push(ChartSpec {
                id: id.clone(),
                kind,
                chart_type,
                title: Text {
                    de: c.title.clone(),
                    en: c.title_en.clone(),
                },
                kpis,
                split,
                y_label: Text {
                    de: c.y_label.clone(),
                    en: c.y_label_en.clone(),
                },
                target,
            });
        }
        sections.push(Section {
            kind,
            title: Text {
                de: s.title.clone(),
                en: s.title_en.clone(),
            },
            charts,
        });
    }
    if problems.len() > before {
        return None;
    }
    Some(Page {
        file: file.to_string(),
        title: raw.title.clone().map(|de| Text {
            de,
            en: raw.title_en.clone(),
        }),
        filters,
        tiles,
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(files: &[(&str, &str)]) -> Result<Dashboards, DashboardErrors> {
        let mut all: Vec<(String, String)> = EMBEDDED
            .iter()
            .filter(|(n, _)| !files.iter().any(|(f, _)| f == n))
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        all.extend(files.iter().map(|(n, t)| (n.to_string(), t.to_string())));
        Dashboards::from_files(all)
    }

    #[test]
    fn the_shipped_dashboards_are_valid() {
        let d = Dashboards::embedded();
        assert_eq!(d.overview.tiles.len(), 4);
        assert!(d.office.charts().any(|c| c.id == "wartezeit"));
        assert!(
            d.office_page("Einwohnermeldeamt")
                .charts()
                .any(|c| c.split == Some(Dim::Location))
        );
        assert!(
            !d.office_page("Bauordnungsamt")
                .charts()
                .any(|c| c.id == "buergerbueros")
        );
    }

    #[test]
    fn a_mistake_names_file_line_column_and_what_is_known() {
        let text = "page = \"office\"\n\n[[sections]]\nkind = \"visits\"\ntitle = \"x\"\n\n[[sections.charts]]\nid = \"w\"\ntitle = \"W\"\nkpis = [\"wait_mean\"]\n";
        let err = check(&[("office.toml", text)]).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        let e = &err.0[0];
        assert_eq!((e.file.as_str(), e.line, e.column), ("office.toml", 10, 9));
        assert!(e.message.contains("\"wait_mean\" is not a KPI of visits"));
        assert!(e.message.contains("wait_median_min"));
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let text = "page = \"office\"\nfilters = [\"color\"]\n\n[[sections]]\nkind = \"parking\"\ntitle = \"x\"\n\n[[sections]]\nkind = \"cases\"\ntitle = \"y\"\n[[sections.charts]]\nid = \"A B\"\ntitle = \"t\"\nkpis = [\"backlog\"]\nsplit = \"hour\"\n";
        let err = check(&[("office.toml", text)]).unwrap_err();
        let lines: Vec<usize> = err.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 5, 12, 15], "{err}");
        assert!(
            err.to_string()
                .contains("office.toml:5:8: unknown kind \"parking\"")
        );
    }

    #[test]
    fn syntax_and_unknown_fields_are_located() {
        let err = check(&[("office.toml", "page = \"office\"\ncolour = 3\n")]).unwrap_err();
        assert_eq!((err.0[0].line, err.0[0].column), (2, 1), "{err}");
        assert!(err.0[0].message.contains("colour"), "{err}");
        let err = check(&[("office.toml", "page = \"office\"\ntitle = \n")]).unwrap_err();
        assert_eq!(err.0[0].line, 2, "{err}");
    }

    #[test]
    fn a_missing_page_is_named() {
        let err = Dashboards::from_files(vec![("office.toml".into(), EMBEDDED[1].1.to_string())])
            .unwrap_err();
        assert!(err.to_string().contains("no overview page"), "{err}");
    }
}
