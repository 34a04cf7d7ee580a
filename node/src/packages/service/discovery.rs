//! Discovery: the eureka client side of a service instance.
//!
//! An instance registers with its zone's registry once it is named, and
//! leaves it with how it left. Once asgard says the tier is registered it
//! polls every registry for what changed in each dependency since the last
//! look: each new instance is adopted (an edge of the graph), each lost one
//! forgotten (a forget). Asgard hears Inform when the first look is
//! answered everywhere, so the next tier can count on this one being found.

use crate::packages::lifecycle::Lifecycle;
use crate::runtime::Timer;
use compact_str::CompactString;
use spigo_proto::archaius::{Location, ANY};
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{Address, Exit, GraphEvent, Imposition, Intention, Package};

/// An instance of a dependency, as eureka described it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub addr: Address,
    pub location: Location,
    /// False once a send to it failed; eureka's Forget removes it for good.
    pub alive: bool,
}

/// A service this instance depends on and the instances of it in use.
pub struct Dependency {
    pub service: CompactString,
    pub package: Package,
    /// Every adopted instance is an edge of the graph.
    pub adopted: Vec<Peer>,
    /// Per registry polled: the eureka log position already seen.
    since: Vec<u64>,
}

impl Dependency {
    pub fn live(&self) -> impl Iterator<Item = &Peer> {
        self.adopted.iter().filter(|p| p.alive)
    }
}

/// What an instance knows of its dependencies, and how far its first look
/// for them has come.
pub(crate) struct Discovery {
    pub(super) deps: Vec<Dependency>,
    /// Answers still due to the first poll; asgard hears Inform when none are.
    first_poll: usize,
}

impl Discovery {
    pub(super) fn new(spec: &InstanceSpec) -> Discovery {
        let deps = spec
            .dependencies
            .iter()
            .map(|d| Dependency {
                service: d.service.clone(),
                package: d.package,
                adopted: Vec::new(),
                since: vec![0; spec.registries.len()],
            })
            .collect();
        Discovery {
            deps,
            first_poll: 0,
        }
    }

    /// Puts this instance's record to its home registry.
    pub(super) fn register<T: Timer>(life: &Lifecycle<T>, spec: &InstanceSpec) {
        if let Some(&home) = spec.registries.first() {
            let record = GraphEvent::Node(Box::new(spec.record.clone()));
            life.tell(home, Imposition::Put, Intention::Event(record));
        }
    }

    /// Tells the home registry this instance is gone, and why.
    pub(super) fn unregister<T: Timer>(life: &Lifecycle<T>, spec: &InstanceSpec, exit: Exit) {
        if let Some(&home) = spec.registries.first() {
            let done = GraphEvent::Done {
                id: life.me(),
                exit,
            };
            life.tell(home, Imposition::Delete, Intention::Event(done));
        }
    }

    /// The first look for dependencies, once eureka is ready.
    pub(super) fn first_look<T: Timer>(&mut self, life: &Lifecycle<T>, spec: &InstanceSpec) {
        self.first_poll = self.deps.len() * spec.registries.len();
        if self.first_poll == 0 {
            report_up(life);
        }
        self.poll(life, spec);
    }

    /// Asks every registry for what changed in every dependency. A
    /// registry that cannot be reached (its node is lost) counts as having
    /// answered, so the first look never waits for it.
    pub(super) fn poll<T: Timer>(&mut self, life: &Lifecycle<T>, spec: &InstanceSpec) {
        let here = spec.record.location;
        let zone = (spec.package.zone_affine() && here.zone != ANY).then_some(here.zone);
        let mut unreachable = 0;
        for dep in &self.deps {
            for (registry, since) in spec.registries.iter().zip(&dep.since) {
                let ask = Intention::Poll {
                    service: dep.service.clone(),
                    zone,
                    since: *since,
                };
                if !life.tell(*registry, Imposition::GetRequest, ask) {
                    unreachable += 1;
                }
            }
        }
        if unreachable > 0 && self.first_poll > 0 {
            self.first_poll = self.first_poll.saturating_sub(unreachable);
            if self.first_poll == 0 {
                report_up(life);
            }
        }
    }

    /// A registry answered a poll: its log was read up to `since`.
    pub(super) fn polled<T: Timer>(
        &mut self,
        life: &Lifecycle<T>,
        spec: &InstanceSpec,
        registry: Address,
        service: &str,
        since: u64,
    ) {
        let Some(r) = spec.registries.iter().position(|a| *a == registry) else {
            return;
        };
        if let Some(dep) = self.deps.iter_mut().find(|d| d.service == service) {
            dep.since[r] = dep.since[r].max(since);
        }
        if self.first_poll > 0 {
            self.first_poll -= 1;
            if self.first_poll == 0 {
                report_up(life);
            }
        }
    }

    /// A registry named an instance of a dependency.
    pub(super) fn adopt<T: Timer>(
        &mut self,
        life: &Lifecycle<T>,
        addr: Address,
        service: &str,
        location: Location,
    ) {
        if addr == life.me() {
            return;
        }
        let Some(dep) = self.deps.iter_mut().find(|d| d.service == service) else {
            return;
        };
        if let Some(p) = dep.adopted.iter_mut().find(|p| p.addr == addr) {
            p.alive = true;
            return;
        }
        dep.adopted.push(Peer {
            addr,
            location,
            alive: true,
        });
        life.rt().count_edge(true);
        tracing::trace!("{}: links to {service} at {addr}", life.name());
        life.record(GraphEvent::Edge {
            source: life.me(),
            target: addr,
        });
    }

    /// A registry said an instance of a dependency is gone.
    pub(super) fn forget<T: Timer>(&mut self, life: &Lifecycle<T>, addr: Address, service: &str) {
        let Some(dep) = self.deps.iter_mut().find(|d| d.service == service) else {
            return;
        };
        let before = dep.adopted.len();
        dep.adopted.retain(|p| p.addr != addr);
        if dep.adopted.len() < before {
            life.rt().count_edge(false);
            tracing::trace!("{}: forgets {service} at {addr}", life.name());
            life.record(GraphEvent::Forget {
                source: life.me(),
                target: addr,
            });
        }
    }

    /// Stops picking an instance that cannot be reached.
    pub(super) fn mark_dead(&mut self, addr: Address) {
        for dep in &mut self.deps {
            for p in dep.adopted.iter_mut().filter(|p| p.addr == addr) {
                p.alive = false;
            }
        }
    }
}

/// The first look for dependencies is answered: tell asgard (Inform),
/// whose next tier can then count on this one being found.
fn report_up<T: Timer>(life: &Lifecycle<T>) {
    if let Some(asgard) = life.creator() {
        life.tell(asgard, Imposition::Inform, Intention::None);
    }
}
