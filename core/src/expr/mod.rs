//! The condition language over DM-tree values and event fields, used for
//! constraints (`./DevDetail/Ext/Battery/Level >= 30`), `becomes_true`
//! triggers, event filters and termination conditions.
//!
//! Literals (int, float, string, bool), node references by URI (`./A/B`),
//! event fields (`event.type`), comparisons `== != < <= > >=`, `&& || !`,
//! parentheses, `changed(uri)` and `exists(uri)`. Evaluation is typed: ints
//! and floats compare numerically, strings with strings, booleans only for
//! (in)equality; anything else is an error with a message. `&&` and `||`
//! short-circuit, so `exists(./X) && ./X > 3` never reads a missing `./X`.
//! The full reference is `docs/expressions.md`.

mod error;
mod eval;
mod lexer;
mod parser;
mod value;

use std::collections::HashMap;

pub use error::{EvalError, ExprError};
pub use value::Value;

use parser::{Node, Parser};

/// The deepest nesting any [`ExprLimits`] allows: the parser recurses a
/// few frames per level, and 1024 levels overflowed a 2 MB thread stack
/// in a debug build.
pub const HARD_MAX_DEPTH: usize = 128;

/// The most terms any [`ExprLimits`] allows: a chain of `||` or `&&` is a
/// tree as deep as it is long, and evaluating or dropping it recurses.
pub const HARD_MAX_NODES: usize = 1024;

/// Limits on an expression's size, applied while parsing (depth and terms
/// never beyond [`HARD_MAX_DEPTH`] and [`HARD_MAX_NODES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExprLimits {
    /// Longest source, in bytes (checked before lexing).
    pub max_len: usize,
    /// Deepest nesting of parentheses and unary operators.
    pub max_depth: usize,
    /// Most terms (literals, references, operators).
    pub max_nodes: usize,
}

impl Default for ExprLimits {
    fn default() -> Self {
        ExprLimits {
            max_len: 4096,
            max_depth: 32,
            max_nodes: 256,
        }
    }
}

/// Where an expression gets its values.
pub trait Env {
    /// Current value of a node; `Ok(None)` when the node does not exist.
    /// `Err` is a host failure (e.g. access denied), with a message.
    fn node(&self, uri: &str) -> Result<Option<Value>, String>;
    /// Whether this evaluation was caused by a change of `uri`.
    fn changed(&self, uri: &str) -> bool {
        let _ = uri;
        false
    }
    /// A field of the current event; `None` when absent or when there is no event.
    fn event_field(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    src: String,
    root: Node,
}

impl Expr {
    /// Parses `src` within `limits`.
    pub fn parse(src: &str, limits: &ExprLimits) -> Result<Expr, ExprError> {
        if src.len() > limits.max_len {
            return Err(ExprError::TooLong {
                len: src.len(),
                max: limits.max_len,
            });
        }
        let toks = lexer::lex(src)?;
        let root = Parser::new(&toks, src.len(), limits).parse()?;
        Ok(Expr {
            src: src.to_string(),
            root,
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Evaluates to a value.
    pub fn eval(&self, env: &dyn Env) -> Result<Value, EvalError> {
        eval::eval(&self.root, env)
    }

    /// For a condition that evaluated to false: the part that is false (the
    /// first false operand of `&&`, each operand of `||`) with the values
    /// it read, e.g. `./Battery/Level > 20 is false (./Battery/Level = 12)`.
    pub fn explain_false(&self, env: &dyn Env) -> String {
        eval::explain_false(&self.root, env)
    }

    /// Evaluates as a condition: the result must be a boolean.
    pub fn eval_bool(&self, env: &dyn Env) -> Result<bool, EvalError> {
        match self.eval(env)? {
            Value::Bool(b) => Ok(b),
            v => Err(EvalError::NotBool(format!("{} {v}", v.type_name()))),
        }
    }

    /// Every node URI the expression reads (references, `changed()`,
    /// `exists()`), deduplicated, in order of first appearance.
    pub fn uris(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &mut |n| {
            if let Node::Ref(u) | Node::Changed(u) | Node::Exists(u) = n
                && !out.contains(u)
            {
                out.push(u.clone());
            }
        });
        out
    }

    /// The event fields it reads (`event.<field>`), in order, deduplicated.
    pub fn event_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &mut |n| {
            if let Node::Event(f) = n
                && !out.contains(f)
            {
                out.push(f.clone());
            }
        });
        out
    }

