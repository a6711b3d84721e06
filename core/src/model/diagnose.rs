//! Every structural problem of a document at once (issue 17).
//!
//! A document that does not decode is decoded again and again: each
//! failure is recorded with its JSON path, the offending key (or value, or
//! the smallest enclosing optional part) is removed from a copy of the
//! document, and decoding goes on — so one run names every unknown key,
//! wrong type and unknown value, not only the first. What remains decodes
//! (when nothing required had to go), so the semantic checks can run on it
//! too; a [`PathMap`] turns the paths of the shortened copy back into paths
//! of the document as written. The one serde model is the only description
//! of the format: nothing here repeats it.
//!
//! Messages are reworded for people (`unknown key "window" (did you mean
//! "windows"?)` instead of serde's internals).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::validate::Problem;

/// More removals than this: the document is too broken to go on (each
/// is one more decoding of the whole document: 64 bound the work a
/// hostile 256 KB document can cause to a few tens of milliseconds).
const MAX_REPAIRS: usize = 64;

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render(segs: &[Seg]) -> String {
    let mut s = String::from("$");
    for seg in segs {
        match seg {
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// The list elements removed from the copy, by the path of their list in
/// the document as written: turns a path in the copy into the path in the
/// document.
#[derive(Clone, Debug, Default)]
pub struct PathMap {
    removed: BTreeMap<Vec<Seg>, Vec<usize>>,
}

impl PathMap {
    fn original(&self, segs: &[Seg]) -> Vec<Seg> {
        let mut out: Vec<Seg> = Vec::with_capacity(segs.len());
        for seg in segs {
            match seg {
                Seg::Index(c) => {
                    let gone = self.removed.get(&out).map(Vec::as_slice).unwrap_or(&[]);
                    // The c-th index (from 0) that was not removed.
                    let mut o = *c;
                    for g in gone {
                        if *g <= o {
                            o += 1;
                        }
                    }
                    out.push(Seg::Index(o));
                }
                k => out.push(k.clone()),
            }
        }
        out
    }

    /// The path, as `$.a[1].b`, in the document as written, of `path` (the
    /// same notation) in the shortened copy.
    pub fn map(&self, path: &str) -> String {
        if self.removed.is_empty() {
            return path.to_string();
        }
        match parse_path(path) {
            Some(segs) => render(&self.original(&segs)),
            None => path.to_string(),
        }
    }

    /// Whether the list at `path` (as written) lost elements.
    pub fn shortened(&self, path: &str) -> bool {
        parse_path(path).is_some_and(|segs| self.removed.contains_key(&segs))
    }
}

fn parse_path(path: &str) -> Option<Vec<Seg>> {
    let rest = path.strip_prefix('$')?;
    let mut segs = Vec::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '.' => {
                let start = i + 1;
                let mut end = rest.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d == '.' || d == '[' {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                segs.push(Seg::Key(rest[start..end].to_string()));
            }
            '[' => {
                let start = i + 1;
                let end = rest[start..].find(']')? + start;
                segs.push(Seg::Index(rest[start..end].parse().ok()?));
                while chars.peek().is_some_and(|&(j, _)| j <= end) {
                    chars.next();
                }
            }
            _ => return None,
        }
    }
    Some(segs)
}

/// Sorts problems by path: list elements in index order, keys by name,
/// the problems of one path in their order.
pub fn sort_by_path(problems: &mut [Problem]) {
    problems.sort_by_cached_key(|p| parse_path(&p.path).unwrap_or_default());
}

/// The node at `path` (`$.a[1].b`) of `doc`.
pub fn value_at<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    lookup(doc, &parse_path(path)?)
}

/// The caret line under the bytes `span` of `text`, for a terminal:
/// `text` on one line, then `^` under the span (at least one).
pub fn caret(text: &str, span: (usize, usize)) -> Option<String> {
    let before = text.get(..span.0)?;
    let inside = text.get(span.0..span.1.max(span.0))?;
    let pad = before.chars().count();
    let width = inside.chars().count().max(1);
    Some(format!("{text}\n{}{}", " ".repeat(pad), "^".repeat(width)))
}

/// What decoding every structural problem gives: the problems (paths as
/// written, friendly messages), and the decoded rest when nothing
/// required had to be removed.
pub struct Diagnosis<T> {
    /// Every structural problem, with paths as written.
    pub problems: Vec<Problem>,
    /// What decodes once the problems are removed (`None`: a required
    /// part had to go, or the text is not JSON).
    pub rest: Option<T>,
    /// From paths in `rest` to paths as written.
    pub map: PathMap,
}

/// Decodes `json` as `T`, collecting every structural problem (see the
/// module's documentation). With no problem, `rest` is the document.
pub fn decode_all<T: DeserializeOwned>(json: &str) -> Diagnosis<T> {
    let mut value: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            return Diagnosis {
                problems: vec![Problem::new("$", syntax_message(&e))],
                rest: None,
                map: PathMap::default(),
            };
        }
    };
    let mut map = PathMap::default();
    let mut problems: Vec<Problem> = Vec::new();
    // What was removed (paths as written): a later failure of the part
    // holding one of them is the same problem.
    let mut emptied: Vec<Vec<Seg>> = Vec::new();
    for _ in 0..MAX_REPAIRS {
        // Decoded from text, through the very deserializer type every
        // document goes through (`validate::decode`): one copy of the
        // model's generated code in the library, not a second for values.
        let text = serde_json::to_string(&value).unwrap_or_default();
        let de = &mut serde_json::Deserializer::from_str(&text);
        let err = match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(t) => {
                return Diagnosis {
                    problems,
                    rest: Some(t),
                    map,
                };
            }
            Err(e) => e,
        };
        let mut segs: Vec<Seg> = err
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        // serde_json's text position refers to the re-encoded copy: drop it.
        let raw = err.into_inner().to_string();
        let raw = match raw.rfind(" at line ") {
            Some(i) => raw[..i].to_string(),
            None => raw,
        };
        let kind = classify(&raw);
        // The path serde gives for an unknown key may or may not name the
        // key itself: make it name it.
        if let Kind::UnknownField { field, .. } = &kind
            && segs.last() != Some(&Seg::Key(field.clone()))
        {
            segs.push(Seg::Key(field.clone()));
        }
        // A part that fails only because a key of it was removed before
        // (its value was wrong: reported) goes whole, silently.
        let orig = map.original(&segs);
        let consequence = matches!(kind, Kind::Missing(_) | Kind::Other)
            && emptied
                .iter()
                .any(|e| e.len() > orig.len() && e.starts_with(&orig));
        if !consequence {
            problems.push(Problem::new(
                render(&orig),
                friendly(&kind, &raw, &value, &segs),
            ));
        }
        // What goes: the offending key, value or element; for a missing
        // required key, the part that lacks it.
        if segs.is_empty() || !remove(&mut value, &segs, &mut map) {
            return Diagnosis {
                problems,
                rest: None,
                map,
            };
        }
        emptied.push(orig);
    }
    problems.push(Problem::new(
        "$",
        format!("more problems not listed: checking stops after {MAX_REPAIRS}"),
    ));
    Diagnosis {
        problems,
        rest: None,
        map,
    }
}

