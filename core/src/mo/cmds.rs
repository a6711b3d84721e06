//! A task's `Cmds` node: a `<SyncBody>` fragment of DM commands (facts §1)
//! turned into the model's actions and back.
//!
//! Add, Replace, Delete, Get, Exec and Copy become one action per Item
//! (the command's Meta applies to Items without their own); Atomic and
//! Sequence become groups. Any other command (Alert, Status, Results, Sync
//! …) is refused with 406: it cannot be scheduled.

use crate::model::{Action, Command, Limits, Op};
use crate::syncml::{self, Command as DmCommand, Container, Data, Item, ItemCmd, Locus, Meta};

/// Why a `Cmds` value was refused, with its DM status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct CmdsError {
    status: u16,
    message: String,
}

impl CmdsError {
    fn new(status: u16, message: impl Into<String>) -> CmdsError {
        CmdsError {
            status,
            message: message.into(),
        }
    }

    /// The DM status: 400 malformed, 406 not schedulable, 413 too many.
    pub fn status(&self) -> u16 {
        self.status
    }
}

/// Parses a `Cmds` value into actions (at most `limits.max_actions`
/// commands, groups at most `limits.max_action_depth` deep).
pub(crate) fn decode(xml: &[u8], limits: &Limits) -> Result<Vec<Action>, CmdsError> {
    let codec = syncml::Limits {
        max_message_bytes: limits.max_document_bytes,
        ..syncml::Limits::default()
    };
    let cmds = syncml::decode_commands(xml, &codec).map_err(|e| {
        CmdsError::new(
            e.status(),
            format!("the commands are not a SyncBody fragment: {e}"),
        )
    })?;
    if cmds.is_empty() {
        return Err(CmdsError::new(400, "no DM command in Cmds"));
    }
    let mut count = 0usize;
    let mut out = Vec::with_capacity(cmds.len());
    for c in &cmds {
        action(c, 1, limits, &mut count, &mut out)?;
    }
    Ok(out)
}

fn action(
    c: &DmCommand,
    depth: usize,
    limits: &Limits,
    count: &mut usize,
    out: &mut Vec<Action>,
) -> Result<(), CmdsError> {
    let (op, ic) = match c {
        DmCommand::Add(x) => (Op::Add, x),
        DmCommand::Replace(x) => (Op::Replace, x),
        DmCommand::Delete(x) => (Op::Delete, x),
        DmCommand::Get(x) => (Op::Get, x),
        DmCommand::Copy(x) => (Op::Copy, x),
        DmCommand::Exec(e) => {
            let ic = ItemCmd {
                cmd_id: e.cmd_id.clone(),
                meta: e.meta.clone(),
                items: e.items.clone(),
                ..ItemCmd::default()
            };
            return items(Op::Exec, &ic, limits, count, out);
        }
        DmCommand::Atomic(g) | DmCommand::Sequence(g) => {
            if depth + 1 > limits.max_action_depth {
                return Err(CmdsError::new(
                    413,
                    format!("groups nested deeper than {}", limits.max_action_depth),
                ));
            }
            let mut inner = Vec::with_capacity(g.commands.len());
            for x in &g.commands {
                action(x, depth + 1, limits, count, &mut inner)?;
            }
            if inner.is_empty() {
                return Err(CmdsError::new(400, format!("an empty {}", c.name())));
            }
            out.push(if matches!(c, DmCommand::Atomic(_)) {
                Action::Atomic(inner)
            } else {
                Action::Sequence(inner)
            });
            return Ok(());
        }
        other => {
            return Err(CmdsError::new(
                406,
                format!(
                    "{} cannot be scheduled (Add, Replace, Delete, Get, Exec, Copy, Atomic, Sequence)",
                    other.name()
                ),
            ));
        }
    };
    items(op, ic, limits, count, out)
}

fn items(
    op: Op,
    ic: &ItemCmd,
    limits: &Limits,
    count: &mut usize,
    out: &mut Vec<Action>,
) -> Result<(), CmdsError> {
    if ic.items.is_empty() {
        return Err(CmdsError::new(
            400,
            format!("{} without an Item", op.as_str()),
        ));
    }
    for it in &ic.items {
        *count += 1;
        if *count > limits.max_actions {
            return Err(CmdsError::new(
                413,
                format!("more than {} commands", limits.max_actions),
            ));
        }
        let target = it
            .target
            .as_ref()
            .map(|l| l.loc_uri.trim().to_string())
            .ok_or_else(|| CmdsError::new(400, format!("{} Item without a Target", op.as_str())))?;
        let source = it.source.as_ref().map(|l| l.loc_uri.trim().to_string());
        if op == Op::Copy && source.is_none() {
            return Err(CmdsError::new(400, "Copy Item without a Source"));
        }
        let meta = |f: fn(&Meta) -> &Option<String>| {
            it.meta
                .as_ref()
                .and_then(|m| f(m).clone())
                .or_else(|| ic.meta.as_ref().and_then(|m| f(m).clone()))
        };
        let data = match &it.data {
            None => None,
            Some(Data::Text(s)) | Some(Data::Xml(s)) => Some(s.clone()),
            Some(Data::Opaque(_)) => {
                return Err(CmdsError::new(
                    415,
                    "binary data cannot be scheduled in XML",
                ));
            }
        };
        out.push(Action::Command(Command {
            op,
            target,
            source: if op == Op::Copy { source } else { None },
            data,
            format: meta(|m| &m.format),
            mime: meta(|m| &m.type_),
        }));
    }
    Ok(())
}

