//! The checks a single node's value must pass when it is Added or
//! Replaced, before the whole schedule is assembled: Format and Type (415),
//! size (413), value (400), unsupported features (406).

use jiff::Timestamp;
use jiff::civil::DateTime;

use super::cmds;
use super::nodes::{Leaf, Node, status};
use crate::expr::{Expr, ExprLimits};
use crate::model::{Constraints, Limits, Policy, Termination, is_valid_id, is_valid_uri};
use crate::tree::{Payload, TreeError, parse_int};
use crate::when;

/// What the node checks need to know.
pub(crate) struct CheckCx<'a> {
    pub limits: &'a Limits,
    /// The MO can ask the user before an install (UI/Mode 2).
    pub has_prompt: bool,
}

impl CheckCx<'_> {
    pub fn expr_limits(&self) -> ExprLimits {
        ExprLimits {
            max_len: self.limits.max_expr_len,
            max_depth: self.limits.max_expr_depth,
            ..ExprLimits::default()
        }
    }
}

fn mime_base(m: &str) -> String {
    m.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Checks an interior node's payload (Format `node`).
pub(crate) fn check_interior(path: &str, p: &Payload) -> Result<(), TreeError> {
    if !p.is_interior() {
        return Err(status(
            415,
            format!("{path} is an interior node: Add it with Meta Format node"),
        ));
    }
    Ok(())
}

/// Checks the payload of leaf `leaf` at `path` and returns the node to
/// store: Format (415), Type (415), size (413), value (400, 406).
pub(crate) fn check_leaf(
    leaf: Leaf,
    path: &str,
    p: &Payload,
    cx: &CheckCx<'_>,
) -> Result<Node, TreeError> {
    let want = leaf.format();
    match p.format {
        None => {}
        Some(f) if f == want => {}
        Some(f) => {
            return Err(status(
                415,
                format!("{path} has Format {}, not {}", want.as_str(), f.as_str()),
            ));
        }
    }
    let mime = match p.mime.as_deref().map(mime_base) {
        None => leaf.mimes()[0].to_string(),
        Some(m) if leaf.mimes().contains(&m.as_str()) => m,
        Some(m) => {
            return Err(status(
                415,
                format!(
                    "{path} does not take Type {m:?} (accepted: {})",
                    leaf.mimes().join(", ")
                ),
            ));
        }
    };
    let max = match leaf {
        Leaf::Cmds => cx.limits.max_document_bytes,
        Leaf::Condition | Leaf::EventFilter | Leaf::RearmWhen => cx.limits.max_expr_len,
        _ => cx.limits.max_data_bytes,
    };
    if p.data.len() > max {
        return Err(status(
            413,
            format!("{path} is {} bytes, more than {max}", p.data.len()),
        ));
    }
    let text = std::str::from_utf8(&p.data)
        .map_err(|_| status(400, format!("{path} is not UTF-8 text")))?;
    check_value(leaf, path, text, cx)?;
    Ok(Node::Leaf {
        format: want,
        mime: Some(mime),
        data: p.data.clone(),
    })
}

fn bad(path: &str, why: impl std::fmt::Display) -> TreeError {
    status(400, format!("{path}: {why}"))
}

fn check_value(leaf: Leaf, path: &str, text: &str, cx: &CheckCx<'_>) -> Result<(), TreeError> {
    let t = text.trim();
    match leaf {
        Leaf::Name | Leaf::Description | Leaf::UiText | Leaf::TvValue => Ok(()),
        Leaf::Tz | Leaf::TimeTz => zone_ok(t).map_err(|e| bad(path, e)),
        Leaf::ValidFrom | Leaf::ValidTo => parse_instant(t).map(|_| ()).map_err(|e| bad(path, e)),
        Leaf::Base => parse_base(t).map(|_| ()).map_err(|e| bad(path, e)),
        Leaf::RRule => when::RRule::parse(t)
            .map(|_| ())
            .map_err(|e| bad(path, format!("RRULE {t:?}: {e}"))),
        Leaf::UiMode => match int(path, t)? {
            0 | 1 | 3 => Ok(()),
            2 if cx.has_prompt => Ok(()),
            2 => Err(status(
                406,
                format!("{path}: this device has no user prompt to confirm an install (UI/Mode 2)"),
            )),
            v => Err(bad(
                path,
                format!(
                    "UI/Mode {v} is not 0 (silent), 1 (inform), 2 (confirm install) or 3 (confirm each run)"
                ),
            )),
        },
        Leaf::Gating => match int(path, t)? {
            0..=31 => Ok(()),
            v => Err(bad(path, format!("Gating {v} is not a 5-bit mask (0–31)"))),
        },
        Leaf::Delivery => match t {
            "next_session" | "immediate" => Ok(()),
            _ => Err(bad(
                path,
                format!("Delivery {t:?} is not next_session or immediate"),
            )),
        },
        Leaf::TvInterval => match int(path, t)? {
            v if v >= 0 => Ok(()),
            v => Err(bad(path, format!("Interval {v} is negative"))),
        },
        Leaf::DependsOn => {
            if is_valid_id(t) {
                Ok(())
            } else {
                Err(bad(path, format!("DependsOn {t:?} is not a task name")))
            }
        }
        Leaf::DependsOnOutcome => {
            for o in t.split(',') {
                if !matches!(
                    o.trim(),
                    "ran" | "failed" | "missed" | "skipped" | "interrupted"
                ) {
                    return Err(bad(
                        path,
                        format!("{o:?} is not ran, failed, missed, skipped or interrupted"),
                    ));
                }
            }
            Ok(())
        }
        Leaf::ForSeconds => match int(path, t)? {
            v if v >= 0 => Ok(()),
            v => Err(bad(path, format!("ForSeconds {v} is negative"))),
        },
        Leaf::Cmds => cmds::decode(text.as_bytes(), cx.limits)
            .map(|_| ())
            .map_err(|e| {
                let code = e.status();
                status(code, format!("{path}: {e}"))
            }),
        Leaf::Constraints => json::<Constraints>(path, t),
        Leaf::Policy => json::<Policy>(path, t),
        Leaf::Termination => json::<Termination>(path, t),
        Leaf::Personalize => {
            let p: crate::model::Personalize = crate::model::validate::decode(t).map_err(|e| {
                bad(
                    path,
                    format!(
                        "not a valid JSON object {{\"params\": [...]}} of the schedule format: {e}"
                    ),
                )
            })?;
            if p.choices.is_empty() {
                Ok(())
            } else {
                Err(bad(
                    path,
                    "the choices are the user's, made on the device: a server declares only `params`",
                ))
            }
        }
        Leaf::EventId => {
            if t.is_empty() {
                Err(bad(path, "the event name is empty"))
            } else {
                Ok(())
            }
        }
        Leaf::EventFilter | Leaf::Condition | Leaf::RearmWhen => Expr::parse(t, &cx.expr_limits())
            .map(|_| ())
            .map_err(|e| bad(path, format!("condition {t:?}: {e}"))),
        Leaf::TvUri => {
            if is_valid_uri(t) && t != "." {
                Ok(())
            } else {
                Err(bad(path, format!("{t:?} is not a node URI ./…")))
            }
        }
        Leaf::TvOp => tree_value_op(t)
            .map(|_| ())
            .map_err(|(code, why)| status(code, format!("{path}: {why}"))),
    }
}

fn int(path: &str, t: &str) -> Result<i32, TreeError> {
    parse_int(t).map_err(|_| bad(path, format!("{t:?} is not an int")))
}

fn json<T: serde::de::DeserializeOwned>(path: &str, t: &str) -> Result<(), TreeError> {
    crate::model::validate::decode::<T>(t)
        .map(|_| ())
        .map_err(|e| {
            bad(
                path,
                format!("not a valid JSON object of the schedule format: {e}"),
            )
        })
}

fn zone_ok(t: &str) -> Result<(), String> {
    if t == "local" {
        return Ok(());
    }
    when::zone(t).map(|_| ()).map_err(|e| e.to_string())
}

/// The comparison operator of a TreeValue `Op`; `(406, …)` for `changed`.
pub(crate) fn tree_value_op(op: &str) -> Result<&'static str, (u16, String)> {
    Ok(match op.trim().to_ascii_lowercase().as_str() {
        "eq" => "==",
        "ne" => "!=",
        "lt" => "<",
        "le" => "<=",
        "gt" => ">",
        "ge" => ">=",
        "changed" => "changed",
        other => {
            return Err((
                400,
                format!("TreeValue Op {other:?} is not one of eq ne lt le gt ge changed"),
            ));
        }
    })
}

