//! The standard management objects (OMA DM StdObj 1.2): `./DevInfo`,
//! `./DevDetail`, `./DMAcc` and `./Inbox`, their descriptions, and their
//! creation when the tree is opened.
//!
//! `./DevInfo` and `./DevDetail` are device facts: their values come from
//! [`DeviceInfo`] (and the URI limits) and are refreshed on every open;
//! servers may only Get them. Their `Ext` nodes are open for the host's
//! own nodes and plug-ins.
//!
//! `./Inbox` accepts an Add only when a plug-in claims it
//! ([`NodeHandler::inbox_add`](super::NodeHandler::inbox_add)); otherwise
//! the Add fails with 405. Nothing is stored under it.

use jiff::Timestamp;

use super::acl::Acl;
use super::ctx::{Ctx, tstamp};
use super::db::NodeRow;
use super::ddf::{AccessTypes as A, Ddf, NodeDesc, Occurrence as O, Scope};
use super::error::TreeError;
use super::format::Format;
use super::uri::Uri;

/// The device facts published in `./DevInfo` and `./DevDetail`. As JSON
/// (the C agent's `config_json.device`): `dev_id`, `man`, `model` and
/// `lang` required, the `DevDetail` facts optional.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceInfo {
    /// `DevInfo/DevId`: unique device id (e.g. `IMEI:...`).
    pub dev_id: String,
    /// `DevInfo/Man`: manufacturer.
    pub man: String,
    /// `DevInfo/Mod`: model.
    pub model: String,
    /// `DevInfo/Lang`: current language (e.g. `en-US`).
    pub lang: String,
    /// `DevDetail/DevTyp`: device type (`phone`, `smartphone` …).
    #[serde(default)]
    pub dev_typ: String,
    /// `DevDetail/OEM`.
    #[serde(default)]
    pub oem: String,
    /// `DevDetail/FwV`: firmware version.
    #[serde(default)]
    pub fw_v: String,
    /// `DevDetail/SwV`: software version.
    #[serde(default)]
    pub sw_v: String,
    /// `DevDetail/HwV`: hardware version.
    #[serde(default)]
    pub hw_v: String,
    /// `DevDetail/LrgObj`: large-object support.
    #[serde(default)]
    pub lrg_obj: bool,
}

/// `DevInfo/DmV`.
pub const DM_VERSION: &str = "1.2";

/// Registers the descriptions of the standard MOs.
pub(crate) fn describe(ddf: &mut Ddf) -> Result<(), TreeError> {
    let get = A::GET;
    let rw = A::ADD | A::GET | A::REPLACE;
    let interior = |a| NodeDesc::interior(a);
    let chr = |a| NodeDesc::leaf(Format::Chr, a);
    let dynamic = |d: NodeDesc| d.scope(Scope::Dynamic);

    ddf.register(".", interior(A::ADD | A::GET | A::REPLACE).open())?;
    ddf.register("./DevInfo", interior(get))?;
    for n in ["DevId", "Man", "Mod", "DmV", "Lang"] {
        ddf.register(&format!("./DevInfo/{n}"), chr(get))?;
    }
    ddf.register("./DevInfo/Ext", interior(get).open())?;
    ddf.register("./DevDetail", interior(get))?;
    ddf.register("./DevDetail/URI", interior(get))?;
    for n in ["MaxDepth", "MaxTotLen", "MaxSegLen"] {
        ddf.register(&format!("./DevDetail/URI/{n}"), chr(get))?;
    }
    for n in ["DevTyp", "OEM", "FwV", "SwV", "HwV"] {
        ddf.register(&format!("./DevDetail/{n}"), chr(get))?;
    }
    ddf.register("./DevDetail/LrgObj", NodeDesc::leaf(Format::Bool, get))?;
    ddf.register("./DevDetail/Ext", interior(get).open())?;

    // DMAcc (OMA DM StdObj 1.2 §5.3).
    let acc = "./DMAcc/<X>";
    ddf.register("./DMAcc", interior(get))?;
    ddf.register(acc, interior(A::READ_WRITE).occurs(O::ZeroOrMore))?;
    ddf.register(
        &format!("{acc}/AppID"),
        dynamic(chr(A::ADD | get)).values(&["w7"]),
    )?;
    ddf.register(&format!("{acc}/ServerID"), dynamic(chr(A::ADD | get)))?;
    for n in ["Name", "PrefConRef", "AAuthPref"] {
        ddf.register(
            &format!("{acc}/{n}"),
            chr(A::READ_WRITE).occurs(O::ZeroOrOne),
        )?;
    }
    ddf.register(&format!("{acc}/AppAddr"), dynamic(interior(rw)))?;
    let addr = format!("{acc}/AppAddr/<X>");
    ddf.register(&addr, interior(A::READ_WRITE).occurs(O::OneOrMore))?;
    ddf.register(&format!("{addr}/Addr"), dynamic(chr(rw)))?;
    ddf.register(&format!("{addr}/AddrType"), dynamic(chr(rw)))?;
    ddf.register(
        &format!("{addr}/Port"),
        interior(A::READ_WRITE).occurs(O::ZeroOrOne),
    )?;
    ddf.register(
        &format!("{addr}/Port/<X>"),
        interior(A::READ_WRITE).occurs(O::OneOrMore),
    )?;
    ddf.register(&format!("{addr}/Port/<X>/PortNbr"), dynamic(chr(rw)))?;
    ddf.register(&format!("{acc}/AppAuth"), dynamic(interior(rw)))?;
    let auth = format!("{acc}/AppAuth/<X>");
    ddf.register(&auth, interior(A::READ_WRITE).occurs(O::OneOrMore))?;
    ddf.register(
        &format!("{auth}/AAuthLevel"),
        dynamic(chr(rw)).values(&["CLCRED", "SRVCRED"]),
    )?;
    ddf.register(
        &format!("{auth}/AAuthType"),
        dynamic(chr(rw)).values(&["BASIC", "DIGEST", "HMAC"]),
    )?;
    ddf.register(
        &format!("{auth}/AAuthName"),
        chr(A::READ_WRITE).occurs(O::ZeroOrOne),
    )?;
    let secret_access = A::ADD | A::DELETE | A::REPLACE;
    ddf.register(
        &format!("{auth}/AAuthSecret"),
        chr(secret_access).occurs(O::ZeroOrOne).secret(),
    )?;
    ddf.register(
        &format!("{auth}/AAuthData"),
        NodeDesc::leaf(Format::B64, secret_access)
            .occurs(O::ZeroOrOne)
            .secret(),
    )?;
    ddf.register(
        &format!("{acc}/Ext"),
        interior(A::READ_WRITE).occurs(O::ZeroOrOne).open(),
    )?;

    ddf.register("./Inbox", interior(A::ADD))?;
    Ok(())
}

