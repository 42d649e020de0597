//! Parsers for the value formats German office exports use: decimal comma and thousands dot,
//! dd.mm.yyyy / dd.mm.yy / ISO dates, Excel serial numbers, hh:mm[:ss] and Excel day
//! fractions, and ja/nein-style booleans. Each returns `None` for a value it cannot read;
//! the caller turns that into a problem with line and column.

use super::cell::Cell;
use crate::timefmt::{days_from_civil, days_in_month};
use chrono::format::{Item, Parsed as Fields, StrftimeItems};
use chrono::{Datelike, NaiveDate, Timelike};

/// Days between 1899-12-30 (Excel's day zero, after its 1900 leap-year bug) and 1970-01-01.
const EXCEL_EPOCH_OFFSET: i32 = 25_569;

/// How a file writes numbers: German (`1.234,5`) or with a decimal point (`1234.5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberStyle {
    German,
    Point,
}

/// Reads a number in either convention; in German files a lone dot before three digits is a
/// thousands separator.
pub fn number(s: &str, style: NumberStyle) -> Option<f64> {
    let s = trim(s);
    let s = s.strip_suffix("min").map(str::trim_end).unwrap_or(s);
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let has_comma = s.contains(',');
    let has_dot = s.contains('.');
    let normalised: String = if has_comma && has_dot {
        let last_comma = s.rfind(',')?;
        let last_dot = s.rfind('.')?;
        if last_comma > last_dot {
            s.replace('.', "").replace(',', ".")
        } else {
            s.replace(',', "")
        }
    } else if has_comma {
        if s.matches(',').count() > 1 {
            s.replace(',', "")
        } else {
            s.replace(',', ".")
        }
    } else if has_dot {
        let dots = s.matches('.').count();
        let after = s.len() - s.rfind('.')? - 1;
        if dots > 1 || (style == NumberStyle::German && after == 3) {
            s.replace('.', "")
        } else {
            s.to_string()
        }
    } else {
        s.to_string()
    };
    let n: f64 = normalised.replace(['\u{a0}', ' ', '\''], "").parse().ok()?;
    n.is_finite().then_some(n)
}

/// A number cell (XLSX number or text).
pub fn number_cell(c: &Cell, style: NumberStyle) -> Option<f64> {
    match c {
        Cell::Number(n) => Some(*n),
        Cell::Text(s) => number(s, style),
        _ => None,
    }
}

/// `s.trim()`, without looking at the characters when the ends are plain ASCII that is not
/// space (as nearly every cell is): Unicode spaces start with a byte above 0x7F.
pub fn trim(s: &str) -> &str {
    let plain = |b: u8| b < 0x80 && !b.is_ascii_whitespace();
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&z)) if plain(a) && plain(z) => s,
        _ => s.trim(),
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |a, b| a * 10 + (b - b'0') as u32))
}

fn checked_date(y: i32, m: u32, d: u32) -> Option<i32> {
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// A date as days since 1970-01-01: `dd.mm.yyyy`, `dd.mm.yy`, `yyyy-mm-dd`, `dd/mm/yyyy`.
pub fn date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    // Fast path for ISO `yyyy-mm-dd`.
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        let y = digits(&b[0..4])? as i32;
        return checked_date(y, digits(&b[5..7])?, digits(&b[8..10])?);
    }
    let b = s.trim().as_bytes();
    if b.len() >= 8 && b.len() <= 10 && b[4] == b'-' {
        let y = digits(&b[0..4])? as i32;
        let mut parts = b[5..].split(|c| *c == b'-');
        let m = digits(parts.next()?)?;
        let d = digits(parts.next()?)?;
        return if parts.next().is_none() {
            checked_date(y, m, d)
        } else {
            None
        };
    }
    let sep = *b.iter().find(|c| **c == b'.' || **c == b'/')?;
    let mut parts = b.split(|c| *c == sep);
    let d = digits(parts.next()?)?;
    let m = digits(parts.next()?)?;
    let y_part = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let y = match y_part.len() {
        4 => digits(y_part)? as i32,
        2 => 2000 + digits(y_part)? as i32,
        _ => return None,
    };
    checked_date(y, m, d)
}