/// `20261201T123000Z` → `2026-12-01T12:30:00Z` (ISO 8601 basic to extended).
fn extended(t: &str) -> std::borrow::Cow<'_, str> {
    let b = t.as_bytes();
    let basic = (b.len() == 15 || b.len() == 16)
        && b[8] == b'T'
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[9..15].iter().all(u8::is_ascii_digit)
        && (b.len() == 15 || b[15] == b'Z');
    if !basic {
        return std::borrow::Cow::Borrowed(t);
    }
    std::borrow::Cow::Owned(format!(
        "{}-{}-{}T{}:{}:{}{}",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[9..11],
        &t[11..13],
        &t[13..15],
        &t[15..]
    ))
}

/// An instant: ISO 8601 with `Z` or an offset (`Valid/From`, `Valid/To`).
pub(crate) fn parse_instant(t: &str) -> Result<Timestamp, String> {
    extended(t.trim()).parse::<Timestamp>().map_err(|_| {
        format!("{t:?} is not an ISO 8601 instant with Z or an offset, e.g. 2026-12-01T12:00:00Z")
    })
}

/// A time trigger's `Base`: an instant, or a local date-time (read in `TZ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    Instant(Timestamp),
    Local(DateTime),
}

pub(crate) fn parse_base(t: &str) -> Result<Base, String> {
    let e = extended(t.trim());
    if let Ok(ts) = e.parse::<Timestamp>() {
        return Ok(Base::Instant(ts));
    }
    e.parse::<DateTime>().map(Base::Local).map_err(|_| {
        format!(
            "{t:?} is not an ISO 8601 date-time (2026-12-01T12:00:00Z, or local 2026-12-01T12:00:00)"
        )
    })
}

