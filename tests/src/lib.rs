//! spigo-tests: the end-to-end tests (`tests/e2e/`) and the queueing-theory
//! experiments (`tests/theory/`) run the real `spigo` binary; this library
//! holds what both test binaries need to start it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `spigo` binary of this workspace, freshly built (once per test
/// binary).
pub fn spigo() -> Command {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    let path = BIN.get_or_init(|| {
        escargot::CargoBuild::new()
            .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
            .package("spigo")
            .bin("spigo")
            .current_release()
            .current_target()
            .run()
            .expect("cargo builds spigo")
            .path()
            .to_path_buf()
    });
    Command::new(path)
}
