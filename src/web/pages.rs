//! The public pages for people: overview, office pages with their chart files, methodology,
//! open data, the text pages, downloads and the monthly reports, each rendered once per version.

use super::api::canonical_kind;
use super::form::form_urlencoded;
use super::router::css_version;
use super::state::{AppState, cached};
use super::{HTML, LICENCE_URI, WebError, lang_code, negotiate};
use crate::i18n::Lang;
use crate::kinds::Kind;
use crate::kpi::{self, Query};
use crate::present::{self, format, views};
use crate::store::Store;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Arc;

/// Where a page is and how to reach it in the other language.
struct PageLinks {
    lang: Lang,
    path: String,
    /// The view's query without `lang` ("from=…&location=…"), or "".
    query: String,
}

impl PageLinks {
    fn new(lang: Lang, path: impl Into<String>, query: impl Into<String>) -> Self {
        PageLinks {
            lang,
            path: path.into(),
            query: query.into(),
        }
    }

    fn cache_key(&self) -> String {
        format!("{}?{}|{}", self.path, self.query, lang_code(self.lang))
    }
}

fn render(
    state: &AppState,
    name: &str,
    links: &PageLinks,
    ctx: minijinja::Value,
) -> Result<Vec<u8>, WebError> {
    let t = state
        .templates
        .get_template(name)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    let site = minijinja::context! { site_name => state.settings.site_name.clone(), contact_email => state.settings.contact_email.clone() };
    let other = match links.lang {
        Lang::De => Lang::En,
        Lang::En => Lang::De,
    };
    let sep = if links.query.is_empty() { "" } else { "&" };
    let lang = lang_code(links.lang);
    t.render(minijinja::context! {
        site => site,
        lang => lang,
        css => css_version(),
        lq => links.lang.pick("", "?lang=en"),
        la => links.lang.pick("", "&lang=en"),
        switch_url => format!("{}?{}{sep}lang={}", links.path, links.query, lang_code(other)),
        switch_lang => lang_code(other),
        switch_label => links.lang.pick("English", "Deutsch"),
        ..ctx
    })
    .map(String::into_bytes)
    .map_err(|e| WebError::Internal(e.to_string()))
}

fn params_of(query: &Option<String>) -> HashMap<String, String> {
    form_urlencoded(query.as_deref().unwrap_or(""))
}

pub(super) async fn overview(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), "/", "");
    cached(state, links.cache_key(), &headers, HTML, move |st, store, dash| {
        let tiles = views::tiles(store, &dash.overview, st.settings.min_cell, links.lang)?;
        let title = dash
            .overview
            .title
            .as_ref()
            .map(|t| t.get(links.lang).to_string())
            .unwrap_or_else(|| links.lang.pick("Übersicht", "Overview").into());
        render(st, "overview.html", &links, minijinja::context! { tiles => minijinja::Value::from(minijinja::value::Serde(&tiles)), title => title, nav => "overview" })
    })
    .await
}

/// The office of a slug with the kinds it has published.
fn find_office(store: &Store, slug: &str) -> Result<(String, Vec<Kind>), WebError> {
    views::offices(store)?
        .into_iter()
        .find(|(o, _)| format::slug(o) == slug)
        .ok_or(WebError::NotFound)
}

/// The office of a slug and one chart of its page (by id), if it has published that chart's
/// kind.
fn find_chart(
    store: &Store,
    dash: &crate::dashboards::Dashboards,
    slug: &str,
    id: &str,
) -> Result<(String, crate::dashboards::ChartSpec), WebError> {
    let (office, kinds) = find_office(store, slug)?;
    let spec = dash
        .office_page(&office)
        .charts()
        .find(|c| c.id == id && kinds.contains(&c.kind))
        .ok_or(WebError::NotFound)?
        .clone();
    Ok((office, spec))
}

/// A view an office's filters narrow (`from`, `to`, `location`, `service`): its language,
/// the filter, and its links (the cache key names the filter in one spelling).
fn filtered_view(
    path: String,
    query: &Option<String>,
    headers: &HeaderMap,
) -> Result<(Lang, views::ViewFilter, PageLinks), WebError> {
    let params = params_of(query);
    let lang = negotiate(&params, headers);
    let filter = views::ViewFilter::from_params(&params).map_err(WebError::BadRequest)?;
    let query = filter.query(Lang::De).trim_start_matches('?').to_string();
    Ok((lang, filter, PageLinks::new(lang, path, query)))
}

