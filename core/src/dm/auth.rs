//! SyncML DM authentication primitives (OMA DM Security 1.2 §5; facts §5).
//!
//! Pure functions, no I/O: Basic credentials, the MD5 digest credential,
//! the `x-syncml-hmac` transport MAC, nonces, and a [`Secret`] wrapper that
//! keeps passwords out of `Debug` output. Session state (which nonce is
//! current per direction, when to challenge) belongs to the session layer.
//!
//! All comparisons of received authenticators against computed ones are
//! constant-time in the content of the values (lengths are not secret: they
//! are fixed by the algorithm).
//!
//! Never log what these functions take or return: passwords, nonces,
//! digests and MACs are all secrets or secret-derived.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use md5::{Digest, Md5};

/// Name of the HTTP header that carries the HMAC credential.
pub const HMAC_HEADER_NAME: &str = "x-syncml-hmac";

/// Lenient decoder for base64 received from peers: canonical or missing
/// padding are both accepted (servers in the wild omit it).
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An authentication scheme of SyncML DM 1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// `syncml:auth-basic`: base64 of `user:password`.
    Basic,
    /// `syncml:auth-md5`: the nonce-based MD5 digest credential.
    Md5,
    /// `syncml:auth-MAC`: the `x-syncml-hmac` transport header.
    Hmac,
}

impl AuthType {
    /// Parses a Meta `Type` value of a `Cred` or `Chal` (`syncml:auth-basic`,
    /// `syncml:auth-md5`, `syncml:auth-MAC`), case-insensitively and ignoring
    /// surrounding whitespace. `None` for any other scheme; the session layer
    /// answers that with 401 and a `Chal` for a scheme it supports.
    pub fn from_meta_type(meta_type: &str) -> Option<Self> {
        let t = meta_type.trim();
        [Self::Basic, Self::Md5, Self::Hmac]
            .into_iter()
            .find(|a| a.meta_type().eq_ignore_ascii_case(t))
    }

    /// The canonical Meta `Type` string for this scheme.
    pub const fn meta_type(&self) -> &'static str {
        match self {
            Self::Basic => "syncml:auth-basic",
            Self::Md5 => "syncml:auth-md5",
            Self::Hmac => "syncml:auth-MAC",
        }
    }

    /// Parses a DMAcc `AAuthType` leaf value (`BASIC`, `DIGEST`, `HMAC`),
    /// case-insensitively and ignoring surrounding whitespace.
    pub fn from_aauth_type(aauth_type: &str) -> Option<Self> {
        let t = aauth_type.trim();
        [Self::Basic, Self::Md5, Self::Hmac]
            .into_iter()
            .find(|a| a.aauth_type().eq_ignore_ascii_case(t))
    }

    /// The canonical DMAcc `AAuthType` value for this scheme.
    pub const fn aauth_type(&self) -> &'static str {
        match self {
            Self::Basic => "BASIC",
            Self::Md5 => "DIGEST",
            Self::Hmac => "HMAC",
        }
    }
}

