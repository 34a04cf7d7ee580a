//! `spigo compose2arch`: turns a docker-compose file into an architecture
//! file in spigo's `<arch>_arch.json` format, so an application already
//! described for docker can be simulated without writing the architecture
//! by hand.
//!
//! What it reads: compose v1 (services at the top level) and v2/v3 or the
//! compose specification (a `services:` map, `version:` optional). Of each
//! service it uses `image`, `depends_on` (a list, or the long form map of
//! v2.1+/v3), `links` (`db` or `db:alias`), `scale` (v2) and
//! `deploy.replicas` (v3); YAML anchors and `<<` merge keys are followed.
//! Everything else (ports, volumes, build, ...) means nothing to spigo.
//!
//! The rules, chosen so that the result runs like the built-in
//! architectures:
//! - Package, from the last path segment of the image without tag or
//!   digest (the service name when there is no image): Cassandra and
//!   ScyllaDB are `priamCassandra`; databases and caches (mysql, mariadb,
//!   postgres, redis, memcached, mongo, ...) are `store`; PHP and its
//!   applications (wordpress, drupal, ...) are `monolith`; reverse proxies
//!   (nginx, haproxy, traefik, envoy, caddy, httpd) are `zuul` when they
//!   pass requests to other services, `karyon` when they serve on their own;
//!   anything else is `karyon`.
//! - Count: `deploy.replicas` or `scale` (the total docker would run;
//!   spigo spreads them over the region's zones), otherwise 3: one
//!   instance in each zone of spigo's default regions. `-p` scales either.
//! - Dependencies: `depends_on` then `links`, in file order, without
//!   repeats. A Cassandra ring also depends on itself (its peers) and on
//!   `eureka` (replication across regions), as netflixoss's does; no other
//!   service asks for `eureka`, since that would make it call across regions.
//! - The front door, as in netflixoss and lamp: a global denominator `www`
//!   drives traffic into a load balancer `www-elb`, which spreads it over
//!   the services nothing depends on. Both get a numbered name instead if
//!   the compose file already uses theirs.
//! - Services are listed dependencies first, so asgard wires each tier to
//!   what exists already; a cycle is refused, as docker refuses it.
//! - Names: spigo's names are dotted paths, so a dot in a service name
//!   becomes `-` (two services that then clash are refused). A service
//!   named `eureka` is a Eureka server, which spigo already runs in every
//!   zone: it is left out, and depending on it means nothing.
//! - Victim for the chaos monkey: the first karyon service, else the first
//!   monolith, else the first zuul; data services are not killed.
//!
//! The files: `yaml.rs` reads the services out of the YAML, `packages.rs`
//! guesses what each runs as, `order.rs` puts dependencies first,
//! `build.rs` makes the architecture, `error.rs` says what was wrong.

mod build;
mod error;
mod order;
mod packages;
mod yaml;

pub(crate) use error::ComposeError;

/// Reads a compose file and returns the architecture file (JSON without a
/// final newline); `file` names the input in errors and gives the
/// architecture its name.
pub(crate) fn to_arch(text: &str, file: &str) -> Result<String, ComposeError> {
    let (services, had_eureka) = yaml::read(text, file)?;
    let arch = build::build(services, had_eureka, file)?;
    arch.validate(file)
        .map_err(|source| ComposeError::Invalid {
            file: file.into(),
            source,
        })?;
    Ok(arch.to_json())
}

#[cfg(test)]
mod tests;
