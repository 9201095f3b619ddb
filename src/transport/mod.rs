//! placeholder, filled by its layer's work
