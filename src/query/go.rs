//! Look-alikes of the Go standard library (and `google/uuid`) whose exact
//! behaviour and error texts reach Coder's 400 bodies: `strconv` quoting and
//! number/boolean parsing, `strings` case mapping, `time.Parse` with
//! RFC 3339 and `uuid.Parse`. Only the query languages and paging use them.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

/// Go's `time.RFC3339Nano` layout, quoted in timestamp error details.
pub(crate) const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// Parses a UUID exactly as Go's `github.com/google/uuid.Parse` does (36
/// chars hyphenated, 38 with any surrounding pair, 45 with `urn:uuid:`, 32
/// bare hex), returning its error text on failure (e.g.
/// `invalid UUID length: 3`, `invalid UUID format`).
pub fn parse_go_uuid(s: &str) -> Result<Uuid, String> {
    let b = s.as_bytes();
    let body: &[u8] = match b.len() {
        36 => b,
        45 => {
            if !b[..9].eq_ignore_ascii_case(b"urn:uuid:") {
                return Err(format!("invalid urn prefix: {}", go_quote_bytes(&b[..9])));
            }
            &b[9..]
        }
        38 => &b[1..],
        32 => {
            let mut out = [0u8; 16];
            for (i, o) in out.iter_mut().enumerate() {
                *o = xtob(b[i * 2], b[i * 2 + 1]).ok_or("invalid UUID format")?;
            }
            return Ok(Uuid::from_bytes(out));
        }
        n => return Err(format!("invalid UUID length: {n}")),
    };
    if body[8] != b'-' || body[13] != b'-' || body[18] != b'-' || body[23] != b'-' {
        return Err("invalid UUID format".to_string());
    }
    const OFFSETS: [usize; 16] = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    let mut out = [0u8; 16];
    for (o, x) in out.iter_mut().zip(OFFSETS) {
        *o = xtob(body[x], body[x + 1]).ok_or("invalid UUID format")?;
    }
    Ok(Uuid::from_bytes(out))
}

fn xtob(a: u8, b: u8) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some((h(a)? << 4) | h(b)?)
}

/// Go's `strings.ToLower`: per-rune simple case mapping.
pub(crate) fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut m = c.to_lowercase();
            match (m.next(), m.next()) {
                (Some(l), None) => l,
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToUpper`: per-rune simple case mapping.
pub(crate) fn go_to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut m = c.to_uppercase();
            match (m.next(), m.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strconv.ParseBool`.
pub(crate) fn go_parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            go_quote(s)
        )),
    }
}

/// Go's `strconv.ParseInt(s, 10, bits)` for `bits` of 32 or 64.
pub(crate) fn go_parse_int(s: &str, bits: u32) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    };
    let (neg, digits) = match s.as_bytes() {
        [b'+', rest @ ..] => (false, rest),
        [b'-', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    if digits.is_empty() {
        return Err(syntax());
    }
    let max_unsigned = (1u128 << bits) - 1;
    let mut n: u128 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(syntax());
        }
        n = n * 10 + u128::from(c - b'0');
        if n > max_unsigned {
            // ParseUint(s, 10, bits) stops at the first overflow.
            return Err(range());
        }
    }
    let cutoff = 1u128 << (bits - 1);
    if (!neg && n >= cutoff) || (neg && n > cutoff) {
        return Err(range());
    }
    // In range of i64 by the checks above (bits <= 64).
    let n = n as i128;
    Ok((if neg { -n } else { n }) as i64)
}

/// Go's `strconv.Quote` (what `%q` prints for a string).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_quoted_char(&mut out, c);
    }
    out.push('"');
    out
}

