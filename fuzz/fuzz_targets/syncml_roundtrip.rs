//! decode → encode → decode. Whatever decodes (XML or WBXML, sniffed) must
//! encode in its own form to bytes that decode to the same message. In the
//! other form the message may change once by design (WBXML opaque data
//! becomes XML text) but must then be a fixed point: encoding and decoding
//! again gives the same message. Encoding may refuse only as Unencodable
//! (binary data in XML, an unknown element). The same for a `Cmds` fragment
//! (XML only).
#![no_main]

use dmsched::syncml::{self, CodecError, Encoding, Limits, SyncMl};
use libfuzzer_sys::fuzz_target;

/// Encodings may be larger than their input (WBXML → XML).
fn roomy() -> Limits {
    Limits {
        max_message_bytes: 64 * 1024 * 1024,
        ..Limits::default()
    }
}

/// `msg` encoded in `enc` and decoded again; `None` when it is unencodable.
fn again(msg: &SyncMl, enc: Encoding) -> Option<SyncMl> {
    let bytes = match syncml::encode(msg, enc) {
        Ok(b) => b,
        Err(CodecError::Unencodable(_)) => return None,
        Err(e) => panic!("{enc:?}: a decoded message does not encode: {e}"),
    };
    Some(
        syncml::decode_with(&bytes, Some(enc), &roomy())
            .unwrap_or_else(|e| panic!("{enc:?}: our own encoding does not decode: {e}")),
    )
}

fuzz_target!(|data: &[u8]| {
    if let Ok(first) = syncml::decode_with(data, None, &Limits::default()) {
        let own = Encoding::sniff(data).expect("a decoded message was sniffed");
        for enc in [Encoding::Xml, Encoding::Wbxml] {
            let Some(second) = again(&first, enc) else {
                continue;
            };
            if enc == own {
                assert_eq!(first, second, "{enc:?} round trip changed the message");
            } else if let Some(third) = again(&second, enc) {
                assert_eq!(second, third, "{enc:?} round trip is not a fixed point");
            } else {
                panic!("{enc:?}: a message decoded from our own encoding does not encode");
            }
        }
    }
    if let Ok(first) = syncml::decode_commands(data, &Limits::default()) {
        let text = match syncml::encode_commands(&first) {
            Ok(t) => t,
            Err(CodecError::Unencodable(_)) => return,
            Err(e) => panic!("decoded commands do not encode: {e}"),
        };
        let second = syncml::decode_commands(text.as_bytes(), &roomy())
            .unwrap_or_else(|e| panic!("our own command encoding does not decode: {e}"));
        assert_eq!(first, second, "command round trip changed the commands");
    }
});
