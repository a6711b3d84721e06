//! OMA DM package #0: the server's session-request notification (OMA DM
//! Notification 1.2 §6; facts §6), MIME `application/vnd.syncml.notification`.
//!
//! Layout, big-endian:
//!
//! | bits | field |
//! |---|---|
//! | 128 | digest |
//! | 10 | version (11 = DM 1.1, 12 = DM 1.2) |
//! | 2 | ui-mode |
//! | 1 | initiator (1 = server) |
//! | 27 | reserved, zero |
//! | 16 | session id |
//! | 8 | server-id length |
//! | n×8 | server id |
//! | … | vendor-specific data |
//!
//! Everything after the digest is the *trigger*. The digest is
//! `MD5(B64(MD5(serverid ":" password)) ":" nonce ":" B64(MD5(trigger)))`
//! with the server's credentials (DMAcc `SRVCRED`) and the nonce the client
//! last gave that server.
//!
//! # Flow and replay protection
//!
//! 1. [`Notification::parse`] the message (cheap, no secrets) to learn the
//!    server id, and look up that server's account.
//! 2. [`verify`] with its password and stored server nonce.
//! 3. Reject a replay: the server must change the nonce for every
//!    notification it sends, so the caller must keep the
//!    [`Notification::replay_key`] (server id, session id, digest) of the
//!    last accepted notification per server and drop one that repeats it.
//!    This matters most after the resync-nonce fallback, whose nonce never
//!    changes: a captured resync notification would otherwise be valid
//!    forever.
//! 4. If [`Verified::used_resync_nonce`], the session layer must send the
//!    server a fresh nonce (a `Chal`) in the session that follows.
//! 5. Open the session with Alert 1200 and
//!    [`Notification::session_id_hex`] as the SessionID.
//!
//! Nothing here panics on any input; all failures are
//! [`NotificationError`]s. Package #0 arrives by SMS or WAP push and has no
//! reply channel, so a failure is dropped (and may be logged without the
//! message bytes).

use md5::{Digest, Md5};

use crate::dm::auth::{ct_eq, keyed_md5};

/// Length of the digest at the start of a package #0 message.
pub const DIGEST_LEN: usize = 16;
/// Fixed trigger header: version … reserved (5), session id (2), server-id
/// length (1).
pub const TRIGGER_HEADER_LEN: usize = 8;
/// Shortest possible message: digest plus fixed trigger header.
pub const MIN_LEN: usize = DIGEST_LEN + TRIGGER_HEADER_LEN;
/// The resync nonce as 4 zero bytes (the specification's reading).
pub const RESYNC_NONCE_BYTES: [u8; 4] = [0; 4];
/// The resync nonce as the ASCII text `0x00000000`, seen in deployed servers.
pub const RESYNC_NONCE_TEXT: &[u8] = b"0x00000000";

/// The user-interaction mode the server asks for (JSON: `not_specified`,
/// `background`, `informative`, `user_interaction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiMode {
    /// 0: not specified; the client decides.
    NotSpecified,
    /// 1: start the session in the background, no user interaction.
    Background,
    /// 2: inform the user, then start.
    Informative,
    /// 3: ask the user before starting.
    UserInteraction,
}

impl UiMode {
    /// The 2-bit wire value.
    pub const fn bits(self) -> u8 {
        match self {
            Self::NotSpecified => 0,
            Self::Background => 1,
            Self::Informative => 2,
            Self::UserInteraction => 3,
        }
    }

    /// From the 2-bit wire value (higher bits ignored).
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0 => Self::NotSpecified,
            1 => Self::Background,
            2 => Self::Informative,
            _ => Self::UserInteraction,
        }
    }
}

/// Who initiated the session request (JSON: `client`, `server`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    /// 0: client-initiated.
    Client,
    /// 1: server-initiated (what a package #0 normally says).
    Server,
}

