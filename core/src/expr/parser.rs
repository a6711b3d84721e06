//! Recursive descent over the tokens, with the depth and size limits
//! enforced while parsing (so no input can overflow the stack).
//!
//! ```text
//! expr    = and { "||" and }
//! and     = cmp { "&&" cmp }
//! cmp     = unary [ ("==" | "!=" | "<" | "<=" | ">" | ">=") unary ]
//! unary   = "!" unary | "-" unary | primary
//! primary = literal | uri | "event." ident | ("changed" | "exists") "(" uri ")" | "(" expr ")"
//! ```

use super::error::ExprError;
use super::lexer::Tok;
use super::value::Value;
use super::{ExprLimits, HARD_MAX_DEPTH, HARD_MAX_NODES};

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// The syntax tree.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    Lit(Value),
    Ref(String),
    Event(String),
    Changed(String),
    Exists(String),
    Not(Box<Node>),
    Neg(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
}

pub(crate) struct Parser<'a> {
    toks: &'a [(usize, Tok)],
    pos: usize,
    end: usize,
    depth: usize,
    nodes: usize,
    limits: ExprLimits,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(toks: &'a [(usize, Tok)], src_len: usize, limits: &ExprLimits) -> Self {
        Parser {
            toks,
            pos: 0,
            end: src_len,
            depth: 0,
            nodes: 0,
            // Parsing, evaluating and dropping recurse over the tree: no
            // setting may take them deeper than the hard caps.
            limits: ExprLimits {
                max_depth: limits.max_depth.min(HARD_MAX_DEPTH),
                max_nodes: limits.max_nodes.min(HARD_MAX_NODES),
                ..*limits
            },
        }
    }

    pub(crate) fn parse(mut self) -> Result<Node, ExprError> {
        if self.toks.is_empty() {
            return Err(ExprError::Syntax {
                offset: 0,
                message: "empty expression".into(),
            });
        }
        let n = self.or()?;
        if let Some((at, t)) = self.toks.get(self.pos) {
            return Err(ExprError::Syntax {
                offset: *at,
                message: format!("unexpected {} after a complete expression", t.describe()),
            });
        }
        Ok(n)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    fn found(&self) -> String {
        self.peek().map_or("end of input".into(), Tok::describe)
    }

    fn node(&mut self, n: Node) -> Result<Node, ExprError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(ExprError::TooManyNodes {
                max: self.limits.max_nodes,
            });
        }
        Ok(n)
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(ExprError::TooDeep {
                max: self.limits.max_depth,
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let mut l = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let r = self.and()?;
            l = self.node(Node::Or(Box::new(l), Box::new(r)))?;
        }
        self.depth -= 1;
        Ok(l)
    }

    fn and(&mut self) -> Result<Node, ExprError> {
        let mut l = self.cmp()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let r = self.cmp()?;
            l = self.node(Node::And(Box::new(l), Box::new(r)))?;
        }
        Ok(l)
    }

    fn cmp_op(&self) -> Option<CmpOp> {
        Some(match self.peek()? {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            _ => return None,
        })
    }

    fn cmp(&mut self) -> Result<Node, ExprError> {
        let l = self.unary()?;
        let Some(op) = self.cmp_op() else {
            return Ok(l);
        };
        self.pos += 1;
        let r = self.unary()?;
        if let Some(op2) = self.cmp_op() {
            return Err(ExprError::Syntax {
                offset: self.offset(),
                message: format!(
                    "comparisons do not chain: use parentheses or && instead of `{} … {}`",
                    op.symbol(),
                    op2.symbol()
                ),
            });
        }
        self.node(Node::Cmp(op, Box::new(l), Box::new(r)))
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                self.enter()?;
                let n = self.unary()?;
                self.depth -= 1;
                self.node(Node::Not(Box::new(n)))
            }
            Some(Tok::Minus) => {
                self.pos += 1;
                self.enter()?;
                let n = self.unary()?;
                self.depth -= 1;
                // Fold literal negation so that i64::MIN-adjacent values stay exact.
                match n {
                    Node::Lit(Value::Int(i)) => self.node(Node::Lit(Value::Int(-i))),
                    Node::Lit(Value::Float(x)) => self.node(Node::Lit(Value::Float(-x))),
                    n => self.node(Node::Neg(Box::new(n))),
                }
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let at = self.offset();
        let Some((_, tok)) = self.toks.get(self.pos).cloned() else {
            return Err(ExprError::Syntax {
                offset: at,
                message: "expected a value but found end of input".into(),
            });
        };
        self.pos += 1;
        match tok {
            Tok::Int(i) => self.node(Node::Lit(Value::Int(i))),
            Tok::Float(x) => self.node(Node::Lit(Value::Float(x))),
            Tok::Str(s) => self.node(Node::Lit(Value::Str(s))),
            Tok::Bool(b) => self.node(Node::Lit(Value::Bool(b))),
            Tok::Uri(u) => self.node(Node::Ref(u)),
            Tok::Event(f) => self.node(Node::Event(f)),
            Tok::Func(name) => {
                self.expect(Tok::LParen, &format!("'(' after {name}"))?;
                let uri = match self.toks.get(self.pos) {
                    Some((_, Tok::Uri(u))) => u.clone(),
                    _ => {
                        return Err(ExprError::Syntax {
                            offset: self.offset(),
                            message: format!(
                                "{name}() takes a node reference like ./A/B, found {}",
                                self.found()
                            ),
                        });
                    }
                };
                self.pos += 1;
                self.expect(Tok::RParen, &format!("')' after the argument of {name}"))?;
                self.node(if name == "changed" {
                    Node::Changed(uri)
                } else {
                    Node::Exists(uri)
                })
            }
            Tok::LParen => {
                let n = self.or()?;
                self.expect(Tok::RParen, "')'")?;
                Ok(n)
            }
            other => Err(ExprError::Syntax {
                offset: at,
                message: format!("expected a value but found {}", other.describe()),
            }),
        }
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), ExprError> {
        if self.peek() == Some(&want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(ExprError::Syntax {
                offset: self.offset(),
                message: format!("expected {what} but found {}", self.found()),
            })
        }
    }
}
