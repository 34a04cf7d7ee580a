//! The architecture made from the services of a compose file.

use super::error::ComposeError;
use super::order::dependency_order;
use super::packages::guess_package;
use super::yaml::Service;
use spigo_proto::arch::{Architecture, ServiceSpec, EUREKA};
use spigo_proto::Package;
use std::collections::{HashMap, HashSet};
use std::path::Path;

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

/// The architecture of the services read: each with its package and
/// dependencies, the front door (`www` and `www-elb`) and the victim.
pub(super) fn build(
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
