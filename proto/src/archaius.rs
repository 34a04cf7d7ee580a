//! archaius: global configuration (named after Netflix's configuration
//! library): the regions and zones a simulation can use, the public IP
//! blocks instances are numbered from (`IP/54.198.0.1` in graph metadata),
//! and the run's key:value settings.
//!
//! The /16 blocks are real AWS EC2 public ranges of each region (from AWS's
//! published `ip-ranges.json`), one per zone, so metadata looks like what an
//! architect sees in a console. The whole configuration can be saved and
//! loaded as JSON, so a user can rename regions or move IP blocks.

use crate::arch::Package;
use crate::load::{Arrivals, Profile, Shape};
use crate::work::Parts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Marks a cross-zone (zone) or global (region and zone) instance: `*` in names.
pub const ANY: u8 = u8::MAX;

/// Where an instance runs: indices into the configuration's regions and
/// that region's zones, or [`ANY`].
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Location {
    /// Index into [`Config::regions`], or [`ANY`] for a global instance.
    pub region: u8,
    /// Index into that region's zones, or [`ANY`] for a cross-zone or
    /// global instance.
    pub zone: u8,
}

impl Location {
    /// Where a global instance runs: any region, any zone (`*.*` in names).
    pub const GLOBAL: Location = Location {
        region: ANY,
        zone: ANY,
    };

    /// The location at region index `region`, zone index `zone`.
    pub fn new(region: u8, zone: u8) -> Location {
        Location { region, zone }
    }
}

/// A region a simulation can deploy in (an AWS region by default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// The name instance names and latency files use, e.g. `us-east-1`.
    pub name: String,
    /// Its availability zones, in the order [`Location::zone`] counts them.
    pub zones: Vec<Zone>,
}

/// An availability zone and the IP block its instances are numbered from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// The name instance names use, e.g. `zoneA`.
    pub name: String,
    /// The zone's /16, e.g. `54.198.0.0`; addresses count up from `.0.1`.
    pub block: Ipv4Addr,
}

/// spigo's six default regions, in its order, with three zones each.
pub fn default_regions() -> Vec<Region> {
    const REGIONS: [(&str, [[u8; 2]; 3]); 6] = [
        ("us-east-1", [[54, 198], [54, 221], [50, 19]]),
        ("us-west-2", [[54, 148], [54, 185], [54, 213]]),
        ("eu-west-1", [[54, 72], [54, 216], [54, 228]]),
        ("eu-central-1", [[54, 93], [52, 28], [52, 29]]),
        ("ap-southeast-1", [[54, 169], [54, 179], [52, 74]]),
        ("ap-southeast-2", [[54, 206], [54, 252], [52, 62]]),
    ];
    REGIONS
        .iter()
        .map(|(name, blocks)| Region {
            name: name.to_string(),
            zones: ["zoneA", "zoneB", "zoneC"]
                .iter()
                .zip(blocks)
                .map(|(z, b)| Zone {
                    name: z.to_string(),
                    block: Ipv4Addr::new(b[0], b[1], 0, 0),
                })
                .collect(),
        })
        .collect()
}

/// The `n`th address (counting from 1) of a zone's block; past 65,535 hosts
/// it carries on into the following /16.
pub fn zone_ip(block: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(block).wrapping_add(n))
}

/// Graph metadata for an instance's address, as spigo writes it.
pub fn ip_metadata(ip: Ipv4Addr) -> String {
    format!("IP/{ip}")
}