/// Removes the node at `segs` (in the copy's numbering) from `value`.
fn remove(value: &mut Value, segs: &[Seg], map: &mut PathMap) -> bool {
    let Some((last, parent_path)) = segs.split_last() else {
        return false;
    };
    let mut node = &mut *value;
    for seg in parent_path {
        node = match (seg, node) {
            (Seg::Key(k), Value::Object(o)) => match o.get_mut(k) {
                Some(v) => v,
                None => return false,
            },
            (Seg::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Seg::Key(k), Value::Object(o)) => o.remove(k).is_some(),
        (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            let list = map.original(parent_path);
            let original = match map.original(segs).pop() {
                Some(Seg::Index(o)) => o,
                _ => return false,
            };
            let gone = map.removed.entry(list).or_default();
            gone.push(original);
            gone.sort_unstable();
            true
        }
        _ => false,
    }
}

/// What serde said, by kind.
enum Kind {
    UnknownField {
        field: String,
        expected: Vec<String>,
    },
    UnknownVariant {
        variant: String,
        expected: Vec<String>,
    },
    Missing(String),
    Other,
}

/// The names between backticks in `s`, in order.
fn ticked(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn classify(raw: &str) -> Kind {
    let names = ticked(raw);
    if raw.starts_with("unknown field `") {
        Kind::UnknownField {
            field: names.first().cloned().unwrap_or_default(),
            expected: names.into_iter().skip(1).collect(),
        }
    } else if raw.starts_with("unknown variant `") {
        Kind::UnknownVariant {
            variant: names.first().cloned().unwrap_or_default(),
            expected: names.into_iter().skip(1).collect(),
        }
    } else if raw.starts_with("missing field `") {
        Kind::Missing(names.first().cloned().unwrap_or_default())
    } else {
        Kind::Other
    }
}

/// The closest of `candidates` to `word`, if close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == word {
            continue;
        }
        let score = if c.eq_ignore_ascii_case(word) {
            2.0
        } else {
            let d = strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase());
            let longest = lower.chars().count().max(c.chars().count()).max(1);
            // At most a third of the letters wrong (and at most 3), or one
            // a prefix of the other.
            let close = d <= 3 && d * 3 <= longest;
            let prefix = lower.len() >= 3 && c.to_ascii_lowercase().starts_with(&lower);
            if !close && !prefix {
                continue;
            }
            1.0 - d as f64 / longest as f64
        };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

