//! How DM messages travel: the [`Transport`] trait, and [`HttpTransport`],
//! HTTP/1.1 POST over TCP or TLS (hyper on tokio, rustls with ring).
//!
//! TLS certificates are always verified: against the Mozilla roots
//! (webpki-roots) and/or the trust anchors the account provisions (a
//! private CA, as a test DM server or an enterprise uses). Plain `http://`
//! is refused unless the configuration allows it, for loopback tests and
//! servers that authenticate every message with HMAC.

use std::future::Future;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// One HTTP exchange: a POST and its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Absolute URL (`https://…`).
    pub url: String,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// Extra headers (`x-syncml-hmac`, `Accept`).
    pub headers: Vec<(String, String)>,
    /// The encoded message.
    pub body: Vec<u8>,
}

/// The server's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// All headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A message could not be carried.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL is not usable (scheme, syntax, plain HTTP not allowed).
    #[error("bad server URL {url}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Connecting, TLS (including certificate verification) or HTTP failed.
    #[error("HTTP exchange with {url} failed: {reason}")]
    Exchange {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No complete answer within the timeout.
    #[error("no answer from {url} within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The answer was larger than allowed.
    #[error("answer from {url} larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The TLS configuration is unusable (a bad PEM file).
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Carries DM messages to a server and brings back its answers.
pub trait Transport: Send + Sync {
    /// POSTs `request` and returns the answer.
    fn post(
        &self,
        request: Request,
    ) -> impl Future<Output = Result<Response, TransportError>> + Send;
}

/// How [`HttpTransport`] connects.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Trust the Mozilla root set (webpki-roots).
    pub public_roots: bool,
    /// Extra trust anchors, PEM (`-----BEGIN CERTIFICATE-----`).
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Allow `http://` URLs (loopback tests; HMAC-protected servers).
    pub allow_plain_http: bool,
    /// Whole-exchange timeout.
    pub timeout: Duration,
    /// Largest answer accepted, in bytes.
    pub max_response_bytes: usize,
    /// `User-Agent`.
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            public_roots: true,
            extra_roots_pem: Vec::new(),
            allow_plain_http: false,
            timeout: Duration::from_secs(60),
            max_response_bytes: 1024 * 1024,
            user_agent: concat!("dmsched/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// HTTP(S) POST with hyper and rustls. Needs a tokio runtime (with the
/// time and I/O drivers enabled) when `post` is awaited.
#[derive(Clone)]
pub struct HttpTransport {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    config: HttpConfig,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport with this configuration.
    pub fn new(config: HttpConfig) -> Result<HttpTransport, TransportError> {
        let mut roots = rustls::RootCertStore::empty();
        if config.public_roots {
            roots.extend(webpki_roots_anchors());
        }
        for pem in &config.extra_roots_pem {
            let mut any = false;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| TransportError::Config(e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| TransportError::Config(e.to_string()))?;
                any = true;
            }
            if !any {
                return Err(TransportError::Config(
                    "no certificate in the PEM trust anchors".into(),
                ));
            }
        }
        if roots.is_empty() {
            return Err(TransportError::Config(
                "no trust anchors: enable public roots or provision a CA".into(),
            ));
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::Config(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(HttpTransport { client, config })
    }

    fn check_url(&self, url: &str) -> Result<hyper::Uri, TransportError> {
        let bad = |reason: &str| TransportError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| bad(&e.to_string()))?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") if self.config.allow_plain_http => {}
            Some("http") => return Err(bad("plain HTTP is not allowed by the configuration")),
            _ => return Err(bad("the scheme must be https (or http when allowed)")),
        }
        if uri.host().is_none() {
            return Err(bad("no host"));
        }
        Ok(uri)
    }

    async fn exchange(&self, request: Request) -> Result<Response, TransportError> {
        let uri = self.check_url(&request.url)?;
        let failed = |reason: String| TransportError::Exchange {
            url: request.url.clone(),
            reason,
        };
        let mut builder = hyper::Request::post(uri)
            .header(hyper::header::CONTENT_TYPE, &request.content_type)
            .header(hyper::header::USER_AGENT, &self.config.user_agent);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let req = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| failed(e.to_string()))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| failed(error_chain(&e)))?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let limit = self.config.max_response_bytes;
        let body = Limited::new(resp.into_body(), limit)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    TransportError::TooLarge {
                        url: request.url.clone(),
                        limit,
                    }
                } else {
                    failed(e.to_string())
                }
            })?
            .to_bytes()
            .to_vec();
        let content_type = headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone());
        Ok(Response {
            status,
            content_type,
            headers,
            body,
        })
    }
}

fn webpki_roots_anchors() -> impl Iterator<Item = rustls_pki_types::TrustAnchor<'static>> {
    webpki_roots::TLS_SERVER_ROOTS.iter().cloned()
}

/// An error and its sources, so that "certificate not trusted" is not
/// hidden behind "client error (Connect)".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Transport for HttpTransport {
    async fn post(&self, request: Request) -> Result<Response, TransportError> {
        let url = request.url.clone();
        let timeout = self.config.timeout;
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout { url, timeout }),
        }
    }
}
