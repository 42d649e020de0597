//! One data row during parsing: typed access to its cells that records a located problem
//! for every value that cannot be read.

use super::ColumnMap;
use super::cell::Cell;
use super::parse::{self, DateFormat, NumberStyle};
use super::problem::{Issue, MAX_LISTED_PROBLEMS, Problem};
use std::borrow::Cow;

/// The problems of a file, all counted, the first [`MAX_LISTED_PROBLEMS`] kept.
#[derive(Debug, Default)]
pub struct Problems {
    pub list: Vec<Problem>,
    pub total: usize,
}

impl Problems {
    /// Records a problem.
    pub fn push(&mut self, line: usize, column: String, value: &Cell, issue: Issue) {
        self.total += 1;
        if self.list.len() < MAX_LISTED_PROBLEMS {
            self.list.push(Problem {
                line,
                column,
                value: value.display(),
                issue,
            });
        }
    }
}

/// A row being parsed.
pub struct Row<'r, 'c> {
    pub line: usize,
    cells: &'r [Cell<'c>],
    map: &'r ColumnMap,
    problems: &'r mut Problems,
    /// Number of problems found in this row so far.
    pub errors: usize,
    style: NumberStyle,
    /// The profile's date format, if it gives one.
    dates: Option<&'r DateFormat>,
}

impl<'r, 'c> Row<'r, 'c> {
    /// Wraps a row's cells.
    pub fn new(
        line: usize,
        cells: &'r [Cell<'c>],
        map: &'r ColumnMap,
        problems: &'r mut Problems,
        style: NumberStyle,
        dates: Option<&'r DateFormat>,
    ) -> Self {
        Row {
            line,
            cells,
            map,
            problems,
            errors: 0,
            style,
            dates,
        }
    }

    /// The cell in file column `col`, empty if the row is short.
    pub fn cell(&self, col: Option<usize>) -> Cell<'c> {
        col.and_then(|i| self.cells.get(i).copied())
            .unwrap_or(Cell::Empty)
    }

    /// Records a problem for file column `col`.
    pub fn problem(&mut self, col: Option<usize>, issue: Issue) {
        let cell = self.cell(col);
        let name = col
            .and_then(|i| self.map.headers.get(i).cloned())
            .unwrap_or_else(|| "-".to_string());
        self.problems.push(self.line, name, &cell, issue);
        self.errors += 1;
    }

    fn typed<T>(
        &mut self,
        col: Option<usize>,
        f: impl Fn(&Cell) -> Option<T>,
        issue: Issue,
    ) -> Option<T> {
        self.typed_with(col, f, || issue)
    }

    /// Like [`Row::typed`], the issue made only when there is a problem.
    fn typed_with<T>(
        &mut self,
        col: Option<usize>,
        f: impl Fn(&Cell) -> Option<T>,
        issue: impl FnOnce() -> Issue,
    ) -> Option<T> {
        let c = self.cell(col);
        if c.is_empty() {
            return None;
        }
        let v = f(&c);
        if v.is_none() {
            self.problem(col, issue());
        }
        v
    }

    /// The problem of a value not in the profile's date format.
    fn not_in_format(f: &DateFormat, datetime: bool) -> Issue {
        Issue::NotInDateFormat {
            format: f.text.clone(),
            example: if datetime {
                f.example_datetime()
            } else {
                f.example.clone()
            },
        }
    }

    /// Text, trimmed; `None` when empty. Borrowed from the file where it can be.
    pub fn text(&self, col: Option<usize>) -> Option<Cow<'c, str>> {
        match self.cell(col) {
            Cell::Text(s) => {
                let t = parse::trim(s);
                (!t.is_empty()).then_some(Cow::Borrowed(t))
            }
            Cell::Number(n) => Some(Cow::Owned(if n.fract() == 0.0 {
                format!("{}", n as i64)
            } else {
                n.to_string()
            })),
            Cell::Bool(b) => Some(Cow::Owned(b.to_string())),
            Cell::DateTime(n) => Some(Cow::Owned(n.to_string())),
            Cell::Empty => None,
        }
    }

    /// A date (day number), in the profile's date format if it gives one.
    pub fn date(&mut self, col: Option<usize>) -> Option<i32> {
        match self.dates {
            None => self.typed(col, parse::date_cell, Issue::NotADate),
            Some(f) => self.typed_with(col, |c| f.date_cell(c), || Self::not_in_format(f, false)),
        }
    }

    /// A date and time (epoch seconds), in the profile's date format if it gives one.
    pub fn datetime(&mut self, col: Option<usize>) -> Option<i64> {
        match self.dates {
            None => self.typed(col, parse::datetime_cell, Issue::NotADateTime),
            Some(f) => {
                self.typed_with(col, |c| f.datetime_cell(c), || Self::not_in_format(f, true))
            }
        }
    }

    /// A moment given either as one datetime column, or as a time of day on the row's date.
    /// Either column may hold either form.
    pub fn moment(
        &mut self,
        datetime_col: Option<usize>,
        date: Option<i32>,
        time_col: Option<usize>,
    ) -> Option<i64> {
        let col = if self.cell(datetime_col).is_empty() {
            time_col
        } else {
            datetime_col
        };
        let c = self.cell(col);
        if c.is_empty() {
            return None;
        }
        if let Some(d) = date
            && let Some(t) = parse::time_cell(&c)
        {
            return Some(d as i64 * 86_400 + t as i64);
        }
        if let Some(dt) = parse::datetime_cell_in(&c, self.dates) {
            return Some(dt);
        }
        let issue = match (date, self.dates) {
            (Some(_), _) => Issue::NotATime,
            (None, Some(f)) => Self::not_in_format(f, true),
            (None, None) => Issue::NotADateTime,
        };
        self.problem(col, issue);
        None
    }

    /// A yes/no value.
    pub fn boolean(&mut self, col: Option<usize>) -> Option<bool> {
        self.typed(col, parse::boolean_cell, Issue::NotABool)
    }

    /// A month key (`yyyymm`); a date in it in the profile's date format if it gives one.
    pub fn month(&mut self, col: Option<usize>) -> Option<i32> {
        match self.dates {
            None => self.typed(col, parse::month, Issue::NotAMonth),
            Some(f) => self.typed(col, |c| f.month(c), Issue::NotAMonth),
        }
    }

    /// A number ≥ 0 (minutes, means).
    pub fn non_negative(&mut self, col: Option<usize>) -> Option<f64> {
        let style = self.style;
        let v = self.typed(col, |c| parse::number_cell(c, style), Issue::NotANumber)?;
        if v < 0.0 {
            self.problem(col, Issue::Negative);
            return None;
        }
        Some(v)
    }

    /// A count: a whole number ≥ 0.
    pub fn count(&mut self, col: Option<usize>) -> Option<i64> {
        let style = self.style;
        let v = self.typed(
            col,
            |c| parse::number_cell(c, style),
            Issue::NotAWholeNumber,
        )?;
        if v.fract() != 0.0 || v.abs() > 1e15 {
            self.problem(col, Issue::NotAWholeNumber);
            return None;
        }
        if v < 0.0 {
            self.problem(col, Issue::Negative);
            return None;
        }
        Some(v as i64)
    }

    /// A required value that is missing.
    pub fn require<T>(&mut self, v: Option<T>, col: Option<usize>) -> Option<T> {
        if v.is_none() && self.cell(col).is_empty() {
            self.problem(col, Issue::Missing);
        }
        v
    }
}
