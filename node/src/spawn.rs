//! Starting instances from their specs: the one place that maps a package
//! to the actor that runs it (the dispatch enum of this crate).

use crate::eureka::{self, Eureka};
use crate::service::{self, Nanoservice};
use crate::{
    denominator::Denominator, elb::Elb, karyon::Karyon, monolith::Monolith,
    priam_cassandra::PriamCassandra, staash::Staash, store::Store, zuul::Zuul, Runtime, SpawnError,
};
use ractor::Actor;
use spigo_proto::spec::InstanceSpec;
use spigo_proto::{Address, Package};
use std::sync::Arc;

/// Spawns the instance `spec` describes at its reserved address.
pub async fn spawn_instance(rt: &Arc<Runtime>, spec: InstanceSpec) -> Result<(), SpawnError> {
    let at = spec.record.id;
    let package = spec.package;
    let loc = Some(spec.location());
    let args = service::Arguments {
        rt: rt.clone(),
        spec,
    };
    match package {
        Package::Denominator => {
            rt.spawn_located(at, loc, Nanoservice(Denominator), args)
                .await
        }
        Package::Elb => rt.spawn_located(at, loc, Nanoservice(Elb), args).await,
        Package::Zuul => rt.spawn_located(at, loc, Nanoservice(Zuul), args).await,
        Package::Karyon => rt.spawn_located(at, loc, Nanoservice(Karyon), args).await,
        Package::Monolith => rt.spawn_located(at, loc, Nanoservice(Monolith), args).await,
        Package::Staash => rt.spawn_located(at, loc, Nanoservice(Staash), args).await,
        Package::PriamCassandra => {
            rt.spawn_located(at, loc, Nanoservice(PriamCassandra), args)
                .await
        }
        Package::Store | Package::Cache | Package::Volume | Package::Riak => {
            rt.spawn_located(at, loc, Nanoservice(Store), args).await
        }
    }
}

/// Spawns a eureka registry at `at` (asgard names and connects it by message).
pub async fn spawn_registry(rt: &Arc<Runtime>, at: Address) -> Result<(), SpawnError> {
    let (actor, _) = Actor::spawn(
        None,
        Eureka,
        eureka::Arguments {
            rt: rt.clone(),
            me: at,
        },
    )
    .await?;
    rt.register(at, &actor)?;
    Ok(())
}
