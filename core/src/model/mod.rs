//! Schedule model.
