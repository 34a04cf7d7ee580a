//! `<arch>.svg`: the run's graph drawn as an architect draws it. Regions
//! are boxes with their zones as columns inside, services sit in tiers
//! from the entry point down (placed by `layout.rs`), every box is
//! coloured by package with a legend, and each box says how many
//! instances it holds. Small runs show every instance and every edge
//! between instances; large ones collapse to one box per service per zone
//! with counts on the edges between them. Pirates, which have neither
//! tiers nor zones worth drawing, are one box of pirates.

use super::layout::{self, Layout, Rect, MARGIN};
use super::{colour_of, escape};
use crate::output::graph::{Entry, Graph};
use crate::output::writers::label;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Above this many pirates, they are counted, not drawn.
const MAX_DRAWN_PIRATES: usize = 400;
/// Characters that fit on an instance's pill.
const PILL_CHARS: usize = 24;

/// The whole picture as SVG text.
pub(crate) fn draw(graph: &Graph, arch: &str) -> String {
    let mut packages: Vec<(String, usize)> = Vec::new();
    for v in &graph.vertices {
        match packages.iter_mut().find(|(p, _)| *p == v.package) {
            Some((_, n)) => *n += 1,
            None => packages.push((v.package.clone(), 1)),
        }
    }
    if graph.vertices.is_empty() {
        let mut svg = open(720.0, 120.0);
        title(&mut svg, &format!("{arch}: the graph has no instances"), "");
        svg.push_str("</svg>\n");
        return svg;
    }
    if packages.iter().all(|(p, _)| p == "pirate") {
        return pirates(graph, arch);
    }
    // The legend's rows depend on the width, which the layout decides.
    let first = layout::lay_out(graph, header_height(1));
    let rows = legend_rows(&packages, first.width);
    let l = match rows {
        1 => first,
        n => layout::lay_out(graph, header_height(n)),
    };
    let mut svg = open(l.width, l.height);
    let services: std::collections::BTreeSet<&str> =
        l.boxes.iter().map(|b| b.service.as_str()).collect();
    let regions = l.regions.iter().filter(|(r, _)| r != "*").count();
    title(
        &mut svg,
        &format!(
            "{arch}: {} instances of {} services in {} region{}, {} edges",
            graph.vertices.len(),
            services.len(),
            regions,
            if regions == 1 { "" } else { "s" },
            l.edges.len()
        ),
        &match l.collapsed {
            true => "one box per service per zone (×instances); edges between services with the number of instance edges; tiers from the entry services down".to_string(),
            false => "every instance and every edge the run made; tiers from the entry services down".to_string(),
        },
    );
    legend(&mut svg, &packages, l.width);
    frames(&mut svg, &l);
    match l.collapsed {
        true => service_edges(&mut svg, &l),
        false => instance_edges(&mut svg, &l),
    }
    boxes(&mut svg, graph, &l);
    svg.push_str("</svg>\n");
    svg
}

fn header_height(legend_rows: usize) -> f64 {
    MARGIN + 46.0 + legend_rows as f64 * 18.0 + 10.0
}

fn open(w: f64, h: f64) -> String {
    let mut svg = String::with_capacity(1 << 16);
    let _ = write!(
        svg,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" \
         viewBox=\"0 0 {w:.0} {h:.0}\" font-family=\"Helvetica, Arial, sans-serif\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
         markerUnits=\"userSpaceOnUse\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#666\"/></marker></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    svg
}

fn title(svg: &mut String, line: &str, under: &str) {
    let _ = writeln!(
        svg,
        "<text x=\"{MARGIN}\" y=\"{:.0}\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        MARGIN + 14.0,
        escape(line)
    );
    let _ = writeln!(
        svg,
        "<text x=\"{MARGIN}\" y=\"{:.0}\" font-size=\"11\" fill=\"#555\">{}</text>",
        MARGIN + 32.0,
        escape(under)
    );
}

fn legend_item_width(package: &str, count: usize) -> f64 {
    30.0 + 6.5 * (package.len() + count.to_string().len() + 3) as f64
}

/// How many rows the legend takes at this width.
fn legend_rows(packages: &[(String, usize)], width: f64) -> usize {
    let mut rows = 1;
    let mut x = MARGIN;
    for (p, n) in packages {
        let w = legend_item_width(p, *n);
        if x + w > width - MARGIN && x > MARGIN {
            rows += 1;
            x = MARGIN;
        }
        x += w;
    }
    rows
}

/// Package -> colour, with the number of instances of each.
fn legend(svg: &mut String, packages: &[(String, usize)], width: f64) {
    let mut x = MARGIN;
    let mut y = MARGIN + 46.0;
    for (p, n) in packages {
        let w = legend_item_width(p, *n);
        if x + w > width - MARGIN && x > MARGIN {
            x = MARGIN;
            y += 18.0;
        }
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"11\">{} ×{n}</text>",
            y - 10.0,
            colour_of(p),
            x + 17.0,
            escape(p)
        );
        x += w;
    }
}

