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
