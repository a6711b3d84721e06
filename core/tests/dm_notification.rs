//! OMA DM package #0 notification (OMA DM Notification 1.2 §6; facts §6).

use dmsched::dm::notification::{
    self, Initiator, MIN_LEN, Notification, NotificationError, RESYNC_NONCE_BYTES,
    RESYNC_NONCE_TEXT, UiMode, verify,
};
use rand::{Rng, RngExt, SeedableRng, rngs::StdRng};

const SERVER_ID: &str = "com.example.dm";
const PASSWORD: &str = "srvsecret";
const TRIGGER_HEX: &str = "02d800000012340e636f6d2e6578616d706c652e646d";
const DIGEST_HEX: &str = "d694f533bbdb178ac64480e078526bec";
/// A client nonce other than the resync nonces.
const STORED_NONCE: &[u8] = b"\x01\x02\x03\x04\x05\x06\x07\x08";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vector_notification() -> Notification {
    Notification {
        version: 11,
        ui_mode: UiMode::Background,
        initiator: Initiator::Server,
        session_id: 0x1234,
        server_id: SERVER_ID.to_owned(),
        vendor: Vec::new(),
    }
}

/// The facts-sheet message: digest then trigger.
fn vector_message() -> Vec<u8> {
    let mut m = hex(DIGEST_HEX);
    m.extend(hex(TRIGGER_HEX));
    m
}

/// Trigger encoding matches the vector (facts §6).
#[test]
fn trigger_encoding_matches_spec_vector() {
    assert_eq!(vector_notification().trigger().unwrap(), hex(TRIGGER_HEX));
}

/// Digest matches the vector with nonce = 4 zero bytes (facts §6).
#[test]
fn digest_matches_spec_vector() {
    let d = notification::digest(SERVER_ID, PASSWORD, &[0; 4], &hex(TRIGGER_HEX));
    assert_eq!(d.to_vec(), hex(DIGEST_HEX));
    assert_eq!(
        vector_notification().encode(PASSWORD, &[0; 4]).unwrap(),
        vector_message()
    );
}

/// Parsing the vector yields its fields, digest and trigger slice.
#[test]
fn parse_decodes_spec_vector_fields() {
    let msg = vector_message();
    let (digest, n, trigger) = Notification::parse(&msg).unwrap();
    assert_eq!(digest.to_vec(), hex(DIGEST_HEX));
    assert_eq!(n, vector_notification());
    assert_eq!(trigger, hex(TRIGGER_HEX).as_slice());
}

/// Every UI mode, both initiators, both versions and vendor data round-trip.
#[test]
fn encode_parse_round_trips_all_modes_versions_and_vendor_data() {
    for version in [11, 12] {
        for ui_mode in [
            UiMode::NotSpecified,
            UiMode::Background,
            UiMode::Informative,
            UiMode::UserInteraction,
        ] {
            for initiator in [Initiator::Client, Initiator::Server] {
                let n = Notification {
                    version,
                    ui_mode,
                    initiator,
                    session_id: 0xfedc,
                    server_id: "srv-ü".to_owned(),
                    vendor: vec![0, 1, 2, 0xff],
                };
                let msg = n.encode(PASSWORD, STORED_NONCE).unwrap();
                let v = verify(&msg, PASSWORD, STORED_NONCE).unwrap();
                assert_eq!(v.notification, n);
                assert!(!v.used_resync_nonce);
            }
        }
    }
}

/// A message signed with the stored nonce verifies without resync.
#[test]
fn verify_accepts_stored_nonce_without_resync() {
    let msg = vector_notification()
        .encode(PASSWORD, STORED_NONCE)
        .unwrap();
    let v = verify(&msg, PASSWORD, STORED_NONCE).unwrap();
    assert_eq!(v.notification, vector_notification());
    assert!(!v.used_resync_nonce);
    assert_eq!(v.digest.as_slice(), &msg[..16]);
}