fn suggestion(word: &str, expected: &[String]) -> String {
    match did_you_mean(word, expected.iter().map(String::as_str)) {
        Some(s) => format!(" (did you mean \"{s}\"?)"),
        None => String::new(),
    }
}

fn one_of(expected: &[String]) -> String {
    if expected.is_empty() {
        return String::new();
    }
    format!("; expected one of: {}", expected.join(", "))
}

fn friendly(kind: &Kind, raw: &str, doc: &Value, segs: &[Seg]) -> String {
    match kind {
        Kind::UnknownField { field, expected } => {
            let hint = suggestion(field, expected);
            if hint.is_empty() {
                format!("unknown key \"{field}\"{}", one_of(expected))
            } else {
                format!("unknown key \"{field}\"{hint}")
            }
        }
        Kind::UnknownVariant { variant, expected } => {
            let hint = suggestion(variant, expected);
            if hint.is_empty() {
                format!("unknown value \"{variant}\"{}", one_of(expected))
            } else {
                format!("unknown value \"{variant}\"{hint}")
            }
        }
        Kind::Missing(field) => {
            // What the model adds after the name (e.g. the choices).
            let tail = raw.splitn(3, '`').nth(2).unwrap_or("");
            format!("missing required key \"{field}\"{tail}")
        }
        Kind::Other => other_message(raw, doc, segs),
    }
}