/// Settings every run has, from flags or a `--config` file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The architecture to run (`-a`): a built-in one, a `json_arch` name or
    /// a path to an architecture file.
    pub arch: String,
    /// Pirates for fsm, otherwise a scale factor in percent.
    pub population: u32,
    /// How long the simulation runs (`-d`).
    #[serde(with = "duration_text")]
    pub duration: Duration,
    /// How many of the regions a regional service is deployed in (`-w`).
    pub regions_used: u8,
    /// How often instances poll eureka for their dependencies (`-u`).
    #[serde(with = "duration_text")]
    pub eureka_poll: Duration,
    /// Stop creating services after this step, 0 = don't stop (`-s`).
    pub step: u32,
    /// Collapse instances to services in the graph (`-f`).
    pub filter: bool,
    /// Seeds every random choice of the run (`--seed`); `None` picks one,
    /// which the log shows and a saved configuration keeps, so a run can be
    /// repeated.
    pub seed: Option<u64>,
    /// Free-form `-kv key:value` settings; `chat` is the traffic interval.
    pub kv: BTreeMap<String, String>,
    /// The regions and zones instances can use; a run deploys in the first
    /// `regions_used` of them.
    pub regions: Vec<Region>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            arch: "netflixoss".into(),
            population: 100,
            duration: Duration::from_secs(10),
            regions_used: 1,
            eureka_poll: Duration::from_secs(1),
            step: 0,
            filter: false,
            seed: None,
            kv: BTreeMap::new(),
            regions: default_regions(),
        }
    }
}

/// Why the run's settings were refused, before anything starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A `-kv` setting without a `:` or with an empty key (the setting as
    /// given).
    #[error("-kv: '{0}' is not key:value")]
    KeyValue(String),
    /// The `chat` setting is not a duration above zero (why not).
    #[error("-kv chat: {0}")]
    Chat(String),
    /// The `outage` setting is not `SERVICE@TIME+LENGTH` (why not).
    #[error("-kv outage: {0}")]
    Outage(String),
    /// The `crash` setting is not `SERVICE@TIME` (why not).
    #[error("-kv crash: {0}")]
    Crash(String),
    /// The `arrivals` setting is not `fixed` or `poisson` (why not).
    #[error("-kv arrivals: {0}")]
    Arrivals(String),
    /// The `load` setting is not a profile spigo knows (why not).
    #[error("-kv load: {0}")]
    Load(String),
    /// A package's work default (`-kv service_time.PACKAGE:`,
    /// `concurrency.PACKAGE:`, `queue.PACKAGE:`) cannot be read.
    #[error("-kv {key}: {problem}")]
    Work {
        /// The key as given.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The `hops` setting is not a whole number from 1 to 255 (as given).
    #[error("-kv hops: '{0}' is not a hop limit from 1 to 255")]
    Hops(String),
    /// `-w` asks for no regions, or for more than the configuration has.
    #[error("-w/--regions: {asked} regions asked, the configuration has {known} (1..={known})")]
    Regions {
        /// How many regions `-w` asked for.
        asked: u8,
        /// How many the configuration has.
        known: usize,
    },
    /// A region of the configuration has no zones to put instances in (its
    /// name).
    #[error("region '{0}' needs at least one zone")]
    NoZones(String),
    /// A region or zone name that cannot be one part of an instance's
    /// dotted name: empty, or containing `.` (the separator) or `*` (what
    /// names use for "every region" or "every zone").
    #[error("{what} name '{name}' {problem}")]
    Name {
        /// `region`, or `region 'x': zone`.
        what: String,
        /// The name as given.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two regions, or two zones of one region, share a name, so instances
    /// of both would be one in the graph.
    #[error("{what} '{name}' is defined twice")]
    Duplicate {
        /// `region`, or `region 'x': zone`.
        what: String,
        /// The name given twice.
        name: String,
    },
    /// A zone's block is not a /16 instances can be numbered from.
    #[error("zone '{zone}': block {block} {problem}")]
    Block {
        /// `region.zone`.
        zone: String,
        /// The block as given.
        block: Ipv4Addr,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two zones number their instances from the same /16, so their
    /// instances would share addresses.
    #[error("zones '{first}' and '{second}' both use block {block}")]
    Overlap {
        /// `region.zone` of the first zone with the block.
        first: String,
        /// `region.zone` of the second.
        second: String,
        /// The shared block.
        block: Ipv4Addr,
    },
}

/// Why a region or zone name cannot be used, if it cannot.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("is empty")
    } else if name.contains('.') {
        Some("must not contain '.', which separates the parts of instance names")
    } else if name.contains('*') {
        Some("must not contain '*', which names use for every region or zone")
    } else {
        None
    }
}

