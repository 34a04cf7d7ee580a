//! The LAMP to NetflixOSS migration (`-a migration -s 0..9`), step by step
//! exactly as spigo builds it.
//!
//! Step 0 is a LAMP stack (PHP on a MySQL pair behind an ELB); each step
//! replaces a part, until step 9 is NetflixOSS in three regions. Counts
//! marked `Fixed` are not scaled by `-p`; `Scaled(n)` is `n × p / 100` per
//! region (integer division, never below one). The architecture returned
//! carries counts already scaled, so it is laid out at 100%.

use anyhow::{bail, Result};
use spigo_proto::arch::{Architecture, ServiceSpec, EUREKA};
use spigo_proto::Package;

/// The last step.
pub(crate) const LAST_STEP: u32 = 9;

/// A service's count per region.
#[derive(Clone, Copy)]
enum Count {
    /// Not scaled by `-p` (the database pair, the caches).
    Fixed(u32),
    /// Scaled by `-p`.
    Scaled(u32),
    /// One cross-zone instance per region (the ELB).
    CrossZone,
}

/// The migration's architecture at `step`, counts scaled by `population`
/// percent, and the regions it spans (`regions_flag` is `-w`).
pub(crate) fn migration(
    step: u32,
    population: u32,
    regions_flag: u8,
) -> Result<(Architecture, u8)> {
    if step > LAST_STEP {
        bail!("-s/--step: migration has steps 0 to {LAST_STEP}, not {step}");
    }
    let mut services = Vec::new();
    let mut add = |name: &str, package: Package, count: Count, deps: &[&str]| {
        let count = match count {
            Count::Fixed(n) => n,
            Count::Scaled(n) => ((u64::from(n) * u64::from(population) / 100).max(1))
                .min(u64::from(u32::MAX)) as u32,
            Count::CrossZone => 0,
        };
        let deps = deps.iter().map(|d| d.to_string()).collect();
        services.push(ServiceSpec::new(name, package, count, 1, deps));
    };
    use Count::{CrossZone, Fixed, Scaled};
    // Cassandra comes first from step 5; its ring links across regions
    // (the `eureka` dependency) from step 8.
    match step {
        5..=7 => add(
            "cassTurtle",
            Package::PriamCassandra,
            Scaled(12),
            &["cassTurtle"],
        ),
        8.. => add(
            "cassTurtle",
            Package::PriamCassandra,
            Scaled(12),
            &[EUREKA, "cassTurtle"],
        ),
        _ => {}
    }
    if step <= 5 {
        add("rds-mysql", Package::Store, Fixed(2), &["rds-mysql"]);
    }
    match step {
        0 => {}
        1 | 2 => add("memcache", Package::Store, Fixed(1), &[]),
        _ => add("evcache", Package::Store, Fixed(3), &[]),
    }
    // From step 3 a staash data layer ("turtle") fronts the stores. At step
    // 4 spigo also names cassTurtle, which does not exist yet and is
    // ignored: it is left out here.
    match step {
        0..=2 => {}
        3 | 4 => add(
            "turtle",
            Package::Staash,
            Scaled(6),
            &["rds-mysql", "evcache"],
        ),
        5 => add(
            "turtle",
            Package::Staash,
            Scaled(6),
            &["rds-mysql", "evcache", "cassTurtle"],
        ),
        _ => add(
            "turtle",
            Package::Staash,
            Scaled(6),
            &["evcache", "cassTurtle"],
        ),
    }
    match step {
        0 => add("php", Package::Monolith, Scaled(9), &["rds-mysql"]),
        1 | 2 => add(
            "php",
            Package::Monolith,
            Scaled(9),
            &["rds-mysql", "memcache"],
        ),
        // PHP becomes a karyon microservice on the data layer.
        _ => add("php", Package::Karyon, Scaled(9), &["turtle"]),
    }
    if step >= 4 {
        add("node", Package::Karyon, Scaled(9), &["turtle"]);
    }
    let front = match step {
        0 | 1 => "php",
        2 | 3 => {
            add("wwwproxy", Package::Zuul, Scaled(9), &["php"]);
            "wwwproxy"
        }
        _ => {
            add("wwwproxy", Package::Zuul, Scaled(9), &["php", "node"]);
            "wwwproxy"
        }
    };
    add("www-elb", Package::Elb, CrossZone, &[front]);
    // The global DNS: regions 0.
    services.push(ServiceSpec::new(
        "www",
        Package::Denominator,
        0,
        0,
        vec!["www-elb".into()],
    ));
    let arch = Architecture {
        arch: "migration".into(),
        description: format!("LAMP to NetflixOSS migration, step {step}"),
        version: "spigo-rs-arch-1".into(),
        // spigo runs the migration without a chaos monkey.
        victim: String::new(),
        services,
    };
    arch.validate("migration")?;
    let regions = match step {
        0..=6 => regions_flag,
        7 | 8 => 2,
        _ => 3,
    };
    Ok((arch, regions))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (service, package, count) in creation order.
    fn shape(step: u32, p: u32) -> Vec<(String, &'static str, u32)> {
        let (arch, _) = migration(step, p, 1).unwrap();
        arch.services
            .iter()
            .map(|s| (s.name.clone(), s.package.as_str(), s.count))
            .collect()
    }

    #[test]
    fn steps_create_spigos_services_in_order() {
        let names = |step| -> Vec<String> { shape(step, 100).into_iter().map(|s| s.0).collect() };
        assert_eq!(names(0), ["rds-mysql", "php", "www-elb", "www"]);
        assert_eq!(names(1), ["rds-mysql", "memcache", "php", "www-elb", "www"]);
        assert_eq!(
            names(3),
            [
                "rds-mysql",
                "evcache",
                "turtle",
                "php",
                "wwwproxy",
                "www-elb",
                "www"
            ]
        );
        assert_eq!(
            names(5),
            [
                "cassTurtle",
                "rds-mysql",
                "evcache",
                "turtle",
                "php",
                "node",
                "wwwproxy",
                "www-elb",
                "www"
            ]
        );
        assert_eq!(
            names(6),
            [
                "cassTurtle",
                "evcache",
                "turtle",
                "php",
                "node",
                "wwwproxy",
                "www-elb",
                "www"
            ]
        );
        assert_eq!(shape(3, 100)[3], ("php".into(), "karyon", 9));
        assert_eq!(shape(2, 100)[2], ("php".into(), "monolith", 9));
    }

    #[test]
    fn fixed_counts_do_not_scale() {
        let s = shape(5, 200);
        let count = |name: &str| s.iter().find(|x| x.0 == name).unwrap().2;
        assert_eq!(count("rds-mysql"), 2);
        assert_eq!(count("evcache"), 3);
        assert_eq!(count("cassTurtle"), 24);
        assert_eq!(count("turtle"), 12);
        assert_eq!(count("php"), 18);
        assert_eq!(count("www-elb"), 0, "cross-zone");
        assert_eq!(shape(1, 200)[1], ("memcache".into(), "store", 1));
        assert_eq!(shape(0, 10)[1].2, 1, "never below one instance");
    }

    #[test]
    fn regions_and_cross_region_rings() {
        assert_eq!(migration(6, 100, 3).unwrap().1, 3, "-w until step 6");
        assert_eq!(migration(7, 100, 5).unwrap().1, 2);
        assert_eq!(migration(8, 100, 1).unwrap().1, 2);
        assert_eq!(migration(9, 100, 6).unwrap().1, 3);
        let ring = |step| {
            migration(step, 100, 1)
                .unwrap()
                .0
                .service("cassTurtle")
                .unwrap()
                .cross_region()
        };
        assert!(!ring(7));
        assert!(ring(8) && ring(9));
        let (arch, _) = migration(4, 100, 1).unwrap();
        assert_eq!(
            arch.service("turtle").unwrap().dependencies,
            ["rds-mysql", "evcache"]
        );
        assert!(arch.service("evcache").unwrap().dependencies.is_empty());
        assert_eq!(arch.victim, "", "no chaos monkey");
        assert!(migration(10, 100, 1).is_err());
    }
}
