//! The project's own test messages (`core/tests/fixtures/syncml`, in the
//! repository). Nothing here reads outside the repository: the real-world
//! corpus is in `corpus.rs`, compiled only with the `interop` feature.

use std::path::{Path, PathBuf};

/// `core/tests/fixtures/syncml`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syncml")
}

/// The bytes of one fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    let p = fixtures_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// Every fixture whose name ends in `suffix`, sorted by name.
pub fn fixture_files(suffix: &str) -> Vec<(String, Vec<u8>)> {
    files_in(&fixtures_dir(), &[""], suffix)
}

/// The twin of a WBXML fixture: `<stem>.<how it was made>.wbxml` has the
/// XML twin `<stem>.xml` (fixtures/syncml/README.md).
pub fn twin_of(wbxml_name: &str) -> String {
    let stem = wbxml_name
        .split('.')
        .next()
        .expect("split yields at least one part");
    format!("{stem}.xml")
}

/// Files ending in `suffix` in `subdirs` of `root`, named by their path
/// inside it, sorted.
pub fn files_in(root: &Path, subdirs: &[&str], suffix: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in subdirs {
        let dir = root.join(sub);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries {
            let p = e.expect("a directory entry").path();
            let name = p
                .file_name()
                .expect("a file in a directory has a name")
                .to_string_lossy()
                .into_owned();
            if name.ends_with(suffix) {
                let rel = Path::new(sub).join(&name).to_string_lossy().into_owned();
                let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                out.push((rel, bytes));
            }
        }
    }
    out.sort();
    out
}
