//! What can be wrong with a compose file.

use saphyr::ScanError;
use spigo_proto::arch::ArchError;

/// Why a compose file could not be turned into an architecture; every
/// message is one line that starts with the file's name.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ComposeError {
    /// Not YAML.
    #[error("{file}: line {}: {}", source.marker().line(), source.info())]
    Yaml {
        file: String,
        #[source]
        source: ScanError,
    },
    /// YAML that is not shaped like a compose file.
    #[error("{file}: line {line}: {msg}")]
    At {
        file: String,
        line: usize,
        msg: String,
    },
    #[error("{file}: no services")]
    NoServices { file: String },
    #[error("{file}: service '{service}' {verb} '{target}', which is not a service")]
    Unknown {
        file: String,
        service: String,
        /// "depends on" or "links to".
        verb: &'static str,
        target: String,
    },
    #[error("{file}: services depend on each other in a cycle: {cycle}")]
    Cycle { file: String, cycle: String },
    #[error("{file}: services '{first}' and '{second}' would both be named '{name}' (spigo's names cannot hold dots)")]
    Clash {
        file: String,
        first: String,
        second: String,
        name: String,
    },
    /// The architecture made from it does not pass the checks every
    /// architecture file does (a bug here, if it happens).
    #[error("{file}: the architecture made from it is invalid: {source}")]
    Invalid {
        file: String,
        #[source]
        source: ArchError,
    },
}
