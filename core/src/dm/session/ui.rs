//! User-interaction alerts 1100–1104 (OMA DM Protocol 1.2 §10.2, facts §3):
//! option parsing, the host's [`UserInteraction`] trait, and the status a
//! device answers with.

use crate::dm::syncml::{Data, Item};
use crate::host::RunContext;
use crate::model::{Command, url_decode};
use crate::tree::ScheduledAlerts;

/// Which user interaction the server asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiKind {
    /// 1100: show a text.
    Display,
    /// 1101: ask yes or no.
    Confirm,
    /// 1102: ask for text.
    TextInput {
        /// `MAXLEN`: longest answer.
        max_len: Option<u32>,
        /// `IT`: input type (A alphanumeric, N numeric, D date, T time,
        /// P phone number, I IP address).
        input_type: Option<char>,
        /// `ET`: echo type (T text, P password).
        echo: Option<char>,
    },
    /// 1103: choose one.
    SingleChoice {
        /// The choices, in order (answers count from 1).
        choices: Vec<String>,
    },
    /// 1104: choose any.
    MultipleChoice {
        /// The choices, in order (answers count from 1).
        choices: Vec<String>,
    },
}

/// One user-interaction request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiRequest {
    /// The server that asks.
    pub server_id: String,
    /// What to ask.
    pub kind: UiKind,
    /// The text to show.
    pub text: String,
    /// `MINDT`: show at least this many seconds.
    pub min_display_secs: Option<u32>,
    /// `MAXDT`: give up after this many seconds (then answer [`UiResponse::Timeout`]).
    pub max_display_secs: Option<u32>,
    /// `DR`: the default response (text, or choice numbers such as `1-3,6`).
    pub default_response: Option<String>,
}

/// What the user did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiResponse {
    /// Display shown, or confirmation accepted.
    Yes,
    /// Confirmation refused (304).
    No,
    /// The user cancelled (214).
    Cancel,
    /// No answer within MAXDT (408; the default response goes back).
    Timeout,
    /// The text entered (1102).
    Text(String),
    /// The choices made, counted from 1 (1103: one; 1104: any number).
    Choices(Vec<u32>),
    /// The device cannot show this now (416).
    CannotShow,
}

/// The host's user interface for server alerts. Called on the thread that
/// runs the session; it may block up to MAXDT.
pub trait UserInteraction: Send + Sync {
    /// Shows `request` and returns the user's answer.
    fn interact(&self, request: &UiRequest) -> UiResponse;
}

/// A server's user-interaction alert, parsed.
pub(crate) fn parse(server_id: &str, code: u16, items: &[Item]) -> Result<UiRequest, String> {
    let text_of = |i: &Item| {
        i.data
            .as_ref()
            .map(|d| d.to_text().into_owned())
            .unwrap_or_default()
    };
    let mut it = items.iter();
    let options = it.next().map(text_of).unwrap_or_default();
    let text = it.next().map(text_of).unwrap_or_default();
    let choices: Vec<String> = it.map(text_of).collect();
    let mut req = UiRequest {
        server_id: server_id.to_string(),
        kind: UiKind::Display,
        text,
        min_display_secs: None,
        max_display_secs: None,
        default_response: None,
    };
    let (mut max_len, mut input_type, mut echo) = (None, None, None);
    for pair in options.trim().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = url_decode(v);
        let num = || {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("option {k}={v} is not a number"))
        };
        match k.trim() {
            "MINDT" => req.min_display_secs = Some(num()?),
            "MAXDT" => req.max_display_secs = Some(num()?),
            "DR" => req.default_response = Some(v.clone()),
            "MAXLEN" => max_len = Some(num()?),
            "IT" => input_type = v.chars().next(),
            "ET" => echo = v.chars().next(),
            // Unknown options are ignored, as the protocol allows.
            _ => {}
        }
    }
    req.kind = match code {
        1100 => UiKind::Display,
        1101 => UiKind::Confirm,
        1102 => UiKind::TextInput {
            max_len,
            input_type,
            echo,
        },
        1103 | 1104 if choices.is_empty() => return Err("a choice alert without choices".into()),
        1103 => UiKind::SingleChoice { choices },
        1104 => UiKind::MultipleChoice { choices },
        other => return Err(format!("alert {other} is not a user interaction")),
    };
    Ok(req)
}

/// Scheduled Alerts (6.1.7.4) shown through the host's user interface, on
/// behalf of the schedule's owner: what full-client mode's tree runs them
/// with. `CannotShow` (the device is locked or nobody is there) and a
/// timeout leave the answer to the alert's default response
/// ([`crate::model::AlertSpec::unanswered`]).
pub struct AlertsThroughUi(pub std::sync::Arc<dyn UserInteraction>);

