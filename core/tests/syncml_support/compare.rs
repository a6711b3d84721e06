//! Comparing decoded messages across codecs.

use dmsched::dm::syncml::{Command, Data, Item, SyncMl};

/// Options for [`normalise`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crlf {
    /// Compare Data bytes as they are.
    Keep,
    /// Read CR LF in Data as LF: `xml2wbxml` writes every LF of a `Data`
    /// as CR LF (libwbxml 0.11.8).
    Fold,
}

/// The model with every item `Data` as `Opaque` bytes, so that a Data that
/// one side reads as `Text` (XML, STR_I) and the other as `Opaque` (WBXML
/// OPAQUE) compares by content.
pub fn normalise(m: &SyncMl, crlf: Crlf) -> SyncMl {
    let mut m = m.clone();
    commands(&mut m.body.commands, crlf);
    m
}

fn commands(cmds: &mut [Command], crlf: Crlf) {
    for c in cmds {
        match c {
            Command::Add(x)
            | Command::Copy(x)
            | Command::Delete(x)
            | Command::Get(x)
            | Command::Replace(x) => items(&mut x.items, crlf),
            Command::Alert(a) => items(&mut a.items, crlf),
            Command::Exec(e) => items(&mut e.items, crlf),
            Command::Atomic(x) | Command::Sequence(x) => commands(&mut x.commands, crlf),
            Command::Status(s) => items(&mut s.items, crlf),
            Command::Results(r) => items(&mut r.items, crlf),
            Command::Unknown(_) => {}
        }
    }
}

fn items(items: &mut [Item], crlf: Crlf) {
    for i in items {
        if let Some(d) = &mut i.data {
            let mut bytes = d.as_bytes().to_vec();
            if let Crlf::Fold = crlf {
                bytes = String::from_utf8_lossy(&bytes)
                    .replace("\r\n", "\n")
                    .into_bytes();
            }
            *d = Data::Opaque(bytes);
        }
    }
}

/// Asserts that two messages are equal once normalised.
pub fn assert_same(got: &SyncMl, want: &SyncMl, crlf: Crlf, what: &str) {
    assert_eq!(normalise(got, crlf), normalise(want, crlf), "{what}");
}
