//! Reading the services out of a compose file: v1 (services at the top
//! level) or v2/v3 and the compose specification (a `services:` map),
//! with YAML tags, anchors and `<<` merge keys followed.

use super::error::ComposeError;
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use spigo_proto::arch::{EUREKA, MAX_COUNT};
use std::collections::HashMap;

/// Instances per region when the file does not say: one in each of the
/// three zones a default region has.
const PER_REGION: u32 = 3;

/// Top-level keys of compose v2/v3 and the compose specification; a file
/// with none of them is v1, whose top-level keys are the services.
const SPEC_KEYS: [&str; 8] = [
    "version", "services", "networks", "volumes", "configs", "secrets", "name", "include",
];

/// One compose service, as far as spigo cares.
pub(super) struct Service {
    /// As the compose file spells it (what references use).
    pub compose: String,
    /// As spigo will call it.
    pub name: String,
    pub image: Option<String>,
    /// Compose names, with how each was referenced, in file order.
    pub refs: Vec<(String, &'static str)>,
    pub count: u32,
}

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
pub(super) fn read(text: &str, file: &str) -> Result<(Vec<Service>, bool), ComposeError> {
    let here = Here { file };
    let docs = Node::load_from_str(text).map_err(|source| ComposeError::Yaml {
        file: file.into(),
        source,
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
