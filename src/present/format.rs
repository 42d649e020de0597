//! Numbers as German readers expect them: 1.234 visitors, 12 minutes, 87 %, "." for
//! suppressed cells; on English pages 1,234 and 87%.

use crate::i18n::Lang;
use crate::kpi::Value;
use crate::kpi::definitions::Unit;

/// German thousands separator for whole numbers.
pub fn int(n: i64) -> String {
    int_in(n, Lang::De)
}

/// Whole numbers with the language's thousands separator.
pub fn int_in(n: i64, lang: Lang) -> String {
    let sep = lang.pick(".", ",");
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// A value in its unit: minutes and days rounded to whole numbers, shares as percent.
pub fn value(v: &Value, unit: Unit) -> String {
    value_in(v, unit, Lang::De)
}

/// [`value`] in a language.
pub fn value_in(v: &Value, unit: Unit, lang: Lang) -> String {
    match v {
        Value::Suppressed => ".".into(),
        Value::NotApplicable(_) => "x".into(),
        Value::Null => "–".into(),
        Value::NotAvailable(why) => why.reason(lang).into(),
        Value::Int(i) => int_in(*i, lang),
        Value::Float(f) => match unit {
            Unit::Share => format!(
                "{}{}",
                int_in((f * 100.0).round() as i64, lang),
                lang.pick(" %", "%")
            ),
            Unit::Count | Unit::Minutes | Unit::Days => int_in(f.round() as i64, lang),
        },
        Value::Text(s) => s.clone(),
        Value::Bool(b) => lang
            .pick(
                if *b { "ja" } else { "nein" },
                if *b { "yes" } else { "no" },
            )
            .into(),
    }
}

/// A value with its unit word (numbers only: "12 Min.", but "." and "nicht verfügbar …" bare).
pub fn with_unit(v: &Value, unit: Unit, lang: Lang) -> String {
    let word = match v {
        Value::Int(_) | Value::Float(_) => unit_word(unit, lang),
        _ => "",
    };
    format!("{}{word}", value_in(v, unit, lang))
}

/// The unit word after a value.
pub fn unit_word(unit: Unit, lang: Lang) -> &'static str {
    match unit {
        Unit::Minutes => lang.pick(" Min.", " min"),
        Unit::Days => lang.pick(" Tage", " days"),
        _ => "",
    }
}

const MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "März 2026" for 202603.
pub fn month_long(key: i32) -> String {
    month_long_in(key, Lang::De)
}

/// "März 2026" / "March 2026".
pub fn month_long_in(key: i32, lang: Lang) -> String {
    let i = ((key % 100) - 1).clamp(0, 11) as usize;
    let name = match lang {
        Lang::De => MONTHS[i],
        Lang::En => MONTHS_EN[i],
    };
    format!("{name} {}", key / 100)
}

/// "bis 25.11.2026, 15:30 Uhr" / "until 25 November 2026, 15:30" for `2026-11-25T15:30…`.
pub fn until_text(until: &str, lang: Lang) -> String {
    let (date, time) = until.split_once('T').unwrap_or((until, ""));
    let mut d = date.split('-');
    let (y, m, day) = (
        d.next().unwrap_or(""),
        d.next().unwrap_or(""),
        d.next().unwrap_or(""),
    );
    let hm = time.get(..5).unwrap_or(time);
    match lang {
        Lang::De => format!("bis {day}.{m}.{y}, {hm} Uhr"),
        Lang::En => {
            let month = m
                .parse::<usize>()
                .ok()
                .and_then(|i| MONTHS_EN.get(i.wrapping_sub(1)))
                .copied()
                .unwrap_or(m);
            format!("until {} {month} {y}, {hm}", day.trim_start_matches('0'))
        }
    }
}

/// "03/26" for 202603: short axis labels.
pub fn month_short(key: i32) -> String {
    format!("{:02}/{:02}", key % 100, (key / 100) % 100)
}

/// A URL-safe name of an office: "Straßenverkehrsamt" → "strassenverkehrsamt".
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {
                if !out.ends_with('-') {
                    out.push('-');
                }
            }
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_numbers() {
        assert_eq!(int(1234567), "1.234.567");
        assert_eq!(int(999), "999");
        assert_eq!(value(&Value::Float(0.875), Unit::Share), "88 %");
        assert_eq!(value(&Value::Float(12.4), Unit::Minutes), "12");
        assert_eq!(value(&Value::Suppressed, Unit::Count), ".");
        assert_eq!(slug("Straßenverkehrsamt"), "strassenverkehrsamt");
        assert_eq!(slug("Service-Center"), "service-center");
        assert_eq!(month_long(202603), "März 2026");
        assert_eq!(month_long_in(202603, Lang::En), "March 2026");
        assert_eq!(int_in(1234567, Lang::En), "1,234,567");
        assert_eq!(value_in(&Value::Float(0.875), Unit::Share, Lang::En), "88%");
    }
}
