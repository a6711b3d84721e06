//! Large objects (OMA DM Protocol 1.2 §7; facts §3): an item too big for
//! one message travels in chunks. Every chunk but the last carries
//! `<MoreData/>`, the first carries Meta `Size` (the whole object's length
//! in bytes, as transmitted), the receiver answers 213 per chunk and checks
//! the reassembled length against Size at the end (424 when it differs).
//!
//! [`OutChunk`] cuts one of the server's Add/Replace items; [`Assembly`]
//! glues the device's Results/Replace chunks back together.

use dmsched::dm::syncml::{Command, Data, Item, ItemCmd, Meta};

/// An Add or Replace whose item data the server sends in chunks.
#[derive(Clone, Debug)]
pub(crate) struct OutChunk {
    /// The command with its single item's data removed.
    template: Command,
    data: String,
    offset: usize,
}

impl OutChunk {
    /// Starts chunking `cmd` if it is an Add or Replace of exactly one item
    /// with text data.
    pub(crate) fn from_command(cmd: &Command) -> Option<OutChunk> {
        let (Command::Add(c) | Command::Replace(c)) = cmd else {
            return None;
        };
        let [item] = c.items.as_slice() else {
            return None;
        };
        let data = match &item.data {
            Some(Data::Text(t)) | Some(Data::Xml(t)) if !t.is_empty() => t.clone(),
            _ => return None,
        };
        let mut template = cmd.clone();
        if let Command::Add(c) | Command::Replace(c) = &mut template {
            for i in &mut c.items {
                i.data = None;
            }
        }
        Some(OutChunk {
            template,
            data,
            offset: 0,
        })
    }

    /// The whole object's length in bytes.
    pub(crate) fn total(&self) -> usize {
        self.data.len()
    }

    /// Bytes not yet sent.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.offset
    }

    /// The command name.
    pub(crate) fn cmd_name(&self) -> &str {
        self.template.name()
    }

    /// The item's target URI.
    pub(crate) fn target(&self) -> Option<String> {
        item_cmd(&self.template)
            .and_then(|c| c.items.first())
            .and_then(|i| i.target.as_ref())
            .map(|t| t.loc_uri.clone())
    }

    /// The largest cut at or below `offset + n` that falls on a character
    /// boundary, as a length from `offset`.
    fn cut(&self, n: usize) -> usize {
        let mut end = (self.offset + n).min(self.data.len());
        while end > self.offset && !self.data.is_char_boundary(end) {
            end -= 1;
        }
        end - self.offset
    }

    /// The command carrying the next `n` bytes (fewer, to stay on a
    /// character boundary): returns it, the bytes it carries and whether
    /// more chunks follow. The first chunk carries Meta Size.
    pub(crate) fn chunk(&self, n: usize) -> (Command, usize, bool) {
        let n = self.cut(n);
        let end = self.offset + n;
        let more = end < self.data.len();
        let mut cmd = self.template.clone();
        if let Command::Add(c) | Command::Replace(c) = &mut cmd {
            for i in &mut c.items {
                i.data = Some(Data::Text(self.data[self.offset..end].to_string()));
                i.more_data = more;
                if self.offset == 0 {
                    let mut m = i.meta.take().unwrap_or_default();
                    m.size = Some(self.data.len().to_string());
                    i.meta = Some(m);
                }
            }
        }
        (cmd, n, more)
    }

    /// Marks `n` more bytes as sent.
    pub(crate) fn advance(&mut self, n: usize) {
        self.offset = (self.offset + n).min(self.data.len());
    }
}

fn item_cmd(cmd: &Command) -> Option<&ItemCmd> {
    match cmd {
        Command::Add(c) | Command::Replace(c) => Some(c),
        _ => None,
    }
}

/// A large object the device is sending, chunk by chunk.
#[derive(Clone, Debug)]
pub(crate) struct Assembly {
    /// `Results` or `Replace`.
    pub(crate) cmd: String,
    /// What the next chunk must match: the Results' CmdRef and Source, or
    /// the Replace's Target.
    pub(crate) key: String,
    pub(crate) data: Vec<u8>,
    pub(crate) declared: Option<u64>,
    pub(crate) chunks: usize,
    pub(crate) format: Option<String>,
    pub(crate) type_: Option<String>,
}

/// A whole object, from one item or reassembled from chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Whole {
    pub(crate) data: Vec<u8>,
    pub(crate) chunks: usize,
    pub(crate) declared: Option<u64>,
    pub(crate) format: Option<String>,
    pub(crate) type_: Option<String>,
}