/// Resync fallback with 4 zero bytes: the vector verifies against any
/// stored nonce and reports the resync (OMA DM Security 1.2 §5.6.1; facts §6).
#[test]
fn verify_falls_back_to_zero_bytes_resync_nonce() {
    let v = verify(&vector_message(), PASSWORD, STORED_NONCE).unwrap();
    assert!(v.used_resync_nonce);
    assert_eq!(v.notification.session_id, 0x1234);
    // If the stored nonce *is* the resync nonce, it is not a fallback.
    let v = verify(&vector_message(), PASSWORD, &RESYNC_NONCE_BYTES).unwrap();
    assert!(!v.used_resync_nonce);
}

/// Resync fallback with the ASCII spelling "0x00000000" seen in the wild (facts §6).
#[test]
fn verify_falls_back_to_ascii_resync_nonce() {
    let msg = vector_notification()
        .encode(PASSWORD, RESYNC_NONCE_TEXT)
        .unwrap();
    assert_ne!(msg, vector_message());
    let v = verify(&msg, PASSWORD, STORED_NONCE).unwrap();
    assert!(v.used_resync_nonce);
}

/// Wrong server password → BadDigest.
#[test]
fn verify_rejects_wrong_password() {
    assert_eq!(
        verify(&vector_message(), "srvsecreT", STORED_NONCE),
        Err(NotificationError::BadDigest)
    );
    let msg = vector_notification()
        .encode(PASSWORD, STORED_NONCE)
        .unwrap();
    assert_eq!(
        verify(&msg, PASSWORD, b"other nonce"),
        Err(NotificationError::BadDigest)
    );
}

/// Any change to the trigger (session id, ui mode, server id, vendor data) → BadDigest.
#[test]
fn verify_rejects_tampered_trigger() {
    let msg = vector_message();
    for (offset, xor) in [
        (16 + 1, 0x10u8), // ui mode background → not specified
        (16 + 5, 0x01),   // session id high byte
        (16 + 6, 0x01),   // session id low byte
        (16 + 8, 0x20),   // server id 'c' → 'C'
        (0, 0x80),        // digest itself
    ] {
        let mut bad = msg.clone();
        bad[offset] ^= xor;
        assert!(
            Notification::parse(&bad).is_ok(),
            "still well-formed at {offset}"
        );
        assert_eq!(
            verify(&bad, PASSWORD, STORED_NONCE),
            Err(NotificationError::BadDigest),
            "offset {offset}"
        );
    }
    let mut appended = msg;
    appended.push(0); // extra vendor byte
    assert_eq!(
        verify(&appended, PASSWORD, STORED_NONCE),
        Err(NotificationError::BadDigest)
    );
}

/// Any of the 27 reserved bits set is rejected (facts §6).
#[test]
fn parse_rejects_reserved_bits_set() {
    let msg = vector_message();
    for bit in 0..27 {
        // Reserved bits are the last 27 of the first 40 trigger bits.
        let pos = 13 + bit;
        let mut bad = msg.clone();
        bad[16 + pos / 8] |= 0x80 >> (pos % 8);
        assert_eq!(
            Notification::parse(&bad),
            Err(NotificationError::ReservedBitsSet),
            "bit {bit}"
        );
    }
}

/// Versions other than 11 and 12 are rejected.
#[test]
fn parse_rejects_unsupported_versions() {
    for version in [0u16, 10, 13, 1023] {
        let mut bad = vector_message();
        bad[16] = (version >> 2) as u8;
        bad[17] = (bad[17] & 0x3f) | (((version & 3) as u8) << 6);
        assert_eq!(
            Notification::parse(&bad),
            Err(NotificationError::UnsupportedVersion(version))
        );
    }
    let n = Notification {
        version: 13,
        ..vector_notification()
    };
    assert_eq!(
        n.encode(PASSWORD, STORED_NONCE),
        Err(NotificationError::UnsupportedVersion(13))
    );
}

