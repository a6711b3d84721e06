//! The real-world corpus, read only from the folder `$DMSCHED_CORPUS`
//! names (absolute path), which only `make interop` sets (its `CORPUS`
//! variable). Compiled only with the `interop` feature (see `mod.rs`),
//! which `make test` never enables; no default folder, so nothing but
//! `make interop` (or a caller naming the folder) reads outside the
//! repository.

use std::path::PathBuf;

use super::files::files_in;

/// The environment variable naming the corpus folder (absolute path).
pub const CORPUS_ENV: &str = "DMSCHED_CORPUS";

/// The real-world corpus folder, `$DMSCHED_CORPUS`. Panics, saying what
/// `make interop` needs, when it is unset or not a folder.
pub fn corpus_dir() -> PathBuf {
    let Some(dir) = std::env::var_os(CORPUS_ENV).map(PathBuf::from) else {
        panic!(
            "{CORPUS_ENV} is not set: run `make interop` (it points {CORPUS_ENV} at \
             the corpus folder, or at CORPUS=DIR)"
        );
    };
    assert!(
        dir.is_dir(),
        "real-world corpus not found at {}: make interop needs the corpus folder \
         (see its CORPUS variable, or pass CORPUS=DIR)",
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
