//! spigo's `-m`: one log line for every message an actor receives.
//!
//! A line names the receiver, how long the message took, its imposition
//! and its intention; a message without an intention shows who its reply-to
//! is, by name when the node has heard that address's name (the
//! coordinator notes the names it gives out), so the log reads like
//! spigo's. Without `-m` nothing is stored and nothing is formatted.

use compact_str::CompactString;
use spigo_proto::time::GoDuration;
use spigo_proto::{Address, Gotocol, Intention};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

pub(crate) struct MessageLog {
    enabled: bool,
    /// Names of addresses, so that a line can say who a NameDrop or a
    /// reply is about.
    names: Mutex<HashMap<Address, CompactString>>,
}

impl MessageLog {
    pub(crate) fn new(enabled: bool) -> MessageLog {
        MessageLog {
            enabled,
            names: Mutex::default(),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Remembers an address's name (a no-op without `-m`).
    pub(crate) fn note_name(&self, at: Address, name: &str) {
        if self.enabled {
            self.names
                .lock()
                .expect("names lock")
                .insert(at, name.into());
        }
    }

    /// `<name>: gotocol: <delay> <Imposition> <intention>`; with a latency
    /// model the delay is followed by the model's figure.
    pub(crate) fn received(&self, name: &str, msg: &Gotocol, model: Option<Duration>) {
        let took = GoDuration(crate::runtime::clock::now().since(msg.sent));
        let delay = match model {
            Some(model) => format!("{took} (model {})", GoDuration(model)),
            None => took.to_string(),
        };
        let imposition = msg.imposition;
        match (&msg.intention, msg.reply_to) {
            (Intention::None, Some(from)) => {
                let names = self.names.lock().expect("names lock");
                match names.get(&from) {
                    Some(other) => tracing::info!("{name}: gotocol: {delay} {imposition} {other}"),
                    None => tracing::info!("{name}: gotocol: {delay} {imposition} {from}"),
                }
            }
            (intention, _) => tracing::info!("{name}: gotocol: {delay} {imposition} {intention}"),
        }
    }
}
