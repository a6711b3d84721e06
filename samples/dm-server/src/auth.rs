//! Checking the device's credential and presenting the server's (facts §5).
//!
//! Device side: Basic and MD5 come as a `Cred` in the SyncHdr, HMAC as the
//! `x-syncml-hmac` HTTP header over the exact body; MD5 and HMAC use the
//! account's `client_nonce`. Server side: an MD5 `Cred` in the server's
//! SyncHdr or an `x-syncml-hmac` header on the response, over the
//! account's `server_nonce`.

use dmsched::dm::auth::{self, AuthType, HmacHeader, Nonce};
use dmsched::dm::syncml::{Chal, Cred, Meta, SyncHdr};

use crate::account::{Account, ClientAuth, ServerAuth};

/// The outcome of checking one message's device credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// It verified.
    Ok,
    /// None was presented (407).
    Missing,
    /// One was presented and does not verify, or is of the wrong scheme
    /// (401). The text says why.
    Bad(String),
}

/// What the message carried, for the record.
pub(crate) fn presented(hdr: &SyncHdr, hmac_header: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &hdr.cred {
        parts.push(match cred_type(c) {
            Some(AuthType::Basic) => "basic".to_string(),
            Some(AuthType::Md5) => "md5".to_string(),
            Some(AuthType::Hmac) => "hmac-cred".to_string(),
            None => c
                .meta
                .as_ref()
                .and_then(|m| m.type_.clone())
                .unwrap_or_else(|| "unknown".into()),
        });
    }
    if hmac_header.is_some() {
        parts.push("hmac".to_string());
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("+")
    }
}

/// A `Cred`'s scheme. A `Cred` without Meta Type is Basic (the SyncML default).
fn cred_type(c: &Cred) -> Option<AuthType> {
    match c.meta.as_ref().and_then(|m| m.type_.as_deref()) {
        None => Some(AuthType::Basic),
        Some(t) => AuthType::from_meta_type(t),
    }
}

/// Checks the device credential of one message against `account`.
pub(crate) fn check_device(
    account: &Account,
    hdr: &SyncHdr,
    hmac_header: Option<&str>,
    body: &[u8],
) -> Check {
    match account.client_auth {
        ClientAuth::Hmac => check_hmac(account, hmac_header, body),
        scheme => check_cred(account, scheme, hdr),
    }
}

fn check_hmac(account: &Account, header: Option<&str>, body: &[u8]) -> Check {
    let Some(value) = header else {
        return Check::Missing;
    };
    let header = match HmacHeader::parse(value) {
        Ok(h) => h,
        Err(e) => return Check::Bad(format!("bad hmac header: {e}")),
    };
    if header.username != account.client_user {
        return Check::Bad(format!("bad hmac: unknown user {:?}", header.username));
    }
    match auth::verify_hmac(
        &header,
        &account.client_password,
        &account.client_nonce,
        body,
    ) {
        Ok(()) => Check::Ok,
        Err(e) => Check::Bad(format!("bad hmac: {e}")),
    }
}

fn check_cred(account: &Account, scheme: ClientAuth, hdr: &SyncHdr) -> Check {
    let Some(cred) = &hdr.cred else {
        return Check::Missing;
    };
    let got = cred_type(cred);
    if got != Some(scheme.auth_type()) {
        return Check::Bad(format!(
            "wrong scheme: {} required, {} presented",
            scheme.name(),
            got.map(|t| t.meta_type()).unwrap_or("unknown")
        ));
    }
    match scheme {
        ClientAuth::Basic => match auth::parse_basic(&cred.data) {
            Ok((user, password)) => {
                if user != account.client_user {
                    Check::Bad(format!("bad basic: unknown user {user:?}"))
                } else if password != account.client_password {
                    Check::Bad("bad basic: wrong password".into())
                } else {
                    Check::Ok
                }
            }
            Err(e) => Check::Bad(format!("bad basic: {e}")),
        },
        ClientAuth::Md5 => {
            if let Some(name) = &hdr.source.loc_name
                && name != &account.client_user
            {
                return Check::Bad(format!(
                    "bad md5: LocName {name:?} is not the account's user"
                ));
            }
            if auth::verify_md5(
                &account.client_user,
                &account.client_password,
                &account.client_nonce,
                &cred.data,
            ) {
                Check::Ok
            } else {
                Check::Bad("bad md5 digest".into())
            }
        }
        ClientAuth::Hmac => Check::Bad("hmac is checked on the header".into()),
    }
}

