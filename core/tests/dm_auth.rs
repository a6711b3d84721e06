//! SyncML DM authentication primitives (OMA DM Security 1.2 §5; facts §5).

use dmsched::dm::auth::{
    AuthError, AuthType, HMAC_HEADER_NAME, HmacHeader, Nonce, Secret, basic_credential, hmac_mac,
    md5_digest, parse_basic, verify_hmac, verify_md5,
};

const USER: &str = "Bruce2";
const PASSWORD: &str = "OhBehave";
const NONCE: &[u8] = b"Nonce";
const BODY: &[u8] = b"<SyncML/>";
const HMAC_VECTOR: &str = "urdCeS3JUmjFgi8SX3webw==";

/// Meta Type strings of `Cred`/`Chal` parse case-insensitively (facts §5).
#[test]
fn meta_type_parses_case_insensitively_and_round_trips() {
    for t in [AuthType::Basic, AuthType::Md5, AuthType::Hmac] {
        assert_eq!(AuthType::from_meta_type(t.meta_type()), Some(t));
        assert_eq!(
            AuthType::from_meta_type(&t.meta_type().to_uppercase()),
            Some(t)
        );
    }
    assert_eq!(
        AuthType::from_meta_type(" syncml:auth-mac "),
        Some(AuthType::Hmac)
    );
    assert_eq!(AuthType::Hmac.meta_type(), "syncml:auth-MAC");
    assert_eq!(AuthType::from_meta_type("syncml:auth-x509"), None);
}

/// DMAcc AAuthType values BASIC|DIGEST|HMAC (OMA DM Standard Objects, facts §4).
#[test]
fn aauth_type_names_map_to_schemes() {
    assert_eq!(AuthType::from_aauth_type("BASIC"), Some(AuthType::Basic));
    assert_eq!(AuthType::from_aauth_type("DIGEST"), Some(AuthType::Md5));
    assert_eq!(AuthType::from_aauth_type("hmac"), Some(AuthType::Hmac));
    assert_eq!(AuthType::Md5.aauth_type(), "DIGEST");
    assert_eq!(AuthType::from_aauth_type("MD5"), None);
}

/// Basic credential vector (facts §5).
#[test]
fn basic_credential_matches_spec_vector() {
    assert_eq!(basic_credential(USER, PASSWORD), "QnJ1Y2UyOk9oQmVoYXZl");
}

/// Basic decoding splits at the first colon; the password may contain colons.
#[test]
fn parse_basic_round_trips_and_keeps_colons_in_password() {
    assert_eq!(
        parse_basic(" QnJ1Y2UyOk9oQmVoYXZl\n"),
        Ok((USER.to_owned(), PASSWORD.to_owned()))
    );
    let cred = basic_credential("u", "a:b:c");
    assert_eq!(parse_basic(&cred), Ok(("u".to_owned(), "a:b:c".to_owned())));
}

/// Malformed Basic credentials are 400, never a panic.
#[test]
fn parse_basic_rejects_bad_base64_and_missing_colon() {
    let e = parse_basic("not base64!").unwrap_err();
    assert_eq!(e, AuthError::MalformedBase64);
    assert_eq!(e.status(), 400);
    let e = parse_basic("bm9jb2xvbg==").unwrap_err(); // B64("nocolon")
    assert!(matches!(e, AuthError::MalformedBasic(_)), "{e:?}");
    assert_eq!(e.status(), 400);
    // Invalid UTF-8: 0xff 0x3a.
    assert!(matches!(
        parse_basic("/zo="),
        Err(AuthError::MalformedBasic(_))
    ));
}

/// MD5 digest vector (OMA DM Security 1.2 §5.3; facts §5).
#[test]
fn md5_digest_matches_spec_vector() {
    assert_eq!(
        md5_digest(USER, PASSWORD, NONCE),
        "Zz6EivR3yeaaENcRN6lpAQ=="
    );
}

/// verify_md5 accepts the right credential (whitespace tolerated) only.
#[test]
fn verify_md5_rejects_wrong_password_nonce_and_user() {
    let good = "Zz6EivR3yeaaENcRN6lpAQ==";
    assert!(verify_md5(USER, PASSWORD, NONCE, good));
    assert!(verify_md5(USER, PASSWORD, NONCE, &format!("  {good}\n")));
    assert!(!verify_md5(USER, "OhBehavf", NONCE, good));
    assert!(!verify_md5(USER, PASSWORD, b"Nonce2", good));
    assert!(!verify_md5("Bruce3", PASSWORD, NONCE, good));
    assert!(!verify_md5(USER, PASSWORD, NONCE, ""));
    assert!(!verify_md5(USER, PASSWORD, NONCE, &good[..good.len() - 1]));
}

