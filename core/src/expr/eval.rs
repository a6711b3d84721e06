//! Typed evaluation with short-circuit `&&` and `||`.

use std::cmp::Ordering;

use super::Env;
use super::error::EvalError;
use super::parser::{CmpOp, Node};
use super::value::Value;

pub(crate) fn eval(n: &Node, env: &dyn Env) -> Result<Value, EvalError> {
    Ok(match n {
        Node::Lit(v) => v.clone(),
        Node::Ref(uri) => match env.node(uri) {
            Ok(Some(v)) => v,
            Ok(None) => return Err(EvalError::MissingNode(uri.clone())),
            Err(message) => {
                return Err(EvalError::Host {
                    uri: uri.clone(),
                    message,
                });
            }
        },
        Node::Event(f) => env
            .event_field(f)
            .ok_or_else(|| EvalError::MissingEventField(format!("event.{f}")))?,
        Node::Changed(uri) => Value::Bool(env.changed(uri)),
        Node::Exists(uri) => match env.node(uri) {
            Ok(v) => Value::Bool(v.is_some()),
            Err(message) => {
                return Err(EvalError::Host {
                    uri: uri.clone(),
                    message,
                });
            }
        },
        Node::Not(x) => Value::Bool(!boolean(x, env, "!")?),
        Node::Neg(x) => match eval(x, env)? {
            Value::Int(i) => Value::Int(
                i.checked_neg()
                    .ok_or_else(|| EvalError::Type(format!("-{i} overflows")))?,
            ),
            Value::Float(f) => Value::Float(-f),
            v => {
                return Err(EvalError::Type(format!(
                    "cannot negate {} {}",
                    v.type_name(),
                    show(&v)
                )));
            }
        },
        Node::And(a, b) => Value::Bool(boolean(a, env, "&&")? && boolean(b, env, "&&")?),
        Node::Or(a, b) => Value::Bool(boolean(a, env, "||")? || boolean(b, env, "||")?),
        Node::Cmp(op, a, b) => {
            let (l, r) = (eval(a, env)?, eval(b, env)?);
            Value::Bool(compare(*op, &l, &r)?)
        }
    })
}

fn show(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        v => v.to_string(),
    }
}

fn boolean(n: &Node, env: &dyn Env, op: &str) -> Result<bool, EvalError> {
    match eval(n, env)? {
        Value::Bool(b) => Ok(b),
        v => Err(EvalError::Type(format!(
            "{op} needs booleans, found {} {}",
            v.type_name(),
            show(&v)
        ))),
    }
}

/// `l op r`, as a condition evaluates it.
pub(crate) fn compare_values(op: CmpOp, l: &Value, r: &Value) -> Result<bool, EvalError> {
    compare(op, l, r)
}

fn compare(op: CmpOp, l: &Value, r: &Value) -> Result<bool, EvalError> {
    let mismatch = || {
        EvalError::Type(format!(
            "cannot compare {} {} with {} {} using {}",
            l.type_name(),
            show(l),
            r.type_name(),
            show(r),
            op.symbol()
        ))
    };
    let ord: Option<Ordering> = match (l, r) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Int(a), Value::Float(b)) => (*a as f64).partial_cmp(b),
        (Value::Float(a), Value::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
        (Value::Str(a), Value::Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Value::Bool(a), Value::Bool(b)) => {
            return match op {
                CmpOp::Eq => Ok(a == b),
                CmpOp::Ne => Ok(a != b),
                _ => Err(mismatch()),
            };
        }
        _ => return Err(mismatch()),
    };
    // NaN compares false with everything but `!=`.
    let Some(o) = ord else {
        return Ok(op == CmpOp::Ne);
    };
    Ok(match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    })
}

/// Renders a node as expression text (literals as written, `&&`/`||`
/// parenthesised inside other operators).
pub(crate) fn render(n: &Node) -> String {
    match n {
        Node::Lit(v) => show(v),
        Node::Ref(uri) => uri.clone(),
        Node::Event(f) => format!("event.{f}"),
        Node::Changed(uri) => format!("changed({uri})"),
        Node::Exists(uri) => format!("exists({uri})"),
        Node::Not(x) => format!("!{}", grouped(x)),
        Node::Neg(x) => format!("-{}", grouped(x)),
        Node::And(a, b) => format!("{} && {}", grouped(a), grouped(b)),
        Node::Or(a, b) => format!("{} || {}", grouped(a), grouped(b)),
        Node::Cmp(op, a, b) => format!("{} {} {}", grouped(a), op.symbol(), grouped(b)),
    }
}

fn grouped(n: &Node) -> String {
    match n {
        Node::And(..) | Node::Or(..) | Node::Cmp(..) => format!("({})", render(n)),
        _ => render(n),
    }
}

/// Why a condition that evaluated to false is false: the failing part (the
/// first false operand of `&&`, both of `||`), with the values it read.
pub(crate) fn explain_false(n: &Node, env: &dyn Env) -> String {
    match n {
        Node::And(a, b) => match boolean(a, env, "&&") {
            Ok(false) => explain_false(a, env),
            _ => explain_false(b, env),
        },
        Node::Or(a, b) => format!("{} and {}", explain_false(a, env), explain_false(b, env)),
        _ => {
            let mut read = Vec::new();
            collect_reads(n, env, &mut read);
            if read.is_empty() {
                format!("{} is false", render(n))
            } else {
                format!("{} is false ({})", render(n), read.join(", "))
            }
        }
    }
}

fn collect_reads(n: &Node, env: &dyn Env, out: &mut Vec<String>) {
    match n {
        Node::Ref(uri) | Node::Exists(uri) => {
            let seen = format!("{uri} = ");
            if out.iter().any(|r| r.starts_with(&seen)) {
                return;
            }
            out.push(match env.node(uri) {
                Ok(Some(v)) => format!("{uri} = {}", show(&v)),
                Ok(None) => format!("{uri} does not exist"),
                Err(e) => format!("{uri} unreadable: {e}"),
            });
        }
        Node::Event(f) => out.push(match env.event_field(f) {
            Some(v) => format!("event.{f} = {}", show(&v)),
            None => format!("event.{f} absent"),
        }),
        Node::Not(x) | Node::Neg(x) => collect_reads(x, env, out),
        Node::And(a, b) | Node::Or(a, b) | Node::Cmp(_, a, b) => {
            collect_reads(a, env, out);
            collect_reads(b, env, out);
        }
        Node::Lit(_) | Node::Changed(_) => {}
    }
}
