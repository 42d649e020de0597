//! Matching an export's headers to a kind's canonical columns: built-in German and English
//! aliases, mapping profiles for unknown exports, and refusal of personal data.

use super::problem::{HeaderError, UploadError};
use crate::kinds::{ColumnDef, Kind, contacts};
use crate::rows::ColumnMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A mapping profile: how one office's export names the canonical columns, and (optionally)
/// how it writes dates, empty values and codes.
///
/// ```toml
/// kind = "visits"
/// office = "Einwohnermeldeamt"   # optional: all rows belong to this office
/// date_format = "%m/%d/%Y"       # optional: dates in this format only (chrono's strftime)
/// drop = ["Name", "Telefon"]     # columns to ignore, personal data included
/// empty = ["NA", "-"]            # optional: values that mean "no value"
/// [columns]
/// arrived_at = "Zeitstempel Ziehung"
/// [values.appointment]           # optional: the export's codes → canonical values
/// true = ["T"]
/// false = ["S"]
/// ignore = ["X"]                 # rows with this value are left out (and counted)
/// ```
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office: Option<String>,
    /// How the export writes dates (chrono's strftime syntax, e.g. `%m/%d/%Y`, `%y%m%d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    #[serde(default)]
    pub drop: Vec<String>,
    /// Values that mean "no value", compared after trimming.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub empty: Vec<String>,
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Per canonical column: canonical value (or `ignore`) → the export's codes for it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// The key of `[values.COLUMN]` whose codes mark rows to leave out.
pub const IGNORE: &str = "ignore";

impl Profile {
    /// Reads a profile from TOML text, checking the canonical names against the kind and the
    /// date format.
    pub fn parse(text: &str) -> Result<Self, UploadError> {
        let p: Profile = toml::from_str(text).map_err(|e| UploadError::Profile(e.to_string()))?;
        if let Some(f) = &p.date_format {
            crate::rows::parse::DateFormat::new(f).map_err(UploadError::Profile)?;
        }
        if let Some(k) = &p.kind {
            let kind: Kind = k.parse().map_err(UploadError::Profile)?;
            for name in p.columns.keys() {
                not_a_column(kind, name)?;
            }
            p.check_values(kind)?;
        }
        Ok(p)
    }

