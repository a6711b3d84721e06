//! Condition expressions (`require`, `becomes_true`, `when`): parse with
//! the default limits, then evaluate against a fixed environment.
#![no_main]

use dmsched::expr::{Env, Expr, ExprLimits, Value};
use libfuzzer_sys::fuzz_target;

struct Fixed;

impl Env for Fixed {
    fn node(&self, uri: &str) -> Result<Option<Value>, String> {
        Ok(match uri.len() % 5 {
            0 => None,
            1 => Some(Value::Int(uri.len() as i64)),
            2 => Some(Value::Float(uri.len() as f64 / 3.0)),
            3 => Some(Value::Bool(true)),
            _ => Some(Value::Str(uri.to_string())),
        })
    }
    fn changed(&self, uri: &str) -> bool {
        uri.len() % 2 == 0
    }
    fn event_field(&self, name: &str) -> Option<Value> {
        (!name.is_empty()).then(|| Value::Str(name.to_string()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(e) = Expr::parse(src, &ExprLimits::default()) {
        let _ = e.eval(&Fixed);
        let _ = e.eval_bool(&Fixed);
        let _ = e.explain_false(&Fixed);
        let _ = e.uris();
        let _ = e.uses_event();
    }
});