impl Whole {
    /// Whether the length matches the declared Size (true when none was).
    pub(crate) fn size_ok(&self) -> bool {
        self.declared
            .is_none_or(|d| u64::try_from(self.data.len()).is_ok_and(|l| l == d))
    }
}

/// The result of feeding one item.
#[derive(Debug)]
pub(crate) enum Fed {
    /// A chunk was buffered: answer 213.
    Buffered,
    /// The object is complete.
    Whole(Whole),
    /// The object grew past the server's MaxObjSize: answer 413; dropped.
    TooLarge,
}

/// Feeds one item of a `cmd` (`Results` or `Replace`) with match `key`.
/// Returns what to answer and, if an object in progress was interrupted by
/// a different one, that object (the caller complains about it).
pub(crate) fn feed(
    pending: &mut Option<Assembly>,
    cmd: &str,
    key: &str,
    item: &Item,
    cmd_meta: Option<&Meta>,
    max_obj_size: usize,
) -> (Fed, Option<Assembly>) {
    let chunk = item.data.as_ref().map(Data::as_bytes).unwrap_or_default();
    let continues = pending
        .as_ref()
        .is_some_and(|p| p.cmd == cmd && p.key == key);
    let interrupted = if continues { None } else { pending.take() };
    let meta_field = |f: fn(&Meta) -> Option<String>| {
        item.meta
            .as_ref()
            .and_then(f)
            .or_else(|| cmd_meta.and_then(f))
    };
    let mut asm = match pending.take() {
        Some(p) => p,
        None => Assembly {
            cmd: cmd.to_string(),
            key: key.to_string(),
            data: Vec::new(),
            declared: meta_field(|m| m.size.clone()).and_then(|s| s.trim().parse().ok()),
            chunks: 0,
            format: meta_field(|m| m.format.clone()),
            type_: meta_field(|m| m.type_.clone()),
        },
    };
    asm.data.extend_from_slice(chunk);
    asm.chunks += 1;
    if asm.data.len() > max_obj_size {
        return (Fed::TooLarge, interrupted);
    }
    if item.more_data {
        *pending = Some(asm);
        return (Fed::Buffered, interrupted);
    }
    (
        Fed::Whole(Whole {
            data: asm.data,
            chunks: asm.chunks,
            declared: asm.declared,
            format: asm.format,
            type_: asm.type_,
        }),
        interrupted,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmsched::dm::syncml::Locus;

    fn replace(data: &str) -> Command {
        Command::Replace(ItemCmd {
            items: vec![Item {
                target: Some(Locus::uri("./X")),
                data: Some(Data::Text(data.into())),
                ..Item::default()
            }],
            ..ItemCmd::default()
        })
    }

    fn data_of(cmd: &Command) -> (String, bool, Option<String>) {
        let c = item_cmd(cmd).unwrap();
        let i = &c.items[0];
        (
            i.data.as_ref().unwrap().to_text().into_owned(),
            i.more_data,
            i.meta.as_ref().and_then(|m| m.size.clone()),
        )
    }

    #[test]
    fn chunks_carry_size_first_and_more_data_until_the_last() {
        let mut o = OutChunk::from_command(&replace("abcdefghij")).unwrap();
        let (c, n, more) = o.chunk(4);
        assert_eq!((n, more), (4, true));
        assert_eq!(data_of(&c), ("abcd".into(), true, Some("10".into())));
        o.advance(n);
        let (c, n, more) = o.chunk(100);
        assert_eq!((n, more), (6, false));
        assert_eq!(data_of(&c), ("efghij".into(), false, None));
    }

    #[test]
    fn chunks_never_split_a_character() {
        let o = OutChunk::from_command(&replace("aé")).unwrap();
        let (_, n, more) = o.chunk(2);
        assert_eq!((n, more), (1, true));
    }

    #[test]
    fn reassembly_checks_the_declared_size() {
        let mut pending = None;
        let first = Item {
            meta: Some(Meta {
                size: Some("6".into()),
                ..Meta::default()
            }),
            data: Some(Data::Text("abc".into())),
            more_data: true,
            ..Item::default()
        };
        let (fed, _) = feed(&mut pending, "Results", "k", &first, None, 100);
        assert!(matches!(fed, Fed::Buffered));
        let last = Item {
            data: Some(Data::Text("de".into())),
            ..Item::default()
        };
        let (fed, _) = feed(&mut pending, "Results", "k", &last, None, 100);
        let Fed::Whole(w) = fed else { panic!() };
        assert_eq!(w.data, b"abcde");
        assert_eq!(w.chunks, 2);
        assert!(!w.size_ok());
        assert!(pending.is_none());
    }
}
