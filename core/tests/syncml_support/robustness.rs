//! Robustness drivers shared by the fixture tests and the interop suite:
//! truncations and seeded random mutations of given messages.

use dmsched::dm::syncml::{self, CodecError, Encoding};
use rand::{RngExt, SeedableRng, rngs::StdRng};

use super::decode_wbxml;

/// Every strict prefix of each WBXML message is Malformed, never a panic.
pub fn wbxml_truncations_are_malformed(messages: &[Vec<u8>]) {
    for w in messages {
        assert!(decode_wbxml(w).is_ok());
        for n in 0..w.len() {
            match decode_wbxml(&w[..n]) {
                Err(CodecError::Malformed { .. }) => {}
                other => panic!("prefix of {n} bytes: {other:?}"),
            }
        }
    }
}

/// 4000 seeded random mutations of the WBXML `bases` (overwrites with random
/// and token-like bytes, insertions, deletions) decode to Ok or Err, never
/// panic or hang; what decodes can be encoded again. Both outcomes occur.
pub fn wbxml_mutations_never_panic(bases: &[Vec<u8>]) {
    const TOKENS: [u8; 12] = [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x43, 0x44, 0x83, 0x84, 0xC3, 0xC4, 0xFF,
    ];
    let mut rng = StdRng::seed_from_u64(0x5EED_0005);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..4000 {
        let mut m = bases[rng.random_range(0..bases.len())].clone();
        for _ in 0..rng.random_range(1..=4) {
            let at = rng.random_range(0..m.len());
            match rng.random_range(0..4) {
                0 => m[at] = rng.random(),
                1 => m[at] = TOKENS[rng.random_range(0..TOKENS.len())],
                2 => m.insert(at, rng.random()),
                _ => {
                    m.remove(at);
                }
            }
            if m.is_empty() {
                m.push(0x02);
            }
        }
        match decode_wbxml(&m) {
            Ok(msg) => {
                ok += 1;
                let _ = syncml::encode(&msg, Encoding::Wbxml);
                let _ = syncml::encode(&msg, Encoding::Xml);
            }
            Err(_) => err += 1,
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok}, err {err}");
}

/// Every truncation of the XML message `base`, and 3000 seeded random
/// mutations of it, end in Ok or a 4xx error, never a panic.
pub fn xml_truncations_and_mutations_never_panic(base: &[u8]) {
    for n in 0..base.len() {
        if let Err(e) = syncml::decode(&base[..n]) {
            assert!((400..500).contains(&e.status()));
        }
    }
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..3000 {
        let mut b = base.to_vec();
        for _ in 0..rng.random_range(1..8) {
            let i = rng.random_range(0..b.len());
            match rng.random_range(0..3) {
                0 => b[i] = rng.random(),
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, *b"<>/&;\"'".get(rng.random_range(0..7)).unwrap()),
            }
        }
        if let Err(e) = syncml::decode(&b) {
            assert!((400..500).contains(&e.status()), "{e}");
        }
    }
}
