//! Numbers as German readers expect them: 1.234 visitors, 12 minutes, 87 %, "." for
//! suppressed cells.

use crate::kpi::Value;
use crate::kpi::definitions::Unit;

/// German thousands separator for whole numbers.
pub fn int(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// A value in its unit: minutes and days rounded to whole numbers, shares as percent.
pub fn value(v: &Value, unit: Unit) -> String {
    match v {
        Value::Suppressed => ".".into(),
        Value::Null => "–".into(),
        Value::Int(i) => int(*i),
        Value::Float(f) => match unit {
            Unit::Share => format!("{} %", int((f * 100.0).round() as i64)),
            Unit::Count | Unit::Minutes | Unit::Days => int(f.round() as i64),
        },
        Value::Text(s) => s.clone(),
        Value::Bool(b) => {
            if *b {
                "ja".into()
            } else {
                "nein".into()
            }
        }
    }
}

/// The unit word after a value.
pub fn unit_word(unit: Unit) -> &'static str {
    match unit {
        Unit::Minutes => " Min.",
        Unit::Days => " Tage",
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

/// "März 2026" for 202603.
pub fn month_long(key: i32) -> String {
    format!(
        "{} {}",
        MONTHS[((key % 100) - 1).clamp(0, 11) as usize],
        key / 100
    )
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
    }
}
