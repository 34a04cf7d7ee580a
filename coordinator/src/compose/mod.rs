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

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use spigo_proto::arch::{Architecture, ServiceSpec, EUREKA, MAX_COUNT};
use spigo_proto::Package;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Instances per region when the file does not say: one in each of the
/// three zones a default region has.
const PER_REGION: u32 = 3;

/// Top-level keys of compose v2/v3 and the compose specification; a file
/// with none of them is v1, whose top-level keys are the services.
const SPEC_KEYS: [&str; 8] = [
    "version", "services", "networks", "volumes", "configs", "secrets", "name", "include",
];

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

/// Why a compose file could not be turned into an architecture; every
/// message is one line that starts with the file's name.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// Not YAML, or YAML that is not shaped like a compose file.
    #[error("{file}: line {line}: {msg}")]
    At {
        file: String,
        line: usize,
        msg: String,
    },
    #[error("{file}: no services")]
    NoServices { file: String },
    #[error("{file}: service '{service}' {verb} '{target}', which is not a service")]
    Unknown {
        file: String,
        service: String,
        /// "depends on" or "links to".
        verb: &'static str,
        target: String,
    },
    #[error("{file}: services depend on each other in a cycle: {cycle}")]
    Cycle { file: String, cycle: String },
    #[error("{file}: services '{first}' and '{second}' would both be named '{name}' (spigo's names cannot hold dots)")]
    Clash {
        file: String,
        first: String,
        second: String,
        name: String,
    },
    #[error("{file}: {msg}")]
    Other { file: String, msg: String },
}

/// One compose service, as far as spigo cares.
struct Service {
    /// As the compose file spells it (what references use).
    compose: String,
    /// As spigo will call it.
    name: String,
    image: Option<String>,
    /// Compose names, with how each was referenced, in file order.
    refs: Vec<(String, &'static str)>,
    count: u32,
}

/// Reads a compose file and returns the architecture file (JSON without a
/// final newline); `file` names the input in errors and gives the
/// architecture its name.
pub fn to_arch(text: &str, file: &str) -> Result<String, ComposeError> {
    let (services, had_eureka) = read(text, file)?;
    let arch = build(services, had_eureka, file)?;
    arch.validate(file).map_err(|e| ComposeError::Other {
        file: file.into(),
        msg: format!("the architecture made from it is invalid: {e}"),
    })?;
    Ok(arch.to_json())
}

// ---- reading the YAML ----------------------------------------------------

type Node<'a> = MarkedYaml<'a>;

/// Reports a problem at a node's line.
struct Here<'f> {
    file: &'f str,
}

impl Here<'_> {
    fn at(&self, node: &Node, msg: impl Into<String>) -> ComposeError {
        ComposeError::At {
            file: self.file.into(),
            line: node.span.start.line(),
            msg: msg.into(),
        }
    }
}

/// The node under any tags (`!reset`, `!override`, custom ones).
fn untagged<'n, 'a>(mut node: &'n Node<'a>) -> &'n Node<'a> {
    while let YamlData::Tagged(_, inner) = &node.data {
        node = inner;
    }
    node
}

fn is_null(node: &Node) -> bool {
    matches!(untagged(node).data, YamlData::Value(Scalar::Null))
}