/// A time of day as seconds since midnight: `hh:mm`, `hh:mm:ss`, `hh:mm:ss.fff`, `hh.mm Uhr`.
pub fn time(s: &str) -> Option<i32> {
    // Fast path for the usual `hh:mm:ss` / `hh:mm`.
    let b = s.as_bytes();
    let two = |i: usize| -> Option<u32> {
        let (x, y) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
        (x < 10 && y < 10).then_some(x as u32 * 10 + y as u32)
    };
    if (b.len() == 8 && b[2] == b':' && b[5] == b':') || (b.len() == 5 && b[2] == b':') {
        let (h, m) = (two(0)?, two(3)?);
        let sec = if b.len() == 8 { two(6)? } else { 0 };
        return (h <= 23 && m <= 59 && sec <= 59).then_some((h * 3600 + m * 60 + sec) as i32);
    }
    let s = s.trim();
    let s = s.strip_suffix("Uhr").map(str::trim_end).unwrap_or(s);
    let b = s.as_bytes();
    let mut parts = b.split(|c| *c == b':');
    let h = digits(parts.next()?)?;
    let m = digits(parts.next()?)?;
    let sec = match parts.next() {
        None => 0,
        Some(p) => {
            let whole = p.split(|c| *c == b'.' || *c == b',').next()?;
            digits(whole)?
        }
    };
    if parts.next().is_some() || h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some((h * 3600 + m * 60 + sec) as i32)
}

/// Converts an Excel serial (days since 1899-12-30, fraction = time) to epoch seconds.
/// Plausible range only (1954–2119), so that a count is not read as a date.
pub fn excel_serial_to_secs(serial: f64) -> Option<i64> {
    if !(20_000.0..80_000.0).contains(&serial) {
        return None;
    }
    let days = serial.floor() as i64 - EXCEL_EPOCH_OFFSET as i64;
    let secs = ((serial - serial.floor()) * 86_400.0).round() as i64;
    Some(days * 86_400 + secs)
}

/// A datetime as epoch seconds: a date followed by ` ` or `T` and a time, an ISO string with
/// fractional seconds, or an Excel serial number.
pub fn datetime(s: &str) -> Option<i64> {
    // Fast path for ISO `yyyy-mm-ddThh:mm:ss` (or a space for the `T`).
    let b = s.as_bytes();
    if b.len() == 19
        && (b[10] == b'T' || b[10] == b' ')
        && let (Some(d), Some(t)) = (iso_day(&b[..10]), time(&s[11..]))
    {
        return Some(d as i64 * 86_400 + t as i64);
    }
    let s = trim(s);
    if let Some(pos) = s.bytes().position(|b| b == b'T' || b == b' ') {
        let d = date(&s[..pos])?;
        let t = time(s[pos + 1..].trim())?;
        return Some(d as i64 * 86_400 + t as i64);
    }
    if let Some(d) = date(s) {
        return Some(d as i64 * 86_400);
    }
    excel_serial_to_secs(number(s, NumberStyle::Point).or_else(|| number(s, NumberStyle::German))?)
}

/// The day of an ISO date that starts a datetime: the times of a row (arrival, call, end)
/// and of the rows that follow mostly share it, so the last one read is kept per thread.
fn iso_day(b: &[u8]) -> Option<i32> {
    thread_local! {
        static LAST: std::cell::Cell<Option<([u8; 10], i32)>> = const { std::cell::Cell::new(None) };
    }
    let key: [u8; 10] = b.try_into().ok()?;
    if let Some((last, day)) = LAST.get()
        && last == key
    {
        return Some(day);
    }
    let day = date(std::str::from_utf8(b).ok()?)?;
    LAST.set(Some((key, day)));
    Some(day)
}

/// A datetime cell.
pub fn datetime_cell(c: &Cell) -> Option<i64> {
    match c {
        Cell::Text(s) => datetime(s),
        Cell::Number(n) | Cell::DateTime(n) => excel_serial_to_secs(*n),
        _ => None,
    }
}

/// A date cell as days since the epoch.
pub fn date_cell(c: &Cell) -> Option<i32> {
    match c {
        Cell::Text(s) => date(s).or_else(|| {
            datetime(s)
                .filter(|t| t % 86_400 == 0)
                .map(|t| (t / 86_400) as i32)
        }),
        Cell::Number(n) | Cell::DateTime(n) => {
            excel_serial_to_secs(*n).map(|t| t.div_euclid(86_400) as i32)
        }
        _ => None,
    }
}

