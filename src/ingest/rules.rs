//! What a mapping profile says about values, prepared once for one file: the date format,
//! values that mean "no value" (`empty`), and the export's codes for canonical values
//! (`[values.COLUMN]`), with `ignore` for rows to leave out and count.
//!
//! A profile without these keys gives rules that do nothing, and rows are read as they are:
//! the large visits files keep their fast path.

use super::map::{IGNORE, Profile};
use super::problem::UploadError;
use crate::kinds::Kind;
use crate::rows::ColumnMap;
use crate::rows::cell::Cell;
use crate::rows::parse::DateFormat;
use polars::prelude::PlHashMap;
use std::borrow::Cow;

/// What becomes of a code.
#[derive(Debug)]
enum Code {
    /// The canonical value it stands for.
    Value(String),
    /// The row is left out: the index of the (column, code) in [`Rules::ignores`].
    Ignore(usize),
}

/// The codes of one file column.
#[derive(Debug)]
struct Codes {
    col: usize,
    codes: PlHashMap<String, Code>,
}

/// A profile's value rules for one file.
#[derive(Debug, Default)]
pub struct Rules {
    /// The format dates and datetimes are written in, if the profile gives one.
    pub dates: Option<DateFormat>,
    /// Values that mean "no value", trimmed.
    empty: Vec<String>,
    codes: Vec<Codes>,
    /// The (canonical column, code) of each `ignore` entry that applies to the file.
    pub ignores: Vec<(String, String)>,
}

impl Rules {
    /// The rules of a profile for a file of `kind` mapped by `map` (none without a profile).
    /// Codes of a column the file does not have are not used.
    pub fn new(
        profile: Option<&Profile>,
        kind: Kind,
        map: &ColumnMap,
    ) -> Result<Self, UploadError> {
        let Some(p) = profile else {
            return Ok(Rules::default());
        };
        let dates = p
            .date_format
            .as_deref()
            .map(DateFormat::new)
            .transpose()
            .map_err(UploadError::Profile)?;
        p.check_values(kind)?;
        let mut empty: Vec<String> = p.empty.iter().map(|e| e.trim().to_string()).collect();
        empty.sort();
        empty.dedup();
        let mut rules = Rules {
            dates,
            empty,
            ..Rules::default()
        };
        for (column, table) in &p.values {
            let Some(col) = map.get(column) else {
                continue;
            };
            let mut codes = PlHashMap::default();
            for (value, list) in table {
                for code in list {
                    let code = code.trim().to_string();
                    let what = if value == IGNORE {
                        rules.ignores.push((column.clone(), code.clone()));
                        Code::Ignore(rules.ignores.len() - 1)
                    } else {
                        Code::Value(value.clone())
                    };
                    codes.entry(code).or_insert(what);
                }
            }
            rules.codes.push(Codes { col, codes });
        }
        Ok(rules)
    }

    /// Whether rows are rewritten; if not, their cells are used as read.
    pub fn rewrites(&self) -> bool {
        !self.empty.is_empty() || !self.codes.is_empty()
    }

    /// The row as the rest of reading sees it: as read when the profile rewrites nothing (no
    /// copy on the fast path), else [`Rules::apply`]'s rewrite; `Err` for a row to leave out.
    pub fn row<'x>(&'x self, cells: &'x [Cell<'x>]) -> Result<Cow<'x, [Cell<'x>]>, usize> {
        if self.rewrites() {
            self.apply(cells).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(cells))
        }
    }

    /// A row's cells with the empty values emptied and the codes replaced by their canonical
    /// values; or, for a row to leave out, the index of its `ignore` entry.
    pub fn apply<'x>(&'x self, cells: &[Cell<'x>]) -> Result<Vec<Cell<'x>>, usize> {
        let mut out = cells.to_vec();
        if !self.empty.is_empty() {
            for c in &mut out {
                if self.means_empty(c) {
                    *c = Cell::Empty;
                }
            }
        }
        for Codes { col, codes } in &self.codes {
            let Some(cell) = out.get_mut(*col) else {
                continue;
            };
            let found = match cell {
                Cell::Text(s) => codes.get(s.trim()),
                Cell::Number(_) | Cell::Bool(_) => codes.get(cell.display().as_str()),
                Cell::Empty | Cell::DateTime(_) => None,
            };
            match found {
                Some(Code::Value(v)) => *cell = Cell::Text(v),
                Some(Code::Ignore(i)) => return Err(*i),
                None => {}
            }
        }
        Ok(out)
    }

    fn means_empty(&self, c: &Cell) -> bool {
        match c {
            Cell::Text(s) => self.empty.iter().any(|e| e == s.trim()),
            Cell::Number(_) => {
                let shown = c.display();
                self.empty.contains(&shown)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::map::map_headers;
    use crate::kinds::Kind;

    #[test]
    fn empty_values_codes_and_ignored_rows() {
        let p = Profile::parse(
            r#"
kind = "cases"
office = "Amt"
empty = [" NA ", "-"]
[columns]
case_id = "Nr"
received_on = "Ein"
outcome = "Erg"
[values.outcome]
granted = ["G", "1"]
ignore = ["PHANTOM"]
"#,
        )
        .unwrap();
        let headers: Vec<String> = ["Nr", "Ein", "Erg"].map(String::from).to_vec();
        let map = map_headers(Kind::Cases, &headers, 1, Some(&p), true).unwrap();
        let rules = Rules::new(Some(&p), Kind::Cases, &map).unwrap();
        assert!(rules.rewrites());
        assert!(rules.dates.is_none());
        let row = [Cell::Text("A1"), Cell::Text("NA"), Cell::Text(" G ")];
        assert_eq!(
            rules.apply(&row),
            Ok(vec![Cell::Text("A1"), Cell::Empty, Cell::Text("granted")])
        );
        let row = [Cell::Text("-"), Cell::Text("x"), Cell::Number(1.0)];
        assert_eq!(
            rules.apply(&row),
            Ok(vec![Cell::Empty, Cell::Text("x"), Cell::Text("granted")])
        );
        // A code not listed stays as it is.
        let row = [Cell::Text("A2"), Cell::Text("x"), Cell::Text("Other")];
        assert_eq!(rules.apply(&row), Ok(row.to_vec()));
        let row = [Cell::Text("A3"), Cell::Text("x"), Cell::Text("PHANTOM")];
        assert_eq!(rules.apply(&row), Err(0));
        assert_eq!(
            rules.ignores,
            vec![("outcome".to_string(), "PHANTOM".to_string())]
        );

        // Without those keys the rules do nothing.
        let plain = Profile::parse("kind = \"cases\"\n[columns]\ncase_id = \"Nr\"\n").unwrap();
        assert!(
            !Rules::new(Some(&plain), Kind::Cases, &map)
                .unwrap()
                .rewrites()
        );
        assert!(!Rules::new(None, Kind::Cases, &map).unwrap().rewrites());
    }
}
