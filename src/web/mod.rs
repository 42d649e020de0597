//! The public web layer: an axum router over the KPI engine. Handlers are thin: they ask
//! [`crate::present`] for view models and render templates; pages and charts are cached by
//! data version and served with ETags. The files, by concern:
//!
//! - `state`: what every handler shares ([`AppState`]) and the response cache around `cache`
//! - `router`: the routes, templates, stylesheet, health and metrics; [`serve`] runs them
//! - `pages`: the public pages, chart files, embeddable charts, downloads and monthly reports
//! - `api`: the data API under `/api/v1`, its errors as [`problem`]s; `openapi`: its
//!   OpenAPI document, built from the engine's lists of kinds, groupings and KPIs
//! - `opendata`: the open-data catalogue; `feed`: the Atom feeds; `form`: the form decoder
//! - [`server`]: the accept loop and its limits; [`staff`]: the staff area under `/staff`
//!
//! This file holds what they all use: errors, the page language and shared constants.

mod api;
mod cache;
mod feed;
mod form;
mod openapi;
mod opendata;
mod pages;
mod router;
pub mod server;
pub mod staff;
mod state;

pub use api::problem;
pub use form::form_pairs;
pub use router::{CSP, StartError, router, serve};
pub use state::AppState;

use crate::i18n::Lang;
use crate::kpi;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

/// Errors shown to a visitor as a plain page.
#[derive(Debug)]
pub enum WebError {
    NotFound,
    BadRequest(String),
    /// Too many computations at once: the client may try again in a few seconds.
    Busy,
    Internal(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Seite nicht gefunden / page not found".to_string(),
            ),
            WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            WebError::Busy => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [
                        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                        (header::RETRY_AFTER, "5"),
                    ],
                    "Gerade sehr viel los; bitte in ein paar Sekunden erneut versuchen / busy, please retry in a few seconds",
                )
                    .into_response();
            }
            WebError::Internal(m) => {
                tracing::error!("{m}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Interner Fehler; bitte später erneut versuchen / internal error".to_string(),
                )
            }
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response()
    }
}

impl From<kpi::KpiError> for WebError {
    fn from(e: kpi::KpiError) -> Self {
        match e {
            kpi::KpiError::BadDimension { .. } | kpi::KpiError::NeedsMonth { .. } => {
                WebError::BadRequest(e.to_string())
            }
            other => WebError::Internal(other.to_string()),
        }
    }
}

/// The page language: `?lang=de|en` if given, else the browser's Accept-Language, else German.
pub fn negotiate(params: &HashMap<String, String>, headers: &HeaderMap) -> Lang {
    if let Some(l) = params.get("lang").and_then(|l| l.parse().ok()) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, Lang)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("de") => Lang::De,
            Some("en") => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map(|b| b.1).unwrap_or_default()
}

fn lang_code(lang: Lang) -> &'static str {
    lang.pick("de", "en")
}

const HTML: &str = "text/html; charset=utf-8";

/// The licence of every published figure (Datenlizenz Deutschland – Namensnennung 2.0).
pub const LICENCE_URI: &str = "http://dcat-ap.de/def/licenses/dl-by-de/2.0";
