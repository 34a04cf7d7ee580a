//! `--nodes N`: starting the node processes on this machine.

use super::options::TlsFiles;
use crate::logging;
use crate::output::profile;
use anyhow::{anyhow, Context, Result};
use spigo_node::net::handshake::Cookie;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::process::Child;

/// How long a node gets to start and say where it listens.
const NODE_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Starts `n` node processes of this binary on free loopback ports and
/// returns them with the addresses they listen on, in order. Each is
/// killed when its handle is dropped, and exits by itself when its
/// standard input closes, so none outlives the coordinator.
pub(super) async fn start_nodes(
    n: u16,
    cookie: &Cookie,
    tls: Option<&TlsFiles>,
    max_memory: Option<u64>,
    cpuprofile: Option<&std::path::Path>,
) -> Result<(Vec<Child>, Vec<String>)> {
    let exe = std::env::current_exe().context("cannot find the spigo binary to start nodes")?;
    let mut children = Vec::new();
    let mut addrs = Vec::new();
    for i in 1..=n {
        let name = format!("node{i}");
        let mut command = tokio::process::Command::new(&exe);
        command.args([
            "node",
            "--listen",
            "127.0.0.1:0",
            "--name",
            &name,
            "--exit-with-stdin",
        ]);
        if let Some(bytes) = max_memory {
            command.arg("--max-memory").arg(bytes.to_string());
        }
        if let Some(path) = cpuprofile {
            command
                .arg("--cpuprofile")
                .arg(profile::for_node(path, &name));
        }
        if let Some(tls) = tls {
            command
                .arg("--tls-cert")
                .arg(&tls.cert)
                .arg("--tls-key")
                .arg(&tls.key)
                .arg("--tls-ca")
                .arg(&tls.ca);
        }
        let mut child = command
            .env("SPIGO_COOKIE", cookie.secret())
            .env("RUST_LOG", logging::directive())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            // Its own process group: a terminal's Ctrl-C reaches only the
            // coordinator, which then stops the nodes cleanly.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(NODE_START_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| anyhow!("{name} did not start within {NODE_START_TIMEOUT:?}"))??
            .with_context(|| format!("{name} exited before listening"))?;
        let addr = line
            .rsplit(' ')
            .next()
            .filter(|a| a.contains(':'))
            .with_context(|| format!("{name} said '{line}' instead of where it listens"))?
            .to_string();
        children.push(child);
        addrs.push(addr);
    }
    Ok((children, addrs))
}
