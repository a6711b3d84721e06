//! Node formats (OMA DM TND 1.2 §7.3 "Format") and the checks a value must
//! pass to be stored under one.

use std::fmt;

use base64::Engine as _;

use super::error::{TreeError, bad};

/// The Format property of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Base64-encoded binary data (stored as the text received).
    B64,
    /// Raw binary data.
    Bin,
    /// `true` or `false`.
    Bool,
    /// Text.
    Chr,
    /// A signed 32-bit integer.
    Int,
    /// An interior node.
    Node,
    /// No value.
    Null,
    /// XML text.
    Xml,
    /// An ISO 8601 date: `YYYY-MM-DD` or `YYYYMMDD`.
    Date,
    /// An ISO 8601 time: `hh:mm:ss` or `hhmmss`, optional fraction, optional
    /// `Z` or `±hh:mm`.
    Time,
    /// A finite decimal floating-point number, e.g. `-1.5E3`.
    Float,
}

impl Format {
    /// The name used in Meta Format and `?prop=Format`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::B64 => "b64",
            Format::Bin => "bin",
            Format::Bool => "bool",
            Format::Chr => "chr",
            Format::Int => "int",
            Format::Node => "node",
            Format::Null => "null",
            Format::Xml => "xml",
            Format::Date => "date",
            Format::Time => "time",
            Format::Float => "float",
        }
    }

    /// Parses a format name (ASCII case-insensitive); unknown → 415.
    pub fn parse(s: &str) -> Result<Format, TreeError> {
        const ALL: [Format; 11] = [
            Format::B64,
            Format::Bin,
            Format::Bool,
            Format::Chr,
            Format::Int,
            Format::Node,
            Format::Null,
            Format::Xml,
            Format::Date,
            Format::Time,
            Format::Float,
        ];
        ALL.into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| TreeError::UnsupportedFormat(format!("unknown format {s:?}")))
    }

    /// Checks `data` against the format and returns the bytes to store
    /// (`bool` is normalised to lower case). Bad data → 400.
    pub fn validate(self, data: &[u8]) -> Result<Vec<u8>, TreeError> {
        let fmt = self.as_str();
        let text =
            || std::str::from_utf8(data).map_err(|_| bad(format!("{fmt} value is not UTF-8 text")));
        match self {
            Format::Bin => {}
            Format::Chr | Format::Xml => {
                text()?;
            }
            Format::Node | Format::Null => {
                if !data.is_empty() {
                    return Err(bad(format!("a {fmt} node has no value")));
                }
            }
            Format::Bool => {
                let t = text()?.trim();
                return if t.eq_ignore_ascii_case("true") {
                    Ok(b"true".to_vec())
                } else if t.eq_ignore_ascii_case("false") {
                    Ok(b"false".to_vec())
                } else {
                    Err(bad("bool value must be true or false"))
                };
            }
            Format::Int => {
                parse_int(text()?)?;
            }
            Format::Float => {
                parse_float(text()?)?;
            }
            Format::B64 => {
                let compact: Vec<u8> = data
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                base64::engine::general_purpose::STANDARD
                    .decode(&compact)
                    .map_err(|_| bad("b64 value is not valid base64"))?;
            }
            Format::Date => validate_date(text()?)?,
            Format::Time => validate_time(text()?)?,
        }
        Ok(data.to_vec())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses an `int` value: optional sign and decimal digits, within i32.
pub fn parse_int(s: &str) -> Result<i32, TreeError> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "int value must be decimal digits with an optional sign",
        ));
    }
    t.parse::<i32>()
        .map_err(|_| bad("int value is out of the 32-bit range"))
}

/// Parses a `float` value: `[sign] digits [. digits] [E [sign] digits]`
/// (or `.digits`), finite.
pub fn parse_float(s: &str) -> Result<f64, TreeError> {
    let t = s.trim();
    let ok_chars = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && t.bytes().any(|b| b.is_ascii_digit());
    match t.parse::<f64>() {
        Ok(x) if ok_chars && x.is_finite() => Ok(x),
        _ => Err(bad("float value is not a finite decimal number")),
    }
}