/// Region boxes, zone columns, tier labels.
fn frames(svg: &mut String, l: &Layout) {
    for (region, r) in &l.regions {
        let name = match region.as_str() {
            "*" => "global",
            r => r,
        };
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"6\" fill=\"#f6f7f9\" stroke=\"#8a8f98\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\" fill=\"#333\">{}</text>",
            r.x, r.y, r.w, r.h, r.x + 8.0, r.y + 15.0, escape(name)
        );
    }
    for c in &l.columns {
        let r = c.rect;
        if c.zone == "*" {
            if c.region != "*" {
                let _ = writeln!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" font-style=\"italic\" fill=\"#777\">regional</text>",
                    r.x + 10.0,
                    r.y + 12.0
                );
            }
            continue;
        }
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"4\" fill=\"white\" stroke=\"#b4b9c2\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#555\">{}</text>",
            r.x + 3.0, r.y, r.w - 6.0, r.h, r.x + 10.0, r.y + 12.0, escape(&c.zone)
        );
    }
    for (t, (y, h)) in l.rows.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text x=\"{MARGIN}\" y=\"{:.1}\" font-size=\"11\" fill=\"#777\">tier {t}</text>",
            y + h / 2.0
        );
    }
}

/// Every edge between instances, from the caller's pill to the callee's;
/// edges within a row (replication between regions) dip below it rather
/// than cross the boxes in between.
fn instance_edges(svg: &mut String, l: &Layout) {
    let pill = |v: u32| {
        let b = &l.boxes[l.box_of[v as usize]];
        let i = b
            .members
            .iter()
            .position(|&m| m == v)
            .expect("member of its box");
        (b.pills[i], b.tier)
    };
    svg.push_str("<g stroke=\"#555\" stroke-opacity=\"0.35\" stroke-width=\"0.8\">\n");
    for &(s, t) in &l.edges {
        let ((a, ta), (b, tb)) = (pill(s), pill(t));
        let from = (a.x + a.w, a.y + a.h / 2.0);
        let to = (b.x, b.y + b.h / 2.0);
        match ta == tb && (a.x - b.x).abs() > a.w {
            true => {
                let (y, h) = l.rows[ta];
                let below = y + h + 10.0;
                path(
                    svg,
                    from,
                    (from.0 + 30.0, below),
                    (to.0 - 30.0, below),
                    to,
                    "",
                );
            }
            false => path(
                svg,
                from,
                (from.0 + 50.0, from.1),
                (to.0 - 50.0, to.1),
                to,
                "",
            ),
        }
    }
    svg.push_str("</g>\n");
}

/// A cubic curve from `a` to `d` through the controls `b` and `c`.
fn path(svg: &mut String, a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64), style: &str) {
    let _ = writeln!(
        svg,
        "<path d=\"M{:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\" fill=\"none\" {style} marker-end=\"url(#arrow)\"/>",
        a.0, a.1, b.0, b.1, c.0, c.1, d.0, d.1
    );
}

/// The point `t` of the way along that curve.
fn along(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64), t: f64) -> (f64, f64) {
    let u = 1.0 - t;
    let w = [u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t];
    (
        w[0] * a.0 + w[1] * b.0 + w[2] * c.0 + w[3] * d.0,
        w[0] * a.1 + w[1] * b.1 + w[2] * c.1 + w[3] * d.1,
    )
}

/// One edge per pair of boxes, labelled with how many instance edges it
/// stands for (near its end, where the labels of one box's callers
/// spread apart); edges within a row go below it.
fn service_edges(svg: &mut String, l: &Layout) {
    let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for &(s, t) in &l.edges {
        let pair = (l.box_of[s as usize], l.box_of[t as usize]);
        if pair.0 != pair.1 {
            *pairs.entry(pair).or_default() += 1;
        }
    }
    svg.push_str("<g stroke=\"#555\" stroke-opacity=\"0.45\">\n");
    let mut labels = String::new();
    for (&(s, t), &n) in &pairs {
        let (a, b) = (&l.boxes[s], &l.boxes[t]);
        let from = (a.rect.x + a.rect.w / 2.0, a.rect.y + a.rect.h);
        let (to, c1, c2) = match a.tier == b.tier {
            true => {
                let to = (b.rect.x + b.rect.w / 2.0 + 12.0, b.rect.y + b.rect.h);
                let (y, h) = l.rows[a.tier];
                let below = y + h + 24.0;
                (to, (from.0, below), (to.0, below))
            }
            false => {
                let to = (b.rect.x + b.rect.w / 2.0, b.rect.y);
                (to, (from.0, from.1 + 40.0), (to.0, to.1 - 40.0))
            }
        };
        let width = format!(
            "stroke-width=\"{:.1}\"",
            (0.8 + (n as f64).log10() * 0.4).min(2.5)
        );
        path(svg, from, c1, c2, to, &width);
        let (mx, my) = along(from, c1, c2, to, 0.75);
        let _ = writeln!(
            labels,
            "<text x=\"{mx:.1}\" y=\"{my:.1}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#333\" \
             stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">{n}</text>"
        );
    }
    svg.push_str("</g>\n");
    svg.push_str(&labels);
}

