//! The languages the product speaks: German by default, English by choice.

use std::str::FromStr;

/// A user-facing language. German is the default because the users are German offices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    De,
    En,
}

impl Lang {
    /// Picks the German or the English text.
    pub fn pick<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::De => de,
            Lang::En => en,
        }
    }
}

impl FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "de" | "deutsch" | "german" => Ok(Lang::De),
            "en" | "english" | "englisch" => Ok(Lang::En),
            other => Err(format!("unknown language {other:?}: use de or en")),
        }
    }
}

/// The English text of a German interface text of the page templates (`{{ "…"|t(lang) }}`);
/// `None` when there is none, and the German text stays. A test keeps this list complete.
pub fn english(de: &str) -> Option<&'static str> {
    Some(match de {
        "Aktuelle Mitteilung" => "Current notice",
        "Anzeigen" => "Show",
        "Auswahl aufheben" => "Clear selection",
        "Auswahl eingrenzen: Zeitraum, Standort, Dienstleistung" => {
            "Narrow down: period, location, service"
        }
        "Bis" => "To",
        "Brotkrumen" => "Breadcrumb",
        "CSV (maschinenlesbar)" => "CSV (machine-readable)",
        "CSV für Excel" => "CSV for Excel (German)",
        "Daten als Tabelle" => "Data as a table",
        "Datenlizenz Deutschland – Namensnennung – Version 2.0" => {
            "Data licence Germany – attribution – version 2.0"
        }
        "Diese Grafik mit Beschreibung, Tabelle, Quelle und Lizenz in die eigene Seite einbinden: diesen Code kopieren." => {
            "To show this chart with its description, table, source and licence on your own page, copy this code."
        }
        "Einbetten" => "Embed",
        "Lizenz" => "Licence",
        "Quelle" => "Source",
        "Veröffentlichungen und Korrekturen" => "Publications and corrections",
        "Daten" => "Data",
        "Datenart" => "Kind of data",
        "Datensätze" => "Datasets",
        "Definitionen" => "Definitions",
        "Die Grafiken und Tabellen zeigen nur die gewählte Auswahl." => {
            "The charts and tables show only the selection."
        }
        "Dienstleistung" => "Service",
        "Downloads je Datenart" => "Downloads per kind of data",
        "Erklärung zur Barrierefreiheit" => "Accessibility statement",
        "Für Portale und Programme" => "For portals and programs",
        "Für jeden Monat ein Bericht mit allen Ämtern:" => {
            "For every month a report with all offices:"
        }
        "Grafik (SVG)" => "Chart (SVG)",
        "Grundlage für die Unterdrückung kleiner Fallzahlen" => {
            "Base for suppressing small numbers"
        }
        "Hauptnavigation" => "Main navigation",
        "Herunterladen" => "Download",
        "Hinweise des Amtes" => "Notes from the office",
        "Katalog nach DCAT-AP.de (für GovData)" => "Catalogue in DCAT-AP.de (for GovData)",
        "Kennzahlen der Verwaltung" => "Public service figures",
        "Kennzahlen" => "Figures",
        "Korrigierte Monate" => "Corrected months",
        "Revision" => "revision",
        "vom" => "of",
        "Grund" => "Reason",
        "Leichte Sprache" => "Plain language",
        "Lizenz Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0)." => {
            "licence: Data licence Germany – attribution – version 2.0 (dl-de/by-2-0)."
        }
        "Monatsberichte" => "Monthly reports",
        "Noch keine veröffentlichten Daten." => "No published data yet.",
        "Offene Daten" => "Open data",
        "Programmierschnittstelle" => "Programming interface",
        "So rechnen wir" => "How we calculate",
        "Standort" => "Location",
        "Von" => "From",
        "Wie arbeiten unsere Ämter?" => "How are our offices doing?",
        "Zum Inhalt springen" => "Skip to content",
        "alle Dienstleistungen" => "all services",
        "alle Standorte" => "all locations",
        "erster Monat" => "first month",
        "letzter Monat" => "last month",
        "z. B." => "e.g.",
        "zum Beispiel" => "for example",
        "Übersicht" => "Overview",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `"…"|t(lang)` in the templates has an English text.
    #[test]
    fn every_template_text_has_an_english_version() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/templates");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for part in text
                .split("\"|t(lang)")
                .collect::<Vec<_>>()
                .iter()
                .rev()
                .skip(1)
            {
                let de = &part[part.rfind('"').map_or(0, |i| i + 1)..];
                if english(de).is_none() {
                    missing.push(de.to_string());
                }
            }
        }
        assert!(missing.is_empty(), "no English for {missing:?}");
        assert_eq!(english("Übersicht"), Some("Overview"));
        assert_eq!(english("unbekannt"), None);
    }
}
