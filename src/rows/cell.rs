//! One cell as read from an export: text from a CSV, or a typed value from an XLSX sheet.

/// A cell before it is parsed into a column's type. XLSX cells keep their type so that an
/// Excel date (a serial number) is not mistaken for a count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
    /// An Excel date/time serial number (days since 1899-12-30, fraction = time of day).
    DateTime(f64),
    Bool(bool),
}

impl<'a> Cell<'a> {
    /// Whether the cell holds nothing (or only spaces).
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => super::parse::trim(s).is_empty(),
            _ => false,
        }
    }

    /// The cell as the user sees it, for error messages.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => {
                let s = s.trim();
                if s.chars().count() > 60 {
                    let cut: String = s.chars().take(57).collect();
                    format!("{cut}…")
                } else {
                    s.to_string()
                }
            }
            Cell::Number(n) | Cell::DateTime(n) => format!("{n}"),
            Cell::Bool(b) => b.to_string(),
        }
    }

    /// The trimmed text of a text cell.
    pub fn text(&self) -> Option<&'a str> {
        match self {
            Cell::Text(s) => {
                let t = super::parse::trim(s);
                (!t.is_empty()).then_some(t)
            }
            _ => None,
        }
    }
}