/// Why a package #0 message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// Shorter than digest plus fixed trigger header.
    #[error("notification too short: {len} bytes, need at least {MIN_LEN}")]
    TooShort {
        /// Length received.
        len: usize,
    },
    /// Version other than 11 (DM 1.1) or 12 (DM 1.2).
    #[error("unsupported notification version {0}")]
    UnsupportedVersion(u16),
    /// Some of the 27 reserved bits are set.
    #[error("reserved bits set in notification header")]
    ReservedBitsSet,
    /// The server-id length is zero or runs past the end of the message.
    #[error("server-id length {declared} invalid with {available} bytes available")]
    BadServerIdLength {
        /// Declared length.
        declared: usize,
        /// Bytes left after the fixed header.
        available: usize,
    },
    /// The server id is not UTF-8 or contains control characters.
    #[error("server id is not printable UTF-8")]
    BadServerId,
    /// A notification to encode has a server id longer than 255 bytes.
    #[error("server id longer than 255 bytes")]
    ServerIdTooLong,
    /// The digest does not match with the stored nor the resync nonce.
    #[error("notification digest does not match")]
    BadDigest,
}

/// A decoded package #0 trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Protocol version ×10: 11 or 12.
    pub version: u16,
    /// Requested user interaction.
    pub ui_mode: UiMode,
    /// Who initiated the request.
    pub initiator: Initiator,
    /// The session id the client must use in package #1.
    pub session_id: u16,
    /// The requesting server (DMAcc `ServerID`).
    pub server_id: String,
    /// Vendor-specific data after the server id (may be empty).
    pub vendor: Vec<u8>,
}

/// A notification whose digest verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The decoded trigger.
    pub notification: Notification,
    /// The digest that verified, for [`Notification::replay_key`].
    pub digest: [u8; DIGEST_LEN],
    /// True when only a resync nonce (either spelling) matched: the session
    /// must give the server a fresh nonce.
    pub used_resync_nonce: bool,
}

impl Notification {
    /// Splits a message into `(digest, notification, trigger bytes)` and
    /// validates the trigger: length, version 11 or 12, reserved bits zero,
    /// server-id length 1..=remaining bytes, server id printable UTF-8.
    /// Does not check the digest; use [`verify`].
    pub fn parse(bytes: &[u8]) -> Result<([u8; DIGEST_LEN], Self, &[u8]), NotificationError> {
        let too_short = NotificationError::TooShort { len: bytes.len() };
        let (digest, trigger) = bytes
            .split_first_chunk::<DIGEST_LEN>()
            .ok_or(too_short.clone())?;
        let (hdr, rest) = trigger
            .split_first_chunk::<TRIGGER_HEADER_LEN>()
            .ok_or(too_short)?;
        let [b0, b1, b2, b3, b4, s0, s1, id_len] = *hdr;
        let version = (u16::from(b0) << 2) | u16::from(b1 >> 6);
        if version != 11 && version != 12 {
            return Err(NotificationError::UnsupportedVersion(version));
        }
        let ui_mode = UiMode::from_bits(b1 >> 4);
        let initiator = if b1 & 0b1000 != 0 {
            Initiator::Server
        } else {
            Initiator::Client
        };
        if b1 & 0b0111 != 0 || b2 != 0 || b3 != 0 || b4 != 0 {
            return Err(NotificationError::ReservedBitsSet);
        }
        let session_id = u16::from_be_bytes([s0, s1]);
        let declared = usize::from(id_len);
        let bad_len = NotificationError::BadServerIdLength {
            declared,
            available: rest.len(),
        };
        if declared == 0 {
            return Err(bad_len);
        }
        let (id, vendor) = rest.split_at_checked(declared).ok_or(bad_len)?;
        let server_id = std::str::from_utf8(id).map_err(|_| NotificationError::BadServerId)?;
        check_server_id(server_id)?;
        Ok((
            *digest,
            Self {
                version,
                ui_mode,
                initiator,
                session_id,
                server_id: server_id.to_owned(),
                vendor: vendor.to_vec(),
            },
            trigger,
        ))
    }

