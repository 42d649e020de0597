//! The decoder of `application/x-www-form-urlencoded` text, for query strings and the staff
//! area's forms alike.

use std::collections::HashMap;

/// Decodes `a=1&b=x%20y` (the last of repeated names wins).
pub(super) fn form_urlencoded(q: &str) -> HashMap<String, String> {
    form_pairs(q).into_iter().collect()
}

/// Decodes `a=1&b=x%20y` into its pairs in order, repeated names included.
pub fn form_pairs(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit() =>
                {
                    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
