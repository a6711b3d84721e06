//! Interop suite, real-world corpus, XML (issue 5, "Representation"):
//! the captures, specification examples and peer output in
//! `$DMSCHED_CORPUS` (set only by `make interop`; see the corpus's SOURCES.md)
//! decode and round-trip, and their quirks are read field by field.
//!
//! Built only with the `interop` feature, run only by `make interop` (it
//! sets `DMSCHED_CORPUS`; there is no default folder).
//! Fails with a clear message when the corpus is missing. The project's
//! own fixtures cover the same quirks under plain `cargo test`
//! (`dm_syncml_xml`, `dm_syncml_quirks`).
#![cfg(feature = "interop")]

mod syncml_support;

use dmsched::dm::syncml::{self, Command, Data, Encoding, Item, Limits, SyncMl};
use syncml_support::corpus::{corpus, corpus_files};
use syncml_support::robustness;

/// Whole corpus messages (captures, spec examples, libwbxml decodes, peer
/// output), not fragments.
fn corpus_messages() -> Vec<(String, Vec<u8>)> {
    let out: Vec<_> = corpus_files(&["", "peer-output"], ".xml")
        .into_iter()
        .filter(|(name, _)| !name.contains(".fragment."))
        .collect();
    assert!(out.len() > 20, "only {} corpus messages", out.len());
    out
}

fn decode(name: &str) -> SyncMl {
    syncml::decode(&corpus(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every whole message in the corpus (captures, spec examples, libwbxml
/// decodes, peer output) decodes, and its XML encoding decodes to the same
/// model, compact and pretty. The DS message with a Sync command decodes
/// but cannot be re-encoded (its command is kept only as Unknown).
#[test]
fn every_corpus_message_decodes_and_round_trips_through_xml() {
    let mut checked = 0;
    for (name, bytes) in corpus_messages() {
        let m = syncml::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "libwbxml-test-syncml12-with-embedded-ddf.xml" {
            assert!(
                m.body
                    .commands
                    .iter()
                    .any(|c| matches!(c, Command::Unknown(u) if u.name == "Sync")),
                "{name}"
            );
            assert!(syncml::encode(&m, Encoding::Xml).is_err());
            continue;
        }
        let x = syncml::encode(&m, Encoding::Xml).unwrap();
        assert_eq!(syncml::decode(&x).unwrap(), m, "{name} compact");
        let p = syncml::to_pretty_xml(&m).unwrap();
        assert_eq!(syncml::decode(p.as_bytes()).unwrap(), m, "{name} pretty");
        checked += 1;
    }
    assert!(checked >= 55, "only {checked} messages");
}

/// Microsoft's command fragments (SyncBody without header, or a bare
/// command) decode as command lists, as the Scheduling MO's Cmds node holds.
#[test]
fn command_fragments_decode_as_command_lists() {
    for name in [
        "ms-mdm-spec-add.fragment.xml",
        "ms-mdm-spec-atomic-2replace.fragment.xml",
        "ms-mdm-spec-exec-wmi.fragment.xml",
        "ms-mdm-spec-results-get.fragment.xml",
        "ms-mdm-spec-status-get.fragment.xml",
        "ms-learn-alert1224-loginstatus.fragment.xml",
        "ms-learn-alert1226-unenroll-server-initiated.fragment.xml",
    ] {
        let cmds = syncml::decode_commands(&corpus(name), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!cmds.is_empty(), "{name}");
        let back = syncml::encode_commands(&cmds).unwrap();
        assert_eq!(
            syncml::decode_commands(back.as_bytes(), &Limits::default()).unwrap(),
            cmds,
            "{name}"
        );
    }
    // A documentation placeholder (`<*ProviderID*>`) inside a LocURI is markup.
    let e = syncml::decode_commands(
        &corpus("ms-mde2-dmclient-exec-unenroll.fragment.xml"),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.status(), 400);
    let atomic = syncml::decode_commands(
        &corpus("ms-mdm-spec-atomic-2replace.fragment.xml"),
        &Limits::default(),
    )
    .unwrap();
    let Command::Atomic(a) = &atomic[0] else {
        panic!("{atomic:?}")
    };
    assert_eq!(a.commands.len(), 2);
}

/// Facts §3 package 1: the real Windows client's Alert 1201, Alert 1224 and
/// DevInfo Replace, no Cred.
#[test]
fn windows_package_one_fields() {
    let m = decode("win-real-pkg1-client-init.xml");
    assert_eq!(m.hdr.ver_dtd, "1.2");
    assert_eq!(m.hdr.ver_proto, "DM/1.2");
    assert!(m.hdr.cred.is_none());
    let Command::Alert(a) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(a.data.as_deref(), Some("1201"));
    let Command::Alert(a) = &m.body.commands[1] else {
        panic!()
    };
    assert_eq!(a.data.as_deref(), Some("1224"));
    assert_eq!(a.items[0].data, Some(Data::Text("user".into())));
    let Command::Replace(r) = &m.body.commands[2] else {
        panic!()
    };
    let uris: Vec<_> = r
        .items
        .iter()
        .map(|i| i.source.as_ref().unwrap().loc_uri.as_str())
        .collect();
    assert!(uris.contains(&"./DevInfo/DevId") && uris.contains(&"./DevInfo/DmV"));
    assert!(m.body.final_);
}

/// OMA DM Protocol example 1 package 2: Status 212 for the header, a
/// Sequence holding Alert 1101 (empty first Item) and a b64 Replace;
/// MsgRef/CmdRef before CmdID is accepted.
#[test]
fn spec_example_sequence_with_user_confirmation() {
    let m = decode("omaspec-ex1-pkg2-server-sequence-alert1101-replace.xml");
    let Command::Status(s) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(
        (s.code(), s.cmd.as_str(), s.cmd_ref.as_deref()),
        (212, "SyncHdr", Some("0"))
    );
    let seq = m
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Sequence(s) => Some(s),
            _ => None,
        })
        .expect("a Sequence");
    let Command::Alert(a) = &seq.commands[0] else {
        panic!()
    };
    assert_eq!(a.data.as_deref(), Some("1101"));
    assert_eq!(a.items[0], Item::default());
    assert!(matches!(seq.commands[1], Command::Replace(_)));
}

/// Corpus quirks (SOURCES.md): bare `&` in UI alert options, Meta Type
/// without the metinf namespace, a wrong namespace with a leading space in
/// Type, Data before TargetRef, duplicate CmdIDs, typographic quotes.
#[test]
fn real_world_quirks_survive() {
    let m = decode("motodm-srv-alert1102-textinput.xml");
    let Command::Alert(a) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(
        a.items[0].data.as_ref().unwrap().to_text().trim(),
        "MAXDT=20&DR=hello+andy!&MAXLEN=30&IT=I&ET=P"
    );

    let m = decode("win-real-pkg2-server-replace-personalization.xml");
    let types: Vec<_> = m
        .body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Replace(r) => r.items[0].meta.as_ref()?.type_.clone(),
            _ => None,
        })
        .collect();
    assert!(types.iter().all(|t| t == "text/plain") && !types.is_empty());

    let m = decode("ms-learn-unenroll-pkg1-alert1226-verbatim.xml");
    let alert = m
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Alert(a) if a.data.as_deref() == Some("1226") => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        alert.items[0].meta.as_ref().unwrap().type_.as_deref(),
        Some("com.microsoft:mdm.unenrollment.userrequest")
    );

    let m = decode("peer-output/webos-server-pkg2-reply-to-win-real-pkg1.xml");
    let Command::Status(s) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(s.code(), 212);
    assert!(!s.target_refs.is_empty());

    let m = decode("omaspec-auth-md5-1-client-pkg1-cred.xml");
    let cred = m.hdr.cred.as_ref().unwrap();
    assert_eq!(cred.data, "Zz6EivR3yeaaENcRN6lpAQ==");
    assert_eq!(
        cred.meta.as_ref().unwrap().type_.as_deref(),
        Some("syncml:auth-md5")
    );
}