pub(super) async fn office_page(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (lang, filter, links) = filtered_view(format!("/dashboards/{slug}"), &query, &headers)?;
    let fq = filter.query(lang);
    cached(state, links.cache_key(), &headers, HTML, move |st, store, dash| {
        let (office, kinds) = find_office(store, &slug)?;
        let page = dash.office_page(&office);
        let notes = present::office_notes(store, &office).map_err(|e| WebError::Internal(e.to_string()))?;
        let mut sections = Vec::new();
        for section in page.sections.iter().filter(|s| kinds.contains(&s.kind)) {
            let mut charts = Vec::new();
            for spec in &section.charts {
                charts.push(present::office_chart(store, spec, &office, &notes, &filter, st.settings.min_cell, lang)?);
            }
            sections.push(minijinja::context! {
                id => section.kind.as_str(),
                title => section.title.get(lang),
                charts => minijinja::Value::from(minijinja::value::Serde(&charts)),
            });
        }
        let shown: Vec<Kind> = page.sections.iter().map(|s| s.kind).filter(|k| kinds.contains(k)).collect();
        let options = st.filter_options(store, &office, &shown, lang)?;
        let with = |f: crate::dashboards::Filter| page.filters.contains(&f);
        let notes_view: Vec<(String, String)> = notes.iter().map(|(m, t)| (format::month_long_in(*m, lang), t.clone())).collect();
        let notices: Vec<minijinja::Value> = store
            .current_notices(Some(&office))
            .map_err(|e| WebError::Internal(e.to_string()))?
            .into_iter()
            .map(|(_, _, text, until)| minijinja::context! { text => text, until => format::until_text(&until, lang) })
            .collect();
        // Published months that were replaced: the public sees each revision and its reason.
        let mut corrections = Vec::new();
        for kind in &kinds {
            for r in store.history(*kind, Some(&office), None).map_err(|e| WebError::Internal(e.to_string()))? {
                if r.revision > 1 {
                    corrections.push(minijinja::context! {
                        month => format::month_long_in(r.month, lang),
                        kind => kind_title(*kind, lang),
                        revision => r.revision,
                        date => r.published_at.get(..10).unwrap_or("").to_string(),
                        reason => r.reason,
                    });
                }
            }
        }
        render(st, "office.html", &links, minijinja::context! {
            office => office.clone(),
            slug => slug,
            sections => sections,
            notes => notes_view,
            corrections => corrections,
            notices => notices,
            title => office,
            fq => fq,
            filtered => !filter.is_empty(),
            filter => minijinja::context! {
                from => filter.from.map(crate::timefmt::format_month),
                to => filter.to.map(crate::timefmt::format_month),
                location => filter.location.clone(),
                service => filter.service.clone(),
            },
            options => minijinja::Value::from(minijinja::value::Serde(&options)),
            show_period => with(crate::dashboards::Filter::Period) && !options.months.is_empty(),
            show_location => with(crate::dashboards::Filter::Location) && !options.locations.is_empty(),
            show_service => with(crate::dashboards::Filter::Service) && !options.services.is_empty(),
            // The snippet to copy is shown only where the embed pages may be framed.
            embed_base => (!st.settings.embed_origins.is_empty()).then(|| st.settings.base_url()),
        })
    })
    .await
}