/// A scalar as the text compose would see (`1` and `"1"` alike).
fn text(node: &Node) -> Option<String> {
    match &untagged(node).data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

/// A mapping's entries: key text, key node and value node.
type Entries<'n, 'a> = Vec<(String, &'n Node<'a>, &'n Node<'a>)>;

/// The entries of a mapping, those brought in by `<<` merge keys after the
/// ones written out (which win); None if the node is not a mapping.
fn entries<'n, 'a>(node: &'n Node<'a>) -> Option<Entries<'n, 'a>> {
    let YamlData::Mapping(map) = &untagged(node).data else {
        return None;
    };
    let mut out: Entries = Vec::new();
    let mut merged = Vec::new();
    for (k, v) in map {
        match text(k) {
            Some(key) if key == "<<" => merged.push(v),
            // A complex key names nothing compose knows: keep it so that a
            // service name can be refused where it is.
            key => out.push((key.unwrap_or_default(), k, v)),
        }
    }
    for m in merged {
        let sources: Vec<&Node> = match &untagged(m).data {
            YamlData::Sequence(list) => list.iter().collect(),
            _ => vec![m],
        };
        for source in sources {
            for (key, k, v) in entries(source).unwrap_or_default() {
                if !out.iter().any(|(have, _, _)| *have == key) {
                    out.push((key, k, v));
                }
            }
        }
    }
    Some(out)
}

/// The value under `key` among a mapping's entries, unless it is null.
fn field<'n, 'a>(
    entries: &[(String, &'n Node<'a>, &'n Node<'a>)],
    key: &str,
) -> Option<&'n Node<'a>> {
    entries
        .iter()
        .find(|(k, _, _)| k == key)
        .map(|&(_, _, v)| v)
        .filter(|v| !is_null(v))
}

/// The services of the file, in file order, and whether it had a
/// `eureka` service (left out, so references to it are not errors).
fn read(text: &str, file: &str) -> Result<(Vec<Service>, bool), ComposeError> {
    let here = Here { file };
    let docs = Node::load_from_str(text).map_err(|e| ComposeError::At {
        file: file.into(),
        line: e.marker().line(),
        msg: e.info().to_string(),
    })?;
    let root = match docs.as_slice() {
        [] => return Err(ComposeError::NoServices { file: file.into() }),
        [root] => root,
        [_, second, ..] => {
            return Err(here.at(
                second,
                "a second YAML document; a docker-compose file holds one",
            ))
        }
    };
    if is_null(root) {
        return Err(ComposeError::NoServices { file: file.into() });
    }
    let top = entries(root).ok_or_else(|| {
        here.at(
            root,
            "not a docker-compose file: the top level must be a mapping",
        )
    })?;
    let is_v1 = !top
        .iter()
        .any(|(key, _, _)| SPEC_KEYS.contains(&key.as_str()));
    let listed = if is_v1 {
        top.into_iter()
            .filter(|(key, _, _)| !key.starts_with("x-"))
            .collect()
    } else {
        match field(&top, "services") {
            None => Vec::new(),
            Some(node) => entries(node).ok_or_else(|| {
                here.at(
                    node,
                    "'services' must be a mapping of service names to services",
                )
            })?,
        }
    };
    if listed.is_empty() {
        return Err(ComposeError::NoServices { file: file.into() });
    }
    let mut services = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut had_eureka = false;
    for (compose, key, body) in listed {
        if compose.is_empty() {
            return Err(here.at(key, "service names must be plain text"));
        }
        let valid = compose
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(here.at(
                key,
                format!(
                    "'{}' is not a service name (letters, digits, '.', '_' and '-' only)",
                    compose.escape_debug()
                ),
            ));
        }
        if compose == EUREKA {
            had_eureka = true;
            continue;
        }
        let service = read_service(&here, compose, body)?;
        if let Some(first) = seen.insert(service.name.clone(), service.compose.clone()) {
            return Err(ComposeError::Clash {
                file: file.into(),
                first,
                second: service.compose,
                name: service.name,
            });
        }
        services.push(service);
    }
    if services.is_empty() {
        return Err(ComposeError::NoServices { file: file.into() });
    }
    Ok((services, had_eureka))
}

