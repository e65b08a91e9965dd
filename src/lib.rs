//! otter