/// Why an authentication step failed. [`AuthError::status`] gives the DM
/// status code to report. Messages never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential was presented where one is required.
    #[error("credential missing")]
    MissingCredential,
    /// A credential was presented but does not verify.
    #[error("credential rejected")]
    BadCredential,
    /// Text that must be base64 is not.
    #[error("malformed base64")]
    MalformedBase64,
    /// A Basic credential decodes, but not to UTF-8 `user:password`.
    #[error("malformed basic credential: {0}")]
    MalformedBasic(&'static str),
    /// The `x-syncml-hmac` header is syntactically wrong or lacks a field.
    #[error("malformed x-syncml-hmac header: {0}")]
    MalformedHeader(&'static str),
    /// The `x-syncml-hmac` header names an algorithm other than MD5.
    #[error("unsupported HMAC algorithm")]
    UnsupportedAlgorithm,
    /// The random number generator failed.
    #[error("random number generator failed")]
    Rng,
}

impl AuthError {
    /// The DM status code for this failure: 401 invalid credentials (also
    /// for an unsupported MAC algorithm: the peer should be challenged for
    /// one we support), 407 missing credentials, 400 malformed input, 500
    /// internal failure.
    pub const fn status(&self) -> u16 {
        match self {
            Self::BadCredential | Self::UnsupportedAlgorithm => 401,
            Self::MissingCredential => 407,
            Self::MalformedBase64 | Self::MalformedBasic(_) | Self::MalformedHeader(_) => 400,
            Self::Rng => 500,
        }
    }
}

/// A password or other shared secret. `Debug` prints `Secret(***)`; there
/// is deliberately no `Display`. Use [`Secret::expose`] at the point of use.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret text. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// A nonce: raw bytes, as used in the digest computations. On the wire
/// (`NextNonce` in a `Chal`) it is base64. `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Nonce(Vec<u8>);

impl Nonce {
    /// Length of nonces made by [`Nonce::generate`].
    pub const GENERATED_LEN: usize = 16;

    /// Wraps raw nonce bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// Decodes a base64 `NextNonce`. ASCII whitespace anywhere is ignored
    /// (surrounding XML whitespace, folded lines) and padding may be absent;
    /// anything else that is not base64 is [`AuthError::MalformedBase64`].
    pub fn from_b64(text: &str) -> Result<Self, AuthError> {
        decode_b64(text).map(Self)
    }

    /// Encodes the nonce as standard padded base64 for a `NextNonce`.
    pub fn to_b64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// The raw nonce bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Makes a fresh nonce of [`Nonce::GENERATED_LEN`] random bytes.
    /// A sender must use a new nonce for every challenge (and, for HMAC,
    /// every message).
    pub fn generate(rng: &dyn ring::rand::SecureRandom) -> Result<Self, AuthError> {
        let mut bytes = vec![0u8; Self::GENERATED_LEN];
        rng.fill(&mut bytes).map_err(|_| AuthError::Rng)?;
        Ok(Self(bytes))
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce(<{} bytes>)", self.0.len())
    }
}

impl AsRef<[u8]> for Nonce {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Nonce {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// Basic credential: `B64("user:password")` (facts §5).
pub fn basic_credential(user: &str, password: &str) -> String {
    STANDARD.encode(format!("{user}:{password}"))
}

/// Decodes a Basic credential into `(user, password)`. The user name is
/// everything before the first `:`; the password may contain `:`.
pub fn parse_basic(b64: &str) -> Result<(String, String), AuthError> {
    let raw = decode_b64(b64)?;
    let text = String::from_utf8(raw).map_err(|_| AuthError::MalformedBasic("not UTF-8"))?;
    let (user, password) = text
        .split_once(':')
        .ok_or(AuthError::MalformedBasic("no ':' separator"))?;
    Ok((user.to_owned(), password.to_owned()))
}

/// MD5 digest credential (`syncml:auth-md5`, facts §5):
/// `B64(MD5(B64(MD5("user:password")) ":" nonce))`, with the raw nonce bytes.
pub fn md5_digest(user: &str, password: &str, nonce: &[u8]) -> String {
    let inner = b64_md5(&[user.as_bytes(), b":", password.as_bytes()]);
    STANDARD.encode(md5_of(&[inner.as_bytes(), b":", nonce]))
}

/// Checks a received MD5 digest credential (surrounding whitespace ignored)
/// in constant time.
pub fn verify_md5(user: &str, password: &str, nonce: &[u8], credential: &str) -> bool {
    let expected = md5_digest(user, password, nonce);
    ct_eq(expected.as_bytes(), credential.trim().as_bytes())
}

/// HMAC `mac` value of the `x-syncml-hmac` header (facts §5):
/// `B64(MD5(B64(MD5("user:pwd")) ":" nonce ":" B64(MD5(body))))`.
pub fn hmac_mac(user: &str, password: &str, nonce: &[u8], body: &[u8]) -> String {
    STANDARD.encode(keyed_md5(user, password, nonce, body))
}

/// The parsed `x-syncml-hmac` header: `algorithm=MD5, username="<user>",
/// mac=<b64>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacHeader {
    /// The MAC algorithm; only `MD5` is defined.
    pub algorithm: String,
    /// The authenticating user (DMAcc `AAuthName`).
    pub username: String,
    /// The base64 MAC.
    pub mac: String,
}

impl HmacHeader {
    /// Builds the header a sender attaches to `body`, using `nonce` (the
    /// one the receiver last challenged with).
    pub fn sign(username: &str, password: &str, nonce: &[u8], body: &[u8]) -> Self {
        Self {
            algorithm: "MD5".to_owned(),
            username: username.to_owned(),
            mac: hmac_mac(username, password, nonce, body),
        }
    }

    /// Parses a header value. Tolerant: fields in any order, keys
    /// case-insensitive, spaces around `,` and `=`, values quoted (with `\`
    /// escapes) or bare, empty list elements and unknown keys ignored,
    /// `algorithm` optional (default `MD5`). Rejects duplicate keys, a
    /// missing or empty `username` or `mac` ([`AuthError::MalformedHeader`])
    /// and any algorithm but MD5 ([`AuthError::UnsupportedAlgorithm`]).
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let mut algorithm: Option<String> = None;
        let mut username: Option<String> = None;
        let mut mac: Option<String> = None;
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches(is_space);
            if rest.is_empty() {
                break;
            }
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
                continue;
            }
            let (key, after_key) = split_until(rest, |c| is_space(c) || c == '=' || c == ',');
            if key.is_empty() {
                return Err(AuthError::MalformedHeader("expected a key"));
            }
            let after_key = after_key.trim_start_matches(is_space);
            let after_eq = after_key
                .strip_prefix('=')
                .ok_or(AuthError::MalformedHeader("expected '=' after a key"))?
                .trim_start_matches(is_space);
            let (val, after_val) = if let Some(quoted) = after_eq.strip_prefix('"') {
                parse_quoted(quoted)?
            } else {
                // Bare values may contain '=' (base64 padding).
                let (v, r) = split_until(after_eq, |c| is_space(c) || c == ',');
                (v.to_owned(), r)
            };
            rest = after_val.trim_start_matches(is_space);
            if !(rest.is_empty() || rest.starts_with(',')) {
                return Err(AuthError::MalformedHeader("expected ',' between fields"));
            }
            let slot = if key.eq_ignore_ascii_case("algorithm") {
                &mut algorithm
            } else if key.eq_ignore_ascii_case("username") {
                &mut username
            } else if key.eq_ignore_ascii_case("mac") {
                &mut mac
            } else {
                continue;
            };
            if slot.replace(val).is_some() {
                return Err(AuthError::MalformedHeader("duplicate field"));
            }
        }
        let algorithm = match algorithm {
            None => "MD5".to_owned(),
            Some(a) if a.eq_ignore_ascii_case("MD5") => "MD5".to_owned(),
            Some(_) => return Err(AuthError::UnsupportedAlgorithm),
        };
        let username = username
            .filter(|u| !u.is_empty())
            .ok_or(AuthError::MalformedHeader("missing username"))?;
        let mac = mac
            .filter(|m| !m.is_empty())
            .ok_or(AuthError::MalformedHeader("missing mac"))?;
        Ok(Self {
            algorithm,
            username,
            mac,
        })
    }
}

