//! Where the test messages are: the project's own fixtures
//! (`core/tests/fixtures/syncml`, always there) and the real-world corpus
//! (`../shared/corpus/syncml` next to the workspace, or `DMSCHED_CORPUS`),
//! which only the interop suite reads.

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

/// The environment variable naming the corpus folder (absolute path).
pub const CORPUS_ENV: &str = "DMSCHED_CORPUS";

/// The real-world corpus folder: `$DMSCHED_CORPUS`, else
/// `<workspace>/../shared/corpus/syncml`. Panics, saying what `make
/// interop` needs, when the folder is not there.
pub fn corpus_dir() -> PathBuf {
    let dir = match std::env::var_os(CORPUS_ENV) {
        Some(d) => PathBuf::from(d),
        None => {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("core/ lies inside the workspace");
            let outside = workspace
                .parent()
                .expect("the workspace is not the file system root");
            outside.join("shared/corpus/syncml")
        }
    };
    assert!(
        dir.is_dir(),
        "real-world corpus not found at {}: make interop needs ../shared/corpus/syncml \
         (or {CORPUS_ENV})",
        dir.display()
    );
    dir
}

/// One corpus file by its path inside the corpus, if it exists.
pub fn read_corpus(rel: &str) -> Option<Vec<u8>> {
    std::fs::read(corpus_dir().join(rel)).ok()
}

/// One corpus file that must exist.
pub fn corpus(rel: &str) -> Vec<u8> {
    let p = corpus_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Corpus files ending in `suffix` in `subdirs` of the corpus, named by
/// their path inside it, sorted.
pub fn corpus_files(subdirs: &[&str], suffix: &str) -> Vec<(String, Vec<u8>)> {
    files_in(&corpus_dir(), subdirs, suffix)
}

fn files_in(root: &Path, subdirs: &[&str], suffix: &str) -> Vec<(String, Vec<u8>)> {
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
