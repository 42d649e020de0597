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
        if let Some(v) = env("KENNZAHL_MIN_CELL") {
            s.min_cell = v
                .parse()
                .map_err(|_| format!("KENNZAHL_MIN_CELL={v:?} is not a number"))?;
        }
        Ok(s)
    }
}
