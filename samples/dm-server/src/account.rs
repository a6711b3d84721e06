//! Device accounts: who may connect, with which credentials in each
//! direction, and the two nonces currently in force (facts §5).
//!
//! The accounts file is a JSON list of [`Account`]s; nonces are base64 in
//! it. The server keeps the list in memory and, when it was started with a
//! file, writes it back whenever a nonce changes, so that a restarted
//! server still speaks the nonces the device last saw.

use std::fmt;
use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dmsched::dm::auth::AuthType;
use serde::{Deserialize, Serialize};

/// How the device must authenticate to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// `syncml:auth-basic` `Cred` in the SyncHdr.
    Basic,
    /// `syncml:auth-md5` `Cred` in the SyncHdr, over `client_nonce`.
    Md5,
    /// `x-syncml-hmac` HTTP header on every message, over `client_nonce`.
    Hmac,
}

impl ClientAuth {
    /// The core's name for the scheme.
    pub fn auth_type(self) -> AuthType {
        match self {
            ClientAuth::Basic => AuthType::Basic,
            ClientAuth::Md5 => AuthType::Md5,
            ClientAuth::Hmac => AuthType::Hmac,
        }
    }

    /// The Meta `Type` of a `Chal` or `Cred` for this scheme.
    pub fn meta_type(self) -> &'static str {
        self.auth_type().meta_type()
    }

    /// Short lower-case name (`basic`, `md5`, `hmac`), as in the accounts file.
    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::Basic => "basic",
            ClientAuth::Md5 => "md5",
            ClientAuth::Hmac => "hmac",
        }
    }
}

/// How the server authenticates itself to the device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerAuth {
    /// No server credential (for devices whose account opts out of server
    /// authentication; a dmsched device refuses such a server by default).
    None,
    /// `syncml:auth-md5` `Cred` in the server's SyncHdr, over `server_nonce`,
    /// until the device answers 212. The default: devices must
    /// authenticate the server (OMA DM 6.1.1.2.1).
    #[default]
    Md5,
    /// `x-syncml-hmac` header on every response, over `server_nonce`.
    Hmac,
}

/// One device as the server knows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The server's id (DMAcc `ServerID`): package #0 and server credentials.
    pub server_id: String,
    /// The device id: the `LocURI` of the Source in the device's SyncHdr.
    pub device_id: String,
    /// The device's user name (`LocName`, Basic user, HMAC `username`).
    pub client_user: String,
    /// The device's password.
    pub client_password: String,
    /// The scheme the server requires from the device.
    pub client_auth: ClientAuth,
    /// The server's password (its credential toward the device, and the
    /// package #0 digest).
    pub server_password: String,
    /// Whether and how the server presents its own credential.
    #[serde(default)]
    pub server_auth: ServerAuth,
    /// The nonce the server expects the device to use next (the server
    /// issues a new one in every `Chal` NextNonce). Base64 in the file.
    #[serde(with = "b64", default = "default_client_nonce")]
    pub client_nonce: Vec<u8>,
    /// The nonce the device told the server to use (a `Chal` in the
    /// device's Status for the server's SyncHdr); also used for the
    /// package #0 digest. Base64 in the file.
    #[serde(with = "b64", default = "default_server_nonce")]
    pub server_nonce: Vec<u8>,
}

fn default_client_nonce() -> Vec<u8> {
    b"initial-client-nonce".to_vec()
}

fn default_server_nonce() -> Vec<u8> {
    b"initial-server-nonce".to_vec()
}

impl Account {
    /// An account with the server's MD5 credential (the default) and the
    /// default initial nonces (`initial-client-nonce`,
    /// `initial-server-nonce`, as bytes).
    pub fn new(
        server_id: impl Into<String>,
        device_id: impl Into<String>,
        client_user: impl Into<String>,
        client_password: impl Into<String>,
        client_auth: ClientAuth,
        server_password: impl Into<String>,
    ) -> Account {
        Account {
            server_id: server_id.into(),
            device_id: device_id.into(),
            client_user: client_user.into(),
            client_password: client_password.into(),
            client_auth,
            server_password: server_password.into(),
            server_auth: ServerAuth::default(),
            client_nonce: default_client_nonce(),
            server_nonce: default_server_nonce(),
        }
    }

    /// The same account with this server credential scheme.
    pub fn with_server_auth(mut self, server_auth: ServerAuth) -> Account {
        self.server_auth = server_auth;
        self
    }

    /// The same account with these nonces (raw bytes).
    pub fn with_nonces(mut self, client_nonce: &[u8], server_nonce: &[u8]) -> Account {
        self.client_nonce = client_nonce.to_vec();
        self.server_nonce = server_nonce.to_vec();
        self
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Passwords are not printed; nonces only by length.
        f.debug_struct("Account")
            .field("server_id", &self.server_id)
            .field("device_id", &self.device_id)
            .field("client_user", &self.client_user)
            .field("client_auth", &self.client_auth)
            .field("server_auth", &self.server_auth)
            .field("client_nonce_len", &self.client_nonce.len())
            .field("server_nonce_len", &self.server_nonce.len())
            .finish_non_exhaustive()
    }
}

/// Reads an accounts file (a JSON list of accounts).
pub fn load_accounts(path: &Path) -> anyhow::Result<Vec<Account>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading accounts file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing accounts file {}", path.display()))
}

/// Writes an accounts file atomically (a temporary file renamed over it).
pub fn save_accounts(path: &Path, accounts: &[Account]) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(accounts)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text.as_bytes())
        .with_context(|| format!("writing accounts file {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("replacing accounts file {}", path.display()))?;
    Ok(())
}

/// Serde for nonce bytes as standard base64 text.
mod b64 {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        dmsched::dm::auth::Nonce::from_b64(&text)
            .map(|n| n.as_bytes().to_vec())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_file_keeps_nonces_as_base64() {
        let a = Account::new("srv", "IMEI:1", "user", "pw", ClientAuth::Md5, "spw")
            .with_nonces(b"Nonce", &[0, 0, 0, 0]);
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains("\"client_nonce\":\"Tm9uY2U=\""), "{json}");
        assert!(json.contains("\"server_nonce\":\"AAAAAA==\""), "{json}");
        let back: Account = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn debug_output_hides_passwords() {
        let a = Account::new(
            "srv",
            "IMEI:1",
            "user",
            "hunter2",
            ClientAuth::Basic,
            "s3cr3t",
        );
        let s = format!("{a:?}");
        assert!(!s.contains("hunter2") && !s.contains("s3cr3t"), "{s}");
    }
}