/// `strconv.Quote` of bytes that may not be valid UTF-8 (invalid bytes → `\xNN`).
pub(crate) fn go_quote_bytes(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_quoted_char(&mut out, c);
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        c if go_is_print(c) => out.push(c),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Approximation of Go's `strconv.IsPrint`: letters, marks, numbers,
/// punctuation, symbols and the ASCII space.
fn go_is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    let u = c as u32;
    !(c.is_control()
        || c.is_whitespace()
        || matches!(u, 0xa0 | 0xad | 0x061c | 0x06dd | 0x070f | 0x180e | 0xfeff)
        || (0x0600..=0x0605).contains(&u)
        || (0x200b..=0x200f).contains(&u)
        || (0x202a..=0x202f).contains(&u)
        || (0x2060..=0x206f).contains(&u)
        || (0xe000..=0xf8ff).contains(&u)
        || (0xfff9..=0xfffb).contains(&u)
        || u >= 0xf0000)
}

/// The quoting of Go's `time` package error messages: every byte outside
/// printable ASCII becomes `\xNN`.
fn time_quote(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for &byte in b {
        if !(b' '..0x80).contains(&byte) {
            let _ = write!(out, "\\x{byte:02x}");
        } else {
            if byte == b'"' || byte == b'\\' {
                out.push('\\');
            }
            out.push(byte as char);
        }
    }
    out.push('"');
    out
}

/// Two-digit (or, unless `fixed`, one-digit) number at the start of `s`.
fn getnum(s: &[u8], fixed: bool) -> Option<(u32, &[u8])> {
    let digit = |i: usize| {
        s.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
    };
    let first = digit(0)?;
    match digit(1) {
        Some(second) => Some((first * 10 + second, &s[2..])),
        None if fixed => None,
        None => Some((first, &s[1..])),
    }
}

