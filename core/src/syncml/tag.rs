//! The SyncML DM 1.2 element vocabulary: names and WBXML tokens.
//!
//! Code page 0 is SyncML, code page 1 is MetInf (`syncml:metinf`), as in
//! OMA-TS-DM_RepPro-V1_2 §8 and facts §7.

macro_rules! tags {
    ($( $(#[$doc:meta])* $name:ident = ($page:expr, $token:expr) ),* $(,)?) => {
        /// One element of SyncML DM 1.2, or [`Tag::Unknown`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Tag {
            $( $(#[$doc])* #[allow(missing_docs)] $name, )*
            /// An element outside the vocabulary (skipped, or a 406 for a command).
            Unknown,
        }

        impl Tag {
            /// Every known tag.
            pub const ALL: &'static [Tag] = &[$(Tag::$name),*];

            /// The element's local name.
            pub fn name(self) -> &'static str {
                match self {
                    $( Tag::$name => stringify!($name), )*
                    Tag::Unknown => "Unknown",
                }
            }

            /// (code page, token) in WBXML; `None` for [`Tag::Unknown`].
            pub fn wbxml(self) -> Option<(u8, u8)> {
                match self {
                    $( Tag::$name => Some(($page, $token)), )*
                    Tag::Unknown => None,
                }
            }

            /// The tag for a local name (case-sensitive, as XML is).
            pub fn from_name(name: &[u8]) -> Tag {
                static BY_NAME: std::sync::OnceLock<NameTable> = std::sync::OnceLock::new();
                BY_NAME
                    .get_or_init(|| NameTable::new(&[$( (stringify!($name).as_bytes(), Tag::$name) ),*]))
                    .get(name)
            }

            /// The tag for a WBXML (code page, token without flag bits).
            pub fn from_wbxml(page: u8, token: u8) -> Tag {
                match (page, token) {
                    $( ($page, $token) => Tag::$name, )*
                    _ => Tag::Unknown,
                }
            }
        }
    };
}

tags! {
    Add = (0, 0x05), Alert = (0, 0x06), Archive = (0, 0x07), Atomic = (0, 0x08),
    Chal = (0, 0x09), Cmd = (0, 0x0A), CmdID = (0, 0x0B), CmdRef = (0, 0x0C),
    Copy = (0, 0x0D), Cred = (0, 0x0E), Data = (0, 0x0F), Delete = (0, 0x10),
    Exec = (0, 0x11), Final = (0, 0x12), Get = (0, 0x13), Item = (0, 0x14),
    Lang = (0, 0x15), LocName = (0, 0x16), LocURI = (0, 0x17), Map = (0, 0x18),
    MapItem = (0, 0x19), Meta = (0, 0x1A), MsgID = (0, 0x1B), MsgRef = (0, 0x1C),
    NoResp = (0, 0x1D), NoResults = (0, 0x1E), Put = (0, 0x1F), Replace = (0, 0x20),
    RespURI = (0, 0x21), Results = (0, 0x22), Search = (0, 0x23), Sequence = (0, 0x24),
    SessionID = (0, 0x25), SftDel = (0, 0x26), Source = (0, 0x27), SourceRef = (0, 0x28),
    Status = (0, 0x29), Sync = (0, 0x2A), SyncBody = (0, 0x2B), SyncHdr = (0, 0x2C),
    SyncML = (0, 0x2D), Target = (0, 0x2E), TargetRef = (0, 0x2F), VerDTD = (0, 0x31),
    VerProto = (0, 0x32), NumberOfChanges = (0, 0x33), MoreData = (0, 0x34),
    Correlator = (0, 0x3C),
    Anchor = (1, 0x05), EMI = (1, 0x06), Format = (1, 0x07), FreeID = (1, 0x08),
    FreeMem = (1, 0x09), Last = (1, 0x0A), Mark = (1, 0x0B), MaxMsgSize = (1, 0x0C),
    Mem = (1, 0x0D), MetInf = (1, 0x0E), Next = (1, 0x0F), NextNonce = (1, 0x10),
    SharedMem = (1, 0x11), Size = (1, 0x12), Type = (1, 0x13), Version = (1, 0x14),
    MaxObjSize = (1, 0x15),
}

/// Open-addressing hash table from element names to tags: one hash and
/// usually one comparison per lookup (a sorted table cost six).
struct NameTable {
    slots: Vec<Option<(&'static [u8], Tag)>>,
}

const NAME_SLOTS: usize = 256;

fn name_hash(name: &[u8]) -> usize {
    name.iter().fold(name.len() as u32, |h, &b| {
        h.wrapping_mul(31).wrapping_add(u32::from(b))
    }) as usize
}

impl NameTable {
    fn new(entries: &[(&'static [u8], Tag)]) -> NameTable {
        let mut slots = vec![None; NAME_SLOTS];
        for &(n, t) in entries {
            let mut i = name_hash(n) % NAME_SLOTS;
            while slots[i].is_some() {
                i = (i + 1) % NAME_SLOTS;
            }
            slots[i] = Some((n, t));
        }
        NameTable { slots }
    }

    fn get(&self, name: &[u8]) -> Tag {
        let mut i = name_hash(name) % NAME_SLOTS;
        // The table is at most a third full, so every probe ends at a None.
        while let Some((n, t)) = self.slots[i] {
            if n == name {
                return t;
            }
            i = (i + 1) % NAME_SLOTS;
        }
        Tag::Unknown
    }
}

impl Tag {
    /// True for MetInf elements (namespace `syncml:metinf` in XML).
    pub fn is_metinf(self) -> bool {
        matches!(self.wbxml(), Some((1, _)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Facts §7: names and tokens map both ways for every element.
    #[test]
    fn every_tag_round_trips_by_name_and_token() {
        for &t in Tag::ALL {
            assert_eq!(Tag::from_name(t.name().as_bytes()), t);
            let (p, k) = t.wbxml().expect("known tag");
            assert_eq!(Tag::from_wbxml(p, k), t);
        }
        assert_eq!(Tag::from_name(b"Bogus"), Tag::Unknown);
        assert_eq!(Tag::from_wbxml(0, 0x30), Tag::Unknown);
    }
}
