//! Dotted hierarchical instance names, as spigo writes them.
//!
//! The full name has nine parts,
//! `arch.region.zone.machine.instance.container.process.service.package`,
//! any of which may be empty; cross-zone or global instances use `*` for the
//! zone or region. Graphs show a shorter form: the location plus the
//! non-empty machine/instance/container/process parts
//! (`fsm.atlantic.bermuda.blackbeard06`). The `-f` filter collapses
//! instances to their service (`netflixoss.us-east-1.zoneA.homepage`).

use std::fmt;

/// The nine parts of an instance name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Name {
    /// The architecture's name, e.g. `netflixoss`.
    pub arch: String,
    /// The region, `*` for a global instance.
    pub region: String,
    /// The zone, `*` for a cross-zone or global instance.
    pub zone: String,
    /// The machine it runs on, e.g. `ecs:4`; often empty.
    pub machine: String,
    /// The numbered instance, e.g. `homepage07` (see [`instance_name`]).
    pub instance: String,
    /// The container, e.g. the Docker image `adrianco/homepage-node`; often
    /// empty.
    pub container: String,
    /// The process inside the container; often empty.
    pub process: String,
    /// The service the instance belongs to, e.g. `homepage`.
    pub service: String,
    /// The package (actor type) it runs, e.g. `karyon`.
    pub package: String,
}

/// Why text or parts do not make an instance name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The text has the wrong number of dot-separated parts (the text and
    /// the count).
    #[error("name '{0}' has {1} dot-separated parts, expected 9")]
    Parts(String, usize),
    /// A part contains a dot, or a part every name needs is empty (the part
    /// and which one it is).
    #[error("name part '{0}' must not contain '.' or be used as an empty {1}")]
    Part(String, &'static str),
}

impl Name {
    /// A name with the parts spigo's architectures always set; machine,
    /// container and process start empty.
    pub fn new(
        arch: &str,
        region: &str,
        zone: &str,
        instance: &str,
        service: &str,
        package: &str,
    ) -> Name {
        Name {
            arch: arch.into(),
            region: region.into(),
            zone: zone.into(),
            instance: instance.into(),
            service: service.into(),
            package: package.into(),
            ..Name::default()
        }
    }

    /// Parses the full nine-part form.
    pub fn parse(text: &str) -> Result<Name, NameError> {
        let parts: Vec<&str> = text.split('.').collect();
        let [arch, region, zone, machine, instance, container, process, service, package] =
            parts[..]
        else {
            return Err(NameError::Parts(text.into(), parts.len()));
        };
        let name = Name {
            arch: arch.into(),
            region: region.into(),
            zone: zone.into(),
            machine: machine.into(),
            instance: instance.into(),
            container: container.into(),
            process: process.into(),
            service: service.into(),
            package: package.into(),
        };
        name.validate()?;
        Ok(name)
    }

    /// Checks that no part contains a dot and that the parts every graph
    /// needs (arch, instance, package) are present.
    pub fn validate(&self) -> Result<(), NameError> {
        for (part, what) in self.labelled() {
            if part.contains('.') {
                return Err(NameError::Part(part.into(), what));
            }
        }
        for (part, what) in [
            (&self.arch, "arch"),
            (&self.instance, "instance"),
            (&self.package, "package"),
        ] {
            if part.is_empty() {
                return Err(NameError::Part(String::new(), what));
            }
        }
        Ok(())
    }

    fn labelled(&self) -> [(&str, &'static str); 9] {
        [
            (&self.arch, "arch"),
            (&self.region, "region"),
            (&self.zone, "zone"),
            (&self.machine, "machine"),
            (&self.instance, "instance"),
            (&self.container, "container"),
            (&self.process, "process"),
            (&self.service, "service"),
            (&self.package, "package"),
        ]
    }

    /// The short form graphs show: `arch.region.zone` followed by whichever
    /// of machine, instance, container and process are set.
    pub fn graph_name(&self) -> String {
        let mut out = format!("{}.{}.{}", self.arch, self.region, self.zone);
        for part in [
            &self.machine,
            &self.instance,
            &self.container,
            &self.process,
        ] {
            if !part.is_empty() {
                out.push('.');
                out.push_str(part);
            }
        }
        out
    }

    /// The `-f` form: instances collapsed to their service.
    pub fn service_name(&self) -> String {
        let service = if self.service.is_empty() {
            &self.instance
        } else {
            &self.service
        };
        format!("{}.{}.{}.{}", self.arch, self.region, self.zone, service)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = self.labelled();
        for (i, (part, _)) in parts.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(part)?;
        }
        Ok(())
    }
}

impl Name {
    /// Rebuilds a name from the short graph form (`arch.region.zone` plus
    /// machine/instance/container/process), as `-r` needs. The instance is the
    /// first part ending in two or more digits (instances are numbered `00`,
    /// `01`, ...); a part before it is the machine and parts after it the
    /// container and process. The service is the instance without its number.
    pub fn from_graph_name(text: &str, package: &str) -> Result<Name, NameError> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() < 4 || parts.len() > 7 {
            return Err(NameError::Parts(text.into(), parts.len()));
        }
        let rest = &parts[3..];
        let at = rest
            .iter()
            .position(|p| {
                let digits = p.len() - p.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                digits >= 2
            })
            .filter(|&i| i <= 1)
            .unwrap_or(usize::from(rest.len() == 4));
        let get = |i: usize| rest.get(i).copied().unwrap_or("").to_string();
        let (machine, instance) = if at == 1 {
            (get(0), get(1))
        } else {
            (String::new(), get(0))
        };
        let service = instance.trim_end_matches(|c: char| c.is_ascii_digit());
        let name = Name {
            arch: parts[0].into(),
            region: parts[1].into(),
            zone: parts[2].into(),
            machine,
            container: get(at + 1),
            process: get(at + 2),
            service: if service.is_empty() {
                instance.clone()
            } else {
                service.into()
            },
            instance,
            package: package.into(),
        };
        name.validate()?;
        Ok(name)
    }
}