/// serde's and jiff's remaining messages, reworded.
fn other_message(raw: &str, doc: &Value, segs: &[Seg]) -> String {
    // serde_json appends " at line L column C" for text input only; the
    // copy is a value, so none here.
    let found = lookup(doc, segs);
    let key = match segs.last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "",
    };
    // Instants and local date-times, by the key they are under (jiff's
    // own words are about its parser).
    if let Some(v @ Value::String(_)) = found {
        if matches!(
            key,
            "at" | "valid_from" | "valid_until" | "anchor" | "until"
        ) {
            return format!(
                "{} is not an instant: write RFC 3339 with Z or an offset, e.g. \"2026-01-01T02:30:00Z\"",
                describe(v)
            );
        }
        if key == "dtstart" && !(raw.contains("Zulu") || raw.contains("offset")) {
            return format!(
                "{} is not a local date-time: write e.g. \"2026-01-01T02:30:00\" (no offset; the zone is \"tz\")",
                describe(v)
            );
        }
    }
    if raw == "expected value" {
        // serde_json, for a value of the wrong kind where an enum's name
        // belongs.
        return format!(
            "{} is not one of the names allowed here",
            found.map(describe).unwrap_or_else(|| "this".into())
        );
    }
    // serde's "invalid value: …" (a number out of range) and "invalid
    // type: …" (a string for a number) say the same to a reader.
    if let Some(rest) = raw
        .strip_prefix("invalid value: ")
        .or_else(|| raw.strip_prefix("invalid type: "))
    {
        let expected = rest.split_once(", expected ").map(|x| x.1).unwrap_or("");
        return format!(
            "expected {}, found {}",
            expected_words(expected),
            found
                .map(describe)
                .unwrap_or_else(|| "something else".into())
        );
    }
    if raw.contains("with a Zulu offset") || raw.contains("with an offset") {
        return format!(
            "{} is an instant (it has an offset); this is a local date-time: \
             write it without the offset, e.g. \"2026-01-01T02:30:00\", and name the zone in \"tz\"",
            found.map(describe).unwrap_or_default()
        );
    }
    if let Some(v @ Value::String(_)) = found
        && (raw.contains("failed to parse") || raw.contains("invalid"))
    {
        let what = if raw.contains("civil") || raw.contains("datetime") {
            "a local date-time like \"2026-01-01T02:30:00\""
        } else if raw.contains("timestamp") || raw.contains("offset") {
            "an instant like \"2026-01-01T02:30:00Z\""
        } else {
            return format!("{}: {raw}", describe(v));
        };
        return format!("{} is not {what}", describe(v));
    }
    raw.to_string()
}

