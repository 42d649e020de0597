//! Settings for `kennzahl serve`: a TOML file, overridden by environment variables
//! (`KENNZAHL_LISTEN`, `KENNZAHL_SITE_NAME`, `KENNZAHL_CONTACT_EMAIL`, `KENNZAHL_DASHBOARDS`, …), overridden by flags.

use serde::Deserialize;
use std::path::Path;

/// What an operator can set.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: String,
    /// The administration's name, shown in the header ("Stadt Musterstadt").
    pub site_name: String,
    /// Feedback contact of the accessibility statement (BITV 2.0 requires one).
    pub contact_email: String,
    /// Cells from fewer rows are published as ".".
    pub min_cell: u32,
    /// Folder of the dashboard files (`*.toml`), re-read when they change; without one the
    /// files built into the binary are used.
    pub dashboards: Option<std::path::PathBuf>,
    /// Largest upload staff may send, in bytes.
    pub max_upload_bytes: u64,
    /// Whether a publisher may approve their own upload (small towns with one person).
    pub allow_self_approval: bool,
    /// Mark session cookies `Secure` even when no proxy says the request came over HTTPS.
    pub secure_cookies: bool,
    /// The address the public reaches the site at (`https://kennzahlen.example.de`): every
    /// absolute link (open-data catalogue) is built on it, never on a request's Host header.
    pub public_url: Option<String>,
    /// The administration's name in GovData's contributors list (`openNRW` for a town in North
    /// Rhine-Westphalia; see http://dcat-ap.de/def/contributors/): GovData takes datasets
    /// only with one.
    pub govdata_contributor: Option<String>,
    /// The official municipality key (Amtlicher Gemeindeschlüssel, 8 digits, `05124000`): the
    /// datasets' spatial coverage for GovData.
    pub municipality_key: Option<String>,
    /// A point in the municipality as WKT, `POINT(7.18 51.26)` (longitude latitude): GovData
    /// asks for a geometry with the spatial coverage.
    pub municipality_centroid: Option<String>,
    /// Origins whose pages may frame the `/embed/…` charts (`https://www.example.de`): they
    /// become the embed pages' CSP `frame-ancestors`; every other page stays unframeable.
    pub embed_origins: Vec<String>,
    /// Reverse proxies (addresses or CIDR ranges like `10.0.0.0/8`) whose `X-Forwarded-For`
    /// names the client; from anyone else the header is ignored.
    pub trusted_proxies: Vec<String>,
    /// Bytes of rendered pages, charts and downloads kept in memory (least recently used go).
    pub cache_max_bytes: u64,
    /// Computations (cache misses) running at once; 0 means one per core.
    pub max_computations: usize,
    /// Open connections at once; further clients wait in the kernel's queue. Kept below the
    /// process's open-file limit at start-up.
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers; also how long a kept-alive
    /// connection waits for its next request.
    pub header_timeout_secs: u64,
    /// Seconds a request body may pause between two pieces.
    pub body_timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            site_name: "Stadt Musterstadt".into(),
            contact_email: "barrierefreiheit@musterstadt.example".into(),
            min_cell: 3,
            dashboards: None,
            max_upload_bytes: 50 << 20,
            allow_self_approval: false,
            secure_cookies: false,
            public_url: None,
            govdata_contributor: None,
            municipality_key: None,
            municipality_centroid: None,
            embed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            cache_max_bytes: 256 << 20,
            max_computations: 0,
            max_connections: 768,
            header_timeout_secs: 5,
            body_timeout_secs: 20,
        }
    }
}

