//! The real-world corpus (`../shared/corpus/syncml` next to the workspace,
//! or `$DMSCHED_CORPUS`). Compiled only with the `interop` feature (see
//! `mod.rs`), so only `make interop` ever reads it; `make test` never does.

use std::path::{Path, PathBuf};

use super::files::files_in;

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