    /// Parts that make the condition never (or always) true whatever the
    /// tree holds: a comparison of two constants, a boolean ordered with
    /// `<`, a number compared with a string that looks like a number.
    /// For `dmsched validate`'s warnings.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.root, &mut |n| {
            let Node::Cmp(op, l, r) = n else {
                return;
            };
            let text = eval::render(n);
            match (&**l, &**r) {
                (Node::Lit(a), Node::Lit(b)) => out.push(match eval::compare_values(*op, a, b) {
                    Ok(v) => format!("`{text}` compares two constants: always {v}"),
                    Err(e) => format!("`{text}` can never be true: {e}"),
                }),
                (Node::Lit(Value::Bool(_)), _) | (_, Node::Lit(Value::Bool(_)))
                    if !matches!(op, parser::CmpOp::Eq | parser::CmpOp::Ne) =>
                {
                    out.push(format!(
                        "`{text}` can never be true: a boolean cannot be ordered with {}",
                        op.symbol()
                    ))
                }
                (Node::Lit(Value::Str(s)), other) | (other, Node::Lit(Value::Str(s)))
                    if matches!(other, Node::Ref(_)) && s.trim().parse::<f64>().is_ok() =>
                {
                    out.push(format!(
                        "`{text}` compares with the string {s:?}: if the node holds a number this is never true (write {} without quotes)",
                        s.trim()
                    ))
                }
                _ => {}
            }
        });
        out
    }

    /// True if the expression reads any event field.
    pub fn uses_event(&self) -> bool {
        let mut any = false;
        walk(&self.root, &mut |n| any |= matches!(n, Node::Event(_)));
        any
    }
}

fn walk(n: &Node, f: &mut dyn FnMut(&Node)) {
    f(n);
    match n {
        Node::Not(x) | Node::Neg(x) => walk(x, f),
        Node::And(a, b) | Node::Or(a, b) | Node::Cmp(_, a, b) => {
            walk(a, f);
            walk(b, f);
        }
        _ => {}
    }
}

/// An [`Env`] over maps: tree values, changed URIs and event fields.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapEnv {
    /// Node values by URI.
    pub nodes: HashMap<String, Value>,
    /// URIs whose change caused this evaluation.
    pub changed: Vec<String>,
    /// The current event's fields, if any.
    pub event: Option<HashMap<String, Value>>,
}