fn short(text: &str, chars: usize) -> String {
    match text.chars().count() > chars {
        true => text.chars().take(chars - 1).chain(['…']).collect(),
        false => text.to_string(),
    }
}

/// Service boxes, with their instances unless collapsed: opaque, so the
/// edges passing behind a box to the one below it do not cross its text.
fn boxes(svg: &mut String, graph: &Graph, l: &Layout) {
    for b in &l.boxes {
        let Rect { x, y, w, h } = b.rect;
        let colour = colour_of(&b.package);
        let gone = b.members.iter().filter(|m| l.exits.contains_key(m)).count();
        let mut head = format!("{} ×{}", b.service, b.members.len());
        if gone > 0 {
            let _ = write!(head, " ({gone} gone)");
        }
        let _ = writeln!(
            svg,
            "<g><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"4\" fill=\"white\"/>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"4\" \
             fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"{colour}\" stroke-width=\"1.5\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" font-weight=\"bold\" fill=\"#222\">{}</text></g>",
            escape(&format!("{} ({}): {} instances", b.service, b.package, b.members.len())),
            x + 6.0,
            y + 14.0,
            escape(&short(&head, PILL_CHARS))
        );
        for (&m, p) in b.members.iter().zip(&b.pills) {
            let v = &graph.vertices[m as usize];
            let (stroke, mark) = match l.exits.get(&m) {
                Some(e) => (
                    " stroke=\"#c00\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"".to_string(),
                    format!(" ✕ {}", e.as_str()),
                ),
                None => (String::new(), String::new()),
            };
            let _ = writeln!(
                svg,
                "<g><title>{}{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" \
                 fill=\"{colour}\" fill-opacity=\"0.85\"{stroke}/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9.5\" fill=\"white\">{}</text></g>",
                escape(&v.name),
                escape(&mark),
                p.x,
                p.y,
                p.w,
                p.h,
                p.x + 4.0,
                p.y + p.h - 4.0,
                escape(&short(&format!("{}{mark}", label(&v.name)), PILL_CHARS))
            );
        }
    }
}

