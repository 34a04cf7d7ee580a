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

/// Spawns every instance of `specs`, several runs of them at once: one
/// at a time, each spawn waits for the instance's `pre_start` on another
/// worker, and a wave of 6,000 instances took 170 ms instead of 40.
pub async fn spawn_instances(
    rt: &Arc<Runtime>,
    specs: Vec<InstanceSpec>,
) -> Result<(), SpawnError> {
    const RUN: usize = 256;
    let mut runs = tokio::task::JoinSet::new();
    let mut specs = specs.into_iter().peekable();
    while specs.peek().is_some() {
        let run: Vec<InstanceSpec> = specs.by_ref().take(RUN).collect();
        let rt = rt.clone();
        runs.spawn(async move {
            for spec in run {
                let name = spec.record.name.clone();
                spawn_instance(&rt, spec)
                    .await
                    .map_err(|e| SpawnError::Instance {
                        name,
                        source: Box::new(e),
                    })?;
            }
            Ok::<(), SpawnError>(())
        });
    }
    let mut first_error = Ok(());
    while let Some(done) = runs.join_next().await {
        let result = done.map_err(SpawnError::from).and_then(|r| r);
        if first_error.is_ok() {
            first_error = result;
        }
    }
    first_error
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