fn expected_words(e: &str) -> String {
    match e {
        "u64" | "u32" | "u16" | "u8" | "usize" => "a whole number ≥ 0".into(),
        "i64" | "i32" => "a whole number".into(),
        "f64" | "f32" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a sequence" => "a list [...]".into(),
        "a map" => "an object {...}".into(),
        e if e.starts_with("struct ") => "an object {...}".into(),
        e if e.starts_with("enum ") => "one of the documented values".into(),
        "a string" | "a borrowed string" | "string or map" => "a string".into(),
        e => e.to_string(),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn lookup<'a>(v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    let mut node = v;
    for s in segs {
        node = match (s, node) {
            (Seg::Key(k), Value::Object(o)) => o.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn syntax_message(e: &serde_json::Error) -> String {
    format!(
        "not valid JSON: {} (line {}, column {})",
        e.to_string().split(" at line ").next().unwrap_or_default(),
        e.line(),
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Schedule;

    #[test]
    fn paths_map_back_across_removed_list_elements() {
        let mut m = PathMap::default();
        m.removed.insert(vec![Seg::Key("tasks".into())], vec![0, 2]);
        assert_eq!(m.map("$.tasks[0].id"), "$.tasks[1].id");
        assert_eq!(m.map("$.tasks[1].x[0]"), "$.tasks[3].x[0]");
        assert_eq!(m.map("$.id"), "$.id");
        assert!(m.shortened("$.tasks"));
    }

    /// A document with more problems than the bound ends with a note,
    /// not with silence (and does not decode forever).
    #[test]
    fn checking_stops_after_the_bound_and_says_so() {
        let keys: Vec<String> = (0..200).map(|i| format!(r#""k{i}": 1"#)).collect();
        let doc = format!(r#"{{"id": "s", "tasks": [], {}}}"#, keys.join(", "));
        let d = decode_all::<Schedule>(&doc);
        assert_eq!(d.problems.len(), MAX_REPAIRS + 1);
        assert!(
            d.problems
                .last()
                .unwrap()
                .message
                .contains("more problems not listed")
        );
        assert!(d.rest.is_none());
    }

    /// Issue 17: messages in the format's words, not the parsers'.
    #[test]
    fn bad_values_get_messages_without_library_internals() {
        let doc = r#"{"id": "v", "valid_until": "next week", "tasks": [
            {"id": "a", "trigger": {"at": "tomorrow"}, "actions": [{"op": 3, "target": "./A"}]},
            {"id": "b", "trigger": {"every": {"seconds": -5}}, "actions": []},
            {"id": "c", "trigger": {"calendar": {"rrule": "FREQ=DAILY", "dtstart": "soon"}}, "actions": []}]}"#;
        let got: Vec<String> = decode_all::<Schedule>(doc)
            .problems
            .iter()
            .map(ToString::to_string)
            .collect();
        for want in [
            r#"$.valid_until: the string "next week" is not an instant: write RFC 3339"#,
            r#"$.tasks[0].trigger.at: the string "tomorrow" is not an instant"#,
            "$.tasks[0].actions[0].op: the number 3 is not one of the names allowed here",
            "$.tasks[1].trigger.every.seconds: expected a whole number ≥ 0, found the number -5",
            r#"$.tasks[2].trigger.calendar.dtstart: the string "soon" is not a local date-time"#,
        ] {
            assert!(
                got.iter().any(|g| g.starts_with(want)),
                "missing {want:?} in {got:#?}"
            );
        }
        for g in &got {
            assert!(
                !g.contains("u64") && !g.contains("jiff") && !g.contains("digit"),
                "{g}"
            );
        }
    }

    #[test]
    fn did_you_mean_catches_typos_and_case_only() {
        let keys = ["windows", "require", "max_delay_seconds"];
        assert_eq!(did_you_mean("window", keys), Some("windows"));
        assert_eq!(
            did_you_mean("max_delay_secs", keys),
            Some("max_delay_seconds")
        );
        assert_eq!(did_you_mean("REQUIRE", keys), Some("require"));
        assert_eq!(did_you_mean("colour", keys), None);
    }

    /// Issue 17: N independent mistakes get N messages in one run.
    #[test]
    fn every_unknown_key_and_bad_value_in_one_run() {
        let doc = r#"{"id": "s", "tasks": [
            {"id": "a", "trigger": {"at": "2026-01-01T00:00:00Z"},
             "constraints": {"window": [], "max_delay_secs": 5},
             "actions": [{"op": "Replase", "target": "./A"}, {"exec": "./B"}],
             "policy": {"jitter_seconds": "60"}},
            {"id": "b", "trigger": {"at": "2026-01-01T00:00:00Z"}, "actions": [], "bogus": 1}]}"#;
        let d = decode_all::<Schedule>(doc);
        let got: Vec<String> = d.problems.iter().map(ToString::to_string).collect();
        let want = [
            "$.tasks[0].constraints.window: unknown key \"window\" (did you mean \"windows\"?)",
            "$.tasks[0].constraints.max_delay_secs: unknown key \"max_delay_secs\" (did you mean \"max_delay_seconds\"?)",
            "$.tasks[0].actions[0].op: unknown value \"Replase\" (did you mean \"Replace\"?)",
            "$.tasks[0].actions[1].exec: unknown key \"exec\"",
            "$.tasks[0].policy.jitter_seconds: expected a whole number ≥ 0, found the string \"60\"",
            "$.tasks[1].bogus: unknown key \"bogus\"",
        ];
        for w in want {
            assert!(
                got.iter().any(|g| g.starts_with(w)),
                "missing {w:?} in {got:#?}"
            );
        }
        assert_eq!(got.len(), want.len(), "{got:#?}");
    }
}
