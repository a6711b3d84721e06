//! Condition language.