impl Env for MapEnv {
    fn node(&self, uri: &str) -> Result<Option<Value>, String> {
        Ok(self.nodes.get(uri).cloned())
    }
    fn changed(&self, uri: &str) -> bool {
        self.changed.iter().any(|u| u == uri)
    }
    fn event_field(&self, name: &str) -> Option<Value> {
        self.event.as_ref()?.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> MapEnv {
        let mut e = MapEnv::default();
        e.nodes.insert("./Bat".into(), Value::Int(42));
        e.nodes.insert("./Temp".into(), Value::Float(21.5));
        e.nodes.insert("./Net".into(), Value::Str("wifi".into()));
        e.nodes.insert("./Roaming".into(), Value::Bool(false));
        e
    }

    fn run(src: &str) -> Result<Value, String> {
        let x = Expr::parse(src, &ExprLimits::default()).map_err(|e| e.to_string())?;
        x.eval(&env()).map_err(|e| e.to_string())
    }

    #[test]
    fn table_of_evaluations() {
        let t = |s: &str| run(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(t("./Bat >= 30"), Value::Bool(true));
        assert_eq!(t("./Bat > 41.5"), Value::Bool(true), "int vs float");
        assert_eq!(t("./Temp < 22"), Value::Bool(true));
        assert_eq!(
            t("./Net == 'wifi' && ./Roaming == false"),
            Value::Bool(true)
        );
        assert_eq!(t("!./Roaming"), Value::Bool(true));
        assert_eq!(
            t("true || false && false"),
            Value::Bool(true),
            "&& binds tighter"
        );
        assert_eq!(t("(true || false) && false"), Value::Bool(false));
        assert_eq!(t("-3 < -2"), Value::Bool(true));
        assert_eq!(t("'abc' < 'abd'"), Value::Bool(true));
        assert_eq!(t("exists(./Nope)"), Value::Bool(false));
        assert_eq!(
            t("exists(./Nope) && ./Nope > 3"),
            Value::Bool(false),
            "short-circuit"
        );
        assert_eq!(t("./Bat"), Value::Int(42));
        assert_eq!(t("2e3 == 2000"), Value::Bool(true));
    }

    #[test]
    fn type_errors_say_what_was_compared() {
        assert_eq!(
            run("./Net < 3").unwrap_err(),
            "cannot compare string \"wifi\" with int 3 using <"
        );
        assert!(run("true < false").unwrap_err().contains("using <"));
        assert!(
            run("./Bat && true")
                .unwrap_err()
                .contains("&& needs booleans")
        );
        assert_eq!(run("./Nope > 1").unwrap_err(), "node ./Nope does not exist");
        assert_eq!(
            run("event.type == 'x'").unwrap_err(),
            "event field event.type is not present"
        );
    }

    #[test]
    fn parse_errors_carry_offsets() {
        let e = |s: &str| {
            Expr::parse(s, &ExprLimits::default())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(e("'abc"), "at offset 0: unterminated string");
        assert_eq!(
            e("(./A > 1"),
            "at offset 8: expected ')' but found end of input"
        );
        assert!(e("./A < 1 < 2").starts_with("at offset 8: comparisons do not chain"));
        assert_eq!(e(""), "at offset 0: empty expression");
        assert!(e("./a//b").contains("empty segment"));
        assert!(e("./a/").contains("must not end with '/'"));
        assert!(e("1 2").contains("unexpected number 2"));
        assert!(e("battery > 3").contains("unknown name `battery`"));
    }

    #[test]
    fn limits_stop_bombs_before_the_stack() {
        let big = ExprLimits {
            max_len: 10 << 20,
            ..ExprLimits::default()
        };
        let parens = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(
            Expr::parse(&parens, &big).unwrap_err(),
            ExprError::TooDeep { max: 32 }
        );
        let nots = format!("{}true", "!".repeat(100_000));
        assert_eq!(
            Expr::parse(&nots, &big).unwrap_err(),
            ExprError::TooDeep { max: 32 }
        );
        let wide = vec!["true"; 1000].join(" && ");
        assert_eq!(
            Expr::parse(&wide, &big).unwrap_err(),
            ExprError::TooManyNodes { max: 256 }
        );
        let long = "1".repeat(5000);
        assert!(matches!(
            Expr::parse(&long, &ExprLimits::default()),
            Err(ExprError::TooLong { .. })
        ));
    }

    /// Issue 14 (bounded work): the loosest limits the engine uses (for a
    /// stored document, `Limits::unlimited`: any length, depth 1024), or
    /// none at all, answer a 1 MB expression of nested parentheses or
    /// negations with a clear error; depth 1024 overflowed the stack. The
    /// longest chain allowed parses, evaluates and drops.
    #[test]
    fn loosest_limits_still_stop_megabyte_bombs() {
        let loose = ExprLimits {
            max_len: usize::MAX,
            max_depth: 1024,
            max_nodes: usize::MAX,
        };
        let parens = format!("{}1{}", "(".repeat(500_000), ")".repeat(500_000));
        let negs = format!("{}1", "-".repeat(1 << 20));
        let flat = vec!["./A == 1"; 100_000].join(" || ");
        for (src, want) in [
            (&parens, ExprError::TooDeep { max: 128 }),
            (&negs, ExprError::TooDeep { max: 128 }),
            (&flat, ExprError::TooManyNodes { max: 1024 }),
        ] {
            assert_eq!(Expr::parse(src, &loose).unwrap_err(), want);
        }
        let longest = vec!["./Bat == 1"; 250].join(" || ");
        let x = Expr::parse(&longest, &loose).unwrap();
        assert!(!x.eval_bool(&env()).unwrap());
        drop(x);
        // Under the default limits a 1 MB expression is refused before lexing.
        assert_eq!(
            Expr::parse(&flat, &ExprLimits::default()).unwrap_err(),
            ExprError::TooLong {
                len: flat.len(),
                max: 4096
            }
        );
    }

    #[test]
    fn uris_and_event_use_are_listed() {
        let x = Expr::parse(
            "changed(./A) || ./B > 1 && exists(./A) || event.x == 1",
            &ExprLimits::default(),
        )
        .unwrap();
        assert_eq!(x.uris(), ["./A", "./B"]);
        assert!(x.uses_event());
        let y = Expr::parse("./C == 1", &ExprLimits::default()).unwrap();
        assert!(!y.uses_event());
    }

    #[test]
    fn changed_reflects_the_cause() {
        let x = Expr::parse("changed(./Bat)", &ExprLimits::default()).unwrap();
        let mut e = env();
        assert!(!x.eval_bool(&e).unwrap());
        e.changed.push("./Bat".into());
        assert!(x.eval_bool(&e).unwrap());
    }

    #[test]
    fn a_non_boolean_condition_is_an_error() {
        let x = Expr::parse("./Bat", &ExprLimits::default()).unwrap();
        assert_eq!(
            x.eval_bool(&env()).unwrap_err(),
            EvalError::NotBool("int 42".into())
        );
    }
}