/// Exec results keep their Data exactly, trailing newline included.
#[test]
fn item_data_is_kept_exactly() {
    let m = decode("motodm-cli-exec-ls.response.xml");
    let data = m
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Results(r) => r.items[0].data.clone(),
            _ => None,
        })
        .unwrap();
    assert!(data.to_text().contains('\n'));
}

/// Embedded documents in Data (DDF inside a SyncML message) are kept as
/// literal markup and written back unchanged.
#[test]
fn element_content_in_data_is_kept_as_markup() {
    let m = decode("libwbxml-test-syncml12-with-embedded-ddf.xml");
    let mut found = false;
    let raw = String::from_utf8(corpus("libwbxml-test-syncml12-with-embedded-ddf.xml")).unwrap();
    // The DS Sync command is Unknown; decode the embedded part directly.
    let start = raw.find("<MgmtTree").expect("a DDF in the corpus file");
    let end = raw.find("</MgmtTree>").unwrap() + "</MgmtTree>".len();
    let ddf = &raw[start..end];
    let msg = format!(
        "<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto><SessionID>1</SessionID>\
         <MsgID>1</MsgID><Target><LocURI>t</LocURI></Target><Source><LocURI>s</LocURI></Source>\
         </SyncHdr><SyncBody><Add><CmdID>1</CmdID><Item><Target><LocURI>./Inbox</LocURI></Target>\
         <Data>{ddf}</Data></Item></Add><Final/></SyncBody></SyncML>"
    );
    let d = syncml::decode(msg.as_bytes()).unwrap();
    if let Command::Add(a) = &d.body.commands[0] {
        assert_eq!(a.items[0].data, Some(Data::Xml(ddf.to_string())));
        found = true;
    }
    assert!(found);
    let again = syncml::decode(&syncml::encode(&d, Encoding::Xml).unwrap()).unwrap();
    assert_eq!(again, d);
    assert!(!m.body.commands.is_empty());
}

/// Every truncation of a real message, and thousands of seeded random
/// mutations, end in Ok or a 4xx error, never a panic.
#[test]
fn truncated_and_mutated_messages_never_panic() {
    robustness::xml_truncations_and_mutations_never_panic(&corpus(
        "omaspec-ex1-pkg2-server-sequence-alert1101-replace.xml",
    ));
}
