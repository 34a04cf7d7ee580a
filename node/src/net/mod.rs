//! How a process talks to the others: links, their handshake and TLS, the
//! gateway that receives for the node, and the `spigo node` server that
//! puts a node process together.
//!
//! | file | job |
//! | --- | --- |
//! | `accept.rs` | `spigo node`'s accept loop: what a peer gets before it proves the cookie |
//! | `cookies.rs` | what a cookie must be where strangers can connect, and a fresh one |
//! | `handshake.rs` | opening a link: TLS, the cookie challenge, refusals |
//! | `link.rs` | a started link: frames, the writer and reader tasks |
//! | `seal.rs` | the session keys and per-frame tags of a started link |
//! | `tls.rs` | loading the certificates of mutual TLS |
//! | `gateway.rs` | the one actor frames from links are handed to |
//! | `peers.rs` | liveness: heartbeats, a silent coordinator, re-dialling broken links |
//! | `quiet.rs` | warnings a peer can cause, logged a few times and counted |
//! | `server.rs` | `spigo node`: join, spawn what is placed, report, stop |
//! | `bench.rs` | the actors `spigo bench link` measures links with |
//!
//! Layering: these files use the runtime; only `server.rs` uses the
//! packages (it spawns them), and no package uses this room.

pub mod accept;
pub mod bench;
pub mod cookies;
pub mod gateway;
pub mod handshake;
pub mod link;
#[cfg(test)]
mod link_tests;
pub mod peers;
pub mod quiet;
pub mod seal;
pub mod server;
pub mod tls;