impl ScheduledAlerts for AlertsThroughUi {
    fn show(&self, ctx: &RunContext, command: &Command) -> (u16, Option<String>) {
        let Some(spec) = command.alert.as_deref() else {
            return (400, None);
        };
        let text = |s: &str| Item {
            data: Some(Data::Text(s.to_string())),
            ..Item::default()
        };
        let mut items = vec![
            text(spec.options.as_deref().unwrap_or("")),
            text(command.data.as_deref().unwrap_or("")),
        ];
        items.extend(spec.choices.iter().map(|c| text(c)));
        let req = match parse(&ctx.owner, spec.code, &items) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(target: "dmsched::dm", "scheduled alert refused: {e}");
                return (400, None);
            }
        };
        match self.0.interact(&req) {
            UiResponse::CannotShow => spec.unanswered(true),
            UiResponse::Timeout => spec.unanswered(false),
            resp => {
                let (status, items) = answer(&req, &resp);
                let data: Vec<String> = items
                    .iter()
                    .filter_map(|i| i.data.as_ref().map(|d| d.to_text().into_owned()))
                    .collect();
                (status, (!data.is_empty()).then(|| data.join(",")))
            }
        }
    }
}

/// The Status code and answer items for a response.
pub(crate) fn answer(req: &UiRequest, resp: &UiResponse) -> (u16, Vec<Item>) {
    let item = |s: String| Item {
        data: Some(Data::Text(s)),
        ..Item::default()
    };
    let choices_ok = |v: &[u32], n: usize| v.iter().all(|&c| c >= 1 && (c as usize) <= n);
    match (&req.kind, resp) {
        (_, UiResponse::Cancel) => (214, vec![]),
        (_, UiResponse::CannotShow) => (416, vec![]),
        (_, UiResponse::Timeout) => (
            408,
            req.default_response
                .iter()
                .flat_map(|d| match req.kind {
                    // `1-3,6` style defaults go back one item per part.
                    UiKind::MultipleChoice { .. } => {
                        d.split(',').map(|p| item(p.trim().to_string())).collect()
                    }
                    _ => vec![item(d.clone())],
                })
                .collect(),
        ),
        (UiKind::Display, UiResponse::Yes) => (200, vec![]),
        (UiKind::Confirm, UiResponse::Yes) => (200, vec![]),
        (UiKind::Confirm, UiResponse::No) => (304, vec![]),
        (UiKind::TextInput { max_len, .. }, UiResponse::Text(t)) => match max_len {
            Some(m) if t.chars().count() > *m as usize => (500, vec![]),
            _ => (200, vec![item(t.clone())]),
        },
        (UiKind::SingleChoice { choices }, UiResponse::Choices(v))
            if v.len() == 1 && choices_ok(v, choices.len()) =>
        {
            (200, vec![item(v[0].to_string())])
        }
        (UiKind::MultipleChoice { choices }, UiResponse::Choices(v))
            if choices_ok(v, choices.len()) =>
        {
            (200, v.iter().map(|c| item(c.to_string())).collect())
        }
        // An answer that does not fit the question: the host is broken.
        _ => (500, vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: &[&str]) -> Vec<Item> {
        v.iter()
            .map(|s| Item {
                data: Some(Data::Text((*s).into())),
                ..Item::default()
            })
            .collect()
    }

    /// Facts §3: options MINDT MAXDT DR MAXLEN IT ET, URL-encoded.
    #[test]
    fn options_are_parsed_and_url_decoded() {
        let r = parse(
            "s",
            1102,
            &items(&["MAXDT=20&DR=hello+andy!&MAXLEN=30&IT=I&ET=P", "Your name?"]),
        )
        .unwrap();
        assert_eq!(r.max_display_secs, Some(20));
        assert_eq!(r.default_response.as_deref(), Some("hello andy!"));
        assert_eq!(
            r.kind,
            UiKind::TextInput {
                max_len: Some(30),
                input_type: Some('I'),
                echo: Some('P')
            }
        );
        assert_eq!(r.text, "Your name?");
        assert!(parse("s", 1101, &items(&["MAXDT=x"])).is_err());
        assert!(parse("s", 1103, &items(&["", "pick"])).is_err());
        assert_eq!(url_decode("a%20b%zz%"), "a b%zz%");
    }

    /// Facts §3: 1101 answers 200 yes, 304 no, 214 cancel, 408 timeout.
    #[test]
    fn confirmation_answers_map_to_statuses() {
        let r = parse("s", 1101, &items(&["MAXDT=15&DR=1", "Proceed?"])).unwrap();
        assert_eq!(answer(&r, &UiResponse::Yes).0, 200);
        assert_eq!(answer(&r, &UiResponse::No).0, 304);
        assert_eq!(answer(&r, &UiResponse::Cancel).0, 214);
        assert_eq!(answer(&r, &UiResponse::Timeout).0, 408);
        assert_eq!(answer(&r, &UiResponse::CannotShow).0, 416);
    }

    /// 1103/1104 answer the chosen numbers; a timeout sends the default.
    #[test]
    fn choices_are_answered_one_item_each() {
        let r = parse(
            "s",
            1104,
            &items(&["DR=1-3,6", "Pick", "a", "b", "c", "d", "e", "f"]),
        )
        .unwrap();
        let (code, it) = answer(&r, &UiResponse::Choices(vec![2, 5]));
        assert_eq!(code, 200);
        assert_eq!(it.len(), 2);
        let (code, it) = answer(&r, &UiResponse::Timeout);
        assert_eq!((code, it.len()), (408, 2));
        assert_eq!(answer(&r, &UiResponse::Choices(vec![9])).0, 500);
    }
}
