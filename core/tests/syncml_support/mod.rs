//! Shared by the SyncML codec tests: `dm_syncml_xml`, `dm_syncml_quirks`
//! and `dm_wbxml_interop` (project fixtures, run by `make test`) and
//! `interop_corpus_xml` / `interop_corpus_wbxml` (the real-world corpus,
//! run by `make interop`). Only `corpus`, compiled with the `interop`
//! feature alone, reads outside the repository.
#![allow(dead_code)]

pub mod access;
pub mod compare;
#[cfg(feature = "interop")]
pub mod corpus;
pub mod files;
pub mod libwbxml;
pub mod robustness;
pub mod synthetic;
pub mod wbxml_recipe;

use dmsched::dm::syncml::{self, CodecError, Encoding, Limits, SyncMl};

/// Our XML decoder, default limits.
pub fn decode_xml(bytes: &[u8]) -> Result<SyncMl, CodecError> {
    syncml::decode_with(bytes, Some(Encoding::Xml), &Limits::default())
}

/// Our WBXML decoder, default limits.
pub fn decode_wbxml(bytes: &[u8]) -> Result<SyncMl, CodecError> {
    syncml::decode_with(bytes, Some(Encoding::Wbxml), &Limits::default())
}
