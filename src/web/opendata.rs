//! The open-data catalogue (DCAT-AP.de) that GovData harvests: one dataset per published data
//! kind with its downloads. With `public_url`, `govdata_contributor`, `municipality_key` and
//! `municipality_centroid` set it passes GovData's SHACL shapes (DCAT-AP.de 3.0 and 2.0 with
//! conventions) without a violation or warning (`tests/govdata.rs`).

use super::pages::kind_title;
use super::state::{AppState, cached};
use super::{LICENCE_URI, WebError};
use crate::config::Settings;
use crate::i18n::Lang;
use crate::kinds::Kind;
use crate::store::Store;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// EU file types of the distributions (GovData recommends `dct:format`).
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type";

/// `GET /opendata/catalog.jsonld`. Links are built on the configured `public_url`, never on
/// the request's Host header (which anyone can set, and which would make one cache entry per
/// host).
pub(super) async fn catalog(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    cached(
        state,
        "/opendata/catalog.jsonld".into(),
        &headers,
        "application/ld+json",
        move |st, store, _| {
            let doc = catalogue(&st.settings, store)?;
            Ok(serde_json::to_vec_pretty(&doc).unwrap_or_default())
        },
    )
    .await
}

/// The catalogue document: datasets of the kinds that have been published.
fn catalogue(settings: &Settings, store: &Store) -> Result<Value, WebError> {
    let base = settings.base_url();
    let attribution = format!("{}, Kennzahlen der Verwaltung", settings.site_name);
    let publisher = json!({"@type": "foaf:Organization", "foaf:name": settings.site_name});
    let spatial = settings.municipality_key.as_ref().map(|key| {
        let mut location = json!({
            "@id": format!("http://dcat-ap.de/def/politicalGeocoding/municipalityKey/{key}"),
            "@type": "dct:Location",
        });
        if let Some(point) = &settings.municipality_centroid {
            location["dcat:centroid"] = json!({"@value": point, "@type": "gsp:wktLiteral"});
        }
        location
    });
    let mut datasets = Vec::new();
    for k in Kind::ALL {
        // A kind never published has no data to harvest (and no issue date).
        let Some((first, last)) = store
            .publication_span(k)
            .map_err(|e| WebError::Internal(e.to_string()))?
        else {
            continue;
        };
        let id = format!("{base}/opendata#{k}");
        let dist = |file: &str, media: &str, format: &str, title: &str| {
            json!({
                "@type": "dcat:Distribution",
                "dct:title": title,
                "dcat:accessURL": {"@id": format!("{base}/downloads/{file}")},
                "dcat:downloadURL": {"@id": format!("{base}/downloads/{file}")},
                "dcat:mediaType": {"@id": format!("https://www.iana.org/assignments/media-types/{media}")},
                "dct:format": {"@id": format!("{FILE_TYPE}/{format}")},
                "dct:license": {"@id": LICENCE_URI},
                "dcatde:licenseAttributionByText": attribution,
            })
        };
        let date = |t: &str| json!({"@value": &t[..t.len().min(10)], "@type": "xsd:date"});
        let mut dataset = json!({
            "@id": id,
            "@type": "dcat:Dataset",
            "dct:identifier": id,
            "dct:title": format!("Kennzahlen {}: {}", settings.site_name, kind_title(k, Lang::De)),
            "dct:description": format!("Monatliche Kennzahlen je Amt ({}), berechnet aus den Exporten der Fachverfahren. Definitionen: {base}/methodik", kind_title(k, Lang::De)),
            "dct:publisher": publisher,
            "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": settings.site_name, "vcard:hasEmail": {"@id": format!("mailto:{}", settings.contact_email)}},
            "dcat:theme": {"@id": "http://publications.europa.eu/resource/authority/data-theme/GOVE"},
            "dct:accrualPeriodicity": {"@id": "http://publications.europa.eu/resource/authority/frequency/MONTHLY"},
            "dcat:landingPage": {"@id": format!("{base}/opendata")},
            "dct:issued": date(&first),
            "dct:modified": date(&last),
            "dcat:keyword": ["Verwaltung", "Kennzahlen", "Transparenz", k.as_str()],
            "dcat:distribution": [
                dist(&format!("{k}.csv"), "text/csv", "CSV", "CSV (maschinenlesbar, RFC 4180)"),
                dist(&format!("{k}-excel.csv"), "text/csv", "CSV", "CSV für Excel (Semikolon, Dezimalkomma)"),
                dist(&format!("{k}.json"), "application/json", "JSON", "JSON"),
            ],
        });
        // Without a contributor from GovData's list the dataset names none (`serve` says
        // at start-up that GovData needs one): a made-up one would be refused.
        if let Some(c) = &settings.govdata_contributor {
            dataset["dcatde:contributorID"] =
                json!({"@id": format!("http://dcat-ap.de/def/contributors/{c}")});
        }
        if let Some(s) = &spatial {
            dataset["dct:spatial"] = s.clone();
            dataset["dcatde:politicalGeocodingLevelURI"] =
                json!({"@id": "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"});
        }
        datasets.push(dataset);
    }
    Ok(json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "dcatde": "http://dcat-ap.de/def/dcatde/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "vcard": "http://www.w3.org/2006/vcard/ns#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "gsp": "http://www.opengis.net/ont/geosparql#"
        },
        "@id": format!("{base}/opendata/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": format!("Offene Daten: Kennzahlen {}", settings.site_name),
        "dct:description": format!("Kennzahlen der Ämter von {}: Besuche und Wartezeiten, Bearbeitungsdauer, Online-Dienste und Service-Center, monatlich aus den Exporten der Fachverfahren berechnet.", settings.site_name),
        "dct:publisher": publisher,
        "dct:license": {"@id": LICENCE_URI},
        "foaf:homepage": {"@id": format!("{base}/")},
        "dcat:dataset": datasets,
    }))
}
