//! Architecture files: spigo's `<arch>_arch.json` format and its checks.
//!
//! A file lists services in creation order, each with a package (the actor
//! type its instances run), a count per region (0 = one cross-zone instance
//! per region), a `regions` field (0 = one global instance) and the services
//! it depends on. Every problem is found before anything starts and reported
//! in one line naming the file and the service.

mod raw;

use crate::resilience::Calls;
use crate::work::{Parts, ServiceTime};
use raw::{calls, kind, GoObject};
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
    /// A key/value store staash looks in first (a memcache-style cache).
    #[serde(rename = "cache")]
    Cache,
    /// A key/value store staash looks in after the cache, before
    /// priamCassandra (a disk volume).
    #[serde(rename = "volume")]
    Volume,
    /// A key/value store named after Basho's Riak database; staash looks
    /// in it with the plain stores, after priamCassandra.
    #[serde(rename = "riak")]
    Riak,
}

impl Package {
    /// Every package, in the order errors list the known ones.
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

    /// The package's name in architecture files and graphs (`priamCassandra`).
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

    /// The package an architecture file names, `None` for a name this build
    /// does not know (case matters, as in spigo).
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
/// eureka is Netflix's service registry: here one runs in every zone, and
/// instances register with it and find their dependencies through it.
pub const EUREKA: &str = "eureka";

/// The most instances an architecture file allows for one service.
pub const MAX_COUNT: u32 = 1_000_000;

/// One service of an architecture, validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// Unique in the architecture; dependencies name the service by it.
    pub name: String,
    /// The actor type every instance of the service runs.
    pub package: Package,
    /// Instances per region before scaling; 0 = one cross-zone instance.
    pub count: u32,
    /// 0 = one global instance; otherwise deployed in every region in use.
    pub regions: u32,
    /// The services its instances call, by name; [`EUREKA`] among them asks
    /// for cross-region links instead.
    pub dependencies: Vec<String>,
    /// The machine part of instance names (see [`crate::names`]), e.g.
    /// `ecs:4`; empty when unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub machine: String,
    /// Instance name prefix, when it differs from the service name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance: String,
    /// The container part of instance names, e.g. the Docker image
    /// `adrianco/homepage-node`; empty when unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    /// The process part of instance names, inside the container; empty
    /// when unused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub process: String,
    /// How long its instances take over a request and how many they take
    /// on at once (`service_time`, `concurrency`, `queue`; see
    /// [`crate::work`]); every part absent runs as spigo does.
    #[serde(default)]
    pub work: Parts,
    /// What its instances do when a dependency is slow or failing
    /// (`resilience`, `resilience_for`; see [`crate::resilience`]); empty:
    /// nothing, as in spigo.
    #[serde(default)]
    pub calls: Calls,
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
            work: Parts::default(),
            calls: Calls::default(),
        }
    }

    /// Whether the whole simulation has one instance of it (`regions` 0).
    pub fn is_global(&self) -> bool {
        self.regions == 0
    }

    /// Whether each region gets one instance spanning its zones (`count` 0),
    /// as a load balancer does.
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
    /// The architecture's name: it starts every instance name and names the
    /// output files (set from `-a` by [`Architecture::named`]).
    pub arch: String,
    /// What the architecture models, for people reading the file or the log.
    #[serde(default)]
    pub description: String,
    /// The file's own version label; free text, kept when the file is saved.
    #[serde(default)]
    pub version: String,
    /// The service the chaos monkey (Netflix's tool that kills an instance
    /// to show the rest survive it) picks its victim from ("" = none).
    #[serde(default)]
    pub victim: String,
    /// The services in creation order: asgard (Netflix's deployment console;
    /// here, what creates the services) starts them one by one in this order.
    pub services: Vec<ServiceSpec>,
}