/// spigo's instance numbering: the service name and a two-digit (or wider)
/// sequence number, e.g. `blackbeard06`, `cassSubscriber11`.
pub fn instance_name(service: &str, n: usize) -> String {
    format!("{service}{n:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pirate(n: usize) -> Name {
        Name::new(
            "fsm",
            "atlantic",
            "bermuda",
            &instance_name("blackbeard", n),
            "blackbeard",
            "pirate",
        )
    }

    #[test]
    fn builds_spigo_names() {
        let n = pirate(6);
        assert_eq!(
            n.to_string(),
            "fsm.atlantic.bermuda..blackbeard06...blackbeard.pirate"
        );
        assert_eq!(n.graph_name(), "fsm.atlantic.bermuda.blackbeard06");
        assert_eq!(n.service_name(), "fsm.atlantic.bermuda.blackbeard");
        assert_eq!(instance_name("x", 123), "x123");
    }

    #[test]
    fn parse_round_trips() {
        let mut n = pirate(42);
        n.machine = "ecs:4".into();
        n.container = "adrianco/homepage-node".into();
        let parsed = Name::parse(&n.to_string()).unwrap();
        assert_eq!(parsed, n);
        assert_eq!(
            parsed.graph_name(),
            "fsm.atlantic.bermuda.ecs:4.blackbeard42.adrianco/homepage-node"
        );
    }

    #[test]
    fn parse_rejects_wrong_shapes() {
        assert!(matches!(Name::parse("a.b.c"), Err(NameError::Parts(_, 3))));
        assert!(Name::parse("a.b.c.d.e.f.g.h.i.j").is_err());
        assert!(matches!(
            Name::parse("a.b.c.d..f.g.h.i"),
            Err(NameError::Part(_, "instance"))
        ));
    }

    #[test]
    fn star_marks_cross_zone_and_global_instances() {
        let n = Name::new("netflixoss", "*", "*", "www00", "www", "denominator");
        assert_eq!(n.graph_name(), "netflixoss.*.*.www00");
    }

    #[test]
    fn graph_names_parse_back() {
        for (text, pkg) in [
            ("fsm.atlantic.bermuda.blackbeard06", "pirate"),
            ("netflixoss.us-east-1.*.www-elb00", "elb"),
            ("lamp.*.*.www00", "denominator"),
            (
                "t.us-east-1.zoneA.ecs:4.homepage00.adrianco/homepage-node",
                "monolith",
            ),
            (
                "t.us-east-1.zoneA.ecs:1.signup00.adrianco/signup-node.waf",
                "monolith",
            ),
            ("t.us-east-1.zoneA.web00.box", "karyon"),
        ] {
            let n = Name::from_graph_name(text, pkg).unwrap();
            assert_eq!(n.graph_name(), text);
            assert_eq!(n.package, pkg);
        }
        let n = Name::from_graph_name("fsm.atlantic.bermuda.blackbeard06", "pirate").unwrap();
        assert_eq!(n.service, "blackbeard");
        assert!(Name::from_graph_name("a.b.c", "x").is_err());
    }

    #[test]
    fn validate_rejects_dotted_parts() {
        let mut n = pirate(1);
        n.service = "a.b".into();
        assert!(n.validate().is_err());
    }
}

/// How many characters of a string a peer sent are logged.
pub const LOGGABLE_CHARS: usize = 64;

/// A string a peer sent (its self-declared name), made safe to log: control
/// characters escaped (`\n` cannot start a forged log line) and cut to
/// [`LOGGABLE_CHARS`] characters with the number of bytes left out, so a
/// 4 MiB name costs a log line of a hundred bytes.
pub fn loggable(s: &str) -> String {
    let mut out = String::new();
    let mut kept = 0;
    for (chars, (at, c)) in s.char_indices().enumerate() {
        if chars == LOGGABLE_CHARS {
            out.push_str(&format!("...(+{} bytes)", s.len() - at));
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        kept = at + c.len_utf8();
    }
    debug_assert_eq!(kept, s.len());
    out
}

#[cfg(test)]
mod loggable_tests {
    use super::*;

    #[test]
    fn peer_strings_cannot_forge_or_flood_a_log() {
        assert_eq!(loggable("node2"), "node2");
        let forged = loggable("n\n2026/12/01 ERROR: n2 lost: FORGED");
        assert!(!forged.contains('\n'), "{forged}");
        assert!(forged.starts_with("n\\n2026"), "{forged}");
        let huge = "x".repeat(4 << 20);
        let cut = loggable(&huge);
        assert!(cut.len() < 100, "{}", cut.len());
        assert!(
            cut.ends_with(&format!("...(+{} bytes)", (4 << 20) - 64)),
            "{cut}"
        );
        assert_eq!(
            loggable(&"é".repeat(64)),
            "é".repeat(64),
            "64 characters fit"
        );
        assert_eq!(loggable("\u{1b}[31m"), "\\u{1b}[31m", "no terminal escapes");
    }
}
