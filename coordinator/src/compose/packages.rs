//! What a service runs as, guessed from its image.

use spigo_proto::Package;

/// Image names (last path segment, no tag) and the package each stands for.
const IMAGES: &[(&str, Package)] = &[
    ("cassandra", Package::PriamCassandra),
    ("scylla", Package::PriamCassandra),
    ("mysql", Package::Store),
    ("mysql-server", Package::Store),
    ("mariadb", Package::Store),
    ("percona", Package::Store),
    ("postgres", Package::Store),
    ("postgresql", Package::Store),
    ("postgis", Package::Store),
    ("redis", Package::Store),
    ("redis-stack", Package::Store),
    ("redis-stack-server", Package::Store),
    ("valkey", Package::Store),
    ("keydb", Package::Store),
    ("memcached", Package::Store),
    ("mongo", Package::Store),
    ("mongodb", Package::Store),
    ("couchdb", Package::Store),
    ("elasticsearch", Package::Store),
    ("opensearch", Package::Store),
    ("minio", Package::Store),
    ("php", Package::Monolith),
    ("wordpress", Package::Monolith),
    ("drupal", Package::Monolith),
    ("joomla", Package::Monolith),
    ("mediawiki", Package::Monolith),
];

/// Reverse proxies: zuul in front of other services, karyon on their own.
const PROXIES: &[&str] = &[
    "nginx",
    "nginx-unprivileged",
    "openresty",
    "haproxy",
    "traefik",
    "envoy",
    "caddy",
    "httpd",
];

/// What an image (or service name) runs as; `forwards` says whether the
/// service passes requests on to others.
pub(super) fn guess_package(image_or_name: &str, forwards: bool) -> Package {
    let last = image_or_name.rsplit('/').next().unwrap_or_default();
    let base = last.split(['@', ':']).next().unwrap_or_default();
    let base = base.to_ascii_lowercase();
    if let Some((_, package)) = IMAGES.iter().find(|(name, _)| *name == base) {
        return *package;
    }
    if PROXIES.contains(&base.as_str()) && forwards {
        return Package::Zuul;
    }
    Package::Karyon
}