/// Why an architecture was refused; each displays as one line naming the
/// file and, where there is one, the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchError {
    /// The text is not JSON, or not shaped like an architecture file.
    #[error("{file}: not an architecture file: {msg}")]
    Json {
        /// The file, as errors name it.
        file: String,
        /// What the JSON reader or the shape check found.
        msg: String,
    },
    /// The file lists no services, so there is nothing to run.
    #[error("{file}: no services")]
    Empty {
        /// The file, as errors name it.
        file: String,
    },
    /// A service names a package this build does not know.
    #[error("{file}: service '{service}': unknown package '{package}' (known: {known})")]
    Package {
        /// The file, as errors name it.
        file: String,
        /// The service, by name or `#N` (its place in the list) when it has none.
        service: String,
        /// The package as written.
        package: String,
        /// Every known package, comma-separated, so the user can pick one.
        known: String,
    },
    /// Two services share a name, so dependencies on it would be ambiguous.
    #[error("{file}: service '{service}' is defined twice")]
    Duplicate {
        /// The file, as errors name it.
        file: String,
        /// The name used twice.
        service: String,
    },
    /// A service depends on a service the file does not define.
    #[error("{file}: service '{service}' depends on '{dependency}', which is not defined")]
    Dependency {
        /// The file, as errors name it.
        file: String,
        /// The service with the dependency.
        service: String,
        /// The service it names that the file does not define.
        dependency: String,
    },
    /// `count` or `regions` is below zero (Go reads them as signed ints, so
    /// spigo's files can say so).
    #[error("{file}: service '{service}': {what} must not be negative (got {value})")]
    Negative {
        /// The file, as errors name it.
        file: String,
        /// The service, by name or `#N` (its place in the list) when it has none.
        service: String,
        /// Which field: `count` or `regions`.
        what: &'static str,
        /// The number as written.
        value: i64,
    },
    /// Any other problem with one service: a field of the wrong type, a dot
    /// in a name part, no name or package, a count above [`MAX_COUNT`].
    #[error("{file}: service '{service}': {problem}")]
    Service {
        /// The file, as errors name it.
        file: String,
        /// The service, by name or `#N` (its place in the list) when it has none.
        service: String,
        /// What is wrong, as a phrase.
        problem: String,
    },
    /// The chaos monkey's victim is not one of the services.
    #[error("{file}: victim '{victim}' is not a service of the architecture")]
    Victim {
        /// The file, as errors name it.
        file: String,
        /// The victim as written.
        victim: String,
    },
    /// The name given with `-a` cannot be one part of an instance name.
    #[error("{file}: the architecture's name '{name}' (from -a/--arch) {problem}")]
    Name {
        /// The file, as errors name it.
        file: String,
        /// The name as given.
        name: String,
        /// Why it cannot be used, e.g. `must not contain '/'`.
        problem: &'static str,
    },
}

/// One service as the file gives it, read with Go's rules, before the checks
/// of [`RawService::check`]: numbers may be negative, packages unknown.
struct RawService {
    /// The service as errors name it: its name, or `#N` when it has none.
    label: String,
    name: String,
    package: String,
    count: i64,
    regions: i64,
    dependencies: Vec<String>,
    machine: String,
    instance: String,
    container: String,
    process: String,
    service_time: Option<ServiceTime>,
    concurrency: Option<i64>,
    queue: Option<i64>,
    calls: Calls,
}

impl RawService {
    fn read(value: &serde_json::Value, at: usize, file: &str) -> Result<RawService, ArchError> {
        let label = value
            .get("name")
            .and_then(|n| n.as_str())
            .filter(|n| !n.is_empty())
            .map_or_else(|| format!("#{}", at + 1), str::to_string);
        let problem = |problem: String| ArchError::Service {
            file: file.into(),
            service: label.clone(),
            problem,
        };
        let obj = GoObject::new(value)
            .ok_or_else(|| problem(format!("a service must be an object, not {}", kind(value))))?;
        Ok(RawService {
            label: label.clone(),
            name: obj.string("name").map_err(problem)?,
            package: obj.string("package").map_err(problem)?,
            count: obj.int("count").map_err(problem)?,
            regions: obj.int("regions").map_err(problem)?,
            dependencies: obj.strings("dependencies").map_err(problem)?,
            machine: obj.string("machine").map_err(problem)?,
            instance: obj.string("instance").map_err(problem)?,
            container: obj.string("container").map_err(problem)?,
            process: obj.string("process").map_err(problem)?,
            service_time: (obj.get("service_time").map(ServiceTime::from_json))
                .transpose()
                .map_err(problem)?,
            concurrency: (obj.get("concurrency").map(|_| obj.int("concurrency")))
                .transpose()
                .map_err(problem)?,
            queue: (obj.get("queue").map(|_| obj.int("queue")))
                .transpose()
                .map_err(problem)?,
            calls: calls(&obj).map_err(problem)?,
        })
    }
}

