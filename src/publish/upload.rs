//! The registry's web API, spoken by the helper itself.
