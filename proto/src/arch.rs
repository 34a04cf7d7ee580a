//! Architecture files: spigo's `<arch>_arch.json` format and its checks.
//!
//! A file lists services in creation order, each with a package (the actor
//! type its instances run), a count per region (0 = one cross-zone instance
//! per region), a `regions` field (0 = one global instance) and the services
//! it depends on. Every problem is found before anything starts and reported
//! in one line naming the file and the service.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The actor types instances can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Package {
    /// Global DNS (Netflix's Denominator library): the root that drives traffic.
    #[serde(rename = "denominator")]
    Denominator,
    /// AWS Elastic Load Balancer: one per region, across its zones.
    #[serde(rename = "elb")]
    Elb,
    /// Netflix's edge API proxy.
    #[serde(rename = "zuul")]
    Zuul,
    /// Netflix's base server for business-logic microservices.
    #[serde(rename = "karyon")]
    Karyon,
    /// A LAMP-style web server that does everything itself.
    #[serde(rename = "monolith")]
    Monolith,
    /// Storage Tier As A Service HTTP: the data access layer.
    #[serde(rename = "staash")]
    Staash,
    /// Cassandra managed by Netflix's Priam: a token ring per zone with
    /// cross-zone and cross-region replication.
    #[serde(rename = "priamCassandra")]
    PriamCassandra,
    /// A generic key/value store (mysql, memcache, evcache stand-ins).
    #[serde(rename = "store")]
    Store,
    #[serde(rename = "cache")]
    Cache,
    #[serde(rename = "volume")]
    Volume,
    #[serde(rename = "riak")]
    Riak,
}

impl Package {
    pub const ALL: [Package; 11] = [
        Package::Denominator,
        Package::Elb,
        Package::Zuul,
        Package::Karyon,
        Package::Monolith,
        Package::Staash,
        Package::PriamCassandra,
        Package::Store,
        Package::Cache,
        Package::Volume,
        Package::Riak,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Package::Denominator => "denominator",
            Package::Elb => "elb",
            Package::Zuul => "zuul",
            Package::Karyon => "karyon",
            Package::Monolith => "monolith",
            Package::Staash => "staash",
            Package::PriamCassandra => "priamCassandra",
            Package::Store => "store",
            Package::Cache => "cache",
            Package::Volume => "volume",
            Package::Riak => "riak",
        }
    }

    pub fn parse(s: &str) -> Option<Package> {
        Package::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Packages that behave as a plain key/value store.
    pub fn is_store(self) -> bool {
        matches!(
            self,
            Package::Store | Package::Cache | Package::Volume | Package::Riak
        )
    }

    /// Stateless request tiers route within their own zone (as NetflixOSS's
    /// zone-aware Ribbon client does), falling back to other zones only when
    /// their zone has no instance of a dependency. Data tiers, load
    /// balancers and DNS reach every zone.
    pub fn zone_affine(self) -> bool {
        matches!(self, Package::Zuul | Package::Karyon)
    }
}

impl fmt::Display for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pseudo-dependency that asks for cross-region links (priamCassandra).
pub const EUREKA: &str = "eureka";

/// The most instances an architecture file allows for one service.
pub const MAX_COUNT: u32 = 1_000_000;

/// One service of an architecture, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub name: String,
    pub package: Package,
    /// Instances per region before scaling; 0 = one cross-zone instance.
    pub count: u32,
    /// 0 = one global instance; otherwise deployed in every region in use.
    pub regions: u32,
    pub dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub machine: String,
    /// Instance name prefix, when it differs from the service name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub process: String,
}

impl ServiceSpec {
    /// A service named only by its service name (no machine, instance,
    /// container or process parts).
    pub fn new(
        name: impl Into<String>,
        package: Package,
        count: u32,
        regions: u32,
        dependencies: Vec<String>,
    ) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            package,
            count,
            regions,
            dependencies,
            machine: String::new(),
            instance: String::new(),
            container: String::new(),
            process: String::new(),
        }
    }

    pub fn is_global(&self) -> bool {
        self.regions == 0
    }

    pub fn is_cross_zone(&self) -> bool {
        self.count == 0 && !self.is_global()
    }

    /// Whether it asked for cross-region links with the `eureka` dependency.
    pub fn cross_region(&self) -> bool {
        self.dependencies.iter().any(|d| d == EUREKA)
    }
}

