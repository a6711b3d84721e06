//! Tokens of the condition language, each with its byte offset.

use super::error::ExprError;

/// A token.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// `./A/B`
    Uri(String),
    /// `event.<field>`
    Event(String),
    /// `changed`, `exists`
    Func(String),
    LParen,
    RParen,
    Not,
    Minus,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Tok {
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(x) => format!("number {x}"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Bool(b) => format!("{b}"),
            Tok::Uri(u) => format!("node {u}"),
            Tok::Event(f) => format!("event.{f}"),
            Tok::Func(f) => f.clone(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Not => "'!'".into(),
            Tok::Minus => "'-'".into(),
            Tok::And => "'&&'".into(),
            Tok::Or => "'||'".into(),
            Tok::Eq => "'=='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
        }
    }
}

fn is_uri_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'~' | b'%' | b'+' | b':' | b'-' | b'/')
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Splits `src` into tokens.
pub(crate) fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let err = |at: usize, msg: String| ExprError::Syntax {
        offset: at,
        message: msg,
    };
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = |x: u8| b.get(i + 1) == Some(&x);
        let tok = match c {
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b'&' if two(b'&') => {
                i += 2;
                Tok::And
            }
            b'|' if two(b'|') => {
                i += 2;
                Tok::Or
            }
            b'=' if two(b'=') => {
                i += 2;
                Tok::Eq
            }
            b'!' if two(b'=') => {
                i += 2;
                Tok::Ne
            }
            b'!' => {
                i += 1;
                Tok::Not
            }
            b'<' if two(b'=') => {
                i += 2;
                Tok::Le
            }
            b'<' => {
                i += 1;
                Tok::Lt
            }
            b'>' if two(b'=') => {
                i += 2;
                Tok::Ge
            }
            b'>' => {
                i += 1;
                Tok::Gt
            }
            b'-' => {
                i += 1;
                Tok::Minus
            }
            b'"' | b'\'' => {
                let (s, next) = string(src, i)?;
                i = next;
                Tok::Str(s)
            }
            b'.' if two(b'/') => {
                i += 2;
                while i < b.len() && is_uri_char(b[i]) {
                    i += 1;
                }
                let uri = &src[start..i];
                check_uri(uri).map_err(|m| err(start, m))?;
                Tok::Uri(uri.to_string())
            }
            b'0'..=b'9' => {
                let (t, next) = number(src, i)?;
                i = next;
                t
            }
            c if is_ident_start(c) => {
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                let word = &src[start..i];
                match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "changed" | "exists" => Tok::Func(word.to_string()),
                    "event" => {
                        if b.get(i) != Some(&b'.')
                            || !b.get(i + 1).is_some_and(|c| is_ident_start(*c))
                        {
                            return Err(err(start, "expected a field name after `event.`".into()));
                        }
                        i += 1;
                        let fs = i;
                        while i < b.len() && is_ident(b[i]) {
                            i += 1;
                        }
                        Tok::Event(src[fs..i].to_string())
                    }
                    _ => {
                        let hint = match word.to_ascii_lowercase().as_str() {
                            "and" => " (write `&&` for and)".to_string(),
                            "or" => " (write `||` for or)".to_string(),
                            "not" => " (write `!` for not)".to_string(),
                            _ => match crate::model::diagnose::did_you_mean(
                                word,
                                ["true", "false", "changed", "exists", "event"],
                            ) {
                                Some(w) => format!(" (did you mean `{w}`?)"),
                                None => String::new(),
                            },
                        };
                        return Err(err(
                            start,
                            format!(
                                "unknown name `{word}`{hint}: node references start with `./`, event fields with `event.`"
                            ),
                        ));
                    }
                }
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                let hint = match ch {
                    '=' => " (compare with `==`)",
                    '&' => " (write `&&` for and)",
                    '|' => " (write `||` for or)",
                    '/' => " (node references start with `./`)",
                    _ => "",
                };
                return Err(err(start, format!("unexpected character {ch:?}{hint}")));
            }
        };
        out.push((start, tok));
    }
    Ok(out)
}

fn check_uri(uri: &str) -> Result<(), String> {
    let rest = &uri[2..];
    if rest.is_empty() {
        return Err("a node reference needs at least one segment after `./`".into());
    }
    if rest.ends_with('/') {
        return Err(format!("node reference {uri} must not end with '/'"));
    }
    for seg in rest.split('/') {
        if seg.is_empty() {
            return Err(format!("node reference {uri} has an empty segment"));
        }
        if seg == "." || seg == ".." {
            return Err(format!(
                "node reference {uri} may not contain `.` or `..` segments"
            ));
        }
    }
    Ok(())
}

fn string(src: &str, start: usize) -> Result<(String, usize), ExprError> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((out, start + 1 + off + 1)),
            '\\' => match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, c @ ('\\' | '\'' | '"'))) => out.push(c),
                Some((o, c)) => {
                    return Err(ExprError::Syntax {
                        offset: start + 1 + o,
                        message: format!("unknown escape \\{c}"),
                    });
                }
                None => break,
            },
            c => out.push(c),
        }
    }
    Err(ExprError::Syntax {
        offset: start,
        message: "unterminated string".into(),
    })
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), ExprError> {
    let b = src.as_bytes();
    let mut i = start;
    let mut float = false;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        float = true;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            float = true;
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if i < b.len() && (is_ident(b[i]) || b[i] == b'.') {
        return Err(ExprError::Syntax {
            offset: start,
            message: format!(
                "malformed number starting {:?}",
                &src[start..(i + 1).min(src.len())]
            ),
        });
    }
    let text = &src[start..i];
    let tok = if float {
        Tok::Float(text.parse().map_err(|_| ExprError::Syntax {
            offset: start,
            message: format!("malformed number {text}"),
        })?)
    } else {
        Tok::Int(text.parse().map_err(|_| ExprError::Syntax {
            offset: start,
            message: format!("integer {text} does not fit in 64 bits"),
        })?)
    };
    Ok((tok, i))
}