/// Creates the root and the standard MOs if absent; refreshes the device
/// facts.
pub(crate) fn ensure(ctx: &Ctx<'_>, now: Timestamp) -> Result<(), TreeError> {
    let root = Uri::root();
    if !ctx.db.exists(&root)? {
        insert(
            ctx,
            &root,
            Format::Node,
            b"",
            &ctx.cfg.root_acl.to_string(),
            now,
        )?;
    }
    let get_all = {
        let mut a = Acl::default();
        a.grant_all(super::acl::AclCmd::Get);
        a.to_string()
    };
    let d = &ctx.cfg.device;
    let l = &ctx.cfg.limits;
    ensure_interior(ctx, "./DevInfo", &get_all, now)?;
    let leaves: [(&str, Format, String); 14] = [
        ("./DevInfo/DevId", Format::Chr, d.dev_id.clone()),
        ("./DevInfo/Man", Format::Chr, d.man.clone()),
        ("./DevInfo/Mod", Format::Chr, d.model.clone()),
        ("./DevInfo/DmV", Format::Chr, DM_VERSION.to_string()),
        ("./DevInfo/Lang", Format::Chr, d.lang.clone()),
        (
            "./DevDetail/URI/MaxDepth",
            Format::Chr,
            l.max_depth.to_string(),
        ),
        (
            "./DevDetail/URI/MaxTotLen",
            Format::Chr,
            l.max_tot_len.to_string(),
        ),
        (
            "./DevDetail/URI/MaxSegLen",
            Format::Chr,
            l.max_seg_len.to_string(),
        ),
        ("./DevDetail/DevTyp", Format::Chr, d.dev_typ.clone()),
        ("./DevDetail/OEM", Format::Chr, d.oem.clone()),
        ("./DevDetail/FwV", Format::Chr, d.fw_v.clone()),
        ("./DevDetail/SwV", Format::Chr, d.sw_v.clone()),
        ("./DevDetail/HwV", Format::Chr, d.hw_v.clone()),
        ("./DevDetail/LrgObj", Format::Bool, d.lrg_obj.to_string()),
    ];
    ensure_interior(ctx, "./DevInfo/Ext", "", now)?;
    ensure_interior(ctx, "./DevDetail", &get_all, now)?;
    ensure_interior(ctx, "./DevDetail/URI", "", now)?;
    ensure_interior(ctx, "./DevDetail/Ext", "", now)?;
    for (uri, format, value) in leaves {
        let uri = Uri::parse(uri)?;
        match ctx.db.node(&uri)? {
            None => insert(ctx, &uri, format, value.as_bytes(), "", now)?,
            Some(mut row) if row.value != value.as_bytes() || row.format != format => {
                row.value = value.into_bytes();
                row.format = format;
                row.tstamp = tstamp(now);
                row.verno = row.verno.wrapping_add(1);
                ctx.db.update(&row)?;
            }
            Some(_) => {}
        }
    }
    ensure_interior(ctx, "./DMAcc", &get_all, now)?;
    ensure_interior(ctx, "./Inbox", "", now)?;
    Ok(())
}

fn ensure_interior(ctx: &Ctx<'_>, uri: &str, acl: &str, now: Timestamp) -> Result<(), TreeError> {
    let uri = Uri::parse(uri)?;
    if !ctx.db.exists(&uri)? {
        insert(ctx, &uri, Format::Node, b"", acl, now)?;
    }
    Ok(())
}

fn insert(
    ctx: &Ctx<'_>,
    uri: &Uri,
    format: Format,
    value: &[u8],
    acl: &str,
    now: Timestamp,
) -> Result<(), TreeError> {
    ctx.db.insert(&NodeRow {
        uri: uri.clone(),
        format,
        mime: (format != Format::Node).then(|| "text/plain".to_string()),
        value: value.to_vec(),
        acl: acl.to_string(),
        title: None,
        tstamp: tstamp(now),
        verno: 0,
    })?;
    if let Some(p) = uri.parent() {
        ctx.db.touch(&p, &tstamp(now))?;
    }
    Ok(())
}