/// HMAC vector (OMA DM Security 1.2 §5.5, x-syncml-hmac; facts §5).
#[test]
fn hmac_mac_matches_spec_vector() {
    assert_eq!(hmac_mac(USER, PASSWORD, NONCE, BODY), HMAC_VECTOR);
    assert_eq!(HMAC_HEADER_NAME, "x-syncml-hmac");
}

/// The header renders in the canonical form and parses back.
#[test]
fn hmac_header_display_is_canonical_and_round_trips() {
    let h = HmacHeader::sign(USER, PASSWORD, NONCE, BODY);
    let text = h.to_string();
    assert_eq!(
        text,
        format!("algorithm=MD5, username=\"Bruce2\", mac={HMAC_VECTOR}")
    );
    assert_eq!(HmacHeader::parse(&text), Ok(h));
}

/// A user name with quotes and backslashes survives Display → parse.
#[test]
fn hmac_header_escapes_quotes_in_username() {
    let h = HmacHeader::sign(r#"a"b\c"#, PASSWORD, NONCE, BODY);
    assert_eq!(HmacHeader::parse(&h.to_string()), Ok(h));
}

/// Parsing tolerates spacing, quoting, order, case and a missing algorithm.
#[test]
fn hmac_header_parse_is_tolerant_of_spacing_quotes_and_order() {
    let want = HmacHeader {
        algorithm: "MD5".to_owned(),
        username: USER.to_owned(),
        mac: HMAC_VECTOR.to_owned(),
    };
    for text in [
        format!("algorithm=MD5,username=\"Bruce2\",mac={HMAC_VECTOR}"),
        format!("  algorithm = MD5 ,  username = Bruce2 , mac = \"{HMAC_VECTOR}\"  "),
        format!("mac={HMAC_VECTOR}, username=\"Bruce2\""),
        format!("Username=Bruce2, MAC={HMAC_VECTOR}, Algorithm=md5"),
        format!("algorithm=\"MD5\", username=Bruce2, mac={HMAC_VECTOR},"),
        format!("username=Bruce2,\tmac={HMAC_VECTOR}, future=thing"),
    ] {
        assert_eq!(HmacHeader::parse(&text), Ok(want.clone()), "{text}");
    }
}

/// Missing username/mac and syntax errors are 400; an unknown algorithm 401.
#[test]
fn hmac_header_parse_rejects_missing_fields_and_unknown_algorithm() {
    for text in [
        format!("algorithm=MD5, mac={HMAC_VECTOR}"),
        "algorithm=MD5, username=\"Bruce2\"".to_owned(),
        format!("username=\"\", mac={HMAC_VECTOR}"),
        "username=Bruce2, mac=".to_owned(),
        String::new(),
        format!("username=\"Bruce2, mac={HMAC_VECTOR}"),
        format!("username Bruce2, mac={HMAC_VECTOR}"),
        format!("username=Bruce2 mac={HMAC_VECTOR}"),
        format!("username=a, username=b, mac={HMAC_VECTOR}"),
        format!("=x, username=Bruce2, mac={HMAC_VECTOR}"),
    ] {
        let e = HmacHeader::parse(&text).unwrap_err();
        assert!(matches!(e, AuthError::MalformedHeader(_)), "{text}: {e:?}");
        assert_eq!(e.status(), 400);
    }
    let e = HmacHeader::parse(&format!(
        "algorithm=SHA1, username=Bruce2, mac={HMAC_VECTOR}"
    ))
    .unwrap_err();
    assert_eq!(e, AuthError::UnsupportedAlgorithm);
    assert_eq!(e.status(), 401);
}

/// verify_hmac accepts the vector and rejects wrong password, nonce, body.
#[test]
fn verify_hmac_rejects_wrong_password_nonce_and_tampered_body() {
    let h = HmacHeader::parse(&format!(
        "algorithm=MD5, username=\"Bruce2\", mac={HMAC_VECTOR}"
    ))
    .unwrap();
    assert_eq!(verify_hmac(&h, PASSWORD, NONCE, BODY), Ok(()));
    for (pw, nonce, body) in [
        ("ohbehave", NONCE, BODY),
        (PASSWORD, b"Nonce1".as_slice(), BODY),
        (PASSWORD, NONCE, b"<SyncML />".as_slice()),
    ] {
        let e = verify_hmac(&h, pw, nonce, body).unwrap_err();
        assert_eq!(e, AuthError::BadCredential);
        assert_eq!(e.status(), 401);
    }
    let other_user = HmacHeader {
        username: "Bruce3".to_owned(),
        ..h.clone()
    };
    assert_eq!(
        verify_hmac(&other_user, PASSWORD, NONCE, BODY),
        Err(AuthError::BadCredential)
    );
    let sha = HmacHeader {
        algorithm: "SHA-256".to_owned(),
        ..h
    };
    assert_eq!(
        verify_hmac(&sha, PASSWORD, NONCE, BODY),
        Err(AuthError::UnsupportedAlgorithm)
    );
}

/// NextNonce in Chal is base64 (facts §5): surrounding whitespace tolerated.
#[test]
fn nonce_from_b64_tolerates_whitespace_and_round_trips() {
    let n = Nonce::from_b64("\n  Tm9uY2U=  \n").unwrap();
    assert_eq!(n.as_bytes(), NONCE);
    assert_eq!(n.to_b64(), "Tm9uY2U=");
    assert_eq!(Nonce::from_b64("Tm9uY2U").unwrap().as_bytes(), NONCE);
    assert_eq!(Nonce::from_b64(&n.to_b64()), Ok(n));
}

/// Bad base64 in NextNonce is an error (400), not a panic or empty nonce.
#[test]
fn nonce_from_b64_rejects_bad_base64() {
    for bad in ["Tm9u*2U=", "T", "Tm9uY2U=Tm9u", "====", "Tm9uY2U==="] {
        let e = Nonce::from_b64(bad).unwrap_err();
        assert_eq!(e, AuthError::MalformedBase64, "{bad}");
        assert_eq!(e.status(), 400);
    }
}

/// Fresh nonces are 16 random bytes and differ.
#[test]
fn nonce_generate_makes_16_fresh_bytes() {
    let rng = ring::rand::SystemRandom::new();
    let a = Nonce::generate(&rng).unwrap();
    let b = Nonce::generate(&rng).unwrap();
    assert_eq!(a.as_bytes().len(), Nonce::GENERATED_LEN);
    assert_eq!(Nonce::GENERATED_LEN, 16);
    assert_ne!(a, b);
}

/// Never log secrets (CONVENTIONS "Docs and logs"): Debug hides nonce bytes
/// and secret text.
#[test]
fn debug_output_hides_nonce_bytes_and_secrets() {
    let n = Nonce::new(b"Nonce".to_vec());
    let shown = format!("{n:?}");
    assert_eq!(shown, "Nonce(<5 bytes>)");
    assert!(!shown.contains("78") && !shown.contains("Nonce\""));
    let s = Secret::new(PASSWORD);
    assert_eq!(format!("{s:?}"), "Secret(***)");
    assert_eq!(format!("{:?}", Some(&s)), "Some(Secret(***))");
    assert_eq!(s.expose(), PASSWORD);
}

/// Every AuthError maps to a DM status (SyncML: 401 invalid, 407 missing).
#[test]
fn auth_errors_map_to_dm_status_codes() {
    assert_eq!(AuthError::BadCredential.status(), 401);
    assert_eq!(AuthError::MissingCredential.status(), 407);
    assert_eq!(AuthError::MalformedBase64.status(), 400);
    assert_eq!(AuthError::MalformedHeader("x").status(), 400);
    assert_eq!(AuthError::Rng.status(), 500);
}

/// Random header text never panics the parser.
#[test]
fn hmac_header_parse_never_panics_on_garbage() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let alphabet: Vec<char> = "ab=,\" \\\t\u{e9}mac=username=algorithm=".chars().collect();
    let mut rng = StdRng::seed_from_u64(0x5eed_a0de);
    for _ in 0..5000 {
        let len = rng.random_range(0..40usize);
        let s: String = (0..len)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())])
            .collect();
        let _ = HmacHeader::parse(&s);
        let _ = parse_basic(&s);
        let _ = Nonce::from_b64(&s);
    }
}
