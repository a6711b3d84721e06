//! A synthetic message with every command and element DM 1.2 uses, for
//! the round-trip and interop checks that no single real message covers.

use dmsched::dm::syncml::{
    Alert, Chal, Command, Container, Cred, Data, Exec, Item, ItemCmd, Locus, Meta, Results, Status,
    SyncBody, SyncHdr, SyncMl,
};

/// An owned string.
pub fn s(v: &str) -> String {
    v.to_string()
}

/// `Some` owned string.
pub fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// An item with a Target and optional Data.
pub fn target_item(uri: &str, data: Option<Data>) -> Item {
    Item {
        target: Some(Locus::uri(uri)),
        data,
        ..Item::default()
    }
}

/// An Add/Copy/Delete/Get/Replace body with these items.
pub fn item_cmd(id: &str, items: Vec<Item>) -> ItemCmd {
    ItemCmd {
        cmd_id: s(id),
        items,
        ..ItemCmd::default()
    }
}

/// A message with every command and element of the facts sheet: Add,
/// Alert (Correlator, items), Atomic (Replace, Sequence), Copy, Delete,
/// Exec (Correlator), Get (Lang), Replace (MoreData), Sequence, Status
/// (Chal with NextNonce, TargetRef/SourceRef, items), Results (Meta,
/// items), Final, NoResp, every Meta field, Cred, RespURI, LocName, and
/// Data as text (escapes, new lines, non-ASCII) and as opaque UTF-8.
pub fn every_command_message() -> SyncMl {
    let full_meta = Meta {
        format: some("chr"),
        type_: some("text/plain"),
        mark: some("critical"),
        size: some("5"),
        next_nonce: None,
        version: some("1.0"),
        max_msg_size: some("20000"),
        max_obj_size: some("1048576"),
        emi: vec![s("ext-1"), s("ext-2")],
    };
    let chal = Chal {
        meta: Meta {
            format: some("b64"),
            type_: some("syncml:auth-md5"),
            next_nonce: some("LG3iZQhhdmKNHg=="),
            ..Meta::default()
        },
    };
    let cred = Cred {
        meta: Some(Meta {
            format: some("b64"),
            type_: some("syncml:auth-md5"),
            ..Meta::default()
        }),
        data: s("Zz6EivR3yeaaENcRN6lpAQ=="),
    };
    let status = |id: &str, cmd_ref: &str, cmd: &str, code: &str| Status {
        cmd_id: s(id),
        msg_ref: some("1"),
        cmd_ref: some(cmd_ref),
        cmd: s(cmd),
        data: s(code),
        ..Status::default()
    };
    let commands = vec![
        Command::Status(Status {
            target_refs: vec![s("IMEI:493005100592800")],
            source_refs: vec![s("https://dm.example/manage")],
            chal: Some(chal),
            ..status("1", "0", "SyncHdr", "407")
        }),
        Command::Status(Status {
            source_refs: vec![s("./DevInfo/Mod"), s("./DevInfo/Man")],
            items: vec![Item {
                data: Some(Data::from("1-3,6")),
                ..Item::default()
            }],
            ..status("2", "4", "Alert", "200")
        }),
        Command::Results(Results {
            cmd_id: s("3"),
            msg_ref: some("1"),
            cmd_ref: some("5"),
            cmd: None,
            meta: Some(Meta {
                format: some("int"),
                ..Meta::default()
            }),
            target_refs: vec![s("./DevDetail/URI/MaxDepth")],
            source_refs: vec![s("./DevDetail/URI/MaxDepth")],
            items: vec![Item {
                source: Some(Locus::uri("./DevDetail/URI/MaxDepth")),
                meta: Some(full_meta.clone()),
                data: Some(Data::from("total 3\n-rw 1 a & <b>\nl\u{e9}vres \u{1F600}")),
                ..Item::default()
            }],
        }),
        Command::Alert(Alert {
            cmd_id: s("4"),
            data: some("1226"),
            correlator: some("corr-42"),
            items: vec![Item {
                source: Some(Locus {
                    loc_uri: s("./FUMO/Pkg1"),
                    loc_name: some("firmware"),
                }),
                meta: Some(Meta {
                    format: some("int"),
                    type_: some("org.openmobilealliance.dm.firmwareupdate.downloadandupdate"),
                    mark: some("informational"),
                    ..Meta::default()
                }),
                data: Some(Data::from("200")),
                ..Item::default()
            }],
            ..Alert::default()
        }),
        Command::Alert(Alert {
            cmd_id: s("5"),
            no_resp: true,
            data: some("1100"),
            items: vec![Item {
                data: Some(Data::from("MINDT=10&MAXDT=30")),
                ..Item::default()
            }],
            ..Alert::default()
        }),
        Command::Add(ItemCmd {
            no_resp: true,
            cred: Some(cred.clone()),
            meta: Some(Meta {
                format: some("node"),
                ..Meta::default()
            }),
            ..item_cmd("6", vec![target_item("./Sched/Task1", None)])
        }),
        Command::Atomic(Container {
            cmd_id: s("7"),
            no_resp: false,
            meta: None,
            commands: vec![
                Command::Replace(item_cmd(
                    "8",
                    vec![target_item("./A/B", Some(Data::from("  padded  ")))],
                )),
                Command::Sequence(Container {
                    cmd_id: s("9"),
                    commands: vec![Command::Delete(item_cmd(
                        "10",
                        vec![target_item("./A/C", None)],
                    ))],
                    ..Container::default()
                }),
            ],
        }),
        Command::Copy(item_cmd(
            "11",
            vec![Item {
                source: Some(Locus::uri("./A/B")),
                ..target_item("./A/D", None)
            }],
        )),
        Command::Exec(Exec {
            cmd_id: s("12"),
            correlator: some("exec-7"),
            meta: Some(Meta {
                format: some("chr"),
                ..Meta::default()
            }),
            items: vec![target_item("./FUMO/Pkg1/Update", Some(Data::from("go")))],
            ..Exec::default()
        }),
        Command::Get(ItemCmd {
            lang: some("en-US"),
            ..item_cmd("13", vec![target_item("./DevInfo/Lang", None)])
        }),
        Command::Replace(ItemCmd {
            meta: Some(Meta {
                format: some("bin"),
                type_: some("application/octet-stream"),
                size: some("11"),
                ..Meta::default()
            }),
            ..item_cmd(
                "14",
                vec![Item {
                    more_data: true,
                    ..target_item(
                        "./FUMO/Pkg1/Download/PkgData",
                        Some(Data::Opaque(b"chunk\none!".to_vec())),
                    )
                }],
            )
        }),
        Command::Sequence(Container {
            cmd_id: s("15"),
            no_resp: true,
            meta: Some(Meta {
                mark: some("high"),
                ..Meta::default()
            }),
            commands: vec![
                Command::Alert(Alert {
                    cmd_id: s("16"),
                    data: some("1101"),
                    items: vec![
                        Item::default(),
                        target_item("./Q", Some(Data::from("Proceed?"))),
                    ],
                    ..Alert::default()
                }),
                Command::Replace(item_cmd(
                    "17",
                    vec![target_item("./A/E", Some(Data::from("")))],
                )),
            ],
        }),
    ];
    SyncMl {
        hdr: SyncHdr {
            ver_dtd: s("1.2"),
            ver_proto: s("DM/1.2"),
            session_id: s("1A2B"),
            msg_id: s("3"),
            target: Locus {
                loc_uri: s("IMEI:493005100592800"),
                loc_name: some("device"),
            },
            source: Locus {
                loc_uri: s("https://dm.example/manage"),
                loc_name: some("Bruce2"),
            },
            resp_uri: some("https://dm.example/manage?s=1A2B&m=3"),
            no_resp: true,
            cred: Some(cred),
            meta: Some(Meta {
                max_msg_size: some("20000"),
                max_obj_size: some("1048576"),
                ..Meta::default()
            }),
        },
        body: SyncBody {
            commands,
            final_: true,
        },
    }
}
