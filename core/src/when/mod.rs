//! Time rules.
