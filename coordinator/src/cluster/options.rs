//! How the cluster is formed, as the flags say: where the nodes come from
//! (`--nodes`, `--join` and its cookie), TLS between the processes, and
//! what the nodes are told when they join.

use crate::error::{self, Error};
use spigo_node::net::cookies;
use spigo_node::net::handshake::Cookie;
use spigo_node::net::tls::Tls;
use std::path::PathBuf;
use std::time::Duration;

/// How long a node may stay silent before it counts as lost, unless
/// `--heartbeat-timeout` says otherwise.
pub(super) const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to form the cluster.
pub(crate) struct Options {
    pub nodes: Nodes,
    pub tls: Option<TlsFiles>,
    pub seed: u64,
    /// `-c`: what the nodes collect (see the runtime's settings).
    pub collect: Option<f64>,
    /// How long a silent node lives on.
    pub heartbeat_timeout: Duration,
    /// How long dialling a node may go unanswered.
    pub connect_timeout: Duration,
    /// `--max-memory`: this process's budget, passed on to nodes it starts.
    pub max_memory: Option<u64>,
    /// `--cpuprofile`: nodes it starts profile themselves beside this file.
    pub cpuprofile: Option<PathBuf>,
}

impl Options {
    /// Just this process.
    pub(crate) fn local() -> Options {
        Options {
            nodes: Nodes::Local,
            tls: None,
            seed: 0,
            collect: None,
            heartbeat_timeout: HEARTBEAT_TIMEOUT,
            connect_timeout: spigo_node::net::handshake::CONNECT_TIMEOUT,
            max_memory: None,
            cpuprofile: None,
        }
    }
}

/// Where to find the nodes.
pub(crate) enum Nodes {
    /// This process only.
    Local,
    /// Start this many node processes on loopback.
    Start(u16),
    /// Use nodes already running at these addresses, which share this
    /// cookie.
    Join(Vec<String>, Cookie),
}

impl Nodes {
    /// Where the nodes come from, per `--nodes`, `--join` and `--cookie`.
    pub(crate) fn from_flags(
        nodes: Option<u16>,
        join: Option<&str>,
        cookie: Option<&str>,
    ) -> error::Result<Nodes> {
        match (nodes, join) {
            (Some(_), Some(_)) => Err(Error::usage("--nodes and --join cannot be used together")),
            (Some(0), None) => Err(Error::usage("--nodes: at least 1 node")),
            (Some(n), None) => Ok(Nodes::Start(n)),
            (None, Some(list)) => Nodes::join(list, cookie),
            (None, None) => Ok(Nodes::Local),
        }
    }

    /// `--join host:port,...`: the addresses (blanks dropped, each checked to
    /// be host:port) and the cookie the nodes share, which must be given.
    pub(crate) fn join(list: &str, cookie: Option<&str>) -> error::Result<Nodes> {
        let addrs: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect();
        if addrs.is_empty() {
            return Err(Error::usage("--join: no node addresses"));
        }
        let not_host_port = |a: &String| {
            a.rsplit_once(':')
                .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        };
        if let Some(bad) = addrs.iter().find(|a| not_host_port(a)) {
            return Err(Error::usage(format!("--join: '{bad}' is not host:port")));
        }
        let Some(cookie) = cookie.filter(|c| !c.is_empty()) else {
            return Err(Error::usage(
                "--join needs the cluster's cookie: --cookie or SPIGO_COOKIE",
            ));
        };
        // As a node checks its own: nodes beyond loopback need a long one.
        if let Some(far) = addrs.iter().find(|a| !cookies::is_loopback_host(a)) {
            cookies::check(cookie, false, || format!("--join {far}")).map_err(Error::refused)?;
        }
        Ok(Nodes::Join(
            addrs,
            spigo_node::net::handshake::Cookie::new(cookie),
        ))
    }
}

/// `--tls-cert/--tls-key/--tls-ca`: the three files, given together.
#[derive(Clone, Debug)]
pub(crate) struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// TLS for the links: the files (for nodes this coordinator starts) and
/// the configuration they make.
pub(crate) struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    pub config: Tls,
}

impl TlsFiles {
    /// Reads the three files; a file that is missing or not what it should
    /// be is the user's to fix.
    pub(crate) fn load(paths: &TlsPaths) -> error::Result<TlsFiles> {
        let TlsPaths { cert, key, ca } = paths;
        let config = spigo_node::net::tls::Tls::load(cert, key, ca).map_err(Error::refused)?;
        Ok(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            ca: ca.clone(),
            config,
        })
    }
}
