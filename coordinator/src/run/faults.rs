//! The faults a run is asked for on the command line (`-kv crash:`,
//! `-kv outage:`), checked against the architecture before anything
//! starts: each must name one of its services and a time within the run.

use crate::error::{self, Error};
use crate::model::architectures::Work;
use spigo_proto::archaius::Config;
use std::time::Duration;

/// Both faults' settings, checked.
pub(crate) fn check(cfg: &Config, work: &Work) -> error::Result<()> {
    if let Some(crash) = cfg.crash().map_err(Error::refused)? {
        target("crash", &crash.service, crash.at, cfg, work)?;
    }
    if let Some(outage) = cfg.outage().map_err(Error::refused)? {
        target("outage", &outage.service, outage.at, cfg, work)?;
    }
    Ok(())
}

/// `-kv KEY:` names `service` of the architecture and starts at `at`,
/// within the run.
fn target(key: &str, service: &str, at: Duration, cfg: &Config, work: &Work) -> error::Result<()> {
    let Work::Services(plan) = work else {
        return Err(Error::usage(format!(
            "-kv {key}: the fsm has no services to {key}"
        )));
    };
    if !plan.tiers.iter().any(|t| t.service == service) {
        return Err(Error::usage(format!(
            "-kv {key}: {} has no service '{service}'",
            plan.arch
        )));
    }
    if at >= cfg.duration {
        return Err(Error::usage(format!(
            "-kv {key}: {at:?} is not within the run's {:?} (-d)",
            cfg.duration
        )));
    }
    Ok(())
}