/// A challenge for `scheme`: Meta Type, Format b64 and, except for Basic,
/// NextNonce = `nonce`.
pub(crate) fn chal(scheme: ClientAuth, nonce: Option<&Nonce>) -> Chal {
    Chal {
        meta: Meta {
            type_: Some(scheme.meta_type().to_string()),
            format: Some("b64".into()),
            next_nonce: nonce.map(Nonce::to_b64),
            ..Meta::default()
        },
    }
}

/// The server's MD5 `Cred` for its SyncHdr (user = server id, over
/// `server_nonce`), if the account wants one.
pub(crate) fn server_cred(account: &Account) -> Option<Cred> {
    (account.server_auth == ServerAuth::Md5).then(|| Cred {
        meta: Some(Meta {
            type_: Some(AuthType::Md5.meta_type().to_string()),
            format: Some("b64".into()),
            ..Meta::default()
        }),
        data: auth::md5_digest(
            &account.server_id,
            &account.server_password,
            &account.server_nonce,
        ),
    })
}

/// The server's `x-syncml-hmac` header value for a response body, if the
/// account wants one (username = server id, over `server_nonce`).
pub(crate) fn server_hmac(account: &Account, body: &[u8]) -> Option<String> {
    (account.server_auth == ServerAuth::Hmac).then(|| {
        HmacHeader::sign(
            &account.server_id,
            &account.server_password,
            &account.server_nonce,
            body,
        )
        .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmsched::dm::syncml::Locus;

    fn hdr(cred: Option<Cred>) -> SyncHdr {
        SyncHdr {
            source: Locus {
                loc_uri: "IMEI:1".into(),
                loc_name: Some("Bruce2".into()),
            },
            cred,
            ..SyncHdr::default()
        }
    }

    fn md5_cred(data: String) -> Cred {
        Cred {
            meta: Some(Meta {
                type_: Some("syncml:auth-md5".into()),
                format: Some("b64".into()),
                ..Meta::default()
            }),
            data,
        }
    }

    #[test]
    fn md5_vector_of_the_facts_sheet_verifies() {
        let a = Account::new("srv", "IMEI:1", "Bruce2", "OhBehave", ClientAuth::Md5, "x")
            .with_nonces(b"Nonce", b"n");
        let good = hdr(Some(md5_cred("Zz6EivR3yeaaENcRN6lpAQ==".into())));
        assert_eq!(check_device(&a, &good, None, b""), Check::Ok);
        let bad = hdr(Some(md5_cred("AAAAAAAAAAAAAAAAAAAAAA==".into())));
        assert!(matches!(check_device(&a, &bad, None, b""), Check::Bad(_)));
        assert_eq!(check_device(&a, &hdr(None), None, b""), Check::Missing);
    }

    #[test]
    fn basic_cred_without_meta_type_counts_as_basic() {
        let a = Account::new(
            "srv",
            "IMEI:1",
            "Bruce2",
            "OhBehave",
            ClientAuth::Basic,
            "x",
        );
        let c = Cred {
            meta: None,
            data: "QnJ1Y2UyOk9oQmVoYXZl".into(),
        };
        assert_eq!(check_device(&a, &hdr(Some(c)), None, b""), Check::Ok);
    }

    #[test]
    fn hmac_vector_of_the_facts_sheet_verifies() {
        let a = Account::new("srv", "IMEI:1", "Bruce2", "OhBehave", ClientAuth::Hmac, "x")
            .with_nonces(b"Nonce", b"n");
        let h = r#"algorithm=MD5, username="Bruce2", mac=urdCeS3JUmjFgi8SX3webw=="#;
        assert_eq!(
            check_device(&a, &hdr(None), Some(h), b"<SyncML/>"),
            Check::Ok
        );
        assert!(matches!(
            check_device(&a, &hdr(None), Some(h), b"<SyncML />"),
            Check::Bad(_)
        ));
        assert_eq!(
            check_device(&a, &hdr(None), None, b"<SyncML/>"),
            Check::Missing
        );
    }
}
