//! HTTP/1.1 over TCP or TLS (hyper 1, tokio-rustls): the accept loop, the
//! per-connection limits and the translation between hyper requests and
//! [`crate::state::Shared::handle`].
//!
//! Any path is served; only POST is allowed (405). A Content-Length above
//! the body limit is refused at once (413), a longer body when it crosses
//! the limit (413); a body that does not arrive within the I/O timeout
//! gets 408, a broken one 400. TLS handshakes and request headers have the
//! same timeout. For tests, an answer can be lost on purpose
//! ([`crate::RunningServer::lose_answers_to_reports`]): the request is
//! handled, then the connection is closed without a response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::state::{HttpIn, HttpOut, Shared};

const LOG: &str = "dmsched::dm_server";

/// The service's error: the answer is dropped and hyper closes the
/// connection without a response (fault injection).
#[derive(Debug)]
struct LostAnswer;

impl std::fmt::Display for LostAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer lost on purpose (fault injection)")
    }
}

impl std::error::Error for LostAnswer {}

/// Accepts connections until `stop` changes; then drops them all.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    default_host: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    conns.spawn(serve_conn(stream, peer, tls.clone(), shared.clone(), default_host.clone()));
                }
                Err(e) => {
                    tracing::warn!(target: LOG, "accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

async fn serve_conn(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    default_host: String,
) {
    let timeout = shared.io_timeout;
    match tls {
        None => serve_http(TokioIo::new(stream), shared, "http", default_host).await,
        Some(acceptor) => match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
            Ok(Ok(s)) => serve_http(TokioIo::new(s), shared, "https", default_host).await,
            Ok(Err(e)) => tracing::debug!(target: LOG, "TLS handshake with {peer} failed: {e}"),
            Err(_) => tracing::debug!(target: LOG, "TLS handshake with {peer} timed out"),
        },
    }
}

async fn serve_http<I>(io: TokioIo<I>, shared: Arc<Shared>, scheme: &'static str, host: String)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timeout = shared.io_timeout;
    let svc = service_fn(move |req| {
        let shared = shared.clone();
        let host = host.clone();
        async move { respond(req, shared, scheme, &host).await }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .keep_alive(true)
        .serve_connection(io, svc);
    if let Err(e) = conn.await {
        tracing::debug!(target: LOG, "connection ended: {e}");
    }
}

async fn respond(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    scheme: &str,
    default_host: &str,
) -> Result<Response<Full<Bytes>>, LostAnswer> {
    let (parts, body) = req.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let host = header(HOST.as_str()).unwrap_or_else(|| default_host.to_string());
    let mut http_in = HttpIn {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        content_type: header(CONTENT_TYPE.as_str()),
        hmac: header(dmsched::dm::auth::HMAC_HEADER_NAME),
        body: &[],
        base_url: format!("{scheme}://{host}{}", parts.uri.path()),
    };
    if parts.method != Method::POST {
        let mut r = to_response(shared.refuse(&http_in, 405, "only POST is served"));
        r.headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(r);
    }
    let declared = header(CONTENT_LENGTH.as_str()).and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > shared.body_limit as u64) {
        return Ok(to_response(shared.refuse(
            &http_in,
            413,
            "Content-Length above the body limit",
        )));
    }
    let limited = Limited::new(body, shared.body_limit).collect();
    let bytes = match tokio::time::timeout(shared.io_timeout, limited).await {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Ok(to_response(shared.refuse(
                &http_in,
                413,
                "body above the limit",
            )));
        }
        Ok(Err(e)) => {
            return Ok(to_response(shared.refuse(
                &http_in,
                400,
                &format!("broken body: {e}"),
            )));
        }
        Err(_) => {
            return Ok(to_response(shared.refuse(
                &http_in,
                408,
                "body not received in time",
            )));
        }
    };
    http_in.body = &bytes;
    let lose = shared.lose_answers.load(Ordering::SeqCst) > 0;
    let reports_before = lose.then(|| shared.recorder.generic_alerts().len());
    let out = shared.handle(&http_in);
    if reports_before.is_some_and(|n| shared.recorder.generic_alerts().len() > n)
        && shared
            .lose_answers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        tracing::info!(target: LOG, "losing the answer to a message with reports (fault injection)");
        return Err(LostAnswer);
    }
    Ok(to_response(out))
}

fn to_response(out: HttpOut) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(out.body)));
    *r.status_mut() = StatusCode::from_u16(out.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(&out.content_type) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    if let Some(h) = out.hmac
        && let Ok(v) = HeaderValue::from_str(&h)
    {
        r.headers_mut()
            .insert(dmsched::dm::auth::HMAC_HEADER_NAME, v);
    }
    r
}