impl Settings {
    /// Reads the file (if given), then applies environment variables.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut s = match file {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?
            }
            None => Settings::default(),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("KENNZAHL_LISTEN") {
            s.listen = v;
        }
        if let Some(v) = env("KENNZAHL_SITE_NAME") {
            s.site_name = v;
        }
        if let Some(v) = env("KENNZAHL_CONTACT_EMAIL") {
            s.contact_email = v;
        }
        if let Some(v) = env("KENNZAHL_DASHBOARDS") {
            s.dashboards = Some(v.into());
        }
        if let Some(v) = env("KENNZAHL_MAX_UPLOAD_BYTES") {
            s.max_upload_bytes = v
                .parse()
                .map_err(|_| format!("KENNZAHL_MAX_UPLOAD_BYTES={v:?} is not a number"))?;
        }
        if let Some(v) = env("KENNZAHL_ALLOW_SELF_APPROVAL") {
            s.allow_self_approval = matches!(v.as_str(), "1" | "true" | "yes" | "ja");
        }
        if let Some(v) = env("KENNZAHL_SECURE_COOKIES") {
            s.secure_cookies = matches!(v.as_str(), "1" | "true" | "yes" | "ja");
        }
        if let Some(v) = env("KENNZAHL_PUBLIC_URL") {
            s.public_url = Some(v);
        }
        if let Some(v) = env("KENNZAHL_GOVDATA_CONTRIBUTOR") {
            s.govdata_contributor = Some(v);
        }
        if let Some(v) = env("KENNZAHL_MUNICIPALITY_KEY") {
            s.municipality_key = Some(v);
        }
        if let Some(v) = env("KENNZAHL_MUNICIPALITY_CENTROID") {
            s.municipality_centroid = Some(v);
        }
        if let Some(v) = env("KENNZAHL_EMBED_ORIGINS") {
            s.embed_origins = v
                .split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect();
        }
        if let Some(v) = env("KENNZAHL_TRUSTED_PROXIES") {
            s.trusted_proxies = v
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
        }
        let number = |k: &str, v: &str| -> Result<u64, String> {
            v.parse().map_err(|_| format!("{k}={v:?} is not a number"))
        };
        if let Some(v) = env("KENNZAHL_CACHE_MAX_BYTES") {
            s.cache_max_bytes = number("KENNZAHL_CACHE_MAX_BYTES", &v)?;
        }
        if let Some(v) = env("KENNZAHL_MAX_COMPUTATIONS") {
            s.max_computations = number("KENNZAHL_MAX_COMPUTATIONS", &v)? as usize;
        }
        if let Some(v) = env("KENNZAHL_MAX_CONNECTIONS") {
            s.max_connections = number("KENNZAHL_MAX_CONNECTIONS", &v)? as usize;
        }
        if let Some(v) = env("KENNZAHL_HEADER_TIMEOUT_SECS") {
            s.header_timeout_secs = number("KENNZAHL_HEADER_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = env("KENNZAHL_BODY_TIMEOUT_SECS") {
            s.body_timeout_secs = number("KENNZAHL_BODY_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = env("KENNZAHL_MIN_CELL") {
            s.min_cell = v
                .parse()
                .map_err(|_| format!("KENNZAHL_MIN_CELL={v:?} is not a number"))?;
        }
        s.check()?;
        Ok(s)
    }

    /// Refuses settings the server could not keep its promises with.
    pub fn check(&self) -> Result<(), String> {
        if let Some(url) = &self.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(format!(
                "public_url = {url:?}: erwartet https://… / expected an http(s) URL"
            ));
        }
        if let Some(c) = &self.govdata_contributor
            && (c.is_empty()
                || !c
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'))
        {
            return Err(format!(
                "govdata_contributor = {c:?}: ein Name aus http://dcat-ap.de/def/contributors/, z. B. openNRW / a name from the contributors list, e.g. openNRW"
            ));
        }
        if let Some(k) = &self.municipality_key
            && !(k.len() == 8 && k.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!(
                "municipality_key = {k:?}: der Amtliche Gemeindeschlüssel hat 8 Ziffern, z. B. 05124000 / the official municipality key has 8 digits"
            ));
        }
        if let Some(c) = &self.municipality_centroid {
            let point = c
                .strip_prefix("POINT(")
                .and_then(|r| r.strip_suffix(')'))
                .map(|r| {
                    r.split_whitespace()
                        .map(str::parse::<f64>)
                        .collect::<Vec<_>>()
                });
            if !matches!(point.as_deref(), Some([Ok(lon), Ok(lat)]) if lon.abs() <= 180.0 && lat.abs() <= 90.0)
            {
                return Err(format!(
                    "municipality_centroid = {c:?}: erwartet POINT(Länge Breite), z. B. POINT(7.18 51.26) / expected POINT(lon lat)"
                ));
            }
        }
        for o in &self.embed_origins {
            if !is_origin(o) {
                return Err(format!(
                    "embed_origins: {o:?} ist kein Ursprung wie https://www.example.de (Schema und Rechner, ohne Pfad) / is not an origin like https://www.example.de (scheme and host, no path)"
                ));
            }
        }
        for p in &self.trusted_proxies {
            if crate::net::IpRange::parse(p).is_none() {
                return Err(format!(
                    "trusted_proxies: {p:?} ist keine Adresse oder CIDR-Bereich / is not an address or CIDR range"
                ));
            }
        }
        if self.header_timeout_secs == 0 || self.body_timeout_secs == 0 {
            return Err(
                "Zeitgrenzen müssen mindestens 1 Sekunde sein / timeouts must be at least 1 second"
                    .into(),
            );
        }
        Ok(())
    }

    /// What GovData needs and is not set, by setting name (empty when the catalogue can be
    /// harvested as it is).
    pub fn missing_for_govdata(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.public_url.is_none() {
            missing.push("public_url (KENNZAHL_PUBLIC_URL)");
        }
        if self.govdata_contributor.is_none() {
            missing.push("govdata_contributor (KENNZAHL_GOVDATA_CONTRIBUTOR)");
        }
        if self.municipality_key.is_none() {
            missing.push("municipality_key (KENNZAHL_MUNICIPALITY_KEY)");
        }
        if self.municipality_key.is_some() && self.municipality_centroid.is_none() {
            missing.push("municipality_centroid (KENNZAHL_MUNICIPALITY_CENTROID)");
        }
        missing
    }

    /// The public base URL without a trailing slash (`http://localhost:8080` when unset).
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

/// Whether `o` is a web origin and nothing else (`https://host[:port]`): it is written into a
/// CSP header, so nothing that could end or extend the directive may pass.
fn is_origin(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_origins_are_origins_only() {
        for ok in [
            "https://www.wuppertal.de",
            "http://localhost:8081",
            "https://a-b.example",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "www.wuppertal.de",
            "https://www.wuppertal.de/",
            "https://www.wuppertal.de/seite",
            "https://x.de; script-src *",
            "https://x.de 'unsafe-inline'",
            "https://*.x.de",
            "https://",
            "https://x.de:",
            "https://x.de:123456",
            "javascript:alert(1)",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
