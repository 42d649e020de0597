//! Atom feeds (RFC 4287) of what the offices publish: every publication of a month, every
//! correction with its reason, and the notices running now, so that journalists and the
//! city's own CMS can follow without polling the pages. `/feed.atom` for the whole site,
//! `/feed/{office}.atom` for one office; German, English with `?lang=en`.

use super::pages::kind_title;
use super::state::{AppState, cached};
use super::{WebError, lang_code, negotiate};
use crate::charts::xml_escape as xml;
use crate::i18n::Lang;
use crate::kinds::Kind;
use crate::present::format;
use crate::store::Store;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use std::sync::Arc;

/// Entries a feed carries at most: the newest. Readers poll; history is on the pages.
const MAX_ENTRIES: usize = 200;

const ATOM: &str = "application/atom+xml; charset=utf-8";

/// One entry, before it is written.
struct Entry {
    id: String,
    title: String,
    /// RFC 3339.
    updated: String,
    link: String,
    summary: String,
}

pub(super) async fn site(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let lang = feed_lang(&query, &headers);
    let key = format!("/feed.atom|{}", lang_code(lang));
    cached(state, key, &headers, ATOM, move |st, store, _| {
        feed(st, store, None, lang)
    })
    .await
}

pub(super) async fn office(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let slug = file
        .strip_suffix(".atom")
        .ok_or(WebError::NotFound)?
        .to_string();
    let lang = feed_lang(&query, &headers);
    let key = format!("/feed/{slug}.atom|{}", lang_code(lang));
    cached(state, key, &headers, ATOM, move |st, store, _| {
        let (office, _) = crate::present::views::offices(store)?
            .into_iter()
            .find(|(o, _)| format::slug(o) == slug)
            .ok_or(WebError::NotFound)?;
        feed(st, store, Some(&office), lang)
    })
    .await
}

/// Only `?lang=` chooses: a feed reader's Accept-Language is not the reader's wish.
fn feed_lang(query: &Option<String>, headers: &HeaderMap) -> Lang {
    let params = super::form::form_urlencoded(query.as_deref().unwrap_or(""));
    if params.contains_key("lang") {
        negotiate(&params, headers)
    } else {
        Lang::De
    }
}

fn feed(
    st: &AppState,
    store: &Store,
    office: Option<&str>,
    lang: Lang,
) -> Result<Vec<u8>, WebError> {
    let internal = |e: crate::store::StoreError| WebError::Internal(e.to_string());
    let base = st.settings.base_url();
    let lq = lang.pick("", "?lang=en");
    let mut entries = Vec::new();
    for kind in Kind::ALL {
        for r in store.history(kind, office, None).map_err(internal)? {
            let slug = format::slug(&r.office);
            let month = format::month_long_in(r.month, lang);
            let what = kind_title(kind, lang);
            let (title, summary) = if r.revision > 1 {
                (
                    format!(
                        "{} {}: {what}, {month} ({} {})",
                        lang.pick("Korrigiert", "Corrected"),
                        r.office,
                        lang.pick("Revision", "revision"),
                        r.revision
                    ),
                    format!("{}: {}", lang.pick("Grund", "Reason"), r.reason),
                )
            } else {
                (
                    format!(
                        "{} {}: {what}, {month}",
                        lang.pick("Veröffentlicht", "Published"),
                        r.office
                    ),
                    lang.pick(
                        "Die Kennzahlen des Monats sind veröffentlicht.",
                        "The month's figures are published.",
                    )
                    .to_string(),
                )
            };
            entries.push(Entry {
                id: format!(
                    "{base}/dashboards/{slug}#{}-{}-r{}",
                    kind.as_str(),
                    crate::timefmt::format_month(r.month),
                    r.revision
                ),
                title,
                updated: rfc3339(&r.published_at),
                link: format!("{base}/dashboards/{slug}{lq}"),
                summary,
            });
        }
    }
    for n in store.current_notices_dated(office).map_err(internal)? {
        let slug = format::slug(&n.office);
        entries.push(Entry {
            id: format!("{base}/dashboards/{slug}#notice-{}", n.id),
            title: format!(
                "{} {} ({})",
                lang.pick("Mitteilung", "Notice"),
                n.office,
                format::until_text(&n.until, lang)
            ),
            updated: rfc3339(&n.written),
            link: format!("{base}/dashboards/{slug}{lq}"),
            summary: n.text,
        });
    }
    entries.sort_by(|a, b| b.updated.cmp(&a.updated).then(a.id.cmp(&b.id)));
    entries.truncate(MAX_ENTRIES);
    let (path, title) = match office {
        Some(o) => (
            format!("/feed/{}.atom", format::slug(o)),
            format!("{} – {o}", st.settings.site_name),
        ),
        None => ("/feed.atom".to_string(), st.settings.site_name.clone()),
    };
    let title = format!(
        "{title}: {}",
        lang.pick(
            "Veröffentlichungen und Korrekturen",
            "Publications and corrections"
        )
    );
    let updated = entries
        .first()
        .map(|e| e.updated.clone())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into());
    let mut x = String::with_capacity(1024 + entries.len() * 512);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str(&format!(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n",
        lang_code(lang)
    ));
    x.push_str(&format!("<id>{}</id>\n", xml(&format!("{base}{path}"))));
    x.push_str(&format!("<title>{}</title>\n", xml(&title)));
    x.push_str(&format!("<updated>{updated}</updated>\n"));
    x.push_str(&format!(
        "<link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        xml(&format!("{base}{path}{lq}"))
    ));
    x.push_str(&format!(
        "<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        xml(&format!("{base}/{lq}"))
    ));
    x.push_str(&format!(
        "<author><name>{}</name></author>\n",
        xml(&st.settings.site_name)
    ));
    x.push_str(
        "<rights>Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0)</rights>\n",
    );
    for e in &entries {
        x.push_str(&format!(
            "<entry>\n<id>{}</id>\n<title>{}</title>\n<updated>{}</updated>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n<summary>{}</summary>\n</entry>\n",
            xml(&e.id),
            xml(&e.title),
            e.updated,
            xml(&e.link),
            xml(&e.summary)
        ));
    }
    x.push_str("</feed>\n");
    Ok(x.into_bytes())
}

/// A catalogue time (local, `YYYY-MM-DDTHH:MM:SS` or with a space) as RFC 3339 with the
/// offset it had here.
fn rfc3339(local: &str) -> String {
    use chrono::TimeZone;
    let text = local.replacen(' ', "T", 1);
    chrono::NaiveDateTime::parse_from_str(text.get(..19).unwrap_or(&text), "%Y-%m-%dT%H:%M:%S")
        .ok()
        .and_then(|t| chrono::Local.from_local_datetime(&t).earliest())
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped_and_clean() {
        assert_eq!(
            xml("a<b>&\"c'\u{1b}[31m\u{0}d"),
            "a&lt;b&gt;&amp;&quot;c&#39;[31md"
        );
    }

    #[test]
    fn catalogue_times_carry_an_offset() {
        let t = rfc3339("2026-03-01T09:30:00");
        assert!(t.starts_with("2026-03-01T09:30:00"), "{t}");
        assert!(t.len() == 25, "{t}");
        assert_eq!(rfc3339("nonsense"), "1970-01-01T00:00:00Z");
    }
}