/// Node names that become ids (`<S>`, `<T>`, `<G>`) must be valid ids.
pub(crate) fn check_name(what: &str, name: &str) -> Result<(), TreeError> {
    if is_valid_id(name) {
        Ok(())
    } else {
        Err(status(
            400,
            format!("{what} name {name:?} must be 1–64 of [A-Za-z0-9_.-]"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::Format;

    fn cx(limits: &Limits) -> CheckCx<'_> {
        CheckCx {
            limits,
            has_prompt: false,
        }
    }

    #[test]
    fn leaf_checks_answer_their_own_status() {
        let l = Limits::default();
        let c = cx(&l);
        let code = |leaf, data: &str, p: Payload| {
            let p = Payload {
                data: data.as_bytes().to_vec(),
                ..p
            };
            check_leaf(leaf, "X", &p, &c).err().map(|e| e.status())
        };
        let plain = Payload::default();
        assert_eq!(
            code(Leaf::RRule, "FREQ=DAILY;BYHOUR=25", plain.clone()),
            Some(400)
        );
        assert_eq!(
            code(Leaf::RRule, "FREQ=DAILY;BYHOUR=3", plain.clone()),
            None
        );
        assert_eq!(code(Leaf::UiMode, "x", plain.clone()), Some(400));
        assert_eq!(code(Leaf::UiMode, "2", plain.clone()), Some(406));
        assert_eq!(code(Leaf::UiMode, "3", plain.clone()), None);
        assert_eq!(code(Leaf::Gating, "32", plain.clone()), Some(400));
        assert_eq!(code(Leaf::Delivery, "later", plain.clone()), Some(400));
        assert_eq!(code(Leaf::Delivery, "immediate", plain.clone()), None);
        // Issue 18: a value-change trigger (406 before).
        assert_eq!(code(Leaf::TvOp, "changed", plain.clone()), None);
        assert_eq!(code(Leaf::TvOp, "approx", plain.clone()), Some(400));
        assert_eq!(
            code(Leaf::UiMode, "1", Payload::leaf(Format::Chr, "")),
            Some(415)
        );
        assert_eq!(
            code(Leaf::Name, "n", Payload::default().with_mime("image/png")),
            Some(415)
        );
        assert_eq!(
            code(Leaf::Policy, "{\"bogus\": 1}", plain.clone()),
            Some(400)
        );
        assert_eq!(
            code(Leaf::Policy, "{\"confirm\": true}", plain.clone()),
            None
        );
        assert_eq!(
            code(Leaf::ValidFrom, "2026-12-01T00:00:00", plain.clone()),
            Some(400)
        );
        assert_eq!(
            code(Leaf::ValidFrom, "20261201T000000Z", plain.clone()),
            None
        );
        assert_eq!(code(Leaf::TimeTz, "Nowhere/City", plain.clone()), Some(400));
        let big = "x".repeat(l.max_data_bytes + 1);
        assert_eq!(code(Leaf::Name, &big, plain), Some(413));
    }

    #[test]
    fn base_is_an_instant_or_a_local_time() {
        assert!(matches!(
            parse_base("2026-12-01T12:30:00Z"),
            Ok(Base::Instant(_))
        ));
        assert!(matches!(parse_base("20261201T123000"), Ok(Base::Local(_))));
        assert!(parse_base("tomorrow").is_err());
    }
}
