//! The OpenAPI document of the data API, built from the engine's own lists (kinds, their
//! groupings and filters, their KPIs), so that what it promises is what [`super::api`]
//! accepts: one path per kind, its `by` values and KPIs as enums, the month pattern the
//! server reads, every status code it answers with.

use crate::kinds::Kind;
use crate::kpi::Dim;
use crate::kpi::definitions::for_kind;
use crate::present::views::MAX_FILTER_CHARS;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// A month as the API reads it: `YYYY-MM`, years 1900 to 2200 (what
/// [`crate::timefmt::parse_month_canonical`] accepts).
pub const MONTH_PATTERN: &str = "^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$";

/// The filters of a kind besides months: `office` always, `location` and `service` where
/// the kind has them.
pub fn filters(kind: Kind) -> Vec<&'static str> {
    let mut f = vec!["office"];
    for (dim, name) in [(Dim::Location, "location"), (Dim::Service, "service")] {
        if Dim::allowed(kind).contains(&dim) {
            f.push(name);
        }
    }
    f
}

/// The document, built once.
pub fn document() -> &'static [u8] {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_vec_pretty(&build()).unwrap_or_default())
}

fn build() -> Value {
    let mut doc: Value = serde_json::from_str(include_str!("../../assets/openapi.json"))
        .expect("assets/openapi.json is valid JSON");
    let mut paths = serde_json::Map::new();
    for kind in Kind::ALL {
        paths.insert(
            format!("/api/v1/kpi/{}", kind.as_str()),
            json!({ "get": operation(kind) }),
        );
    }
    doc["paths"] = Value::Object(paths);
    doc
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// The JSON type of a grouping column's values.
fn dim_schema(d: Dim) -> Value {
    let s = match d {
        Dim::Month => json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
        Dim::Quarter => json!({"type": "string", "pattern": "^[0-9]{4}-Q[1-4]$"}),
        Dim::Year => json!({"type": "integer"}),
        Dim::Weekday => {
            json!({"type": "integer", "minimum": 1, "maximum": 7, "description": "1 = Monday"})
        }
        Dim::Hour => json!({"type": "integer", "minimum": 0, "maximum": 23}),
        Dim::Appointment => json!({"type": "boolean"}),
        _ => json!({"type": "string"}),
    };
    let mut s = s;
    s["nullable"] = json!(true);
    s
}

fn operation(kind: Kind) -> Value {
    let dims: Vec<&str> = Dim::allowed(kind).iter().map(|d| d.as_str()).collect();
    let kpis = for_kind(kind);
    let by = if crate::kpi::needs_month(kind) {
        // A stock at month end: every grouping the kind allows, always with month.
        json!({
            "name": "by", "in": "query",
            "description": "Grouping: month, with or without office (a stock at month end is counted per month only)",
            "schema": {"type": "string", "enum": ["month", "month,office", "office,month"], "default": "month,office"}
        })
    } else {
        json!({
            "name": "by", "in": "query", "style": "form", "explode": false,
            "description": "Grouping, comma-separated, each at most once",
            "schema": {
                "type": "array", "minItems": 1, "uniqueItems": true,
                "items": {"type": "string", "enum": dims},
                "default": ["month", "office"]
            }
        })
    };
    let mut params = vec![
        by,
        json!({"name": "from", "in": "query", "description": "First month, YYYY-MM",
               "schema": {"type": "string", "pattern": MONTH_PATTERN}}),
        json!({"name": "to", "in": "query", "description": "Last month, YYYY-MM",
               "schema": {"type": "string", "pattern": MONTH_PATTERN}}),
    ];
    for f in filters(kind) {
        params.push(json!({
            "name": f, "in": "query", "description": format!("Only this {f} (exact name)"),
            "schema": {"type": "string", "maxLength": MAX_FILTER_CHARS}
        }));
    }
    params.push(json!({
        "name": "compare", "in": "query",
        "description": "Add {kpi}_prev_month and {kpi}_prev_year (closed months only). Only with month in by: without it there is nothing to compare and the parameter has no effect",
        "schema": {"type": "boolean", "default": false}
    }));
    params.push(json!({
        "name": "format", "in": "query",
        "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}
    }));
    let mut properties = serde_json::Map::new();
    for d in Dim::allowed(kind) {
        properties.insert(d.as_str().into(), dim_schema(*d));
    }
    properties.insert(
        "provisional".into(),
        json!({"type": "boolean", "description": "The month is not closed yet (grouped by month)"}),
    );
    for k in kpis {
        properties.insert(
            k.name.into(),
            json!({
                "description": format!("{}: {}", k.label_en, k.definition_en),
                "nullable": true,
                "oneOf": [
                    {"type": "number"},
                    {"type": "string", "enum": ["."], "description": "suppressed: fewer rows than min_cell"}
                ]
            }),
        );
    }
    properties.insert(
        "not_available".into(),
        json!({
            "type": "object",
            "description": "For KPIs given as null because the source cannot give them: why",
            "additionalProperties": {"type": "string"}
        }),
    );
    properties.insert(
        "not_applicable".into(),
        json!({
            "type": "object",
            "description": "For KPIs given as null because they are not meaningful (the CSV's x): why",
            "additionalProperties": {"type": "string"}
        }),
    );
    json!({
        "summary": format!("KPI table of {}", kind.as_str()),
        "description": format!(
            "KPIs: {}. Groupings: {}.",
            kpis.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
            dims.join(", ")
        ),
        "parameters": params,
        "responses": {
            "200": {
                "description": "One object per group: the grouping columns, provisional (when grouped by month), the KPIs, and target and comparison columns where applicable.",
                "headers": {"ETag": {"schema": {"type": "string"}}},
                "content": {
                    "application/json": {"schema": {"type": "array", "items": {
                        "type": "object",
                        "properties": properties,
                        "additionalProperties": {
                            "nullable": true,
                            "oneOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]
                        }
                    }}},
                    "text/csv": {"schema": {"type": "string"}}
                }
            },
            "304": {"description": "Not modified: If-None-Match named the current ETag"},
            "400": problem("A parameter the API does not take, one given twice, a grouping or filter this kind does not have, a month that is not YYYY-MM, a value other than the ones listed"),
            "405": {"description": "Only GET and HEAD", "headers": {"Allow": {"schema": {"type": "string"}}}},
            "500": problem("Internal error"),
            "503": problem("Too many computations at once; retry after the seconds in Retry-After")
        }
    })
}