/// The `Cmds` value of `actions`: a `<SyncBody>` fragment, CmdIDs from 1.
pub(crate) fn encode(actions: &[Action]) -> String {
    let mut next = 0u32;
    let cmds: Vec<DmCommand> = actions.iter().map(|a| command(a, &mut next)).collect();
    // Every value comes from a model action: text the XML writer can carry.
    syncml::encode_commands(&cmds).unwrap_or_default()
}

fn command(a: &Action, next: &mut u32) -> DmCommand {
    *next += 1;
    let cmd_id = next.to_string();
    match a {
        Action::Atomic(v) | Action::Sequence(v) => {
            let c = Container {
                cmd_id,
                commands: v.iter().map(|x| command(x, next)).collect(),
                ..Container::default()
            };
            if matches!(a, Action::Atomic(_)) {
                DmCommand::Atomic(c)
            } else {
                DmCommand::Sequence(c)
            }
        }
        Action::Command(c) => {
            let meta = Meta {
                format: c.format.clone(),
                type_: c.mime.clone(),
                ..Meta::default()
            };
            let item = Item {
                target: Some(Locus::uri(&c.target)),
                source: c.source.as_deref().map(Locus::uri),
                meta: (!meta.is_empty()).then_some(meta),
                data: c.data.clone().map(Data::Text),
                more_data: false,
            };
            if c.op == Op::Exec {
                return DmCommand::Exec(syncml::Exec {
                    cmd_id,
                    items: vec![item],
                    ..syncml::Exec::default()
                });
            }
            let ic = ItemCmd {
                cmd_id,
                items: vec![item],
                ..ItemCmd::default()
            };
            match c.op {
                Op::Add => DmCommand::Add(ic),
                Op::Replace => DmCommand::Replace(ic),
                Op::Delete => DmCommand::Delete(ic),
                Op::Get => DmCommand::Get(ic),
                Op::Copy => DmCommand::Copy(ic),
                Op::Exec => unreachable!("handled above"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMDS: &str = r#"<SyncBody>
      <Replace><CmdID>1</CmdID><Meta><Format xmlns="syncml:metinf">chr</Format></Meta>
        <Item><Target><LocURI>./Vendor/Mode</LocURI></Target><Data>eco</Data></Item>
        <Item><Target><LocURI>./Vendor/Level</LocURI></Target><Meta><Format xmlns="syncml:metinf">int</Format></Meta><Data>3</Data></Item>
      </Replace>
      <Sequence><CmdID>2</CmdID>
        <Exec><CmdID>3</CmdID><Item><Target><LocURI>./Vendor/Run</LocURI></Target></Item></Exec>
        <Copy><CmdID>4</CmdID><Item><Target><LocURI>./B</LocURI></Target><Source><LocURI>./A</LocURI></Source></Item></Copy>
      </Sequence>
    </SyncBody>"#;

    /// 6.1.7.4: every DM command is schedulable; one action per Item.
    #[test]
    fn cmds_become_one_action_per_item_and_groups() {
        let a = decode(CMDS.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(a.len(), 3);
        let Action::Command(c) = &a[1] else { panic!() };
        assert_eq!(
            (
                c.op,
                c.target.as_str(),
                c.data.as_deref(),
                c.format.as_deref()
            ),
            (Op::Replace, "./Vendor/Level", Some("3"), Some("int"))
        );
        let Action::Command(c) = &a[0] else { panic!() };
        assert_eq!(
            c.format.as_deref(),
            Some("chr"),
            "the command's Meta applies"
        );
        let Action::Sequence(v) = &a[2] else { panic!() };
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn actions_encode_back_to_the_same_actions() {
        let a = decode(CMDS.as_bytes(), &Limits::default()).unwrap();
        let xml = encode(&a);
        assert!(xml.starts_with("<SyncBody>"), "{xml}");
        assert_eq!(decode(xml.as_bytes(), &Limits::default()).unwrap(), a);
    }

    #[test]
    fn unschedulable_or_malformed_cmds_have_their_status() {
        let l = Limits::default();
        let alert = "<Alert><CmdID>1</CmdID><Data>1226</Data></Alert>";
        assert_eq!(decode(alert.as_bytes(), &l).unwrap_err().status(), 406);
        assert_eq!(decode(b"<Replace><CmdID>1", &l).unwrap_err().status(), 400);
        assert_eq!(decode(b"", &l).unwrap_err().status(), 400);
        let no_target = "<Get><CmdID>1</CmdID><Item><Data>x</Data></Item></Get>";
        assert_eq!(decode(no_target.as_bytes(), &l).unwrap_err().status(), 400);
        let small = Limits {
            max_actions: 1,
            ..Limits::default()
        };
        assert_eq!(decode(CMDS.as_bytes(), &small).unwrap_err().status(), 413);
    }
}
