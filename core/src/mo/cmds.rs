//! A task's `Cmds` node: a `<SyncBody>` fragment of DM commands (facts §1)
//! turned into the model's actions and back.
//!
//! Add, Replace, Delete, Get, Exec and Copy become one action per Item
//! (the command's Meta applies to Items without their own); Atomic and
//! Sequence become groups; a user-interaction Alert (1100–1104) becomes an
//! Alert action (items: options, text, choices). Any other command (other
//! Alerts, Status, Results, Sync …) is refused with 406: it cannot be
//! scheduled.

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
        DmCommand::Alert(a) => return alert(a, limits, count, out),
        other => {
            return Err(CmdsError::new(
                406,
                format!(
                    "{} cannot be scheduled (Add, Replace, Delete, Get, Exec, Copy, Alert 1100–1104, Atomic, Sequence)",
                    other.name()
                ),
            ));
        }
    };
    items(op, ic, limits, count, out)
}

/// A user-interaction Alert (1100–1104) as a scheduled action: items are
/// the options, the text, then the choices (as in a session, facts §3).
fn alert(
    a: &syncml::Alert,
    limits: &Limits,
    count: &mut usize,
    out: &mut Vec<Action>,
) -> Result<(), CmdsError> {
    let code = a
        .data
        .as_deref()
        .and_then(|d| d.trim().parse::<u16>().ok())
        .filter(|c| crate::model::ALERT_CODES.contains(c))
        .ok_or_else(|| {
            CmdsError::new(
                406,
                format!(
                    "Alert {} cannot be scheduled: only user interactions 1100–1104",
                    a.data.as_deref().unwrap_or("without a code")
                ),
            )
        })?;
    *count += 1;
    if *count > limits.max_actions {
        return Err(CmdsError::new(
            413,
            format!("more than {} commands", limits.max_actions),
        ));
    }
    let text = |i: &Item| match &i.data {
        Some(Data::Text(s)) | Some(Data::Xml(s)) => Ok(s.clone()),
        Some(Data::Opaque(_)) => Err(CmdsError::new(
            415,
            "binary data cannot be scheduled in XML",
        )),
        None => Ok(String::new()),
    };
    let mut it = a.items.iter();
    let options = it.next().map(text).transpose()?.filter(|o| !o.is_empty());
    let shown = it.next().map(text).transpose()?;
    let choices = it.map(text).collect::<Result<Vec<_>, _>>()?;
    out.push(Action::Command(Command {
        op: Op::Alert,
        target: String::new(),
        source: None,
        data: shown,
        format: None,
        mime: None,
        alert: Some(Box::new(crate::model::AlertSpec {
            code,
            options,
            choices,
        })),
    }));
    Ok(())
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
            alert: None,
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
        Action::Command(c) if c.op == Op::Alert => {
            let text = |s: &str| Item {
                data: Some(Data::Text(s.to_string())),
                ..Item::default()
            };
            let spec = c.alert.as_deref();
            let mut items = vec![
                text(spec.and_then(|a| a.options.as_deref()).unwrap_or("")),
                text(c.data.as_deref().unwrap_or("")),
            ];
            items.extend(spec.iter().flat_map(|a| a.choices.iter()).map(|s| text(s)));
            DmCommand::Alert(syncml::Alert {
                cmd_id,
                data: Some(spec.map_or(1100, |a| a.code).to_string()),
                items,
                ..syncml::Alert::default()
            })
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
                Op::Exec | Op::Alert => unreachable!("handled above"),
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

    /// Issue 18, 6.1.7.4: a user-interaction Alert in `Cmds` is an Alert
    /// action (items: options, text, choices) and encodes back the same.
    #[test]
    fn a_user_interaction_alert_is_schedulable_both_ways() {
        let xml = r#"<SyncBody><Sequence><CmdID>1</CmdID>
          <Alert><CmdID>2</CmdID><Data>1103</Data><Item><Data>MAXDT=30&amp;DR=1</Data></Item>
            <Item><Data>Which mode?</Data></Item><Item><Data>eco</Data></Item><Item><Data>max</Data></Item></Alert>
          <Get><CmdID>3</CmdID><Item><Target><LocURI>./Vendor?list=Struct</LocURI></Target></Item></Get>
        </Sequence></SyncBody>"#;
        let a = decode(xml.as_bytes(), &Limits::default()).unwrap();
        let Action::Sequence(v) = &a[0] else { panic!() };
        let Action::Command(c) = &v[0] else { panic!() };
        assert_eq!(c.op, Op::Alert);
        assert_eq!(c.data.as_deref(), Some("Which mode?"));
        let spec = c.alert.as_deref().unwrap();
        assert_eq!(
            (spec.code, spec.options.as_deref(), spec.choices.clone()),
            (
                1103,
                Some("MAXDT=30&DR=1"),
                vec!["eco".into(), "max".into()]
            )
        );
        let Action::Command(g) = &v[1] else { panic!() };
        assert_eq!(g.target, "./Vendor?list=Struct");
        assert_eq!(
            decode(encode(&a).as_bytes(), &Limits::default()).unwrap(),
            a
        );
        // The same action as JSON, and back.
        let json = serde_json::to_string(&v[0]).unwrap();
        assert_eq!(
            json,
            r#"{"op":"Alert","data":"Which mode?","alert":1103,"options":"MAXDT=30&DR=1","choices":["eco","max"]}"#
        );
        assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), v[0]);
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
