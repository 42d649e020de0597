//! The data API under `/api/v1`: the KPI engine's tables as JSON or CSV, read from a strict
//! query with one canonical form (and one cache entry), errors as `application/problem+json`.

use super::WebError;
use super::form::form_pairs;
use super::state::{AppState, cached};
use crate::kinds::Kind;
use crate::kpi::{self, Query};
use crate::present::views;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// `/api/v1/kpi/{kind}?by=month,office&from=2025-01&to=2025-12&office=…`: the same table as
/// `kennzahl kpi`.
pub(super) async fn api_kpi(
    state: State<Arc<AppState>>,
    kind: Path<String>,
    query: RawQuery,
    headers: HeaderMap,
) -> Response {
    match api_kpi_answer(state, kind, query, headers).await {
        Ok(r) => r,
        Err(e) => problem(e),
    }
}

/// An error of the data API as `application/problem+json` (RFC 9457): status, a title, the
/// message in German (`detail`) and English (`detail_en`). Control characters a client sent
/// are escaped by JSON, never echoed raw.
pub fn problem(e: WebError) -> Response {
    let (status, text) = match e {
        WebError::NotFound => (
            StatusCode::NOT_FOUND,
            "Nicht gefunden / not found".to_string(),
        ),
        WebError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
        WebError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Gerade sehr viel los; bitte in ein paar Sekunden erneut versuchen / busy, please retry in a few seconds".to_string(),
        ),
        WebError::Internal(m) => {
            tracing::error!("{m}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Interner Fehler; bitte später erneut versuchen / internal error, please retry later"
                    .to_string(),
            )
        }
    };
    let (de, en) = match text.split_once(" / ") {
        Some((de, en)) => (de.to_string(), en.to_string()),
        None => (text.clone(), text),
    };
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": de,
        "detail_en": en,
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}

async fn api_kpi_answer(
    State(state): State<Arc<AppState>>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let kind = canonical_kind(&kind)?;
    let (q, csv) = api_query(kind, query.as_deref().unwrap_or(""))?;
    let key = api_key(&q, csv);
    cached(
        state,
        key,
        &headers,
        if csv {
            "text/csv; charset=utf-8"
        } else {
            "application/json"
        },
        move |st, store, _| {
            let q = Query {
                min_cell: st.settings.min_cell,
                ..q
            };
            let table = kpi::compute(store, &q)?;
            Ok(if csv {
                table.to_csv().into_bytes()
            } else {
                serde_json::to_vec(&table.to_json()).unwrap_or_default()
            })
        },
    )
    .await
}

/// A kind as it is spelled in URLs (`visits`): other spellings are not found, so that one
/// answer has one address (and one cache entry).
pub(super) fn canonical_kind(text: &str) -> Result<Kind, WebError> {
    Kind::ALL
        .into_iter()
        .find(|k| k.as_str() == text)
        .ok_or(WebError::NotFound)
}

/// The query parameters the KPI API knows for a kind (see [`super::openapi`]).
fn api_params(kind: Kind) -> Vec<&'static str> {
    let mut p = vec!["by", "from", "to"];
    p.extend(super::openapi::filters(kind));
    p.extend(["compare", "format"]);
    p
}

/// Reads the API's query strictly: unknown, repeated or malformed parameters are refused
/// with a message, so that every accepted request has exactly one canonical form.
fn api_query(kind: Kind, query: &str) -> Result<(Query, bool), WebError> {
    let mut params: HashMap<String, String> = HashMap::new();
    let known = api_params(kind);
    for (k, v) in form_pairs(query) {
        if !known.contains(&k.as_str()) {
            return Err(WebError::BadRequest(format!(
                "Unbekannter Parameter {k:?} für {kind}; erlaubt: {allowed} / unknown parameter {k:?} for {kind}; allowed: {allowed}",
                allowed = known.join(", ")
            )));
        }
        if params.insert(k.clone(), v).is_some() {
            return Err(WebError::BadRequest(format!(
                "Parameter {k:?} mehrfach angegeben / parameter {k:?} given more than once"
            )));
        }
    }
    let by = kpi::parse_dims(
        params
            .get("by")
            .map(String::as_str)
            .unwrap_or("month,office"),
    )
    .map_err(WebError::BadRequest)?;
    if kpi::needs_month(kind) && !by.contains(&kpi::Dim::Month) {
        return Err(WebError::BadRequest(
            kpi::KpiError::NeedsMonth { kind }.to_string(),
        ));
    }
    if by.is_empty() {
        return Err(WebError::BadRequest(
            "by: mindestens eine Gruppierung, z. B. by=month,office / by: at least one grouping, e.g. by=month,office".into(),
        ));
    }
    let month = |k: &str| -> Result<Option<i32>, WebError> {
        params
            .get(k)
            .map(|v| {
                crate::timefmt::parse_month_canonical(v).ok_or_else(|| {
                    WebError::BadRequest(format!(
                        "{k}={v:?}: erwartet JJJJ-MM, z. B. 2026-03 / {k}={v:?}: expected YYYY-MM, e.g. 2026-03"
                    ))
                })
            })
            .transpose()
    };
    let text = |k: &str| -> Result<Option<String>, WebError> {
        match params.get(k) {
            Some(v) if v.chars().count() > views::MAX_FILTER_CHARS => {
                Err(WebError::BadRequest(format!(
                    "{k}: höchstens {n} Zeichen / {k}: at most {n} characters",
                    n = views::MAX_FILTER_CHARS
                )))
            }
            v => Ok(v.cloned()),
        }
    };
    let mut q = Query::new(kind, by);
    q.from = month("from")?;
    q.to = month("to")?;
    q.office = text("office")?;
    q.location = text("location")?;
    q.service = text("service")?;
    q.compare = match params.get("compare").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(WebError::BadRequest(format!(
                "compare={v:?}: erwartet true oder false / compare={v:?}: expected true or false"
            )));
        }
    };
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(v) => {
            return Err(WebError::BadRequest(format!(
                "format={v:?}: erwartet json oder csv / format={v:?}: expected json or csv"
            )));
        }
    };
    Ok((q, csv))
}

/// The one key of an API answer, built from what was understood, not from how it was asked.
fn api_key(q: &Query, csv: bool) -> String {
    let by: Vec<&str> = q.by.iter().map(|d| d.as_str()).collect();
    let month = |m: Option<i32>| m.map(crate::timefmt::format_month).unwrap_or_default();
    format!(
        "/api/v1/kpi/{}?by={}&from={}&to={}&office={:?}&location={:?}&service={:?}&compare={}&csv={csv}",
        q.kind,
        by.join(","),
        month(q.from),
        month(q.to),
        q.office,
        q.location,
        q.service,
        q.compare
    )
}

pub(super) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
        .into_response()
}
