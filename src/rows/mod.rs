//! The vocabulary of one row of an export, below the data kinds: cells as read, typed access
//! to them that records a located problem for every value that cannot be read, the value
//! parsers, and where each canonical column sits in the file. `kinds` parse rows with it and
//! `ingest` feeds it, so the arrows run one way: ingest → kinds → rows.

pub mod cell;
pub mod parse;
pub mod problem;
pub mod row;

/// Where each canonical column of a kind sits in the file.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    /// The header row as written, for messages.
    pub headers: Vec<String>,
    index: Vec<(&'static str, usize)>,
    /// Columns present but not used (named in notices).
    pub ignored: Vec<String>,
}

impl ColumnMap {
    /// A map of `headers` where `index` names the file column of each canonical column.
    pub fn new(
        headers: Vec<String>,
        index: Vec<(&'static str, usize)>,
        ignored: Vec<String>,
    ) -> Self {
        ColumnMap {
            headers,
            index,
            ignored,
        }
    }

    /// The file column of a canonical column.
    pub fn get(&self, canonical: &str) -> Option<usize> {
        self.index
            .iter()
            .find(|(n, _)| *n == canonical)
            .map(|(_, i)| *i)
    }

    /// The file columns that are mapped (used for duplicate detection).
    pub fn mapped_columns(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.index.iter().map(|(_, i)| *i).collect();
        v.sort_unstable();
        v
    }
}
