//! `--cpuprofile`: a profile that standard tools read, from the coordinator
//! and from each node.

use super::*;
use pprof::protos::{Message, Profile};

/// Decodes a pprof profile and returns its samples and the function names
/// it knows.
fn decode(path: &Path) -> (usize, Vec<String>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let profile = Profile::decode(bytes.as_slice()).expect("a pprof protobuf profile");
    let names = profile
        .function
        .iter()
        .map(|f| profile.string_table[f.name as usize].clone())
        .collect();
    (profile.sample.len(), names)
}

#[test]
fn a_pprof_profile_of_100k_pirates_decodes() {
    let run = Run::ok(&[
        "-a",
        "fsm",
        "-p",
        "100000",
        "-d",
        "0",
        "--cpuprofile",
        "cpu.pb",
    ]);
    let (samples, names) = decode(&run.path("cpu.pb"));
    assert!(samples > 0, "no samples");
    assert!(
        names.iter().any(|n| n.contains("spigo")),
        "no spigo function among {} names",
        names.len()
    );
    assert!(run.stderr().contains("cpu profile: "), "{}", run.stderr());

    // What `go tool pprof` needs to call it complete: the first mapping is
    // the binary (path, build id, address range), locations point into it,
    // and no function is a bare closure or `poll` without its context.
    let bytes = std::fs::read(run.path("cpu.pb")).unwrap();
    let profile = Profile::decode(bytes.as_slice()).unwrap();
    let text = |i: i64| profile.string_table[i as usize].as_str();
    let main = profile.mapping.first().expect("a mapping");
    assert!(
        text(main.filename).ends_with("/spigo"),
        "{}",
        text(main.filename)
    );
    assert!(
        text(main.build_id).len() >= 16,
        "build id {:?}",
        text(main.build_id)
    );
    assert!(main.memory_start < main.memory_limit);
    let mapped = (profile.location.iter())
        .filter(|l| l.mapping_id == main.id)
        .inspect(|l| assert!((main.memory_start..main.memory_limit).contains(&l.address)))
        .count();
    assert!(
        mapped * 2 > profile.location.len(),
        "{mapped} of {} locations are in the binary",
        profile.location.len()
    );
    let bare: Vec<&String> = (names.iter())
        .filter(|n| n.starts_with("{closure") || n.starts_with("poll<") || *n == "poll")
        .filter(|n| !n.contains(" in "))
        .collect();
    assert!(
        bare.len() * 20 < names.len(),
        "{} of {} functions are bare: {:?}",
        bare.len(),
        names.len(),
        &bare[..bare.len().min(5)]
    );
}

#[test]
fn a_flamegraph_is_well_formed_svg() {
    let run = Run::ok(&[
        "-a",
        "fsm",
        "-p",
        "100000",
        "-d",
        "0",
        "--cpuprofile",
        "flame.svg",
    ]);
    let text = std::fs::read_to_string(run.path("flame.svg")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut root = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if root.is_none() => {
                root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned())
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
}

#[test]
fn each_node_writes_its_own_profile() {
    let run = Run::ok(&[
        "-a",
        "fsm",
        "-p",
        "20000",
        "-d",
        "1",
        "--nodes",
        "2",
        "--cpuprofile",
        "prof/cpu.pb",
    ]);
    for file in ["prof/cpu.pb", "prof/cpu.node1.pb", "prof/cpu.node2.pb"] {
        let (_, names) = decode(&run.path(file));
        assert!(!names.is_empty(), "{file} names no functions");
    }
}