/// A whole architecture, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    pub arch: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub version: String,
    /// The service the chaos monkey picks its victim from ("" = none).
    #[serde(default)]
    pub victim: String,
    pub services: Vec<ServiceSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchError {
    #[error("{file}: not an architecture file: {msg}")]
    Json { file: String, msg: String },
    #[error("{file}: no services")]
    Empty { file: String },
    #[error("{file}: service '{service}': unknown package '{package}' (known: {known})")]
    Package {
        file: String,
        service: String,
        package: String,
        known: String,
    },
    #[error("{file}: service '{service}' is defined twice")]
    Duplicate { file: String, service: String },
    #[error("{file}: service '{service}' depends on '{dependency}', which is not defined")]
    Dependency {
        file: String,
        service: String,
        dependency: String,
    },
    #[error("{file}: service '{service}': {what} must not be negative (got {value})")]
    Negative {
        file: String,
        service: String,
        what: &'static str,
        value: i64,
    },
    #[error("{file}: service '{service}': {problem}")]
    Service {
        file: String,
        service: String,
        problem: String,
    },
    #[error("{file}: victim '{victim}' is not a service of the architecture")]
    Victim { file: String, victim: String },
}

/// The file as written, before validation: numbers may be negative,
/// packages unknown.
#[derive(Deserialize)]
struct RawArch {
    arch: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    victim: String,
    services: Vec<RawService>,
}

#[derive(Deserialize)]
struct RawService {
    name: String,
    package: String,
    count: i64,
    regions: i64,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    machine: String,
    #[serde(default)]
    instance: String,
    #[serde(default)]
    container: String,
    #[serde(default)]
    process: String,
}

