//! Mutual TLS for links (`--tls-cert`, `--tls-key`, `--tls-ca`).
//!
//! Both ends present a certificate signed by the cluster's CA and check the
//! other's against it, so a process outside the cluster cannot even reach
//! the cookie handshake, and nothing on the wire can be read or changed.
//! The cookie is still checked inside the encrypted link.

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{flag} {path}: {source}")]
    File {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("{flag} {path}: no certificate in it")]
    NoCertificate { flag: &'static str, path: PathBuf },
    #[error("{flag} {path}: {source}")]
    Certificate {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("TLS set-up: {0}")]
    Config(#[from] rustls::Error),
    #[error("TLS set-up: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// A `host:port` to dial whose host cannot be a certificate's name.
#[derive(Debug, thiserror::Error)]
#[error("'{host}' is not a host name: {source}")]
pub struct BadHostName {
    host: String,
    #[source]
    source: rustls_pki_types::InvalidDnsNameError,
}

/// What both ends of a TLS link need.
#[derive(Clone)]
pub struct Tls {
    pub client: Arc<ClientConfig>,
    pub server: Arc<ServerConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

fn certs(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |source| TlsError::File {
        flag,
        path: path.into(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(bad)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            flag,
            path: path.into(),
        });
    }
    Ok(certs)
}

impl Tls {
    /// Reads this process's certificate and key and the cluster's CA.
    pub fn load(cert: &Path, key: &Path, ca: &Path) -> Result<Tls, TlsError> {
        let chain = certs("--tls-cert", cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::File {
            flag: "--tls-key",
            path: key.into(),
            source,
        })?;
        let mut roots = RootCertStore::empty();
        for c in certs("--tls-ca", ca)? {
            roots.add(c).map_err(|source| TlsError::Certificate {
                flag: "--tls-ca",
                path: ca.into(),
                source,
            })?;
        }
        let roots = Arc::new(roots);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone()).build()?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain.clone(), key.clone_key())?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)?;
        Ok(Tls {
            client: Arc::new(client),
            server: Arc::new(server),
        })
    }
}

/// The name a node's certificate must carry to be dialled at `addr`
/// (`host:port`): its IP address or host name.
pub fn server_name(addr: &str) -> Result<ServerName<'static>, BadHostName> {
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).map_err(|source| BadHostName {
        host: host.to_string(),
        source,
    })
}
