//! Comps groups.
