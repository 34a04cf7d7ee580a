//! `--svg`: both pictures are written, are well-formed XML, and draw the
//! run (its services, its faults), for services and for pirates alike.

use super::*;

/// Every text of an SVG file, checking that it is well-formed XML.
fn svg_texts(path: &Path) -> String {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut root = None;
    let mut texts = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if root.is_none() => {
                root = Some(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
            }
            Event::Text(t) => {
                texts.push_str(&t.decode().unwrap());
                texts.push(' ');
            }
            Event::GeneralRef(r) => {
                texts.push_str(&format!("&{};", String::from_utf8_lossy(&r)));
            }
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"), "{}", path.display());
    texts
}

#[test]
fn netflixoss_pictures_show_its_services_and_the_chaos_monkey() {
    let args: Vec<&str> = "-a netflixoss -w 3 -d 3 --svg --seed 3 --http none"
        .split(' ')
        .collect();
    let run = Run::ok(&args);
    for f in ["svg/netflixoss.svg", "svg/netflixoss_timeline.svg"] {
        assert!(
            run.stderr().contains(&format!("wrote ./{f}")),
            "{}",
            run.stderr()
        );
    }
    let graph = svg_texts(&run.path("svg/netflixoss.svg"));
    for service in [
        "www",
        "www-elb",
        "wwwproxy",
        "homepage",
        "login",
        "cassSubscriber",
    ] {
        assert!(
            graph.contains(&format!("{service} ×")),
            "no {service} in {graph}"
        );
    }
    for region in [
        "us-east-1",
        "us-west-2",
        "eu-west-1",
        "zoneA",
        "tier 0",
        "denominator ×1",
    ] {
        assert!(graph.contains(region), "no {region}");
    }
    // The chaos monkey's victim is in the summary and on both pictures.
    let victim = run.summary("chaos monkey");
    let timeline = svg_texts(&run.path("svg/netflixoss_timeline.svg"));
    let short = victim.rsplit('.').next().unwrap();
    assert!(
        timeline.contains(&format!("chaos monkey: {short}")),
        "{victim}: {timeline}"
    );
    assert!(graph.contains("(1 gone)"), "{victim}");
    for chart in ["requests per second", "response time", "errors per second"] {
        assert!(timeline.contains(chart), "no {chart}");
    }
}

#[test]
fn pirates_are_drawn_and_zero_seconds_says_so() {
    let run = Run::ok(&["-a", "fsm", "-p", "40", "-d", "2", "--svg"]);
    let graph = svg_texts(&run.path("svg/fsm.svg"));
    assert!(graph.contains("fsm: 40 pirates"), "{graph}");
    let timeline = svg_texts(&run.path("svg/fsm_timeline.svg"));
    assert!(
        timeline.contains("messages delivered per second"),
        "{timeline}"
    );
    let run = Run::ok(&["-a", "fsm", "-p", "40", "-d", "0", "--svg"]);
    let timeline = svg_texts(&run.path("svg/fsm_timeline.svg"));
    assert!(timeline.contains("no simulated time"), "{timeline}");
    assert!(svg_texts(&run.path("svg/fsm.svg")).contains("40 pirates"));
}

#[test]
fn an_unwritable_svg_folder_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the folder should be.
    std::fs::write(dir.path().join("svg"), "not a folder").unwrap();
    let run = Run::new_in(dir, &["-a", "fsm", "-p", "10", "-d", "0", "--svg"]);
    assert_refused(&run.out, "--svg: cannot");
}
