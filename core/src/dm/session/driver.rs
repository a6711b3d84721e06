//! Drives a [`Session`] over a [`Transport`] until it ends.

use super::{Incoming, Outgoing, Session, SessionError, Step, Summary};
use crate::dm::auth::HMAC_HEADER_NAME;
use crate::dm::transport::{Request, Transport};

/// POSTs `first` and every following message of `session`, handing each
/// answer back, until the session ends. Each exchange is bounded by the
/// transport's timeout and the session by its message count.
pub async fn run<T: Transport>(
    session: &mut Session<'_>,
    first: Outgoing,
    transport: &T,
) -> Result<Summary, SessionError> {
    let mut out = first;
    loop {
        let mut headers = vec![(
            "accept".to_string(),
            "application/vnd.syncml.dm+xml, application/vnd.syncml.dm+wbxml".to_string(),
        )];
        if let Some(h) = &out.hmac {
            headers.push((HMAC_HEADER_NAME.to_string(), h.clone()));
        }
        let resp = transport
            .post(Request {
                url: out.url.clone(),
                content_type: out.content_type.to_string(),
                headers,
                body: std::mem::take(&mut out.body),
            })
            .await
            .map_err(|e| SessionError::Transport(e.to_string()))?;
        let incoming = Incoming {
            http_status: resp.status,
            hmac: resp.header(HMAC_HEADER_NAME).map(str::to_string),
            content_type: resp.content_type,
            body: resp.body,
        };
        match session.receive(incoming)? {
            Step::Send(next) => out = next,
            Step::Done(summary) => return Ok(summary),
        }
    }
}
