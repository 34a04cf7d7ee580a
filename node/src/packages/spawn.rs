//! Starting instances from their specs: the one place that maps a package
//! to the actor that runs it (the dispatch enum of this crate).

use super::denominator::Denominator;
use super::elb::Elb;
use super::eureka::{self, Eureka};
use super::karyon::Karyon;
use super::lifecycle::Member;
use super::monolith::Monolith;
use super::priam_cassandra::PriamCassandra;
use super::service::{self, Behaviour, Nanoservice};
use super::staash::Staash;
use super::store::Store;
use super::zuul::Zuul;
use crate::{Runtime, SpawnError};
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{Address, Package};
use std::sync::Arc;

/// Spawns the instance `spec` describes at its reserved address.
pub async fn spawn_instance(rt: &Arc<Runtime>, spec: InstanceSpec) -> Result<(), SpawnError> {
    let package = spec.package;
    let args = service::Arguments {
        rt: rt.clone(),
        spec,
    };
    match package {
        Package::Denominator => start(rt, Denominator, args).await,
        Package::Elb => start(rt, Elb, args).await,
        Package::Zuul => start(rt, Zuul, args).await,
        Package::Karyon => start(rt, Karyon, args).await,
        Package::Monolith => start(rt, Monolith, args).await,
        Package::Staash => start(rt, Staash, args).await,
        Package::PriamCassandra => start(rt, PriamCassandra, args).await,
        Package::Store | Package::Cache | Package::Volume | Package::Riak => {
            start(rt, Store, args).await
        }
    }
}

/// Spawns a nanoservice of `behaviour` where its spec says.
async fn start<B: Behaviour>(
    rt: &Runtime,
    behaviour: B,
    args: service::Arguments,
) -> Result<(), SpawnError> {
    let (at, location) = (args.spec.record.id, Some(args.spec.location()));
    let instance = Member(Nanoservice(behaviour));
    rt.spawn_at(at, location, instance, args).await?;
    Ok(())
}

/// Spawns a eureka registry at `at` (asgard names and connects it by message).
pub async fn spawn_registry(rt: &Arc<Runtime>, at: Address) -> Result<(), SpawnError> {
    let args = eureka::Arguments {
        rt: rt.clone(),
        me: at,
    };
    rt.spawn_at(at, None, Member(Eureka), args).await?;
    Ok(())
}
