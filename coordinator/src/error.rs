//! How a command fails, and the exit status each way of failing gives
//! (README, "Exit status"):
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | the command completed |
//! | 1 | it failed ([`Error::Failed`]) |
//! | 2 | bad flags, input files, addresses or cookie, or work that does not fit the memory budgets: every other [`Error`] |
//! | 3 | a simulation completed and wrote its files but lost a node ([`EXIT_NODES_LOST`]) |
//!
//! Every layer returns these where the difference matters, so `main` reads
//! the status off the variant. Each variant displays the whole one-line
//! message the user sees; the error underneath stays reachable through
//! [`std::error::Error::source`].

/// Any error kept as the cause of another.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit status of a bad flag, input file or cookie (clap uses 2 as well).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit status of a command that failed for any other reason.
pub(crate) const EXIT_FAILED: u8 = 1;
/// Exit status of a run that finished and wrote its graph but lost nodes.
pub(crate) const EXIT_NODES_LOST: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// clap refused the command line. Its message runs over several lines
    /// and then gives usage and tips: shown is the message, on one line.
    #[error("{}", one_line(.0))]
    Flags(#[source] clap::Error),
    /// A flag, input, address or cookie is wrong, found before or while
    /// starting.
    #[error("{0}")]
    Usage(String),
    /// As [`Error::Usage`], because of `source`: shown as `what: source`.
    #[error("{what}: {source}")]
    UsageBecause {
        what: String,
        #[source]
        source: BoxError,
    },
    /// Refused by the code that checked it, whose message says it all
    /// (a TLS file, a population too large for the nodes' budgets, ...).
    #[error(transparent)]
    Refused(BoxError),
    /// An input file or setting the model could not read or build
    /// (architecture, graph, latency file): shown with its whole chain of
    /// causes, `context: cause: cause`.
    #[error("{0:#}")]
    BadInput(#[source] anyhow::Error),
    /// Anything else that stopped the command, shown with its chain.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl Error {
    pub(crate) fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// `what: source`, keeping `source`.
    pub(crate) fn usage_because(what: impl Into<String>, source: impl Into<BoxError>) -> Error {
        Error::UsageBecause {
            what: what.into(),
            source: source.into(),
        }
    }

    pub(crate) fn refused(e: impl Into<BoxError>) -> Error {
        Error::Refused(e.into())
    }

    /// A failure that is not the user's doing, from any error type.
    pub(crate) fn failed(e: impl Into<anyhow::Error>) -> Error {
        Error::Failed(e.into())
    }

    pub(crate) fn exit_status(&self) -> u8 {
        match self {
            Error::Failed(_) => EXIT_FAILED,
            Error::Flags(_)
            | Error::Usage(_)
            | Error::UsageBecause { .. }
            | Error::Refused(_)
            | Error::BadInput(_) => EXIT_USAGE,
        }
    }
}

/// clap's message on one line, without its usage; a "did you mean" tip
/// (`tip: a similar argument exists: '--duration'`) follows on a line of
/// its own, since that is what a mistyped flag needs.
fn one_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let mut shown = message.join(" ").trim_start_matches("error: ").to_string();
    use clap::error::{ContextKind, ContextValue};
    for (kind, what) in [
        (ContextKind::SuggestedArg, "argument"),
        (ContextKind::SuggestedSubcommand, "subcommand"),
    ] {
        let similar = match e.get(kind) {
            Some(ContextValue::String(one)) => format!("'{one}'"),
            Some(ContextValue::Strings(many)) if !many.is_empty() => many
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", "),
            _ => continue,
        };
        shown.push_str(&format!("\n  tip: a similar {what} exists: {similar}"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn messages_are_one_line_and_keep_their_cause() {
        let io = std::io::Error::other("disk full");
        let e = Error::usage_because("--out: cannot write in x", io);
        assert_eq!(e.to_string(), "--out: cannot write in x: disk full");
        assert_eq!(e.source().unwrap().to_string(), "disk full");
        assert_eq!(e.exit_status(), EXIT_USAGE);
        let chain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(Error::BadInput(chain).to_string(), "outer: inner");
        let failed = Error::from(anyhow::anyhow!("boom").context("cannot start"));
        assert_eq!(failed.to_string(), "cannot start: boom");
        assert_eq!(failed.exit_status(), EXIT_FAILED);
    }
}