/// One chart for another website's page (`<iframe>`): the chart, its sentence, its table,
/// the source and the licence, nothing else. Only the origins in `embed_origins` may frame
/// it (its own CSP); every other page keeps `frame-ancestors 'none'`.
pub(super) async fn embed(
    State(state): State<Arc<AppState>>,
    Path((slug, chart)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (lang, filter, links) = filtered_view(format!("/embed/{slug}/{chart}"), &query, &headers)?;
    let fq = filter.query(lang);
    let csp = super::router::embed_csp(&state.settings.embed_origins);
    let mut resp = cached(
        state,
        links.cache_key(),
        &headers,
        HTML,
        move |st, store, dash| {
            let (office, spec) = find_chart(store, dash, &slug, &chart)?;
            let notes = present::office_notes(store, &office)
                .map_err(|e| WebError::Internal(e.to_string()))?;
            let view = present::office_chart(
                store,
                &spec,
                &office,
                &notes,
                &filter,
                st.settings.min_cell,
                lang,
            )?;
            render(
                st,
                "embed.html",
                &links,
                minijinja::context! {
                    office => office,
                    chart => minijinja::Value::from(minijinja::value::Serde(&view)),
                    source_url => format!("{}/dashboards/{slug}{fq}", st.settings.base_url()),
                },
            )
        },
    )
    .await?;
    resp.headers_mut()
        .insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
    Ok(resp)
}

pub(super) async fn chart_file(
    State(state): State<Arc<AppState>>,
    Path((slug, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let params = params_of(&query);
    let lang = negotiate(&params, &headers);
    let filter = views::ViewFilter::from_params(&params).map_err(WebError::BadRequest)?;
    let (stem, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    let (id, excel) = match stem.strip_suffix("-excel") {
        Some(id) => (id.to_string(), true),
        None => (stem.to_string(), false),
    };
    let content_type = match (ext, excel) {
        ("svg", false) => "image/svg+xml",
        ("csv", _) => "text/csv; charset=utf-8",
        ("json", false) => "application/json",
        _ => return Err(WebError::NotFound),
    };
    let ext = if excel {
        "excel".to_string()
    } else {
        ext.to_string()
    };
    // Only the SVG speaks a language; the data files are the same for everyone.
    let key = format!(
        "/charts/{slug}/{file}{}{}",
        filter.query(Lang::De),
        if ext == "svg" { lang_code(lang) } else { "" }
    );
    cached(
        state,
        key,
        &headers,
        content_type,
        move |st, store, dash| {
            let (office, spec) = find_chart(store, dash, &slug, &id)?;
            let table = views::chart_table(store, &spec, &office, &filter, st.settings.min_cell)?;
            Ok(match ext.as_str() {
                "csv" => table.to_csv().into_bytes(),
                "excel" => table.to_csv_excel_de(),
                "json" => serde_json::to_vec_pretty(&table.to_json()).unwrap_or_default(),
                _ => {
                    let notes = present::office_notes(store, &office)
                        .map_err(|e| WebError::Internal(e.to_string()))?;
                    present::office_chart(
                        store,
                        &spec,
                        &office,
                        &notes,
                        &filter,
                        st.settings.min_cell,
                        lang,
                    )?
                    .svg
                    .into_bytes()
                }
            })
        },
    )
    .await
}

/// The full aggregates of a kind, per month and office: `visits.csv`, `visits-excel.csv`,
/// `visits.json`.
pub(super) async fn download(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (stem, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    let (kind, excel) = match stem.strip_suffix("-excel") {
        Some(k) => (k, true),
        None => (stem, false),
    };
    let kind = canonical_kind(kind)?;
    let (content_type, format) = match (ext, excel) {
        ("csv", true) => ("text/csv; charset=utf-8", "excel"),
        ("csv", false) => ("text/csv; charset=utf-8", "csv"),
        ("json", false) => ("application/json", "json"),
        _ => return Err(WebError::NotFound),
    };
    cached(
        state,
        format!("/downloads/{file}"),
        &headers,
        content_type,
        move |st, store, _| {
            let q = Query {
                min_cell: st.settings.min_cell,
                ..Query::new(kind, vec![kpi::Dim::Month, kpi::Dim::Office])
            };
            let table = kpi::compute(store, &q)?;
            Ok(match format {
                "excel" => table.to_csv_excel_de(),
                "csv" => table.to_csv().into_bytes(),
                _ => serde_json::to_vec_pretty(&table.to_json()).unwrap_or_default(),
            })
        },
    )
    .await
}

/// `/reports/2026-03.xlsx` (also `.pdf`, `.csv`, `.json`): the monthly report.
pub(super) async fn report(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let (month, ext) = file.rsplit_once('.').ok_or(WebError::NotFound)?;
    // Only the canonical spelling (2026-03): `2026-0003` or ` 2026-3` would be the same report
    // rendered again under another address.
    let month = crate::timefmt::parse_month_canonical(month).ok_or(WebError::NotFound)?;
    let content_type = match ext {
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => return Err(WebError::NotFound),
    };
    let ext = ext.to_string();
    cached(
        state,
        format!("/reports/{file}"),
        &headers,
        content_type,
        move |st, store, dash| {
            let cx = crate::reports::ReportContext {
                dashboards: dash,
                site_name: &st.settings.site_name,
            };
            crate::reports::render(store, month, &ext, st.settings.min_cell, &cx)
                .map_err(|e| WebError::Internal(e.to_string()))
        },
    )
    .await
}

pub(super) fn kind_title(k: Kind, lang: Lang) -> &'static str {
    match k {
        Kind::Visits => lang.pick("Besuche und Wartezeiten", "Visits and waiting times"),
        Kind::Cases => lang.pick(
            "Bearbeitungsdauer von Verfahren",
            "Processing time of cases",
        ),
        Kind::Digital => lang.pick("Online-Dienste", "Online services"),
        Kind::Services => lang.pick("Dienstleistungskatalog", "Catalogue of services"),
        Kind::Contacts => lang.pick("Service-Center", "Service centre"),
    }
}

pub(super) async fn opendata(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), "/opendata", "");
    cached(state, links.cache_key(), &headers, HTML, move |st, _, _| {
        let kinds: Vec<minijinja::Value> = Kind::ALL
            .iter()
            .map(|k| minijinja::context! { kind => k.as_str(), title => kind_title(*k, links.lang) })
            .collect();
        let title = links.lang.pick("Offene Daten", "Open data");
        render(
            st,
            "opendata.html",
            &links,
            minijinja::context! { kinds => kinds, title => title, nav => "opendata", licence => LICENCE_URI, report_month => crate::timefmt::format_month(crate::timefmt::prev_month(views::running_month())) },
        )
    })
    .await
}

pub(super) async fn methodology(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), "/methodik", "");
    cached(state, links.cache_key(), &headers, HTML, move |st, store, _| {
        let lang = links.lang;
        let kinds: Vec<minijinja::Value> = Kind::ALL
            .iter()
            .map(|k| {
                let defs: Vec<minijinja::Value> = kpi::definitions::for_kind(*k)
                    .iter()
                    .map(|d| minijinja::context! { name => d.name, label => lang.pick(d.label_de, d.label_en), definition => lang.pick(d.definition_de, d.definition_en), base => d.base })
                    .collect();
                minijinja::context! { kind => k.as_str(), title => kind_title(*k, lang), defs => defs }
            })
            .collect();
        let title = lang.pick("So rechnen wir", "How we calculate");
        // Offices whose visits come from totals reports (ZMS), and which reports.
        let mut from_totals: Vec<(String, Vec<String>)> = Vec::new();
        for (office, part) in store
            .published_parts(Kind::Visits)
            .map_err(|e| WebError::Internal(e.to_string()))?
        {
            let mut fields = part.splitn(3, ':').skip(1);
            let (report, location) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
            let text = format!("{report} ({location})");
            match from_totals.last_mut() {
                Some((o, reports)) if *o == office => reports.push(text),
                _ => from_totals.push((office, vec![text])),
            }
        }
        render(st, "methodology.html", &links, minijinja::context! { kinds => kinds, title => title, nav => "methodik", min_cell => st.settings.min_cell, from_totals => from_totals })
    })
    .await
}

/// A page whose text is all in its template.
async fn text_page(
    state: Arc<AppState>,
    query: Option<String>,
    headers: HeaderMap,
    path: &'static str,
    template: &'static str,
    title: (&'static str, &'static str),
) -> Result<Response, WebError> {
    let links = PageLinks::new(negotiate(&params_of(&query), &headers), path, "");
    cached(state, links.cache_key(), &headers, HTML, move |st, _, _| {
        let title = links.lang.pick(title.0, title.1);
        render(
            st,
            template,
            &links,
            minijinja::context! { title => title, nav => path },
        )
    })
    .await
}

pub(super) async fn accessibility(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    text_page(
        state,
        query,
        headers,
        "/barrierefreiheit",
        "accessibility.html",
        ("Erklärung zur Barrierefreiheit", "Accessibility statement"),
    )
    .await
}

pub(super) async fn easy_language(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    text_page(
        state,
        query,
        headers,
        "/leichte-sprache",
        "easy.html",
        ("Leichte Sprache", "Plain language"),
    )
    .await
}
