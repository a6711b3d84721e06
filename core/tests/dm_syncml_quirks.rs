//! SyncML DM 1.2 quirks (issue 5, "Representation"; facts §8): each
//! project fixture in core/tests/fixtures/syncml (see its README.md) that
//! stands for a shape or a quirk of real-world traffic decodes field by
//! field. Round trips, fragments in general and bad input are in
//! `dm_syncml_xml`; the real-world corpus itself in `interop_corpus_xml`
//! (`make interop`).

mod syncml_support;

use dmsched::dm::auth::{Nonce, md5_digest, parse_basic};
use dmsched::dm::syncml::{self, CodecError, Command, Data, Encoding, Item, SyncMl};
use syncml_support::access::{
    alert, container, data_text, item_cmd, results, source_uri, status, target_uri, text,
};
use syncml_support::files::fixture;

fn decode(name: &str) -> SyncMl {
    syncml::decode(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Facts §3 package 1, the Windows shape: Alert 1201, Alert 1224 with Meta
/// Type `com.microsoft/MDM/LoginStatus`, DevInfo Replace including DmV, no
/// Cred (TLS client auth), `&` escaped in the Target query.
#[test]
fn windows_package_one_fields() {
    let m = decode("win-pkg1-alert1201-loginstatus-devinfo-nocred.xml");
    assert_eq!(
        (m.hdr.ver_dtd.as_str(), m.hdr.ver_proto.as_str()),
        ("1.2", "DM/1.2")
    );
    assert_eq!(
        (m.hdr.session_id.as_str(), m.hdr.msg_id.as_str()),
        ("3", "1")
    );
    assert_eq!(
        m.hdr.target.loc_uri,
        "https://mdm.kestrel.example/EnrollmentServer/Manage.svc?mode=Maintenance&Platform=WoA"
    );
    assert_eq!(m.hdr.source.loc_uri, "7C2E9A41D05B4F3E8B6A1D29E4F07C55");
    assert!(m.hdr.cred.is_none());
    assert_eq!(m.body.commands.len(), 3);
    let a = alert(&m.body.commands[0]);
    assert_eq!((a.cmd_id.as_str(), a.data.as_deref()), ("2", Some("1201")));
    assert!(a.items.is_empty());
    let a = alert(&m.body.commands[1]);
    assert_eq!((a.cmd_id.as_str(), a.data.as_deref()), ("3", Some("1224")));
    let meta = a.items[0].meta.as_ref().unwrap();
    assert_eq!(meta.type_.as_deref(), Some("com.microsoft/MDM/LoginStatus"));
    assert_eq!(a.items[0].data, text("user"));
    let r = item_cmd(&m.body.commands[2], "Replace");
    let got: Vec<_> = r
        .items
        .iter()
        .map(|i| (source_uri(i), data_text(i)))
        .collect();
    let want = [
        ("./DevInfo/DevId", "7C2E9A41D05B4F3E8B6A1D29E4F07C55"),
        ("./DevInfo/Man", "Kestrel Hardware Ltd."),
        ("./DevInfo/Mod", "KH-Tab 11 Field"),
        ("./DevInfo/DmV", "1.3"),
        ("./DevInfo/Lang", "en-GB"),
    ];
    assert_eq!(got.len(), want.len());
    for ((uri, data), (wu, wd)) in got.iter().zip(want) {
        assert_eq!((*uri, data.as_str()), (wu, wd));
    }
    assert!(m.body.final_);
}

/// A Windows-like server package 2: Status for the header and each
/// command, then Replace items whose MetInf elements have no namespace at
/// all (`<Type>text/plain</Type>`), read by local name.
#[test]
fn windows_server_package_two_metinf_without_namespace() {
    let m = decode("win-pkg2-server-replace-metinf-without-namespace.xml");
    let statuses: Vec<_> = m.body.commands[..4]
        .iter()
        .map(|c| {
            let s = status(c);
            (s.cmd.as_str(), s.cmd_ref.as_deref(), s.code())
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("SyncHdr", Some("0"), 200),
            ("Alert", Some("2"), 200),
            ("Alert", Some("3"), 200),
            ("Replace", Some("4"), 200)
        ]
    );
    let want = [
        (
            "5",
            "./Vendor/MSFT/Personalization/LockScreenImageUrl",
            "https://cdn.kestrel.example/brand/lock-1920.jpg",
        ),
        (
            "6",
            "./Vendor/MSFT/Personalization/DesktopImageUrl",
            "https://cdn.kestrel.example/brand/desk-2560.jpg",
        ),
    ];
    assert_eq!(m.body.commands.len(), 6);
    for (c, (id, uri, data)) in m.body.commands[4..].iter().zip(want) {
        let r = item_cmd(c, "Replace");
        assert_eq!(r.cmd_id, id);
        assert_eq!(target_uri(&r.items[0]), uri);
        let meta = r.items[0].meta.as_ref().unwrap();
        assert_eq!(meta.type_.as_deref(), Some("text/plain"));
        assert_eq!(meta.format.as_deref(), Some("chr"));
        assert_eq!(r.items[0].data, text(data));
    }
}

/// A Windows-like client package 3: Status 202 (accepted, completes
/// asynchronously) for each Replace.
#[test]
fn windows_client_package_three_status_202() {
    let m = decode("win-pkg3-client-status-202.xml");
    assert_eq!(m.hdr.msg_id, "2");
    let got: Vec<_> = m
        .body
        .commands
        .iter()
        .map(|c| {
            let s = status(c);
            (s.cmd.as_str(), s.cmd_ref.as_deref(), s.code())
        })
        .collect();
    assert_eq!(
        got,
        [
            ("SyncHdr", Some("0"), 200),
            ("Replace", Some("5"), 202),
            ("Replace", Some("6"), 202)
        ]
    );
    assert!(m.body.final_);
}

/// OMA DM Protocol example shape, package 2: Status 212 for the header
/// (MsgRef/CmdRef before CmdID), a Sequence holding Alert 1101 with an
/// empty first Item and a b64 Replace whose Type is wrapped in white space.
#[test]
fn spec_sequence_with_user_confirmation() {
    let m = decode("oma-pkg2-status212-sequence-alert1101-replace-b64.xml");
    let cred = m.hdr.cred.as_ref().unwrap();
    let cred_meta = cred.meta.as_ref().unwrap();
    assert_eq!(cred_meta.type_.as_deref(), Some("syncml:auth-basic"));
    assert_eq!(cred_meta.format.as_deref(), Some("b64"));
    assert_eq!(
        parse_basic(&cred.data).unwrap(),
        ("kestrel-dm".to_string(), "Sp4rrow#Gate".to_string())
    );
    let s = status(&m.body.commands[0]);
    assert_eq!(
        (
            s.cmd_id.as_str(),
            s.msg_ref.as_deref(),
            s.cmd_ref.as_deref(),
            s.cmd.as_str(),
            s.code()
        ),
        ("5", Some("1"), Some("0"), "SyncHdr", 212)
    );
    assert_eq!(s.target_refs, ["https://dm.fieldgrid.example/omadm"]);
    assert_eq!(s.source_refs, ["IMEI:357811042219936"]);
    let seq = container(&m.body.commands[3], "Sequence");
    assert_eq!(seq.cmd_id, "1");
    let a = alert(&seq.commands[0]);
    assert_eq!(a.data.as_deref(), Some("1101"));
    assert_eq!(a.items[0], Item::default());
    assert_eq!(a.items[1].data, text("Install the Fieldgrid data profile?"));
    let r = item_cmd(&seq.commands[1], "Replace");
    let meta = r.meta.as_ref().unwrap();
    assert_eq!(meta.format.as_deref(), Some("b64"));
    assert_eq!(
        meta.type_.as_deref(),
        Some("application/vnd.wap.connectivity-wbxml")
    );
    assert_eq!(
        target_uri(&r.items[0]),
        "./Settings/Connectivity/FieldgridAPN"
    );
    use base64::Engine as _;
    let object = base64::engine::general_purpose::STANDARD
        .decode(data_text(&r.items[0]))
        .unwrap();
    assert_eq!(object[..4], [0x03, 0x0B, 0x6A, 0x00], "a WBXML object");
}

/// OMA DM Protocol example shape, package 4: the Status for the SyncHdr
/// has no CmdRef (the DTD requires one); it is read with `cmd_ref` None.
#[test]
fn status_for_synchdr_without_cmdref() {
    let m = decode("oma-pkg4-status-synchdr-without-cmdref.xml");
    let s = status(&m.body.commands[0]);
    assert_eq!(
        (
            s.cmd_id.as_str(),
            s.msg_ref.as_deref(),
            s.cmd_ref.as_deref(),
            s.cmd.as_str(),
            s.code()
        ),
        ("1", Some("2"), None, "SyncHdr", 200)
    );
    let s = status(&m.body.commands[1]);
    assert_eq!(
        (s.cmd_ref.as_deref(), s.cmd.as_str()),
        (Some("3"), "Status")
    );
    let r = item_cmd(&m.body.commands[2], "Replace");
    assert_eq!(r.meta.as_ref().unwrap().format.as_deref(), Some("b64"));
}

/// Facts §5 with the OMA spec's typographic quotes (’) around `xmlns`: an
/// MD5 Cred that is B64(MD5(B64(MD5("user:password")) ":" nonce)) of the
/// fixture's invented user, password and nonce; LocName; MaxMsgSize.
#[test]
fn md5_cred_behind_typographic_quotes_is_the_digest() {
    let m = decode("auth-md5-cred-typographic-quotes.xml");
    assert_eq!(m.hdr.source.loc_name.as_deref(), Some("fieldtech9"));
    let cred = m.hdr.cred.as_ref().unwrap();
    let meta = cred.meta.as_ref().unwrap();
    assert_eq!(meta.type_.as_deref(), Some("syncml:auth-md5"));
    assert_eq!(meta.format.as_deref(), Some("b64"));
    assert_eq!(cred.data, "k6CovwWw6NzeaAGhhwa98Q==");
    assert_eq!(
        cred.data,
        md5_digest("fieldtech9", "Tundra-Lamp-82", b"K3stR3l-n0nce-17")
    );
    let hdr_meta = m.hdr.meta.as_ref().unwrap();
    assert_eq!(hdr_meta.max_msg_size_value(), Some(8192));
    assert_eq!(alert(&m.body.commands[0]).data.as_deref(), Some("1201"));
}

/// Facts §5: Status 212 with a Chal (auth-md5, b64) carrying NextNonce,
/// MetInf written with typographic quotes; the nonce decodes.
#[test]
fn chal_with_next_nonce_behind_typographic_quotes() {
    let m = decode("auth-md5-chal-nextnonce-typographic-quotes.xml");
    let s = status(&m.body.commands[0]);
    assert_eq!((s.cmd.as_str(), s.code()), ("SyncHdr", 212));
    let chal = &s.chal.as_ref().unwrap().meta;
    assert_eq!(chal.type_.as_deref(), Some("syncml:auth-md5"));
    assert_eq!(chal.format.as_deref(), Some("b64"));
    assert_eq!(chal.next_nonce.as_deref(), Some("XhGgN5wE/mIY0w=="));
    let nonce = Nonce::from_b64(chal.next_nonce.as_deref().unwrap()).unwrap();
    assert_eq!(
        nonce.as_bytes(),
        [0x5E, 0x11, 0xA0, 0x37, 0x9C, 0x04, 0xFE, 0x62, 0x18, 0xD3]
    );
    assert_eq!(status(&m.body.commands[1]).code(), 200);
}

/// Motorola's test server quirk: UI alert options (Alert 1100–1104) with a
/// bare `&` (`MINDT=..&MAXDT=..&DR=..`), kept literally; choice items; an
/// Atomic holding Alert 1101 and a Replace; RespURI.
#[test]
fn ui_alert_options_keep_a_bare_ampersand() {
    let m = decode("ui-alerts-1100-1104-bare-ampersand-atomic.xml");
    assert_eq!(
        m.hdr.resp_uri.as_deref(),
        Some("http://192.0.2.41:8080/dmsrv?sid=5A0C")
    );
    let want = [
        ("1100", "MINDT=12", 2),
        ("1101", "MINDT=5&MAXDT=25&DR=0", 2),
        ("1102", "MAXDT=40&DR=depot+7&MAXLEN=24&IT=A&ET=T", 2),
        ("1103", "MAXDT=30&DR=3", 5),
        ("1104", "MAXDT=30&DR=2-4,7", 9),
    ];
    for (c, (code, options, items)) in m.body.commands.iter().zip(want) {
        let a = alert(c);
        assert_eq!(a.data.as_deref(), Some(code));
        assert_eq!(a.items[0].data, text(options), "{code}");
        assert_eq!(a.items.len(), items, "{code}");
    }
    let last = alert(&m.body.commands[4]);
    assert_eq!(last.items[8].data, text("Sound"));
    let atomic = container(&m.body.commands[5], "Atomic");
    let a = alert(&atomic.commands[0]);
    assert_eq!(a.data.as_deref(), Some("1101"));
    assert_eq!(a.items[0].data, text("MAXDT=15&DR=1"));
    let r = item_cmd(&atomic.commands[1], "Replace");
    assert_eq!(target_uri(&r.items[0]), "./Vendor/Fieldgrid/Logger/Mode");
}

/// The client's answers to those alerts: 200 for the display, 408 (timed
/// out) with the default answer in Items (text input, single choice, two
/// Items for multiple choice), Atomic 507 with 408 and 215 inside.
#[test]
fn ui_alert_answers_carry_items() {
    let m = decode("ui-alerts-client-status-408-items-atomic-507.xml");
    let got: Vec<_> = m
        .body
        .commands
        .iter()
        .map(|c| {
            let s = status(c);
            let items: Vec<_> = s.items.iter().map(data_text).collect();
            (s.cmd_ref.clone().unwrap(), s.cmd.clone(), s.code(), items)
        })
        .collect();
    let want: [(&str, &str, u16, &[&str]); 9] = [
        ("0", "SyncHdr", 200, &[]),
        ("1", "Alert", 200, &[]),
        ("2", "Alert", 408, &[]),
        ("3", "Alert", 408, &["depot 7"]),
        ("4", "Alert", 408, &["3"]),
        ("5", "Alert", 408, &["2-4", "7"]),
        ("6", "Atomic", 507, &[]),
        ("7", "Alert", 408, &[]),
        ("8", "Replace", 215, &[]),
    ];
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!((g.0.as_str(), g.1.as_str(), g.2), (w.0, w.1, w.2));
        assert_eq!(g.3, w.3);
    }
    let s = status(&m.body.commands[8]);
    assert_eq!(s.target_refs, ["./Vendor/Fieldgrid/Logger/Mode"]);
}

/// Exec results keep their Data exactly: a trailing new line, several
/// lines.
#[test]
fn exec_results_keep_data_exactly() {
    let m = decode("exec-results-trailing-newline-multiline-data.xml");
    let r = results(&m.body.commands[2]);
    assert_eq!(r.cmd_ref.as_deref(), Some("3"));
    assert_eq!(source_uri(&r.items[0]), "./Vendor/Fieldgrid/Shell/Run");
    assert_eq!(
        r.items[0].data,
        text("Linux fg-logger 6.1.0-fieldgrid armv7l\n")
    );
    let r = results(&m.body.commands[4]);
    assert_eq!(
        r.items[0].data,
        text(
            "total 12\n\
             drwxr-xr-x 2 logger logger 4096 Mar  3 04:10 archive\n\
             -rw-r--r-- 1 logger logger  811 Mar  3 04:12 readings.csv\n\
             -rw-r--r-- 1 logger logger   97 Mar  3 04:12 state.json\n"
        )
    );
}

/// An embedded TNDS (DDF) document inside Data is kept as the literal
/// markup between `<Data>` and `</Data>` and written back unchanged.
#[test]
fn embedded_tnds_document_in_data_is_kept_as_markup() {
    let name = "embedded-tnds-mgmttree-in-data.xml";
    let raw = String::from_utf8(fixture(name)).unwrap();
    let start = raw.find("<MgmtTree").unwrap();
    let end = raw.find("</MgmtTree>").unwrap() + "</MgmtTree>".len();
    let m = decode(name);
    let add = item_cmd(&m.body.commands[0], "Add");
    let item = &add.items[0];
    assert_eq!(target_uri(item), "./Vendor/Fieldgrid");
    let meta = item.meta.as_ref().unwrap();
    assert_eq!(meta.format.as_deref(), Some("xml"));
    assert_eq!(
        meta.type_.as_deref(),
        Some("application/vnd.syncml.dmtnds+xml")
    );
    assert_eq!(item.data, Some(Data::Xml(raw[start..end].to_string())));
    let x = syncml::encode(&m, Encoding::Xml).unwrap();
    assert!(
        String::from_utf8(x.clone())
            .unwrap()
            .contains(&raw[start..end])
    );
    assert_eq!(syncml::decode(&x).unwrap(), m);
}

/// CDATA in Data (Motorola's package 1) is character data: `&` and `<`
/// inside it are text. Also LocName in Target and Source, Basic Cred,
/// MaxMsgSize, a DOCTYPE.
#[test]
fn cdata_in_data_is_character_data() {
    let m = decode("cdata-devinfo-replace-locname-basic-cred.xml");
    assert_eq!(m.hdr.target.loc_name.as_deref(), Some("field-agent"));
    assert_eq!(m.hdr.source.loc_name.as_deref(), Some("field-agent"));
    let cred = m.hdr.cred.as_ref().unwrap();
    assert_eq!(
        parse_basic(&cred.data).unwrap(),
        ("field-agent".to_string(), "Oriole&Pine7".to_string())
    );
    assert_eq!(
        m.hdr.meta.as_ref().unwrap().max_msg_size_value(),
        Some(3500)
    );
    let r = item_cmd(&m.body.commands[1], "Replace");
    assert_eq!(r.items.len(), 5);
    assert_eq!(r.items[0].data, text("MEID:A1000037C4D2E8"));
    assert_eq!(source_uri(&r.items[1]), "./DevInfo/Man");
    assert_eq!(r.items[1].data, text("Oriole & Pine <Field Systems>"));
    let meta = r.items[1].meta.as_ref().unwrap();
    assert_eq!(
        (meta.format.as_deref(), meta.type_.as_deref()),
        (Some("chr"), Some("text/plain"))
    );
}

/// Large objects (facts §4): the first chunk carries Meta Size of the whole
/// object and MoreData; its b64 Data, wrapped over lines, is kept exactly;
/// the message has no Final (more follow); MaxObjSize in the header.
#[test]
fn large_object_chunk_has_more_data_and_size() {
    let m = decode("large-object-chunk-moredata-size.xml");
    let hdr_meta = m.hdr.meta.as_ref().unwrap();
    assert_eq!(hdr_meta.max_msg_size_value(), Some(4096));
    assert_eq!(hdr_meta.max_obj_size_value(), Some(65536));
    assert!(!m.body.final_);
    let r = item_cmd(&m.body.commands[1], "Replace");
    let meta = r.meta.as_ref().unwrap();
    assert_eq!(
        (meta.format.as_deref(), meta.type_.as_deref()),
        (Some("b64"), Some("application/octet-stream"))
    );
    let item = &r.items[0];
    assert!(item.more_data);
    assert_eq!(item.meta.as_ref().unwrap().size_value(), Some(24576));
    let data = data_text(item);
    assert_eq!(
        data.lines().count(),
        27,
        "2048 b64 characters wrapped at 76"
    );
    use base64::Engine as _;
    let chunk = base64::engine::general_purpose::STANDARD
        .decode(data.replace('\n', ""))
        .unwrap();
    assert_eq!(chunk.len(), 1536);
    assert!(chunk.len() < 24576);
}

/// A DM 1.1 bootstrap with a DOCTYPE, no namespace at all, LocURIs with
/// white space and new lines around them (trimmed) and inside one (kept),
/// an empty `<Data/>`, an Item without Data, a comment.
#[test]
fn doctype_no_namespace_and_white_space_in_locuri() {
    let m = decode("doctype-dm11-no-namespace-locuri-whitespace.xml");
    assert_eq!(
        (m.hdr.ver_dtd.as_str(), m.hdr.ver_proto.as_str()),
        ("1.1", "DM/1.1")
    );
    assert_eq!(
        (m.hdr.session_id.as_str(), m.hdr.msg_id.as_str()),
        ("0", "0")
    );
    assert_eq!(
        m.hdr.source.loc_uri,
        "https://bootstrap.fieldgrid.example/dm"
    );
    let add = item_cmd(&m.body.commands[0], "Add");
    let got: Vec<_> = add
        .items
        .iter()
        .map(|i| (target_uri(i), i.data.clone()))
        .collect();
    assert_eq!(
        got,
        [
            ("./SyncML/DMAcc/Fieldgrid", text("")),
            (
                "./SyncML/DMAcc/Fieldgrid/Addr",
                text("https://dm.fieldgrid.example/omadm")
            ),
            (
                "./SyncML/DMAcc/Fieldgrid/\n                        ServerId",
                text("fieldgrid-dm")
            ),
            ("./SyncML/Con/FieldgridAPN", None),
        ]
    );
    let meta = add.items[0].meta.as_ref().unwrap();
    assert_eq!(meta.format.as_deref(), Some("node"));
}

/// Single quotes around `xmlns` (Microsoft's provisioning examples).
#[test]
fn single_quoted_xmlns_is_read() {
    let m = decode("single-quoted-xmlns-get-swv.xml");
    assert_eq!(
        m.hdr.target.loc_uri,
        "{4E0F2B7A-91C3-4D8E-A6F5-3B2C1D0E9F87}"
    );
    let g = item_cmd(&m.body.commands[0], "Get");
    assert_eq!(g.cmd_id, "2");
    assert_eq!(target_uri(&g.items[0]), "./DevDetail/SwV");
    assert!(m.body.final_);
}

/// Microsoft's unenrollment example kept verbatim in shape: `xmlns` quoted
/// with `&#39;`, MetInf in the wrong namespace `syncml:metinfo` with a
/// leading space in Type (trimmed), CmdID 2 used twice, an Item holding
/// only `...` (read as an empty Item).
#[test]
fn generic_alert_with_wrong_metinf_namespace_and_duplicate_cmdid() {
    let m = decode("generic-alert-1226-metinfo-wrong-ns-leading-space-dup-cmdid.xml");
    let a = alert(&m.body.commands[0]);
    assert_eq!((a.cmd_id.as_str(), a.data.as_deref()), ("2", Some("1226")));
    let meta = a.items[0].meta.as_ref().unwrap();
    assert_eq!(
        meta.type_.as_deref(),
        Some("com.kestrel:mdm.unenrollment.userrequest")
    );
    assert_eq!(meta.format.as_deref(), Some("int"));
    assert_eq!(a.items[0].data, text("1"));
    let r = item_cmd(&m.body.commands[1], "Replace");
    assert_eq!(r.cmd_id, "2", "the duplicate CmdID is kept");
    assert_eq!(source_uri(&r.items[0]), "./DevInfo/DevId");
    assert_eq!(r.items[1], Item::default());
}

/// A peer server's reply: Status 212 with Data before TargetRef/SourceRef
/// (out of DTD order), CmdID 1 used by both a Status and a Get, a Get with
/// seven Items, `<Final />`.
#[test]
fn status_data_before_target_ref_and_duplicate_cmdid() {
    let m = decode("status-data-before-targetref-duplicate-cmdid.xml");
    let s = status(&m.body.commands[0]);
    assert_eq!((s.cmd_id.as_str(), s.code()), ("1", 212));
    assert_eq!(s.target_refs, ["https://tern.example/dm/session"]);
    assert_eq!(s.source_refs, ["7C2E9A41D05B4F3E8B6A1D29E4F07C55"]);
    let g = item_cmd(&m.body.commands[4], "Get");
    assert_eq!(g.cmd_id, "1");
    let uris: Vec<_> = g.items.iter().map(target_uri).collect();
    assert_eq!(uris.len(), 7);
    assert_eq!(uris[0], "./DevInfo/DevId");
    assert_eq!(uris[6], "./DevDetail/HwV");
    assert!(m.body.final_);
}

/// Windows' Results carry a `Cmd` element (not in the DTD), kept.
#[test]
fn results_carry_a_cmd_element() {
    let m = decode("results-with-cmd-element.xml");
    let got: Vec<_> = m.body.commands[3..]
        .iter()
        .map(|c| {
            let r = results(c);
            (
                r.cmd_ref.clone().unwrap(),
                r.cmd.clone(),
                source_uri(&r.items[0]).to_string(),
                data_text(&r.items[0]),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "2".to_string(),
                Some("Get".to_string()),
                "./DevDetail/SwV".to_string(),
                "10.0.22631.4317".to_string()
            ),
            (
                "3".to_string(),
                Some("Get".to_string()),
                "./DevDetail/HwV".to_string(),
                "Rev C2".to_string()
            ),
        ]
    );
}

/// Microsoft's "update device settings" shape: SyncHdr and SyncBody with
/// no SyncML root.
#[test]
fn header_and_body_without_a_syncml_root() {
    let m = decode("hdr-body-without-syncml-root.xml");
    assert_eq!(m.hdr.session_id, "2");
    let r = item_cmd(&m.body.commands[0], "Replace");
    let meta = r.items[0].meta.as_ref().unwrap();
    assert_eq!(
        (meta.type_.as_deref(), meta.format.as_deref()),
        (Some("text/plain"), Some("int"))
    );
    assert_eq!(r.items[0].data, text("15"));
}

/// A data-sync message: its `Sync` is kept as an unknown command (to be
/// answered 406) with its CmdID; the commands inside it are not read.
#[test]
fn ds_sync_is_kept_as_an_unknown_command() {
    let m = decode("ds-sync-command-kept-as-unknown.xml");
    assert_eq!(m.hdr.ver_proto, "SyncML/1.2");
    assert_eq!(m.body.commands.len(), 2);
    let Command::Unknown(u) = &m.body.commands[1] else {
        panic!("{:?}", m.body.commands[1])
    };
    assert_eq!((u.name.as_str(), u.cmd_id.as_str()), ("Sync", "2"));
    let e = syncml::encode(&m, Encoding::Xml).unwrap_err();
    assert!(matches!(e, CodecError::Unencodable(_)), "{e}");
}

/// The twins of the Motorola-shaped WBXML fixtures: a server package 2
/// (Basic Cred, RespURI with an escaped `&`, MaxMsgSize, Status 212, Get)
/// and the client's reply (Results with MetInf Format, Type and Size).
#[test]
fn motorola_shaped_package_fields() {
    let m = decode("auth-basic-pkg2-get-status212.xml");
    assert_eq!(
        m.hdr.resp_uri.as_deref(),
        Some("http://192.0.2.41:8080/dmsrv?sid=3107&tok=R9v2")
    );
    assert_eq!(
        m.hdr.meta.as_ref().unwrap().max_msg_size_value(),
        Some(20000)
    );
    let s = status(&m.body.commands[0]);
    assert_eq!((s.cmd.as_str(), s.code()), ("SyncHdr", 212));
    let g = item_cmd(&m.body.commands[1], "Get");
    assert_eq!(target_uri(&g.items[0]), "./DevDetail/URI/MaxDepth");

    let m = decode("get-results-meta-format-type-size.xml");
    let s = status(&m.body.commands[1]);
    assert_eq!(s.target_refs, ["./DevDetail/URI/MaxDepth"]);
    let r = results(&m.body.commands[2]);
    let meta = r.items[0].meta.as_ref().unwrap();
    assert_eq!(
        (
            meta.format.as_deref(),
            meta.type_.as_deref(),
            meta.size_value()
        ),
        (Some("int"), Some("text/plain"), Some(2))
    );
    assert_eq!(r.items[0].data, text("16"));
}

/// DM 1.2 formats float, date and time in Add, Replace, Get (also of a
/// `?prop=Format`) and Delete, with a Basic Cred.
#[test]
fn float_date_time_formats() {
    let m = decode("add-replace-get-delete-float-date-time.xml");
    let names: Vec<_> = m.body.commands.iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), 14);
    assert_eq!(names[..4], ["Add", "Replace", "Get", "Get"]);
    assert_eq!(names[12..], ["Delete", "Delete"]);
    let formats: Vec<_> = m
        .body
        .commands
        .iter()
        .filter(|c| c.name() == "Add")
        .map(|c| {
            let i = &item_cmd(c, "Add").items[0];
            let f = i.meta.as_ref().unwrap().format.clone().unwrap();
            (f, data_text(i))
        })
        .collect();
    assert_eq!(
        formats,
        [
            ("float".to_string(), "-0.375".to_string()),
            ("date".to_string(), "2027-04-30".to_string()),
            ("time".to_string(), "02:30:00".to_string())
        ]
    );
    let g = item_cmd(&m.body.commands[3], "Get");
    assert_eq!(
        target_uri(&g.items[0]),
        "./Vendor/Fieldgrid/Calib/Offset?prop=Format"
    );
}