fn read_service(here: &Here, compose: String, body: &Node) -> Result<Service, ComposeError> {
    let problem = |node: &Node, what: &str| here.at(node, format!("service '{compose}': {what}"));
    // Collected once: each lookup below would otherwise rebuild them.
    let fields: Entries = match entries(body) {
        Some(fields) => fields,
        None if is_null(body) => Vec::new(),
        None => return Err(problem(body, "must be a mapping")),
    };
    let image = match field(&fields, "image") {
        None => None,
        Some(node) => Some(text(node).ok_or_else(|| problem(node, "image must be text"))?),
    };
    let mut refs = Vec::new();
    if let Some(node) = field(&fields, "depends_on") {
        let names: Vec<(Option<String>, &Node)> = match &untagged(node).data {
            YamlData::Sequence(list) => list.iter().map(|n| (text(n), n)).collect(),
            _ => match entries(node) {
                Some(map) => map.into_iter().map(|(k, n, _)| (Some(k), n)).collect(),
                None => return Err(problem(node, "depends_on must be a list or a map")),
            },
        };
        for (name, n) in names {
            let name = name.ok_or_else(|| problem(n, "depends_on entries must be names"))?;
            refs.push((name, "depends on"));
        }
    }
    if let Some(node) = field(&fields, "links") {
        let YamlData::Sequence(list) = &untagged(node).data else {
            return Err(problem(node, "links must be a list"));
        };
        for n in list {
            let link = text(n)
                .ok_or_else(|| problem(n, "links entries must be 'service' or 'service:alias'"))?;
            let target = link.split(':').next().unwrap_or_default().trim();
            if target.is_empty() {
                return Err(problem(
                    n,
                    "links entries must be 'service' or 'service:alias'",
                ));
            }
            refs.push((target.to_string(), "links to"));
        }
    }
    let whole = |node: &Node, what: &str| -> Result<i64, ComposeError> {
        text(node)
            .and_then(|t| t.trim().parse::<i64>().ok())
            .filter(|n| (0..=i64::from(MAX_COUNT)).contains(n))
            .ok_or_else(|| {
                problem(
                    node,
                    &format!("{what} must be a whole number from 0 to {MAX_COUNT}"),
                )
            })
    };
    let scale = field(&fields, "scale")
        .map(|n| whole(n, "scale").map(|v| (v, n)))
        .transpose()?;
    let replicas = match field(&fields, "deploy") {
        None => None,
        Some(deploy) => {
            let Some(deploy) = entries(deploy) else {
                return Err(problem(deploy, "deploy must be a mapping"));
            };
            field(&deploy, "replicas")
                .map(|n| whole(n, "deploy.replicas").map(|v| (v, n)))
                .transpose()?
        }
    };
    let count = match (scale, replicas) {
        (Some((s, _)), Some((r, n))) if s != r => {
            return Err(problem(
                n,
                &format!("scale ({s}) and deploy.replicas ({r}) disagree"),
            ))
        }
        (_, Some((n, node))) | (Some((n, node)), None) => {
            if n == 0 {
                return Err(problem(
                    node,
                    "0 replicas: spigo cannot run a service without instances (leave it out)",
                ));
            }
            n as u32
        }
        (None, None) => PER_REGION,
    };
    Ok(Service {
        name: compose.replace('.', "-"),
        compose,
        image,
        refs,
        count,
    })
}

// ---- making the architecture ---------------------------------------------