/// A time-of-day cell as seconds since midnight: text, or an Excel fraction of a day.
pub fn time_cell(c: &Cell) -> Option<i32> {
    let fraction = |n: f64| -> Option<i32> {
        let f = n - n.floor();
        (n >= 0.0).then(|| ((f * 86_400.0).round() as i32).min(86_399))
    };
    match c {
        Cell::Text(s) => time(s).or_else(|| {
            let n = number(s, NumberStyle::German)?;
            (0.0..1.0).contains(&n).then(|| fraction(n)).flatten()
        }),
        Cell::Number(n) if (0.0..1.0).contains(n) => fraction(*n),
        Cell::DateTime(n) => fraction(*n),
        _ => None,
    }
}

/// A boolean: ja/nein, j/n, 1/0, x, true/false, wahr/falsch, yes/no.
pub fn boolean(s: &str) -> Option<bool> {
    let s = trim(s);
    // Most exports write one of these; the lists below take a dozen comparisons.
    match s {
        "true" | "1" => return Some(true),
        "false" | "0" => return Some(false),
        _ => {}
    }
    const TRUE: [&str; 9] = ["ja", "j", "1", "x", "true", "wahr", "yes", "y", "✓"];
    const FALSE: [&str; 7] = ["nein", "n", "0", "false", "falsch", "no", "-"];
    if TRUE.iter().any(|t| s.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| s.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// A boolean cell.
pub fn boolean_cell(c: &Cell) -> Option<bool> {
    match c {
        Cell::Bool(b) => Some(*b),
        Cell::Number(n) if *n == 1.0 => Some(true),
        Cell::Number(n) if *n == 0.0 => Some(false),
        Cell::Text(s) => boolean(s),
        _ => None,
    }
}

/// A month: `2025-03`, `03/2025`, `03.2025`, `März 2025`, or any date in the month.
pub fn month(c: &Cell) -> Option<i32> {
    match date_cell(c) {
        Some(d) => Some(crate::timefmt::month_key(d)),
        None => month_text(c),
    }
}

/// A month written as a month (`2025-03`, `03/2025`, `März 2025`), not as a date.
fn month_text(c: &Cell) -> Option<i32> {
    let s = c.text()?;
    if let Some(k) = crate::timefmt::parse_month_arg(s) {
        return Some(k);
    }
    let (a, b) = s.split_once(['/', '.', ' '])?;
    let y: i32 = b
        .trim()
        .parse()
        .ok()
        .filter(|y| (1900..=2200).contains(y))?;
    let m = match a.trim().parse::<i32>() {
        Ok(m) => m,
        Err(_) => month_name(a.trim())?,
    };
    (1..=12).contains(&m).then_some(y * 100 + m)
}

/// A profile's `date_format` (chrono's strftime syntax: `%m/%d/%Y`, `%y%m%d`,
/// `%d.%m.%Y %H:%M` …), read once. With it, the dates and datetimes written in a file are read
/// in this format only, not guessed: `07/03/2017` is 3 July in `%m/%d/%Y`, and a value in
/// another format is a problem. Real Excel date cells are still read as what they are.
#[derive(Debug, Clone)]
pub struct DateFormat {
    /// The format as the profile writes it.
    pub text: String,
    /// 31 March 2025 in the format, for messages (with 09:15 if the format has a time).
    pub example: String,
    items: Vec<Item<'static>>,
    /// Whether the format has the time of day too.
    with_time: bool,
}

impl DateFormat {
    /// Reads a format, refusing one chrono does not know and one that does not give a full
    /// date (year, month and day), with a message in both languages.
    pub fn new(text: &str) -> Result<Self, String> {
        let refuse = |de: &str, en: &str| {
            format!(
                "date_format „{text}“: {de}; z. B. „%d.%m.%Y“, „%m/%d/%Y“, „%y%m%d“ / \
                 date_format \"{text}\": {en}; e.g. \"%d.%m.%Y\", \"%m/%d/%Y\", \"%y%m%d\""
            )
        };
        if text.trim().is_empty() || text.len() > 64 {
            return Err(refuse("leer oder zu lang", "empty or too long"));
        }
        let items = StrftimeItems::new(text).parse_to_owned().map_err(|_| {
            refuse(
                "enthält eine unbekannte %-Angabe (Syntax von chrono/strftime)",
                "has an unknown % specifier (chrono's strftime syntax)",
            )
        })?;
        let sample = NaiveDate::from_ymd_opt(2025, 3, 31)
            .and_then(|d| d.and_hms_opt(9, 15, 0))
            .expect("a valid sample date");
        let mut example = String::new();
        {
            use std::fmt::Write;
            write!(example, "{}", sample.format_with_items(items.iter())).map_err(|_| {
                refuse(
                    "verlangt eine Zeitzone, die Exporte nicht angeben",
                    "needs a time zone, which exports do not give",
                )
            })?;
        }
        let mut fields = Fields::new();
        let read_back = chrono::format::parse(&mut fields, &example, items.iter())
            .ok()
            .and_then(|()| fields.to_naive_date().ok());
        if read_back != Some(sample.date()) {
            return Err(refuse(
                "ergibt kein vollständiges Datum (Jahr, Monat und Tag)",
                "does not give a whole date (year, month and day)",
            ));
        }
        let with_time = fields.to_naive_time().is_ok();
        Ok(DateFormat {
            text: text.to_string(),
            example,
            items,
            with_time,
        })
    }

    /// An example of a datetime in this format, for messages.
    pub fn example_datetime(&self) -> String {
        if self.with_time {
            self.example.clone()
        } else {
            format!("{} 09:15", self.example)
        }
    }

    /// The fields the format reads from the start of `s`, the day (days since the epoch,
    /// in the range of [`date`]) and what follows.
    fn read<'s>(&self, s: &'s str) -> Option<(Fields, i32, &'s str)> {
        let mut fields = Fields::new();
        let rest = chrono::format::parse_and_remainder(&mut fields, s, self.items.iter()).ok()?;
        let d = fields.to_naive_date().ok()?;
        let day = checked_date(d.year(), d.month(), d.day())?;
        Some((fields, day, rest.trim()))
    }

    /// A date in this format as days since the epoch. A format with a time gives the day of
    /// the datetime; a date-only format also takes a trailing midnight (`… 00:00`).
    pub fn date(&self, s: &str) -> Option<i32> {
        let (_, day, rest) = self.read(s.trim())?;
        (rest.is_empty() || time(rest.strip_prefix('T').unwrap_or(rest).trim_start()) == Some(0))
            .then_some(day)
    }

    /// A datetime as epoch seconds: the whole format, or (a date-only format) the date, then
    /// a time after a space or `T`, or nothing for midnight.
    pub fn datetime(&self, s: &str) -> Option<i64> {
        let (fields, day, rest) = self.read(s.trim())?;
        let day = day as i64 * 86_400;
        if self.with_time {
            let t = fields.to_naive_time().ok()?;
            return rest
                .is_empty()
                .then(|| day + t.num_seconds_from_midnight() as i64);
        }
        if rest.is_empty() {
            return Some(day);
        }
        Some(day + time(rest.strip_prefix('T').unwrap_or(rest).trim_start())? as i64)
    }

    /// A whole number cell as its digits (`170703` for `%y%m%d` in a spreadsheet).
    fn digits_of(n: f64) -> Option<String> {
        (n.fract() == 0.0 && (0.0..1e14).contains(&n)).then(|| format!("{}", n as i64))
    }

    /// A date cell: text in this format, a number in it (digits), else an Excel date.
    pub fn date_cell(&self, c: &Cell) -> Option<i32> {
        match c {
            Cell::Text(s) => self.date(s),
            Cell::Number(n) => Self::digits_of(*n)
                .and_then(|s| self.date(&s))
                .or_else(|| date_cell(c)),
            Cell::DateTime(_) => date_cell(c),
            _ => None,
        }
    }

    /// A datetime cell: text in this format, a number in it (digits), else an Excel date.
    pub fn datetime_cell(&self, c: &Cell) -> Option<i64> {
        match c {
            Cell::Text(s) => self.datetime(s),
            Cell::Number(n) => Self::digits_of(*n)
                .and_then(|s| self.datetime(&s))
                .or_else(|| datetime_cell(c)),
            Cell::DateTime(_) => datetime_cell(c),
            _ => None,
        }
    }

    /// A month: any date in this format, or a month written as one (`2025-03`, `03/2025`).
    pub fn month(&self, c: &Cell) -> Option<i32> {
        match self.date_cell(c) {
            Some(d) => Some(crate::timefmt::month_key(d)),
            None => month_text(c),
        }
    }
}

/// A date cell, in the profile's format if there is one.
pub fn date_cell_in(c: &Cell, format: Option<&DateFormat>) -> Option<i32> {
    match format {
        Some(f) => f.date_cell(c),
        None => date_cell(c),
    }
}

/// A datetime cell, in the profile's format if there is one.
pub fn datetime_cell_in(c: &Cell, format: Option<&DateFormat>) -> Option<i64> {
    match format {
        Some(f) => f.datetime_cell(c),
        None => datetime_cell(c),
    }
}

fn month_name(s: &str) -> Option<i32> {
    const NAMES: [[&str; 2]; 12] = [
        ["jan", "jan"],
        ["feb", "feb"],
        ["mär", "mar"],
        ["apr", "apr"],
        ["mai", "may"],
        ["jun", "jun"],
        ["jul", "jul"],
        ["aug", "aug"],
        ["sep", "sep"],
        ["okt", "oct"],
        ["nov", "nov"],
        ["dez", "dec"],
    ];
    let l = s.to_lowercase();
    NAMES
        .iter()
        .position(|[de, en]| {
            l.starts_with(de) || l.starts_with(en) || (l.starts_with("maer") && *de == "mär")
        })
        .map(|i| i as i32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_and_point_numbers() {
        assert_eq!(number("1.234,5", NumberStyle::German), Some(1234.5));
        assert_eq!(number("1,234.5", NumberStyle::Point), Some(1234.5));
        assert_eq!(number("12,5", NumberStyle::German), Some(12.5));
        assert_eq!(number("1.234", NumberStyle::German), Some(1234.0));
        assert_eq!(number("1.5", NumberStyle::German), Some(1.5));
        assert_eq!(number("1.234", NumberStyle::Point), Some(1.234));
        assert_eq!(number("-3", NumberStyle::Point), Some(-3.0));
        assert_eq!(number("abc", NumberStyle::Point), None);
        assert_eq!(number("NaN", NumberStyle::Point), None);
    }

    #[test]
    fn dates_in_every_office_format() {
        let d = days_from_civil(2025, 3, 7);
        assert_eq!(date("07.03.2025"), Some(d));
        assert_eq!(date("7.3.2025"), Some(d));
        assert_eq!(date("07.03.25"), Some(d));
        assert_eq!(date("2025-03-07"), Some(d));
        assert_eq!(date("31.02.2025"), None);
        assert_eq!(date("2025-02-29"), None);
        assert_eq!(date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        // 45723 is 2025-03-07 in Excel.
        assert_eq!(datetime("45723"), Some(d as i64 * 86_400));
        assert_eq!(datetime("45723,375"), Some(d as i64 * 86_400 + 9 * 3600));
    }

    /// The day kept from the last ISO datetime is used only for the same date text.
    #[test]
    fn iso_datetimes_one_after_another() {
        let day = |y, m, d| days_from_civil(y, m, d) as i64 * 86_400;
        assert_eq!(
            datetime("2025-03-01T10:00:00"),
            Some(day(2025, 3, 1) + 36_000)
        );
        assert_eq!(
            datetime("2025-03-01 11:00:00"),
            Some(day(2025, 3, 1) + 39_600)
        );
        assert_eq!(
            datetime("2025-03-02T10:00:00"),
            Some(day(2025, 3, 2) + 36_000)
        );
        assert_eq!(datetime("2025-02-30T10:00:00"), None);
        assert_eq!(datetime("2025-03-02T25:00:00"), None);
        assert_eq!(
            datetime("2025-03-02T09:30:00"),
            Some(day(2025, 3, 2) + 34_200)
        );
    }

    #[test]
    fn times_and_datetimes() {
        assert_eq!(time("09:05"), Some(9 * 3600 + 5 * 60));
        assert_eq!(time("9:05:30"), Some(9 * 3600 + 5 * 60 + 30));
        assert_eq!(time("24:00"), None);
        assert_eq!(time_cell(&Cell::Number(0.5)), Some(12 * 3600));
        assert_eq!(time_cell(&Cell::Text("0,25")), Some(6 * 3600));
        let d = days_from_civil(2025, 3, 7) as i64 * 86_400;
        assert_eq!(datetime("2025-03-07T09:05:00"), Some(d + 9 * 3600 + 300));
        assert_eq!(datetime("07.03.2025 09:05"), Some(d + 9 * 3600 + 300));
        assert_eq!(
            datetime("2025-03-07 09:05:00.123"),
            Some(d + 9 * 3600 + 300)
        );
    }

    /// Hours without a leading zero, alone and after a date.
    #[test]
    fn hours_without_a_leading_zero() {
        assert_eq!(time("9:05:30"), Some(9 * 3600 + 5 * 60 + 30));
        assert_eq!(time("0:00:00"), Some(0));
        assert_eq!(time("9:05"), Some(9 * 3600 + 5 * 60));
        assert_eq!(
            time_cell(&Cell::Text(" 7:45:00 ")),
            Some(7 * 3600 + 45 * 60)
        );
        let d = days_from_civil(2025, 3, 7) as i64 * 86_400;
        assert_eq!(datetime("07.03.2025 9:05:30"), Some(d + 9 * 3600 + 330));
        assert_eq!(datetime("2025-03-07T9:05"), Some(d + 9 * 3600 + 300));
    }

    #[test]
    fn dates_in_a_profile_format() {
        let us = DateFormat::new("%m/%d/%Y").unwrap();
        assert_eq!(us.example, "03/31/2025");
        let july3 = days_from_civil(2017, 7, 3);
        assert_eq!(us.date("07/03/2017"), Some(july3));
        assert_eq!(us.date(" 7/3/2017 "), Some(july3));
        assert_eq!(us.date("07/03/2017 00:00"), Some(july3));
        assert_eq!(us.date("07/03/2017 09:00"), None);
        assert_eq!(us.date("31/03/2017"), None);
        assert_eq!(us.date("02/29/2017"), None);
        assert_eq!(us.date("2017-07-03"), None);
        assert_eq!(
            us.datetime("07/03/2017 9:05:30"),
            Some(july3 as i64 * 86_400 + 9 * 3600 + 330)
        );
        assert_eq!(us.datetime("07/03/2017"), Some(july3 as i64 * 86_400));
        assert_eq!(us.month(&Cell::Text("07/03/2017")), Some(201707));
        assert_eq!(us.month(&Cell::Text("2017-07")), Some(201707));

        let short = DateFormat::new("%y%m%d").unwrap();
        assert_eq!(short.example, "250331");
        assert_eq!(short.date("170703"), Some(july3));
        assert_eq!(short.date_cell(&Cell::Number(170703.0)), Some(july3));
        assert_eq!(short.date("1707031"), None);

        let with_time = DateFormat::new("%d.%m.%Y %H:%M").unwrap();
        assert_eq!(with_time.example, "31.03.2025 09:15");
        assert_eq!(
            with_time.datetime("03.07.2017 14:30"),
            Some(july3 as i64 * 86_400 + 14 * 3600 + 1800)
        );
        assert_eq!(with_time.date("03.07.2017 14:30"), Some(july3));
        assert_eq!(with_time.datetime("03.07.2017"), None);

        for bad in ["%Q/%d", "%H:%M", "%m/%Y", "", "%d.%m.%Y %z"] {
            assert!(DateFormat::new(bad).is_err(), "{bad}");
        }
        assert!(
            DateFormat::new("%Q")
                .unwrap_err()
                .contains("unknown % specifier")
        );
    }

    #[test]
    fn booleans_and_months() {
        assert_eq!(boolean("Ja"), Some(true));
        assert_eq!(boolean("x"), Some(true));
        assert_eq!(boolean("nein"), Some(false));
        assert_eq!(boolean("vielleicht"), None);
        assert_eq!(month(&Cell::Text("2025-03")), Some(202503));
        assert_eq!(month(&Cell::Text("03/2025")), Some(202503));
        assert_eq!(month(&Cell::Text("März 2025")), Some(202503));
        assert_eq!(month(&Cell::Text("01.03.2025")), Some(202503));
    }
}