impl fmt::Display for HmacHeader {
    /// `algorithm=MD5, username="<user>", mac=<b64>`; `"` and `\` in the
    /// user name are backslash-escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "algorithm={}, username=\"", self.algorithm)?;
        for c in self.username.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        write!(f, "\", mac={}", self.mac)
    }
}

/// Verifies an `x-syncml-hmac` header against `body`, using the password of
/// `header.username` and the nonce this side last sent. Constant-time.
pub fn verify_hmac(
    header: &HmacHeader,
    password: &str,
    nonce: &[u8],
    body: &[u8],
) -> Result<(), AuthError> {
    if !header.algorithm.eq_ignore_ascii_case("MD5") {
        return Err(AuthError::UnsupportedAlgorithm);
    }
    let expected = hmac_mac(&header.username, password, nonce, body);
    if ct_eq(expected.as_bytes(), header.mac.trim().as_bytes()) {
        Ok(())
    } else {
        Err(AuthError::BadCredential)
    }
}

/// `MD5(B64(MD5(id ":" password)) ":" nonce ":" B64(MD5(body)))`, the raw
/// 16-byte core of both the HMAC credential and the package #0 digest.
pub(crate) fn keyed_md5(id: &str, password: &str, nonce: &[u8], body: &[u8]) -> [u8; 16] {
    let key = b64_md5(&[id.as_bytes(), b":", password.as_bytes()]);
    let body = b64_md5(&[body]);
    md5_of(&[key.as_bytes(), b":", nonce, b":", body.as_bytes()])
}

/// Equality whose running time does not depend on where `a` and `b` differ
/// (lengths are compared first and are not treated as secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        // black_box keeps the optimiser from turning this into an early exit.
        diff = std::hint::black_box(diff | (x ^ y));
    }
    diff == 0
}

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn b64_md5(parts: &[&[u8]]) -> String {
    STANDARD.encode(md5_of(parts))
}

fn decode_b64(text: &str) -> Result<Vec<u8>, AuthError> {
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    B64_LENIENT
        .decode(compact)
        .map_err(|_| AuthError::MalformedBase64)
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits `s` before the first char matching `stop` (or at its end).
fn split_until(s: &str, stop: impl Fn(char) -> bool) -> (&str, &str) {
    let end = s.find(stop).unwrap_or(s.len());
    s.split_at(end)
}

/// Parses the rest of a quoted string (after the opening `"`), returning the
/// unescaped value and what follows the closing `"`.
fn parse_quoted(s: &str) -> Result<(String, &str), AuthError> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, e)) => out.push(e),
                None => break,
            },
            _ => out.push(c),
        }
    }
    Err(AuthError::MalformedHeader("unterminated quoted value"))
}