/// Go's `time.Parse(time.RFC3339Nano, value)` followed by `.UTC()`, with Go's
/// error texts (`parsing time "x" as "<layout>": cannot parse "x" as "2006"`,
/// `parsing time "x": month out of range`, `...: extra text: "y"`).
pub(crate) fn go_parse_rfc3339_nano(value: &str) -> Result<DateTime<Utc>, String> {
    let full = value.as_bytes();
    let cannot = |rest: &[u8], elem: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            time_quote(full),
            time_quote(RFC3339_NANO.as_bytes()),
            time_quote(rest),
            time_quote(elem.as_bytes())
        )
    };
    let out_of_range =
        |what: &str| format!("parsing time {}: {what} out of range", time_quote(full));
    let skip = |v: &'_ [u8], c: u8| -> Result<usize, String> {
        if v.first() == Some(&c) {
            Ok(1)
        } else {
            Err(cannot(v, &(c as char).to_string()))
        }
    };

    let mut v = full;
    // 2006
    if v.len() < 4 || !v[..4].iter().all(u8::is_ascii_digit) {
        return Err(cannot(v, "2006"));
    }
    let year = v[..4]
        .iter()
        .fold(0i32, |a, d| a * 10 + i32::from(d - b'0'));
    v = &v[4..];
    v = &v[skip(v, b'-')?..];
    // 01
    let (month, rest) = getnum(v, true).ok_or_else(|| cannot(v, "01"))?;
    if !(1..=12).contains(&month) {
        return Err(out_of_range("month"));
    }
    v = rest;
    v = &v[skip(v, b'-')?..];
    // 02 (validated against the month at the end)
    let (day, rest) = getnum(v, true).ok_or_else(|| cannot(v, "02"))?;
    v = rest;
    v = &v[skip(v, b'T')?..];
    // 15 (one digit allowed)
    let (hour, rest) = getnum(v, false).ok_or_else(|| cannot(v, "15"))?;
    if hour >= 24 {
        return Err(out_of_range("hour"));
    }
    v = rest;
    v = &v[skip(v, b':')?..];
    // 04
    let (minute, rest) = getnum(v, true).ok_or_else(|| cannot(v, "04"))?;
    if minute >= 60 {
        return Err(out_of_range("minute"));
    }
    v = rest;
    v = &v[skip(v, b':')?..];
    // 05
    let (second, rest) = getnum(v, true).ok_or_else(|| cannot(v, "05"))?;
    if second >= 60 {
        return Err(out_of_range("second"));
    }
    v = rest;
    // .999999999 (optional; any number of digits, beyond 9 ignored)
    let mut nanos = 0u32;
    if v.len() >= 2 && (v[0] == b'.' || v[0] == b',') && v[1].is_ascii_digit() {
        let digits = v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        for i in 0..9 {
            let d = if i < digits {
                u32::from(v[1 + i] - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + d;
        }
        v = &v[1 + digits..];
    }
    // Z07:00
    let offset_seconds: i64 = if v.first() == Some(&b'Z') {
        v = &v[1..];
        0
    } else {
        let hold = v;
        if v.len() < 6 || v[3] != b':' {
            return Err(cannot(hold, "Z07:00"));
        }
        let (sign, hh, mm) = (v[0], &v[1..3], &v[4..6]);
        v = &v[6..];
        let (hr, _) = getnum(hh, true).ok_or_else(|| cannot(hold, "Z07:00"))?;
        let (min, _) = getnum(mm, true).ok_or_else(|| cannot(hold, "Z07:00"))?;
        if min > 60 {
            return Err(out_of_range("time zone offset minute"));
        }
        if hr > 24 {
            return Err(out_of_range("time zone offset hour"));
        }
        let off = i64::from(hr * 60 + min) * 60;
        match sign {
            b'+' => off,
            b'-' => -off,
            _ => return Err(cannot(hold, "Z07:00")),
        }
    };
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            time_quote(full),
            time_quote(v)
        ));
    }
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| out_of_range("day"))?;
    let local = date
        .and_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| out_of_range("second"))?;
    Ok(local.and_utc() - TimeDelta::seconds(offset_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    const U1: &str = "0b8a6a2e-2f7c-4b8e-9a63-0d2b1f0a5c11";

    #[test]
    fn go_uuid_forms() {
        let u = Uuid::parse_str(U1).unwrap();
        assert_eq!(parse_go_uuid(U1), Ok(u));
        assert_eq!(parse_go_uuid(&U1.to_uppercase()), Ok(u));
        assert_eq!(parse_go_uuid(&format!("{{{U1}}}")), Ok(u));
        assert_eq!(parse_go_uuid(&format!("urn:uuid:{U1}")), Ok(u));
        assert_eq!(parse_go_uuid(&U1.replace('-', "")), Ok(u));
        assert_eq!(
            parse_go_uuid(&format!("urx:uuid:{U1}")),
            Err("invalid urn prefix: \"urx:uuid:\"".to_string())
        );
        assert_eq!(parse_go_uuid(""), Err("invalid UUID length: 0".to_string()));
        assert_eq!(
            parse_go_uuid(&"g".repeat(32)),
            Err("invalid UUID format".to_string())
        );
    }

    #[test]
    fn go_int_sizes() {
        assert_eq!(go_parse_int("2147483647", 32), Ok(2147483647));
        assert_eq!(go_parse_int("-2147483648", 32), Ok(-2147483648));
        assert_eq!(
            go_parse_int("2147483648", 32),
            Err("strconv.ParseInt: parsing \"2147483648\": value out of range".to_string())
        );
        assert_eq!(go_parse_int("9223372036854775807", 64), Ok(i64::MAX));
        assert_eq!(go_parse_int("-9223372036854775808", 64), Ok(i64::MIN));
        assert_eq!(
            go_parse_int("9223372036854775808", 64),
            Err(
                "strconv.ParseInt: parsing \"9223372036854775808\": value out of range".to_string()
            )
        );
        // Overflow is found before a later bad character, at either size.
        assert_eq!(
            go_parse_int("99999999999999999999x", 64),
            Err(
                "strconv.ParseInt: parsing \"99999999999999999999x\": value out of range"
                    .to_string()
            )
        );
        assert_eq!(
            go_parse_int("12x", 64),
            Err("strconv.ParseInt: parsing \"12x\": invalid syntax".to_string())
        );
        assert_eq!(
            go_parse_int("+", 64),
            Err("strconv.ParseInt: parsing \"+\": invalid syntax".to_string())
        );
    }
}