    /// Checks `[values.COLUMN]`: a column of the kind, and each code under one value only.
    pub fn check_values(&self, kind: Kind) -> Result<(), UploadError> {
        for (column, table) in &self.values {
            not_a_column(kind, column)?;
            let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
            for (value, codes) in table {
                for code in codes {
                    if let Some(other) = seen.insert(code.trim(), value.as_str())
                        && other != value.as_str()
                    {
                        return Err(UploadError::Profile(format!(
                            "[values.{column}]: „{}“ steht unter „{other}“ und „{value}“ / \
                             \"{}\" is listed under \"{other}\" and \"{value}\"",
                            code.trim(),
                            code.trim()
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// The profile as the TOML a `--profile` file holds (how the upload form saves it).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Whether every export header the profile names is in this header row: a saved profile
    /// is only tried on the export it was made for.
    pub fn fits(&self, headers: &[String]) -> bool {
        let present: Vec<String> = headers.iter().map(|h| normalise(h)).collect();
        let mut named = self.columns.values().chain(&self.drop).peekable();
        named.peek().is_some() && named.all(|h| present.contains(&normalise(h)))
    }
}

/// Refuses a name that is not a canonical column of the kind, listing those that are.
fn not_a_column(kind: Kind, name: &str) -> Result<(), UploadError> {
    if kind.columns().iter().any(|c| c.name == name) {
        return Ok(());
    }
    let k = kind.as_str();
    let known: Vec<_> = kind.columns().iter().map(|c| c.name).collect();
    Err(UploadError::Profile(format!(
        "„{name}“ ist keine Spalte von {k} / is not a column of {k}; bekannt / known: {}",
        known.join(", ")
    )))
}

/// The canonical column a header is recognised as without a profile, to preselect in the
/// mapping form.
pub fn recognise(kind: Kind, header: &str) -> Option<&'static str> {
    canonical_for(kind.columns(), header, None).map(|c| c.name)
}

/// Lower-case, umlauts spelt out, only letters and digits: `Wartezeit (Min.)` → `wartezeitmin`.
pub fn normalise(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    normalised_pieces(header, |piece| {
        out.push_str(piece);
        true
    });
    out
}

/// Whether `header` normalises to `n`, without building its normalised text: a header row
/// is compared with every alias of every column of every kind, and nearly all differ in
/// their first letters.
fn normalises_to(header: &str, n: &str) -> bool {
    let mut rest = n;
    normalised_pieces(header, |piece| match rest.strip_prefix(piece) {
        Some(r) => {
            rest = r;
            true
        }
        None => false,
    }) && rest.is_empty()
}

/// Hands each piece of `header`'s normalised text to `take`, in order, until it says stop;
/// whether it never did.
fn normalised_pieces(header: &str, mut take: impl FnMut(&str) -> bool) -> bool {
    let mut buf = [0u8; 4];
    for c in header.trim().chars().flat_map(char::to_lowercase) {
        let piece = match c {
            'ä' => "ae",
            'ö' => "oe",
            'ü' => "ue",
            'ß' => "ss",
            c if c.is_alphanumeric() => c.encode_utf8(&mut buf),
            _ => continue,
        };
        if !take(piece) {
            return false;
        }
    }
    true
}

/// Headers that name personal data. Exact names, or prefixes for the compound words.
const PERSONAL_EXACT: &[&str] = &[
    "name",
    "kunde",
    "kundin",
    "strasse",
    "adresse",
    "anschrift",
    "plz",
    "wohnort",
    "iban",
    "mail",
];
const PERSONAL_PREFIX: &[&str] = &[
    "vorname",
    "nachname",
    "familienname",
    "kundenname",
    "geburt",
    "email",
    "telefon",
    "tel",
    "handy",
    "mobil",
    "sachbearbeit",
    "mitarbeit",
    "bearbeiter",
    "kundennummer",
    "ausweis",
    "steuerid",
    "firstname",
    "lastname",
    "surname",
    "phone",
    "birth",
    "clerk",
    "agent",
    "employee",
    "fullname",
];

/// Whether a header names personal data that must not be stored.
pub fn is_personal(header: &str) -> bool {
    let n = normalise(header);
    PERSONAL_EXACT.contains(&n.as_str())
        || PERSONAL_PREFIX
            .iter()
            .any(|p| n.starts_with(p) && !n.starts_with("telefonie"))
}

fn canonical_for<'k>(
    columns: &'k [ColumnDef],
    header: &str,
    profile: Option<&Profile>,
) -> Option<&'k ColumnDef> {
    let n = normalise(header);
    if n.is_empty() {
        return None;
    }
    if let Some(p) = profile
        && let Some((name, _)) = p.columns.iter().find(|(_, h)| normalises_to(h, &n))
    {
        return columns.iter().find(|c| c.name == name);
    }
    columns
        .iter()
        .find(|c| normalises_to(c.name, &n) || c.aliases.iter().any(|a| normalises_to(a, &n)))
}

/// How many header cells a kind recognises: used to find the header row and the kind.
pub fn score(kind: Kind, headers: &[String], profile: Option<&Profile>) -> usize {
    headers
        .iter()
        .filter(|h| canonical_for(kind.columns(), h, profile).is_some())
        .count()
}

/// Maps a header row, refusing personal data, duplicates and missing required columns.
pub fn map_headers(
    kind: Kind,
    headers: &[String],
    header_line: usize,
    profile: Option<&Profile>,
    office_given: bool,
) -> Result<ColumnMap, HeaderError> {
    let dropped =
        |h: &str| profile.is_some_and(|p| p.drop.iter().any(|d| normalises_to(d, &normalise(h))));
    let mut index: Vec<(&'static str, usize)> = Vec::new();
    let mut ignored = Vec::new();
    let mut personal = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if dropped(h) {
            ignored.push(h.clone());
            continue;
        }
        match canonical_for(kind.columns(), h, profile) {
            Some(c) => {
                if let Some((_, j)) = index.iter().find(|(n, _)| *n == c.name) {
                    return Err(HeaderError::DuplicateColumn {
                        canonical: c.name,
                        headers: vec![headers[*j].clone(), h.clone()],
                    });
                }
                index.push((c.name, i));
            }
            None if is_personal(h) => personal.push(h.clone()),
            None if h.trim().is_empty() => {}
            None => ignored.push(h.clone()),
        }
    }
    let has = |n: &str| index.iter().any(|(c, _)| *c == n);
    let mut missing = kind.missing_columns(&has, office_given);
    if kind == Kind::Contacts {
        // Totals per day or month, or one row per call: never both in one file.
        let named = |names: &[&str]| -> Vec<String> {
            index
                .iter()
                .filter(|(c, _)| names.contains(c))
                .map(|(_, i)| headers[*i].clone())
                .collect()
        };
        let totals = named(contacts::TOTALS_ONLY);
        let per_call = named(contacts::PER_CALL_ONLY);
        if !totals.is_empty() && !per_call.is_empty() {
            return Err(HeaderError::MixedLayout { totals, per_call });
        }
        // A call needs its day; a month alone does not say which.
        if contacts::is_per_call(&has) && !has("date") && !missing.contains(&"date") {
            missing.push("date");
        }
    }
    if !missing.is_empty() {
        return Err(HeaderError::Unknown {
            kind: kind.as_str(),
            found: headers
                .iter()
                .filter(|h| !h.trim().is_empty())
                .cloned()
                .collect(),
            missing,
            profile_hint: profile_hint(kind, headers, &index),
        });
    }
    if !personal.is_empty() {
        return Err(HeaderError::PersonalData {
            columns: personal,
            line: header_line,
        });
    }
    Ok(ColumnMap::new(headers.to_vec(), index, ignored))
}

/// A profile to start from: what was recognised filled in, the rest to be chosen from the
/// headers listed in the comment.
pub fn profile_hint(kind: Kind, headers: &[String], index: &[(&'static str, usize)]) -> String {
    let mut s = format!("kind = \"{}\"\n", kind.as_str());
    let personal: Vec<_> = headers
        .iter()
        .filter(|h| is_personal(h))
        .map(|h| format!("\"{h}\""))
        .collect();
    s.push_str(&format!("drop = [{}]\n", personal.join(", ")));
    s.push_str(&format!(
        "# Spalten der Datei / columns of the file: {}\n[columns]\n",
        headers
            .iter()
            .filter(|h| !h.trim().is_empty())
            .map(|h| format!("\"{h}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for c in kind.columns() {
        match index.iter().find(|(n, _)| *n == c.name) {
            Some((_, i)) => s.push_str(&format!("{} = \"{}\"\n", c.name, headers[*i])),
            None => s.push_str(&format!("# {} = \"…\"   {}\n", c.name, c.help)),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_and_personal_data() {
        assert_eq!(normalise(" Wartezeit (Min.) "), "wartezeitmin");
        assert_eq!(normalise("Straßenverkehrsamt"), "strassenverkehrsamt");
        assert!(is_personal("Vorname"));
        assert!(is_personal("E-Mail"));
        assert!(is_personal("Sachbearbeiter/in"));
        assert!(is_personal("Geburtsdatum"));
        assert!(!is_personal("Dienstleistung"));
        assert!(!is_personal("Standort"));
    }

    proptest::proptest! {
        /// Comparing without building the text is comparing the normalised texts: for
        /// headers of letters that lower-case into several (`İ`), umlauts, punctuation and
        /// spaces, and for one header a prefix of the other's normalised text.
        #[test]
        fn normalises_to_is_comparing_normalised_texts(
            a in "[ A-Za-zÄÖÜäöüßİé0-9().,/_-]{0,12}",
            b in "[ A-Za-zÄÖÜäöüßİé0-9().,/_-]{0,12}",
        ) {
            let n = normalise(&b);
            proptest::prop_assert_eq!(normalises_to(&a, &n), normalise(&a) == n);
            let prefix: String = normalise(&a).chars().take(3).collect();
            proptest::prop_assert_eq!(normalises_to(&a, &prefix), normalise(&a) == prefix);
        }
    }
}