impl Architecture {
    /// Parses and validates an architecture; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Architecture, ArchError> {
        let raw: RawArch = serde_json::from_str(text).map_err(|e| ArchError::Json {
            file: file.into(),
            msg: e.to_string(),
        })?;
        let arch = Architecture {
            arch: raw.arch,
            description: raw.description,
            version: raw.version,
            victim: raw.victim,
            services: raw
                .services
                .into_iter()
                .map(|s| s.check(file))
                .collect::<Result<_, _>>()?,
        };
        arch.validate(file)?;
        Ok(arch)
    }

    /// The checks that span services.
    pub fn validate(&self, file: &str) -> Result<(), ArchError> {
        if self.services.is_empty() {
            return Err(ArchError::Empty { file: file.into() });
        }
        let bad_part = |s: &str| s.contains('.') || s.trim().is_empty();
        if bad_part(&self.arch) {
            return Err(ArchError::Json {
                file: file.into(),
                msg: format!("arch '{}' must be a non-empty name without dots", self.arch),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.services {
            if !seen.insert(s.name.as_str()) {
                return Err(ArchError::Duplicate {
                    file: file.into(),
                    service: s.name.clone(),
                });
            }
        }
        for s in &self.services {
            for d in &s.dependencies {
                if d != EUREKA && !seen.contains(d.as_str()) {
                    return Err(ArchError::Dependency {
                        file: file.into(),
                        service: s.name.clone(),
                        dependency: d.clone(),
                    });
                }
            }
        }
        if !self.victim.is_empty() && !seen.contains(self.victim.as_str()) {
            return Err(ArchError::Victim {
                file: file.into(),
                victim: self.victim.clone(),
            });
        }
        Ok(())
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The architecture as a file in spigo's format, laid out as the
    /// built-in `json_arch` files: one line per service. No final newline.
    pub fn to_json(&self) -> String {
        let quote = |s: &str| serde_json::to_string(s).expect("strings always serialise");
        let mut out = String::from("{\n");
        for (key, value) in [
            ("arch", &self.arch),
            ("description", &self.description),
            ("version", &self.version),
            ("victim", &self.victim),
        ] {
            out.push_str(&format!("  \"{key}\": {},\n", quote(value)));
        }
        out.push_str("  \"services\": [\n");
        for (i, s) in self.services.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            let deps: Vec<String> = s.dependencies.iter().map(|d| quote(d)).collect();
            out.push_str(&format!(
                "    {{\"name\": {}, \"package\": {}, \"count\": {}, \"regions\": {}, \"dependencies\": [{}]",
                quote(&s.name),
                quote(s.package.as_str()),
                s.count,
                s.regions,
                deps.join(", ")
            ));
            for (key, value) in [
                ("machine", &s.machine),
                ("instance", &s.instance),
                ("container", &s.container),
                ("process", &s.process),
            ] {
                if !value.is_empty() {
                    out.push_str(&format!(", \"{key}\": {}", quote(value)));
                }
            }
            out.push('}');
        }
        out.push_str("\n  ]\n}");
        out
    }
}

impl RawService {
    fn check(self, file: &str) -> Result<ServiceSpec, ArchError> {
        let problem = |p: String| ArchError::Service {
            file: file.into(),
            service: self.name.clone(),
            problem: p,
        };
        for (what, value) in [("count", self.count), ("regions", self.regions)] {
            if value < 0 {
                return Err(ArchError::Negative {
                    file: file.into(),
                    service: self.name.clone(),
                    what,
                    value,
                });
            }
        }
        if self.count > i64::from(MAX_COUNT) {
            return Err(problem(format!(
                "count {} is above the limit of {MAX_COUNT}",
                self.count
            )));
        }
        for (what, part) in [
            ("name", &self.name),
            ("machine", &self.machine),
            ("instance", &self.instance),
            ("container", &self.container),
            ("process", &self.process),
        ] {
            if part.contains('.') {
                return Err(problem(format!("{what} '{part}' must not contain '.'")));
            }
        }
        if self.name.trim().is_empty() {
            return Err(problem("empty service name".into()));
        }
        let package = Package::parse(&self.package).ok_or_else(|| ArchError::Package {
            file: file.into(),
            service: self.name.clone(),
            package: self.package.clone(),
            known: Package::ALL.map(Package::as_str).join(", "),
        })?;
        Ok(ServiceSpec {
            package,
            count: self.count as u32,
            regions: self.regions as u32,
            dependencies: self.dependencies,
            machine: self.machine,
            instance: self.instance,
            container: self.container,
            process: self.process,
            name: self.name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "arch": "tiny", "description": "d", "version": "v", "victim": "web",
        "services": [
            {"name": "db", "package": "store", "count": 2, "regions": 1, "dependencies": ["db"]},
            {"name": "web", "package": "karyon", "count": 3, "regions": 1, "dependencies": ["db", "eureka"]},
            {"name": "lb", "package": "elb", "count": 0, "regions": 1, "dependencies": ["web"]},
            {"name": "dns", "package": "denominator", "count": 0, "regions": 0, "dependencies": ["lb"]}
        ]}"#;

    fn err(text: &str) -> String {
        Architecture::parse(text, "f.json").unwrap_err().to_string()
    }

    #[test]
    fn parses_spigo_files() {
        let a = Architecture::parse(GOOD, "f.json").unwrap();
        assert_eq!(a.services.len(), 4);
        assert_eq!(a.services[1].package, Package::Karyon);
        assert!(a.services[1].cross_region());
        assert!(a.services[2].is_cross_zone());
        assert!(a.services[3].is_global());
        let again = Architecture::parse(&a.to_json(), "again").unwrap();
        assert_eq!(again, a);
    }

    #[test]
    fn to_json_writes_one_line_per_service() {
        let mut a = Architecture::parse(GOOD, "f.json").unwrap();
        a.services[0].instance = "db\"x".into();
        a.services[0].process = "p".into();
        let text = a.to_json();
        assert!(text.starts_with("{\n  \"arch\": \"tiny\",\n"), "{text}");
        assert!(text.ends_with("\n  ]\n}"), "{text}");
        assert!(text.contains(
            "\n    {\"name\": \"db\", \"package\": \"store\", \"count\": 2, \"regions\": 1, \"dependencies\": [\"db\"], \"instance\": \"db\\\"x\", \"process\": \"p\"},\n"
        ), "{text}");
        assert_eq!(text.lines().count(), 12);
        assert_eq!(Architecture::parse(&text, "again").unwrap(), a);
    }

    #[test]
    fn each_problem_is_one_line_naming_file_and_service() {
        let e = err(&GOOD.replace("\"karyon\"", "\"unknown\""));
        assert!(
            e.starts_with("f.json: service 'web': unknown package 'unknown'"),
            "{e}"
        );
        let e = err(&GOOD.replace("\"lb\", \"package\"", "\"web\", \"package\""));
        assert_eq!(e, "f.json: service 'web' is defined twice");
        let e = err(&GOOD.replace("[\"web\"]", "[\"web\", \"missing\"]"));
        assert_eq!(
            e,
            "f.json: service 'lb' depends on 'missing', which is not defined"
        );
        let e = err(&GOOD.replace("\"count\": 2", "\"count\": -2"));
        assert_eq!(
            e,
            "f.json: service 'db': count must not be negative (got -2)"
        );
        let e = err(r#"{"arch":"x","services":[]}"#);
        assert_eq!(e, "f.json: no services");
        let e = err("{\"arch\": ");
        assert!(e.starts_with("f.json: not an architecture file: "), "{e}");
        assert!(!e.contains('\n'));
        let e = err(&GOOD.replace("\"victim\": \"web\"", "\"victim\": \"nobody\""));
        assert_eq!(
            e,
            "f.json: victim 'nobody' is not a service of the architecture"
        );
        let e = err(&GOOD.replace("\"name\": \"db\"", "\"name\": \"d.b\""));
        assert!(e.contains("must not contain '.'"), "{e}");
    }
}