/// Server-id length 0 or past the end is rejected; a non-printable id too.
#[test]
fn parse_rejects_bad_server_id_length_and_content() {
    let base = vector_message();
    let mut zero = base.clone();
    zero[23] = 0;
    assert!(matches!(
        Notification::parse(&zero),
        Err(NotificationError::BadServerIdLength { declared: 0, .. })
    ));
    let mut long = base.clone();
    long[23] = 15;
    assert_eq!(
        Notification::parse(&long),
        Err(NotificationError::BadServerIdLength {
            declared: 15,
            available: 14
        })
    );
    let mut control = base.clone();
    control[24] = b'\n';
    assert_eq!(
        Notification::parse(&control),
        Err(NotificationError::BadServerId)
    );
    let mut not_utf8 = base;
    not_utf8[24] = 0xc3;
    assert_eq!(
        Notification::parse(&not_utf8),
        Err(NotificationError::BadServerId)
    );
    let too_long = Notification {
        server_id: "x".repeat(256),
        ..vector_notification()
    };
    assert_eq!(
        too_long.encode(PASSWORD, STORED_NONCE),
        Err(NotificationError::ServerIdTooLong)
    );
}

/// Every truncation of a valid message is an error, never a panic.
#[test]
fn every_truncation_of_valid_message_errors() {
    let msg = vector_message();
    for len in 0..msg.len() {
        let r = Notification::parse(&msg[..len]);
        if len < MIN_LEN {
            assert_eq!(r, Err(NotificationError::TooShort { len }), "len {len}");
        } else {
            assert!(
                matches!(r, Err(NotificationError::BadServerIdLength { .. })),
                "len {len}: {r:?}"
            );
        }
        assert!(verify(&msg[..len], PASSWORD, STORED_NONCE).is_err());
    }
}

/// Seeded random inputs and mutations never panic parse or verify.
#[test]
fn random_and_mutated_inputs_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x0a11_ce00);
    let valid = vector_message();
    let mut accepted_mutants = 0;
    for _ in 0..4000 {
        let len = rng.random_range(0..80usize);
        let mut buf = vec![0u8; len];
        rng.fill_bytes(&mut buf);
        let _ = Notification::parse(&buf);
        let _ = verify(&buf, PASSWORD, STORED_NONCE);

        let mut m = valid.clone();
        for _ in 0..rng.random_range(1..4usize) {
            let i = rng.random_range(0..m.len());
            m[i] = rng.random();
        }
        m.truncate(rng.random_range(0..=m.len() + 4));
        let _ = Notification::parse(&m);
        if m != valid && m.len() == valid.len() && verify(&m, PASSWORD, STORED_NONCE).is_ok() {
            accepted_mutants += 1;
        }
    }
    assert_eq!(accepted_mutants, 0, "a mutated message verified");
}

/// Alert 1200 SessionID is upper-case big-endian hex (facts §6, §8: no byte swap).
#[test]
fn session_id_hex_is_upper_case_big_endian() {
    let mut n = vector_notification();
    assert_eq!(n.session_id_hex(), "1234");
    n.session_id = 0xabc;
    assert_eq!(n.session_id_hex(), "0ABC");
    n.session_id = 0xffff;
    assert_eq!(n.session_id_hex(), "FFFF");
}

/// Replay key: same for a replay, different for another session or digest.
#[test]
fn replay_key_distinguishes_session_and_digest() {
    let v = verify(&vector_message(), PASSWORD, STORED_NONCE).unwrap();
    let again = verify(&vector_message(), PASSWORD, STORED_NONCE).unwrap();
    let k = v.notification.replay_key(&v.digest);
    assert_eq!(k, again.notification.replay_key(&again.digest));
    let other = Notification {
        session_id: 0x1235,
        ..vector_notification()
    };
    assert_ne!(k, other.replay_key(&v.digest));
    let mut d = v.digest;
    d[0] ^= 1;
    assert_ne!(k, v.notification.replay_key(&d));
}