    /// The trigger bytes (everything after the digest). Fails on what
    /// [`Notification::parse`] would reject, so the output always parses.
    pub fn trigger(&self) -> Result<Vec<u8>, NotificationError> {
        if self.version != 11 && self.version != 12 {
            return Err(NotificationError::UnsupportedVersion(self.version));
        }
        check_server_id(&self.server_id)?;
        let id_len = match u8::try_from(self.server_id.len()) {
            Ok(0) => {
                return Err(NotificationError::BadServerIdLength {
                    declared: 0,
                    available: 0,
                });
            }
            Ok(n) => n,
            Err(_) => return Err(NotificationError::ServerIdTooLong),
        };
        let [v0, v1] = self.version.to_be_bytes();
        let b0 = (v0 << 6) | (v1 >> 2);
        let initiator = match self.initiator {
            Initiator::Client => 0,
            Initiator::Server => 1,
        };
        let b1 = ((v1 & 0b11) << 6) | (self.ui_mode.bits() << 4) | (initiator << 3);
        let [s0, s1] = self.session_id.to_be_bytes();
        let mut out =
            Vec::with_capacity(TRIGGER_HEADER_LEN + self.server_id.len() + self.vendor.len());
        out.extend_from_slice(&[b0, b1, 0, 0, 0, s0, s1, id_len]);
        out.extend_from_slice(self.server_id.as_bytes());
        out.extend_from_slice(&self.vendor);
        Ok(out)
    }

    /// The whole message, digest then trigger, signed with the server's
    /// password and the client's current server nonce (test servers).
    pub fn encode(
        &self,
        server_password: &str,
        nonce: &[u8],
    ) -> Result<Vec<u8>, NotificationError> {
        let trigger = self.trigger()?;
        let mut out = Vec::with_capacity(DIGEST_LEN + trigger.len());
        out.extend_from_slice(&digest(&self.server_id, server_password, nonce, &trigger));
        out.extend_from_slice(&trigger);
        Ok(out)
    }

    /// The session id as 4 upper-case hex digits for Alert 1200's SessionID
    /// (0x1234 → `"1234"`), in plain big-endian order.
    pub fn session_id_hex(&self) -> String {
        format!("{:04X}", self.session_id)
    }

    /// A fixed-size key identifying this notification for replay checks:
    /// MD5 over server id, session id and `digest`. Store the key of the
    /// last accepted notification per server; reject an equal one.
    pub fn replay_key(&self, digest: &[u8; DIGEST_LEN]) -> [u8; 16] {
        let mut h = Md5::new();
        h.update(self.server_id.as_bytes());
        h.update([0u8]);
        h.update(self.session_id.to_be_bytes());
        h.update(digest);
        h.finalize().into()
    }
}

/// The package #0 digest:
/// `MD5(B64(MD5(server_id ":" password)) ":" nonce ":" B64(MD5(trigger)))`.
pub fn digest(server_id: &str, password: &str, nonce: &[u8], trigger: &[u8]) -> [u8; DIGEST_LEN] {
    keyed_md5(server_id, password, nonce, trigger)
}

/// Parses `bytes` and checks its digest with `server_password` and the
/// stored server `nonce`; if that fails, with the resync nonce in both
/// spellings ([`RESYNC_NONCE_BYTES`], [`RESYNC_NONCE_TEXT`]). All three
/// candidates are always computed and compared in constant time.
/// Replay protection is the caller's job (see the module docs).
pub fn verify(
    bytes: &[u8],
    server_password: &str,
    nonce: &[u8],
) -> Result<Verified, NotificationError> {
    let (received, notification, trigger) = Notification::parse(bytes)?;
    let id = notification.server_id.as_str();
    let stored = ct_eq(&digest(id, server_password, nonce, trigger), &received);
    let resync_bytes = ct_eq(
        &digest(id, server_password, &RESYNC_NONCE_BYTES, trigger),
        &received,
    );
    let resync_text = ct_eq(
        &digest(id, server_password, RESYNC_NONCE_TEXT, trigger),
        &received,
    );
    if stored | resync_bytes | resync_text {
        Ok(Verified {
            notification,
            digest: received,
            used_resync_nonce: !stored,
        })
    } else {
        Err(NotificationError::BadDigest)
    }
}

fn check_server_id(id: &str) -> Result<(), NotificationError> {
    if id.chars().any(char::is_control) {
        Err(NotificationError::BadServerId)
    } else {
        Ok(())
    }
}