fn num(s: &str) -> Option<i32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn validate_date(s: &str) -> Result<(), TreeError> {
    let err = || bad("date value must be YYYY-MM-DD or YYYYMMDD");
    let (y, m, d) = match s.len() {
        10 if s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' => {
            (s.get(0..4), s.get(5..7), s.get(8..10))
        }
        8 => (s.get(0..4), s.get(4..6), s.get(6..8)),
        _ => return Err(err()),
    };
    let (y, m, d) = (
        y.and_then(num).ok_or_else(err)?,
        m.and_then(num).ok_or_else(err)?,
        d.and_then(num).ok_or_else(err)?,
    );
    let (y, m, d) = (
        i16::try_from(y).map_err(|_| err())?,
        i8::try_from(m).map_err(|_| err())?,
        i8::try_from(d).map_err(|_| err())?,
    );
    jiff::civil::Date::new(y, m, d).map_err(|_| bad("date value is not a calendar date"))?;
    Ok(())
}

fn validate_time(s: &str) -> Result<(), TreeError> {
    let err =
        || bad("time value must be hh:mm:ss or hhmmss, optionally with a fraction and Z or ±hh:mm");
    // Split off the zone designator.
    let (clock, zone) = if let Some(c) = s.strip_suffix('Z') {
        (c, None)
    } else if let Some(i) = s.rfind(['+', '-']) {
        (&s[..i], Some(&s[i + 1..]))
    } else {
        (s, None)
    };
    if let Some(z) = zone {
        let (h, m) = match z.len() {
            5 if z.as_bytes()[2] == b':' => (z.get(0..2), z.get(3..5)),
            4 => (z.get(0..2), z.get(2..4)),
            2 => (z.get(0..2), Some("00")),
            _ => return Err(err()),
        };
        let (h, m) = (
            h.and_then(num).ok_or_else(err)?,
            m.and_then(num).ok_or_else(err)?,
        );
        if h > 23 || m > 59 {
            return Err(err());
        }
    }
    let (main, frac) = match clock.split_once(['.', ',']) {
        Some((a, f)) => (a, Some(f)),
        None => (clock, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(err());
    }
    let (h, m, sec) = match main.len() {
        8 if main.as_bytes()[2] == b':' && main.as_bytes()[5] == b':' => {
            (main.get(0..2), main.get(3..5), main.get(6..8))
        }
        6 => (main.get(0..2), main.get(2..4), main.get(4..6)),
        _ => return Err(err()),
    };
    let (h, m, sec) = (
        h.and_then(num).ok_or_else(err)?,
        m.and_then(num).ok_or_else(err)?,
        sec.and_then(num).ok_or_else(err)?,
    );
    let to_i8 = |v: i32| i8::try_from(v).map_err(|_| err());
    jiff::civil::Time::new(to_i8(h)?, to_i8(m)?, to_i8(sec)?, 0).map_err(|_| err())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_is_32_bit() {
        assert!(Format::Int.validate(b"2147483647").is_ok());
        assert!(Format::Int.validate(b"-2147483648").is_ok());
        assert_eq!(
            Format::Int.validate(b"2147483648").unwrap_err().status(),
            400
        );
        assert!(Format::Int.validate(b"12a").is_err());
        assert!(Format::Int.validate(b"").is_err());
    }

    #[test]
    fn bool_is_normalised() {
        assert_eq!(Format::Bool.validate(b"TRUE").unwrap(), b"true");
        assert!(Format::Bool.validate(b"yes").is_err());
    }

    #[test]
    fn date_time_float_b64() {
        assert!(Format::Date.validate(b"2024-02-29").is_ok());
        assert!(Format::Date.validate(b"20240229").is_ok());
        assert!(Format::Date.validate(b"2023-02-29").is_err());
        assert!(Format::Time.validate(b"23:59:59").is_ok());
        assert!(Format::Time.validate(b"235959Z").is_ok());
        assert!(Format::Time.validate(b"12:00:00.250+02:00").is_ok());
        assert!(Format::Time.validate(b"24:00:01").is_err());
        assert!(Format::Float.validate(b"-1.5E3").is_ok());
        assert!(Format::Float.validate(b"inf").is_err());
        assert!(Format::Float.validate(b"NaN").is_err());
        assert!(Format::B64.validate(b"aGVsbG8=").is_ok());
        assert!(Format::B64.validate(b"***").is_err());
        assert!(Format::Null.validate(b"x").is_err());
    }

    #[test]
    fn unknown_format_is_415() {
        assert_eq!(Format::parse("json").unwrap_err().status(), 415);
        assert_eq!(Format::parse("INT").unwrap(), Format::Int);
    }
}
