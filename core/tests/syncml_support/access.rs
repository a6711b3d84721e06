//! Reaching into a decoded message: each accessor panics, naming what it
//! found, when the command is not the one a test expects.

use dmsched::dm::syncml::{Alert, Command, Container, Data, Exec, Item, ItemCmd, Results, Status};

/// The Alert `c` is.
pub fn alert(c: &Command) -> &Alert {
    match c {
        Command::Alert(a) => a,
        other => panic!("expected Alert, got {other:?}"),
    }
}

/// The Status `c` is.
pub fn status(c: &Command) -> &Status {
    match c {
        Command::Status(s) => s,
        other => panic!("expected Status, got {other:?}"),
    }
}

/// The Results `c` is.
pub fn results(c: &Command) -> &Results {
    match c {
        Command::Results(r) => r,
        other => panic!("expected Results, got {other:?}"),
    }
}

/// The Exec `c` is.
pub fn exec(c: &Command) -> &Exec {
    match c {
        Command::Exec(e) => e,
        other => panic!("expected Exec, got {other:?}"),
    }
}

/// The Add, Copy, Delete, Get or Replace `c` is, if it is the `name`d one.
pub fn item_cmd<'a>(c: &'a Command, name: &str) -> &'a ItemCmd {
    match c {
        Command::Add(x)
        | Command::Copy(x)
        | Command::Delete(x)
        | Command::Get(x)
        | Command::Replace(x)
            if c.name() == name =>
        {
            x
        }
        other => panic!("expected {name}, got {other:?}"),
    }
}

/// The Atomic or Sequence `c` is, if it is the `name`d one.
pub fn container<'a>(c: &'a Command, name: &str) -> &'a Container {
    match c {
        Command::Atomic(x) | Command::Sequence(x) if c.name() == name => x,
        other => panic!("expected {name}, got {other:?}"),
    }
}

/// An item's Data as text; panics when it has none.
pub fn data_text(i: &Item) -> String {
    i.data
        .as_ref()
        .map(|d| d.to_text().into_owned())
        .unwrap_or_else(|| panic!("no Data in {i:?}"))
}

/// An item's Target LocURI; panics when it has none.
pub fn target_uri(i: &Item) -> &str {
    &i.target
        .as_ref()
        .unwrap_or_else(|| panic!("no Target in {i:?}"))
        .loc_uri
}

/// An item's Source LocURI; panics when it has none.
pub fn source_uri(i: &Item) -> &str {
    &i.source
        .as_ref()
        .unwrap_or_else(|| panic!("no Source in {i:?}"))
        .loc_uri
}

/// `Some(Data::Text(s))`.
pub fn text(s: &str) -> Option<Data> {
    Some(Data::Text(s.to_string()))
}