/// What an image (or service name) runs as; `forwards` says whether the
/// service passes requests on to others.
fn guess_package(image_or_name: &str, forwards: bool) -> Package {
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

/// `base`, or `base-2`, `base-3`... whichever is not taken.
fn free_name(base: &str, taken: &HashSet<String>) -> String {
    let mut name = base.to_string();
    let mut n = 1;
    while taken.contains(&name) {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}

/// The file's stem as a name spigo accepts for an architecture (and for
/// the graph files named after it).
fn arch_name(file: &str) -> String {
    let stem = Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if safe.is_empty() {
        "compose".into()
    } else {
        safe
    }
}

/// Indices of `deps` ordered so each comes after what it depends on,
/// otherwise in file order; Err holds a cycle. A service must not
/// depend on itself.
fn dependency_order(deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let mut placed = vec![false; deps.len()];
    let mut order = Vec::with_capacity(deps.len());
    while order.len() < deps.len() {
        let next = (0..deps.len()).find(|&s| !placed[s] && deps[s].iter().all(|&d| placed[d]));
        match next {
            Some(s) => {
                placed[s] = true;
                order.push(s);
            }
            None => {
                // Every service left waits for another one left: walk
                // until a service comes round again.
                let mut path = vec![(0..deps.len()).find(|&s| !placed[s]).unwrap_or_default()];
                loop {
                    let here = path[path.len() - 1];
                    let Some(&d) = deps[here].iter().find(|&&d| !placed[d]) else {
                        return Err(path);
                    };
                    if let Some(start) = path.iter().position(|&p| p == d) {
                        let mut cycle = path.split_off(start);
                        cycle.push(d);
                        return Err(cycle);
                    }
                    path.push(d);
                }
            }
        }
    }
    Ok(order)
}

fn build(
    services: Vec<Service>,
    had_eureka: bool,
    file: &str,
) -> Result<Architecture, ComposeError> {
    let index: HashMap<&str, usize> = services
        .iter()
        .enumerate()
        .map(|(i, s)| (s.compose.as_str(), i))
        .collect();
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(services.len());
    for (i, s) in services.iter().enumerate() {
        let mut mine = Vec::new();
        for (target, verb) in &s.refs {
            if had_eureka && target == EUREKA {
                continue;
            }
            let Some(&d) = index.get(target.as_str()) else {
                return Err(ComposeError::Unknown {
                    file: file.into(),
                    service: s.compose.clone(),
                    verb,
                    target: target.escape_debug().to_string(),
                });
            };
            if d == i {
                return Err(ComposeError::Cycle {
                    file: file.into(),
                    cycle: format!("{0} -> {0}", s.compose),
                });
            }
            if !mine.contains(&d) {
                mine.push(d);
            }
        }
        deps.push(mine);
    }
    let order = dependency_order(&deps).map_err(|cycle| ComposeError::Cycle {
        file: file.into(),
        cycle: cycle
            .iter()
            .map(|&s| services[s].compose.as_str())
            .collect::<Vec<_>>()
            .join(" -> "),
    })?;
    let needed: HashSet<usize> = deps.iter().flatten().copied().collect();
    let package: Vec<Package> = services
        .iter()
        .zip(&deps)
        .map(|(s, d)| guess_package(s.image.as_deref().unwrap_or(&s.compose), !d.is_empty()))
        .collect();

    let mut specs = Vec::new();
    for &s in &order {
        let mut dependencies: Vec<String> =
            deps[s].iter().map(|&d| services[d].name.clone()).collect();
        if package[s] == Package::PriamCassandra {
            let own = services[s].name.clone();
            if !dependencies.contains(&own) {
                dependencies.push(own);
            }
            dependencies.push(EUREKA.into());
        }
        specs.push(ServiceSpec::new(
            &services[s].name,
            package[s],
            services[s].count,
            1,
            dependencies,
        ));
    }
    let mut taken: HashSet<String> = services.iter().map(|s| s.name.clone()).collect();
    let elb = free_name("www-elb", &taken);
    taken.insert(elb.clone());
    let dns = free_name("www", &taken);
    let roots: Vec<String> = order
        .iter()
        .filter(|s| !needed.contains(s))
        .map(|&s| services[s].name.clone())
        .collect();
    specs.push(ServiceSpec::new(&elb, Package::Elb, 0, 1, roots));
    specs.push(ServiceSpec::new(
        &dns,
        Package::Denominator,
        0,
        0,
        vec![elb.clone()],
    ));

    let victim = [Package::Karyon, Package::Monolith, Package::Zuul]
        .iter()
        .find_map(|p| (0..services.len()).find(|&s| package[s] == *p))
        .map(|s| services[s].name.clone())
        .unwrap_or_default();
    let shown = Path::new(file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.to_string());
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    Ok(Architecture {
        arch: arch_name(file),
        description: format!(
            "Made by spigo compose2arch from {shown}: {} behind DNS ({dns}) and a load balancer ({elb})",
            names.join(", ")
        ),
        version: "spigo-rs-arch-1".into(),
        victim,
        services: specs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(yaml: &str) -> Architecture {
        let json = to_arch(yaml, "shop.yml").unwrap();
        Architecture::parse(&json, "out").unwrap()
    }

    fn err(yaml: &str) -> String {
        let e = to_arch(yaml, "shop.yml").unwrap_err().to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(e.starts_with("shop.yml: "), "{e}");
        e
    }

    fn svc<'a>(a: &'a Architecture, name: &str) -> &'a ServiceSpec {
        a.service(name).unwrap_or_else(|| panic!("no {name}"))
    }

    fn names(a: &Architecture) -> Vec<&str> {
        a.services.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn v1_services_sit_at_the_top_level() {
        let a = arch(
            "web:\n  image: nginx\n  links:\n    - app\napp:\n  build: .\n  links:\n    - db\n    - cache\ndb:\n  image: postgres:16\ncache:\n  image: redis\n",
        );
        assert_eq!(a.arch, "shop");
        assert_eq!(
            names(&a),
            ["db", "cache", "app", "web", "www-elb", "www"],
            "dependencies first"
        );
        assert_eq!(svc(&a, "web").package, Package::Zuul);
        assert_eq!(svc(&a, "app").package, Package::Karyon);
        assert_eq!(svc(&a, "app").dependencies, ["db", "cache"]);
        assert_eq!(svc(&a, "db").package, Package::Store);
        assert_eq!(svc(&a, "www-elb").dependencies, ["web"]);
        assert_eq!(svc(&a, "www-elb").count, 0);
        assert_eq!(svc(&a, "www").package, Package::Denominator);
        assert!(svc(&a, "www").is_global());
        assert!(a
            .services
            .iter()
            .take(4)
            .all(|s| s.count == 3 && s.regions == 1));
        assert_eq!(a.victim, "app");
    }

    #[test]
    fn v2_depends_on_may_be_a_map() {
        let a = arch(
            r#"version: "2.1"
services:
  api:
    image: example/api:1.4
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
    links:
      - db
    scale: 2
  db:
    image: mysql:8
  cache:
    image: memcached
"#,
        );
        assert_eq!(svc(&a, "api").dependencies, ["db", "cache"]);
        assert_eq!(svc(&a, "api").count, 2);
        assert_eq!(svc(&a, "www-elb").dependencies, ["api"]);
        assert_eq!(svc(&a, "cache").package, Package::Store);
    }

    #[test]
    fn v3_replicas_set_the_count() {
        let a = arch(
            "version: '3.8'\nservices:\n  web:\n    image: shop/web\n    depends_on: [api]\n    deploy:\n      replicas: 6\n  api:\n    image: shop/api\n    deploy: {mode: replicated, replicas: '4'}\n",
        );
        assert_eq!(svc(&a, "web").count, 6);
        assert_eq!(svc(&a, "api").count, 4);
        let e =
            err("services:\n  web:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n");
        assert_eq!(
            e,
            "shop.yml: line 6: service 'web': scale (2) and deploy.replicas (3) disagree"
        );
        let e = err("services:\n  web:\n    deploy:\n      replicas: 0\n");
        assert!(
            e.starts_with("shop.yml: line 4: service 'web': 0 replicas"),
            "{e}"
        );
        let e = err("services:\n  web:\n    scale: many\n");
        assert!(e.contains("scale must be a whole number"), "{e}");
    }

    #[test]
    fn links_name_the_service_before_the_colon() {
        let a = arch(
            "services:\n  web:\n    image: php:8-apache\n    links:\n      - db:database\n      - db\n      - cache:mc\n  db:\n    image: mariadb\n  cache:\n    image: memcached:1.6\n",
        );
        assert_eq!(svc(&a, "web").dependencies, ["db", "cache"]);
        assert_eq!(svc(&a, "web").package, Package::Monolith);
        assert_eq!(a.victim, "web");
    }

    #[test]
    fn packages_are_guessed_from_the_image_name() {
        for (image, forwards, want) in [
            ("cassandra:4", false, Package::PriamCassandra),
            ("docker.io/library/mysql:8.0", false, Package::Store),
            ("bitnami/postgresql:16", false, Package::Store),
            ("postgres@sha256:abcd", false, Package::Store),
            ("localhost:5000/redis:7", false, Package::Store),
            ("memcached", false, Package::Store),
            ("MongoDB", false, Package::Store),
            ("nginx:alpine", true, Package::Zuul),
            ("nginx:alpine", false, Package::Karyon),
            ("haproxy", true, Package::Zuul),
            ("traefik:v3", true, Package::Zuul),
            ("envoyproxy/envoy:v1.30", true, Package::Zuul),
            ("wordpress", true, Package::Monolith),
            ("mycorp/orders:2.1", true, Package::Karyon),
            ("${REGISTRY}/web:${TAG}", false, Package::Karyon),
        ] {
            assert_eq!(guess_package(image, forwards), want, "{image}");
        }
        // Without an image, the service name decides.
        let a = arch("services:\n  redis:\n    build: ./redis\n  worker:\n    build: .\n    depends_on: [redis]\n");
        assert_eq!(svc(&a, "redis").package, Package::Store);
        assert_eq!(svc(&a, "worker").package, Package::Karyon);
    }

    #[test]
    fn cassandra_is_a_ring_replicating_across_regions() {
        let a = arch(
            "services:\n  api:\n    image: api\n    depends_on: [cass]\n  cass:\n    image: cassandra\n",
        );
        assert_eq!(svc(&a, "cass").dependencies, ["cass", EUREKA]);
        assert!(!svc(&a, "api").cross_region());
    }

    #[test]
    fn malformed_yaml_is_one_line_with_the_line_number() {
        let e = err("services:\n  web:\n    image: [nginx\n");
        assert!(e.starts_with("shop.yml: line "), "{e}");
        let e = err("services:\n  web:\n    image: nginx\n   bad: indent\n");
        assert!(e.starts_with("shop.yml: line 4: "), "{e}");
        let e = err("services:\n  web: {}\n  web: {}\n");
        assert_eq!(e, "shop.yml: line 3: duplicated key in mapping");
        let e = err("- just\n- a list\n");
        assert_eq!(
            e,
            "shop.yml: line 1: not a docker-compose file: the top level must be a mapping"
        );
        let e = err("services:\n  - web\n");
        assert!(e.contains("'services' must be a mapping"), "{e}");
        let e = err("services:\n  web:\n    depends_on: api\n");
        assert_eq!(
            e,
            "shop.yml: line 3: service 'web': depends_on must be a list or a map"
        );
        let e = err("services:\n  web:\n    links: {api: x}\n");
        assert!(e.contains("links must be a list"), "{e}");
        let e = err("services:\n  web: nginx\n");
        assert_eq!(e, "shop.yml: line 2: service 'web': must be a mapping");
        let e = err("services:\n  \"we b\":\n    image: x\n");
        assert!(e.contains("is not a service name"), "{e}");
        let e = err("a: 1\n---\nb: 2\n");
        assert!(e.contains("second YAML document"), "{e}");
        let e = err("services:\n  web: \"\n");
        assert!(e.starts_with("shop.yml: line "), "{e}");
    }

    #[test]
    fn references_must_name_services() {
        let e = err("services:\n  web:\n    depends_on: [db]\n");
        assert_eq!(
            e,
            "shop.yml: service 'web' depends on 'db', which is not a service"
        );
        let e = err("web:\n  links: ['db:database']\n");
        assert_eq!(
            e,
            "shop.yml: service 'web' links to 'db', which is not a service"
        );
        let e = err(
            "services:\n  a:\n    depends_on: [b]\n  b:\n    depends_on: [c]\n  c:\n    links: [a]\n",
        );
        assert_eq!(
            e,
            "shop.yml: services depend on each other in a cycle: a -> b -> c -> a"
        );
        let e = err("services:\n  a:\n    depends_on: [a]\n");
        assert!(e.contains("cycle: a -> a"), "{e}");
    }

    #[test]
    fn no_services_is_an_error() {
        for yaml in [
            "",
            "# nothing\n",
            "version: '3'\n",
            "version: '3'\nservices:\n",
            "version: '3'\nservices: {}\nvolumes:\n  data: {}\n",
            "x-common: {restart: always}\n",
        ] {
            assert_eq!(err(yaml), "shop.yml: no services", "{yaml:?}");
        }
    }

    #[test]
    fn names_are_made_safe() {
        let a = to_arch(
            "services:\n  api.v1:\n    image: x\n  www:\n    image: y\n    depends_on: [api.v1, eureka]\n  eureka:\n    image: springcloud/eureka\n",
            "/tmp/my shop.prod.yml",
        )
        .unwrap();
        let a = Architecture::parse(&a, "out").unwrap();
        assert_eq!(a.arch, "my-shop-prod");
        assert_eq!(names(&a), ["api-v1", "www", "www-elb", "www-2"]);
        assert_eq!(svc(&a, "www").dependencies, ["api-v1"]);
        assert_eq!(svc(&a, "www-2").dependencies, ["www-elb"]);
        let e = err("services:\n  web:\n    depends_on: [eureka]\n");
        assert!(
            e.contains("depends on 'eureka', which is not a service"),
            "{e}"
        );
        let e = err("services:\n  ? [a, b]\n  : {image: x}\n");
        assert_eq!(e, "shop.yml: line 2: service names must be plain text");
        let e = err("services:\n  a.b:\n    image: x\n  a-b:\n    image: y\n");
        assert_eq!(
            e,
            "shop.yml: services 'a.b' and 'a-b' would both be named 'a-b' (spigo's names cannot hold dots)"
        );
    }

    #[test]
    fn anchors_and_merge_keys_are_followed() {
        let a = arch(
            "x-app: &app\n  image: shop/app\n  depends_on: [db]\n  deploy: {replicas: 2}\nservices:\n  db:\n    image: postgres\n  orders:\n    <<: *app\n  users:\n    <<: *app\n    deploy: {replicas: 5}\n",
        );
        assert_eq!(svc(&a, "orders").dependencies, ["db"]);
        assert_eq!(svc(&a, "orders").count, 2);
        assert_eq!(svc(&a, "users").count, 5);
        assert_eq!(svc(&a, "www-elb").dependencies, ["orders", "users"]);
    }

    #[test]
    fn output_is_deterministic_and_in_the_json_arch_layout() {
        let yaml = "services:\n  web:\n    image: nginx\n    depends_on: [api]\n  api:\n    image: shop/api\n";
        let one = to_arch(yaml, "shop.yml").unwrap();
        assert_eq!(one, to_arch(yaml, "shop.yml").unwrap());
        assert!(!one.ends_with('\n'));
        assert!(one.contains(
            "\n    {\"name\": \"api\", \"package\": \"karyon\", \"count\": 3, \"regions\": 1, \"dependencies\": []},\n"
        ));
        let value: serde_json::Value = serde_json::from_str(&one).unwrap();
        assert_eq!(value["services"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn hostile_input_is_refused_without_panicking() {
        let deep = "[".repeat(100_000);
        assert!(err(&deep).starts_with("shop.yml: line 1: "));
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        err(laughs);
        err("services:\n  ? [a, b]\n  : {image: x}\n");
        err("services:\n  web:\n    depends_on: [[a]]\n");
        err("\u{feff}services:\n  web:\n    image: !!int nginx\n");
    }
}