impl Architecture {
    /// Parses and validates an architecture; `file` names it in errors.
    ///
    /// The file is read as spigo (Go) reads it: absent and `null` fields
    /// are zero values (no dependencies, `regions` 0, `count` 0, empty
    /// strings), extra fields are ignored. What cannot mean anything is
    /// refused: no services, a service without a name or package, a
    /// duplicate, an unknown package or dependency.
    pub fn parse(text: &str, file: &str) -> Result<Architecture, ArchError> {
        let json = |msg: String| ArchError::Json {
            file: file.into(),
            msg,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| json(e.to_string()))?;
        let top = GoObject::new(&value)
            .ok_or_else(|| json(format!("expected an object, found {}", kind(&value))))?;
        let services = match top.get("services") {
            None => Vec::new(),
            Some(serde_json::Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, s)| RawService::read(s, i, file)?.check(file))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(json(format!(
                    "services must be a list, not {}",
                    kind(other)
                )))
            }
        };
        let arch = Architecture {
            arch: top.string("arch").map_err(json)?,
            description: top.string("description").map_err(json)?,
            version: top.string("version").map_err(json)?,
            victim: top.string("victim").map_err(json)?,
            services,
        };
        arch.validate(file)?;
        Ok(arch)
    }

    /// The checks that span services.
    pub fn validate(&self, file: &str) -> Result<(), ArchError> {
        if self.services.is_empty() {
            return Err(ArchError::Empty { file: file.into() });
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

    /// Names the architecture, as spigo does, after what `-a` said rather
    /// than the file's `arch` field: the name starts every instance's name
    /// and names the output files, so it must be one name part.
    pub fn named(mut self, name: &str, file: &str) -> Result<Architecture, ArchError> {
        let problem = if name.trim().is_empty() {
            Some("is empty")
        } else if name.contains('.') || name.contains('*') {
            Some("must not contain '.' or '*'")
        } else if name.contains('/') {
            Some("must not contain '/'")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ArchError::Name {
                file: file.into(),
                name: name.into(),
                problem,
            });
        }
        self.arch = name.into();
        Ok(self)
    }

    /// The service called `name`, if the architecture has one.
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
            if let Some(st) = &s.work.service_time {
                out.push_str(&format!(", \"service_time\": {}", st.to_json()));
            }
            for (key, value) in [("concurrency", s.work.concurrency), ("queue", s.work.queue)] {
                if let Some(n) = value {
                    out.push_str(&format!(", \"{key}\": {n}"));
                }
            }
            if let Some(r) = &s.calls.all {
                out.push_str(&format!(", \"resilience\": {}", r.to_json()));
            }
            if !s.calls.per.is_empty() {
                let per: serde_json::Map<String, serde_json::Value> = (s.calls.per.iter())
                    .map(|(d, r)| (d.clone(), r.to_json()))
                    .collect();
                out.push_str(&format!(
                    ", \"resilience_for\": {}",
                    serde_json::Value::Object(per)
                ));
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
            service: self.label.clone(),
            problem: p,
        };
        for (what, value) in [("count", self.count), ("regions", self.regions)] {
            if value < 0 {
                return Err(ArchError::Negative {
                    file: file.into(),
                    service: self.label.clone(),
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
            return Err(problem("the service has no name".into()));
        }
        if self.package.is_empty() {
            return Err(problem("the service has no package".into()));
        }
        let package = Package::parse(&self.package).ok_or_else(|| ArchError::Package {
            file: file.into(),
            service: self.label.clone(),
            package: self.package.clone(),
            known: Package::ALL.map(Package::as_str).join(", "),
        })?;
        let concurrency = match self.concurrency {
            None => None,
            Some(c) => Some(u32::try_from(c).ok().filter(|&c| c > 0).ok_or_else(|| {
                problem(format!(
                    "concurrency must be a whole number from 1 (got {c})"
                ))
            })?),
        };
        let queue =
            match self.queue {
                None => None,
                Some(q) => Some(u32::try_from(q).map_err(|_| {
                    problem(format!("queue must be a whole number from 0 (got {q})"))
                })?),
            };
        let work = Parts {
            service_time: self.service_time,
            concurrency,
            queue,
        };
        if let Some((d, _)) = (self.calls.per.iter()).find(|(d, _)| !self.dependencies.contains(d))
        {
            return Err(problem(format!(
                "resilience_for names '{d}', which is not one of its dependencies"
            )));
        }
        Ok(ServiceSpec {
            work,
            calls: self.calls,
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

    /// One service and nothing else, for the zero-value tests.
    fn one(service: &str) -> ServiceSpec {
        let text = format!(r#"{{"arch": "z", "services": [{service}]}}"#);
        let mut a = Architecture::parse(&text, "z.json").unwrap();
        a.services.remove(0)
    }

    #[test]
    fn null_dependencies_are_none() {
        let s = one(
            r#"{"name": "db", "package": "store", "count": 2, "regions": 1, "dependencies": null}"#,
        );
        assert!(s.dependencies.is_empty());
        assert_eq!((s.count, s.regions), (2, 1));
    }

    #[test]
    fn absent_dependencies_are_none() {
        let s = one(r#"{"name": "db", "package": "store", "count": 2, "regions": 1}"#);
        assert!(s.dependencies.is_empty());
    }

    #[test]
    fn absent_or_null_regions_is_one_global_instance() {
        for field in ["", r#", "regions": null"#] {
            let s = one(&format!(
                r#"{{"name": "db", "package": "store", "count": 2{field}}}"#
            ));
            assert_eq!(s.regions, 0, "{field}");
            assert!(s.is_global());
        }
    }

    #[test]
    fn absent_or_null_count_is_one_cross_zone_instance() {
        for field in ["", r#", "count": null"#] {
            let s = one(&format!(
                r#"{{"name": "lb", "package": "elb", "regions": 1{field}}}"#
            ));
            assert_eq!(s.count, 0, "{field}");
            assert!(s.is_cross_zone());
        }
    }

    #[test]
    fn absent_or_null_strings_are_empty() {
        let text = r#"{"services": [{"name": "db", "package": "store", "machine": null, "instance": null}],
            "arch": null, "victim": null, "description": null}"#;
        let a = Architecture::parse(text, "z.json").unwrap();
        assert_eq!(a.arch, "");
        assert_eq!(a.victim, "");
        assert_eq!(a.description, "");
        assert_eq!(a.version, "");
        assert_eq!(a.services[0].machine, "");
        assert_eq!(a.services[0].instance, "");
        assert_eq!(a.services[0].container, "");
    }

    #[test]
    fn null_inside_dependencies_is_an_empty_name() {
        let e =
            err(r#"{"services": [{"name": "db", "package": "store", "dependencies": [null]}]}"#);
        assert_eq!(
            e,
            "f.json: service 'db' depends on '', which is not defined"
        );
    }

    #[test]
    fn extra_fields_and_go_key_case_are_accepted() {
        let s = one(
            r#"{"Name": "web", "PACKAGE": "karyon", "Count": 3, "regions": 1,
            "machine": "m", "container": "c", "process": "p", "instance": "w",
            "gpu": true, "tags": {"team": "x"}}"#,
        );
        assert_eq!(s.name, "web");
        assert_eq!(s.package, Package::Karyon);
        assert_eq!(s.count, 3);
        assert_eq!((s.machine.as_str(), s.container.as_str()), ("m", "c"));
        assert_eq!((s.process.as_str(), s.instance.as_str()), ("p", "w"));
        let exact = one(r#"{"name": "exact", "Name": "folded", "package": "store"}"#);
        assert_eq!(exact.name, "exact", "an exact key wins, as in Go");
    }

    #[test]
    fn what_cannot_mean_anything_is_refused() {
        assert_eq!(err(r#"{"arch": "x"}"#), "f.json: no services");
        assert_eq!(
            err(r#"{"arch": "x", "services": null}"#),
            "f.json: no services"
        );
        assert_eq!(
            err(r#"{"services": [{"package": "store"}]}"#),
            "f.json: service '#1': the service has no name"
        );
        assert_eq!(
            err(r#"{"services": [{"name": "db", "package": null}]}"#),
            "f.json: service 'db': the service has no package"
        );
        assert_eq!(
            err(r#"{"services": [{"name": "db", "package": "store", "count": "2"}]}"#),
            "f.json: service 'db': count must be a whole number, not a string"
        );
        assert_eq!(
            err(r#"{"services": [{"name": "db", "package": "store", "count": 2.5}]}"#),
            "f.json: service 'db': count must be a whole number, not a fraction"
        );
        assert_eq!(
            err(r#"{"services": {"name": "db"}}"#),
            "f.json: not an architecture file: services must be a list, not an object"
        );
        assert_eq!(
            err("[1, 2]"),
            "f.json: not an architecture file: expected an object, found a list"
        );
        assert_eq!(
            err(r#"{"services": ["db"]}"#),
            "f.json: service '#1': a service must be an object, not a string"
        );
    }

    #[test]
    fn the_name_comes_from_the_caller() {
        let a = Architecture::parse(GOOD, "f.json").unwrap();
        assert_eq!(a.clone().named("yow", "f.json").unwrap().arch, "yow");
        let e = a
            .clone()
            .named("my.shop", "f.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "f.json: the architecture's name 'my.shop' (from -a/--arch) must not contain '.' or '*'"
        );
        assert!(a.named("", "f.json").is_err());
    }
}