/// Why a zone's block cannot be numbered from, if it cannot.
fn block_problem(block: Ipv4Addr) -> Option<&'static str> {
    let [a, _, c, d] = block.octets();
    if (c, d) != (0, 0) {
        Some("is not the start of a /16 (such as 54.198.0.0)")
    } else if a == 0 || a == 127 || a >= 224 {
        Some("is not a usable unicast range")
    } else {
        None
    }
}

/// A fault asked for by `-kv crash:SERVICE@TIME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashAt {
    /// The service one of whose instances panics.
    pub service: String,
    /// How long after the traffic starts.
    pub at: Duration,
}

/// An outage asked for by `-kv outage:SERVICE@TIME+LENGTH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutageAt {
    /// The service every instance of which stops answering.
    pub service: String,
    /// How long after the traffic starts.
    pub at: Duration,
    /// How long until they answer again.
    pub length: Duration,
}

/// The denominator's traffic interval when `-kv chat:` does not set one.
pub const DEFAULT_CHAT: Duration = Duration::from_millis(10);

/// How many times a request may be passed on when `-kv hops:` does not
/// say: deeper than any architecture's tiers, shallow enough that a request
/// caught in a dependency cycle dies young.
pub const DEFAULT_HOPS: u8 = 32;

impl Config {
    /// Adds a `-kv key:value` setting.
    pub fn set_kv(&mut self, pair: &str) -> Result<(), ConfigError> {
        let (k, v) = pair
            .split_once(':')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| ConfigError::KeyValue(pair.into()))?;
        self.kv.insert(k.into(), v.into());
        self.chat()?;
        self.crash()?;
        self.outage()?;
        self.hops()?;
        // The step's time is checked against the run in `check`, once
        // every flag (-d among them) is in.
        self.profile()?;
        self.arrivals()?;
        self.work_setting(k)?;
        Ok(())
    }

    /// Checks a `-kv` setting that is a package's work default, if `key`
    /// is one (`service_time.store`, say).
    fn work_setting(&self, key: &str) -> Result<(), ConfigError> {
        let Some((what, package)) = key.split_once('.') else {
            return Ok(());
        };
        if !["service_time", "concurrency", "queue"].contains(&what) {
            return Ok(());
        }
        let problem = |problem: String| ConfigError::Work {
            key: key.into(),
            problem,
        };
        let Some(package) = Package::parse(package) else {
            let known = Package::ALL.map(Package::as_str).join(", ");
            return Err(problem(format!(
                "'{package}' is not a package (known: {known})"
            )));
        };
        let parts = self.work_defaults(package)?;
        parts.work().map(|_| ()).map_err(problem)
    }

    /// A package's default work model, each part optional (see
    /// [`crate::work`]); a service's own fields override it part by part.
    pub fn work_defaults(&self, package: Package) -> Result<Parts, ConfigError> {
        let mut parts = Parts::default();
        for key in Parts::keys(package.as_str()) {
            if let Some(v) = self.kv.get(&key) {
                let what = key.split_once('.').map_or("", |(w, _)| w);
                parts.set(what, v).map_err(|problem| ConfigError::Work {
                    key: key.clone(),
                    problem,
                })?;
            }
        }
        Ok(parts)
    }

    fn arrivals(&self) -> Result<Arrivals, ConfigError> {
        match self.kv.get("arrivals") {
            None => Ok(Arrivals::default()),
            Some(v) => Arrivals::parse(v).map_err(ConfigError::Arrivals),
        }
    }

    fn profile(&self) -> Result<Profile, ConfigError> {
        match self.kv.get("load") {
            None => Ok(Profile::default()),
            Some(v) => Profile::parse(v).map_err(ConfigError::Load),
        }
    }

    /// How the denominator paces its requests (`-kv arrivals:` and
    /// `-kv load:`, see [`crate::load`]); a step past the end of the run
    /// is refused, as it could never be seen.
    pub fn shape(&self) -> Result<Shape, ConfigError> {
        let arrivals = self.arrivals()?;
        let profile = self.profile()?;
        if let Profile::Step { at, .. } = profile {
            if at >= self.duration && !self.duration.is_zero() {
                return Err(ConfigError::Load(format!(
                    "the step at {} is past the end of the run ({})",
                    crate::time::GoDuration(at),
                    crate::time::GoDuration(self.duration)
                )));
            }
        }
        Ok(Shape {
            arrivals,
            profile,
            run: self.duration,
        })
    }

    /// The crash injector's setting (`-kv crash:SERVICE@TIME`): one
    /// instance of SERVICE is to panic in its handler TIME into the traffic.
    pub fn crash(&self) -> Result<Option<CrashAt>, ConfigError> {
        let Some(v) = self.kv.get("crash") else {
            return Ok(None);
        };
        let (service, at) = v
            .split_once('@')
            .filter(|(s, _)| !s.is_empty())
            .ok_or_else(|| ConfigError::Crash(format!("'{v}' is not SERVICE@TIME")))?;
        let at = crate::time::parse_duration(at).map_err(ConfigError::Crash)?;
        Ok(Some(CrashAt {
            service: service.into(),
            at,
        }))
    }

    /// The outage's setting (`-kv outage:SERVICE@TIME+LENGTH`): every
    /// instance of SERVICE takes requests and answers none from TIME into
    /// the traffic, for LENGTH.
    pub fn outage(&self) -> Result<Option<OutageAt>, ConfigError> {
        let Some(v) = self.kv.get("outage") else {
            return Ok(None);
        };
        let bad =
            || ConfigError::Outage(format!("'{v}' is not SERVICE@TIME+LENGTH (e.g. db@10s+5s)"));
        let (service, when) = v
            .split_once('@')
            .filter(|(s, _)| !s.is_empty())
            .ok_or_else(bad)?;
        let (at, length) = when.split_once('+').ok_or_else(bad)?;
        let time = |t: &str| crate::time::parse_duration(t).map_err(ConfigError::Outage);
        let (at, length) = (time(at)?, time(length)?);
        if length.is_zero() {
            return Err(ConfigError::Outage(
                "an outage must last longer than 0s".into(),
            ));
        }
        Ok(Some(OutageAt {
            service: service.into(),
            at,
            length,
        }))
    }

    /// How many times a request may be passed on (`hops`), default 32.
    pub fn hops(&self) -> Result<u8, ConfigError> {
        match self.kv.get("hops") {
            None => Ok(DEFAULT_HOPS),
            Some(v) => v
                .parse::<u8>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| ConfigError::Hops(v.clone())),
        }
    }

    /// The denominator's traffic interval (`chat`), default 10ms.
    pub fn chat(&self) -> Result<Duration, ConfigError> {
        match self.kv.get("chat") {
            None => Ok(DEFAULT_CHAT),
            Some(v) => match crate::time::parse_duration(v) {
                Ok(d) if !d.is_zero() => Ok(d),
                Ok(_) => Err(ConfigError::Chat("interval must be above zero".into())),
                Err(e) => Err(ConfigError::Chat(e)),
            },
        }
    }

    /// Checks the settings as a whole: `-w` within the configured regions,
    /// every region with a zone, a usable `chat` interval.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.regions_used == 0 || self.regions_used as usize > self.regions.len() {
            return Err(ConfigError::Regions {
                asked: self.regions_used,
                known: self.regions.len(),
            });
        }
        if let Some(r) = self.regions.iter().find(|r| r.zones.is_empty()) {
            return Err(ConfigError::NoZones(r.name.clone()));
        }
        self.check_regions()?;
        self.chat()?;
        self.crash()?;
        self.outage()?;
        self.hops()?;
        self.shape()?;
        Ok(())
    }

    /// Region and zone names that make distinct, parseable instance names,
    /// and zone blocks that give every instance its own address.
    fn check_regions(&self) -> Result<(), ConfigError> {
        let mut regions = std::collections::HashSet::new();
        let mut blocks: std::collections::HashMap<[u8; 2], String> = Default::default();
        for r in &self.regions {
            if let Some(problem) = name_problem(&r.name) {
                return Err(ConfigError::Name {
                    what: "region".into(),
                    name: r.name.clone(),
                    problem,
                });
            }
            if !regions.insert(r.name.as_str()) {
                return Err(ConfigError::Duplicate {
                    what: "region".into(),
                    name: r.name.clone(),
                });
            }
            let mut zones = std::collections::HashSet::new();
            for z in &r.zones {
                if let Some(problem) = name_problem(&z.name) {
                    return Err(ConfigError::Name {
                        what: format!("region '{}': zone", r.name),
                        name: z.name.clone(),
                        problem,
                    });
                }
                if !zones.insert(z.name.as_str()) {
                    return Err(ConfigError::Duplicate {
                        what: format!("region '{}': zone", r.name),
                        name: z.name.clone(),
                    });
                }
                let here = format!("{}.{}", r.name, z.name);
                if let Some(problem) = block_problem(z.block) {
                    return Err(ConfigError::Block {
                        zone: here,
                        block: z.block,
                        problem,
                    });
                }
                let [a, b, _, _] = z.block.octets();
                if let Some(first) = blocks.insert([a, b], here.clone()) {
                    return Err(ConfigError::Overlap {
                        first,
                        second: here,
                        block: z.block,
                    });
                }
            }
        }
        Ok(())
    }

    /// Region and zone names of a location, `*` for [`ANY`].
    pub fn names(&self, at: Location) -> (&str, &str) {
        let region = self.regions.get(at.region as usize);
        let zone = region.and_then(|r| r.zones.get(at.zone as usize));
        (
            region.map_or("*", |r| r.name.as_str()),
            zone.map_or("*", |z| z.name.as_str()),
        )
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |v: u8| {
            if v == ANY {
                "*".to_string()
            } else {
                v.to_string()
            }
        };
        write!(f, "{}/{}", part(self.region), part(self.zone))
    }
}