/// Pirates: one box, each pirate a pill in a grid with lines to its
/// buddies, or (too many to read) the box with its counts.
fn pirates(graph: &Graph, arch: &str) -> String {
    let n = graph.vertices.len();
    let mut seen = std::collections::BTreeSet::new();
    let mut gone: HashMap<u32, &str> = HashMap::new();
    for (_, e) in &graph.entries {
        match *e {
            Entry::Edge { source, target, .. } if source != target => {
                seen.insert((source.min(target), source.max(target)));
            }
            Entry::Done { vertex, exit } if exit != spigo_proto::Exit::Normal => {
                gone.insert(vertex, exit.as_str());
            }
            _ => {}
        }
    }
    let drawn = n <= MAX_DRAWN_PIRATES;
    let cols = ((n as f64 * 1.5).sqrt().ceil() as usize).clamp(1, 24);
    let (cell_w, cell_h) = (96.0, 22.0);
    let top = header_height(1);
    let inner = match drawn {
        true => Rect {
            x: MARGIN,
            y: top,
            w: cols as f64 * cell_w + 20.0,
            h: n.div_ceil(cols) as f64 * cell_h + 40.0,
        },
        false => Rect {
            x: MARGIN,
            y: top,
            w: 420.0,
            h: 90.0,
        },
    };
    let width = (inner.w + 2.0 * MARGIN).max(720.0);
    let mut svg = open(width, inner.y + inner.h + MARGIN);
    title(
        &mut svg,
        &format!("{arch}: {n} pirates, {} buddy edges", seen.len()),
        match drawn {
            true => "every pirate and the buddies it was introduced to",
            false => "too many pirates to draw one by one: counted",
        },
    );
    legend(&mut svg, &[("pirate".to_string(), n)], width);
    let colour = colour_of("pirate");
    let _ = writeln!(
        svg,
        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"6\" fill=\"{colour}\" fill-opacity=\"0.08\" stroke=\"{colour}\" stroke-width=\"1.5\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\">pirate ×{n}</text>",
        inner.x, inner.y, inner.w, inner.h, inner.x + 10.0, inner.y + 18.0
    );
    if !drawn {
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{} buddy edges, {} ended early</text>",
            inner.x + 10.0,
            inner.y + 48.0,
            seen.len(),
            gone.len()
        );
        svg.push_str("</svg>\n");
        return svg;
    }
    let at = |i: usize| {
        (
            inner.x + 10.0 + (i % cols) as f64 * cell_w,
            inner.y + 30.0 + (i / cols) as f64 * cell_h,
        )
    };
    svg.push_str("<g stroke=\"#555\" stroke-opacity=\"0.25\" stroke-width=\"0.8\">\n");
    for &(a, b) in &seen {
        let ((ax, ay), (bx, by)) = (at(a as usize), at(b as usize));
        let _ = writeln!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
            ax + cell_w / 2.0 - 3.0,
            ay + 8.0,
            bx + cell_w / 2.0 - 3.0,
            by + 8.0
        );
    }
    svg.push_str("</g>\n");
    for (i, v) in graph.vertices.iter().enumerate() {
        let (x, y) = at(i);
        let stroke = match gone.get(&(i as u32)) {
            Some(_) => " stroke=\"#c00\" stroke-dasharray=\"3 2\"",
            None => "",
        };
        let _ = writeln!(
            svg,
            "<g><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"16\" rx=\"3\" fill=\"{colour}\" fill-opacity=\"0.85\"{stroke}/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9.5\" fill=\"white\">{}</text></g>",
            escape(&v.name),
            cell_w - 6.0,
            x + 4.0,
            y + 12.0,
            escape(&short(label(&v.name), 15))
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::graph::Vertex;
    use spigo_proto::Timestamp;

    fn graph(vertices: &[(String, &str)], edges: &[(u32, u32)]) -> Graph {
        let mut g = Graph::new(false);
        for (name, package) in vertices {
            g.vertices.push(Vertex {
                name: name.clone(),
                package: package.to_string(),
                metadata: String::new(),
            });
        }
        for (id, &(source, target)) in edges.iter().enumerate() {
            let id = id as u32 + 1;
            g.entries
                .push((Timestamp(1), Entry::Edge { id, source, target }));
        }
        g
    }

    fn parses(svg: &str) -> usize {
        let mut reader = quick_xml::Reader::from_str(svg);
        let mut elements = 0;
        loop {
            match reader.read_event().expect("well-formed SVG") {
                quick_xml::events::Event::Eof => return elements,
                quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_) => {
                    elements += 1
                }
                _ => {}
            }
        }
    }

    #[test]
    fn names_are_escaped_and_counts_shown() {
        let g = graph(
            &[
                ("a.*.*.www00".into(), "denominator"),
                ("a.r.zoneA.<b&c>00".into(), "karyon"),
                ("a.r.zoneA.<b&c>01".into(), "karyon"),
            ],
            &[(0, 1), (0, 2)],
        );
        let svg = draw(&g, "a&b");
        parses(&svg);
        assert!(svg.contains("a&amp;b: 3 instances of 2 services in 1 region, 2 edges"));
        assert!(svg.contains("&lt;b&amp;c&gt; ×2"), "{svg}");
        assert!(svg.contains("#2ca02c"), "karyon's colour");
        assert!(!svg.contains("<b&c>"));
    }

    #[test]
    fn large_runs_draw_services_with_edge_counts() {
        let mut v = vec![("a.*.*.www00".to_string(), "denominator")];
        for i in 0..30 {
            v.push((format!("a.r.zoneA.app{i:02}"), "karyon"));
        }
        let edges: Vec<(u32, u32)> = (1..=30).map(|t| (0, t)).collect();
        let svg = draw(&graph(&v, &edges), "a");
        parses(&svg);
        assert!(svg.contains("app ×30"));
        assert!(svg.contains(">30</text>"), "the edge says it stands for 30");
        assert!(!svg.contains("app07"), "instances are not drawn");
    }

    #[test]
    fn pirates_are_a_box_of_pirates() {
        let v: Vec<(String, &str)> = (0..12)
            .map(|i| (format!("fsm.atlantic.bermuda.jack{i:02}"), "pirate"))
            .collect();
        let svg = draw(&graph(&v, &[(0, 1), (1, 0), (2, 3)]), "fsm");
        assert!(parses(&svg) > 12);
        assert!(svg.contains("fsm: 12 pirates, 2 buddy edges"));
        assert!(svg.contains("jack11"));
        let many: Vec<(String, &str)> = (0..MAX_DRAWN_PIRATES + 1)
            .map(|i| (format!("fsm.a.b.p{i:04}"), "pirate"))
            .collect();
        let svg = draw(&graph(&many, &[]), "fsm");
        parses(&svg);
        assert!(svg.contains("pirate ×401") && !svg.contains("p0007"));
        let empty = draw(&Graph::new(false), "fsm");
        assert!(parses(&empty) > 0 && empty.contains("no instances"));
    }
}
