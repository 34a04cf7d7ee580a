//! spigo-node: the actor runtime of one OS process.
//!
//! A node hosts nanoservice actors, routes their messages to local
//! mailboxes or over links to other nodes, holds messages back by the
//! latency model, and batches graph events to the coordinator's edda. The
//! coordinator process runs one too, for what it places on itself.
//!
//! # Layout
//!
//! Three rooms, each using only the ones before it:
//!
//! * [`runtime`]: one process's machinery, knowing nothing of packages or
//!   sockets.
//!   * `runtime/mod.rs`: [`Runtime`], the front door every actor sends
//!     through: registration, local and remote sends, timers, figures.
//!   * `runtime/table.rs`: the address table, from an address's index to a
//!     mailbox.
//!   * `runtime/delivery.rs`: what a mailbox accepts, a [`Delivery`]: a
//!     message, or one of the actor's own typed timers.
//!   * `runtime/delay.rs`: the delay queue and its thread; it releases due
//!     entries into a sink (the runtime) it is given.
//!   * `runtime/latency.rs`: the latency gate, which decides how long a
//!     message between instances is held, and its measured delays.
//!   * `runtime/links.rs`: the runtime's side of links, one queue per node.
//!   * `runtime/counters.rs`: what the node counts, reported as named
//!     figures.
//!   * `runtime/msglog.rs`: the `-m` message log.
//!   * `runtime/refusal.rs`: a request that could not be delivered with
//!     no sender waiting on the send: its asker answered as failed.
//!   * `runtime/clock.rs`, `budget.rs`, `metrics.rs`, `flows.rs`: the
//!     shared wall clock, the memory budget, per-service figures and
//!     traffic figures (requests answered, delivered or failed by
//!     reason), and the spans of sampled flows.
//! * [`packages`]: the actors of a simulation.
//!   * `packages/lifecycle.rs`: the one lifecycle of every actor kind
//!     (naming, the `-m` log, graph events, Hello / Inform / Goodbye,
//!     sending) and `Member`, the actor that
//!     runs a kind through it.
//!   * `packages/pirate.rs`, `eureka.rs`: the FSM's pirates and the
//!     service registry.
//!   * `packages/service/`: what every NetflixOSS service instance
//!     shares, split by job: `core.rs` (its state and the operations
//!     packages call), `discovery.rs` (the eureka client side),
//!     `routing.rs`, `requests.rs` (answers awaited, timeouts) and
//!     `spans.rs` (tracing).
//!   * `packages/denominator.rs`, `elb.rs`, `zuul.rs`, `karyon.rs`,
//!     `monolith.rs`, `staash.rs`, `priam_cassandra.rs`, `store.rs`: one
//!     file per package, each only what it does with a request.
//!   * `packages/edda.rs`: the node's edda shard, batching graph events.
//!   * `packages/spawn.rs`: from a package name to its actor.
//! * [`net`]: how a process talks to the others.
//!   * `net/handshake.rs`, `link.rs`, `tls.rs`: opening a link (cookie,
//!     TLS), then its writer and reader tasks.
//!   * `net/gateway.rs`: the one actor that receives what links read.
//!   * `net/server.rs`: `spigo node`, a process serving a coordinator.
//!   * `net/bench.rs`: the actors of `spigo bench link`.
//!
//! `testkit.rs` (tests only) holds the probe actor the tests of every room
//! use.
//!
//! # The life of one message
//!
//! A karyon instance asks a store on another node for a key:
//!
//! 1. The instance's package calls [`Core::call`](packages::service::Core::call)
//!    (`packages/service/core.rs`), which makes a child span
//!    (`service/spans.rs`), remembers where the answer goes
//!    (`service/requests.rs`) and sends through its lifecycle
//!    (`packages/lifecycle.rs`), stamped with the time and its location.
//! 2. [`Runtime::send`] (`runtime/mod.rs`) sees another node's address and
//!    queues the message on that node's [`LinkTx`](runtime::links::LinkTx)
//!    (`runtime/links.rs`), unless the queue is too deep for new work.
//! 3. The link's writer task (`net/link.rs`) batches it with whatever else
//!    is queued into one Messages frame on the socket.
//! 4. On the other node the link's reader task (`net/link.rs`) decodes the
//!    frame and hands it to the gateway (`net/gateway.rs`), which sends
//!    each message on to its local address through that node's
//!    [`Runtime::send`].
//! 5. There the latency gate (`runtime/latency.rs`) compares the message's
//!    sent time with the model's figure for the two locations; if it is
//!    early, it waits in the delay queue (`runtime/delay.rs`), which
//!    releases it into the runtime when due.
//! 6. The address table (`runtime/table.rs`) hands it to the store's
//!    mailbox, and `Member` (`packages/lifecycle.rs`) takes it in (the
//!    `-m` line) and passes it to the store's package (`packages/store.rs`)
//!    as request traffic. The answer goes back the same way, under the
//!    span the karyon chose.
//!
//! A message to an actor on the same node skips steps 3 and 4: it is
//! never serialised.

#![deny(unsafe_code)]

pub mod net;
pub mod packages;
pub mod runtime;
#[cfg(test)]
mod testkit;

pub use runtime::{clock, Delivery, Runtime, SendError, SpawnError, TimerError};