/// Durations in config files are text such as `10s` or `500ms`.
mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::time::GoDuration(*d).to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        crate::time::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_tables_that_would_garble_the_graph_are_refused() {
        let refused = |edit: &dyn Fn(&mut Config)| {
            let mut cfg = Config::default();
            edit(&mut cfg);
            cfg.check().unwrap_err().to_string()
        };
        assert_eq!(
            refused(&|c| c.regions[1].name = "us-east-1".into()),
            "region 'us-east-1' is defined twice"
        );
        assert_eq!(
            refused(&|c| c.regions[0].zones[2].name = "zoneA".into()),
            "region 'us-east-1': zone 'zoneA' is defined twice"
        );
        assert!(refused(&|c| c.regions[0].name = "us.east".into())
            .starts_with("region name 'us.east' must not contain '.'"));
        assert!(refused(&|c| c.regions[2].zones[0].name = "*".into())
            .starts_with("region 'eu-west-1': zone name '*' must not contain '*'"));
        assert_eq!(
            refused(&|c| c.regions[0].name = " ".into()),
            "region name ' ' is empty"
        );
        assert_eq!(
            refused(&|c| c.regions[1].zones[0].block = Ipv4Addr::new(54, 198, 0, 0)),
            "zones 'us-east-1.zoneA' and 'us-west-2.zoneA' both use block 54.198.0.0"
        );
        assert_eq!(
            refused(&|c| c.regions[0].zones[0].block = Ipv4Addr::new(10, 1, 2, 0)),
            "zone 'us-east-1.zoneA': block 10.1.2.0 is not the start of a /16 (such as 54.198.0.0)"
        );
        assert_eq!(
            refused(&|c| c.regions[0].zones[0].block = Ipv4Addr::new(127, 1, 0, 0)),
            "zone 'us-east-1.zoneA': block 127.1.0.0 is not a usable unicast range"
        );
        Config::default().check().unwrap();
    }

    #[test]
    fn addresses_count_up_from_the_zone_block() {
        let r = default_regions();
        assert_eq!(zone_ip(r[0].zones[0].block, 1).to_string(), "54.198.0.1");
        assert_eq!(zone_ip(r[0].zones[1].block, 256).to_string(), "54.221.1.0");
        assert_eq!(
            zone_ip(r[0].zones[0].block, 65_536).to_string(),
            "54.199.0.0"
        );
        assert_eq!(ip_metadata(zone_ip(r[0].zones[2].block, 2)), "IP/50.19.0.2");
    }

    #[test]
    fn six_regions_with_distinct_blocks() {
        let r = default_regions();
        assert_eq!(r.len(), 6);
        let mut all: Vec<Ipv4Addr> = r
            .iter()
            .flat_map(|r| r.zones.iter().map(|z| z.block))
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 18);
    }

    #[test]
    fn kv_settings_and_chat() {
        let mut c = Config::default();
        assert_eq!(c.chat().unwrap(), DEFAULT_CHAT);
        c.set_kv("chat:1ms").unwrap();
        assert_eq!(c.chat().unwrap(), Duration::from_millis(1));
        c.set_kv("colour:blue").unwrap();
        assert_eq!(c.kv["colour"], "blue");
        assert!(c.set_kv("nocolon").is_err());
        assert_eq!(c.hops().unwrap(), DEFAULT_HOPS);
        c.set_kv("hops:5").unwrap();
        assert_eq!(c.hops().unwrap(), 5);
        for bad in ["hops:0", "hops:256", "hops:x", "hops:-1"] {
            assert!(matches!(c.set_kv(bad), Err(ConfigError::Hops(_))), "{bad}");
        }
        c.kv.remove("hops");
        assert!(c.set_kv(":x").is_err());
        assert!(matches!(c.set_kv("chat:fast"), Err(ConfigError::Chat(_))));
        assert!(matches!(c.set_kv("chat:0"), Err(ConfigError::Chat(_))));
    }

    #[test]
    fn kv_crash_is_service_at_time() {
        let mut c = Config::default();
        assert_eq!(c.crash().unwrap(), None);
        c.set_kv("crash:zuul@2s").unwrap();
        let crash = c.crash().unwrap().unwrap();
        assert_eq!(
            (crash.service.as_str(), crash.at),
            ("zuul", Duration::from_secs(2))
        );
        assert!(matches!(c.set_kv("crash:zuul"), Err(ConfigError::Crash(_))));
        for bad in ["crash:@2s", "crash:zuul@soon"] {
            c.kv.clear();
            assert!(matches!(c.set_kv(bad), Err(ConfigError::Crash(_))), "{bad}");
        }
    }

    #[test]
    fn config_round_trips_through_json() {
        let mut c = Config {
            regions_used: 3,
            duration: Duration::from_millis(2500),
            ..Config::default()
        };
        c.set_kv("chat:5ms").unwrap();
        let text = serde_json::to_string_pretty(&c).unwrap();
        assert!(text.contains("\"duration\": \"2.5s\""), "{text}");
        let back: Config = serde_json::from_str(&text).unwrap();
        assert_eq!(back, c);
        let partial: Config = serde_json::from_str(r#"{"arch":"lamp"}"#).unwrap();
        assert_eq!(partial.regions.len(), 6);
        assert!(serde_json::from_str::<Config>(r#"{"nope":1}"#).is_err());
    }

    #[test]
    fn region_limit_is_checked() {
        let mut c = Config {
            regions_used: 7,
            ..Config::default()
        };
        assert_eq!(
            c.check().unwrap_err().to_string(),
            "-w/--regions: 7 regions asked, the configuration has 6 (1..=6)"
        );
        c.regions_used = 6;
        c.check().unwrap();
        assert_eq!(c.names(Location::new(2, 1)), ("eu-west-1", "zoneB"));
        assert_eq!(c.names(Location::GLOBAL), ("*", "*"));
    }
}
