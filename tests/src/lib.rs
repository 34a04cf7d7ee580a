//! spigo-tests: end-to-end tests live in `tests/e2e.rs` and run the real
//! `spigo` binary; this library is empty so the folder can be a workspace
//! member.
