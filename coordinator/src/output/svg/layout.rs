//! Where everything goes in `<arch>.svg`: the graph's vertices grouped into
//! one box per service per zone (or region), services put in tiers by
//! their distance from the entry services, and the boxes placed in a grid
//! of columns (a region's zones side by side) and rows (tiers). Pure
//! geometry, no SVG: `graph.rs` draws what this file places.

use crate::output::graph::{Entry, Graph};
use crate::output::writers::label;
use spigo_proto::{Exit, Name};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Above this many instances the picture draws services, not instances.
pub(super) const MAX_DRAWN_INSTANCES: usize = 1500;
/// A box taller than this many instances is unreadable: collapse.
pub(super) const MAX_BOX_INSTANCES: usize = 24;

pub(super) const MARGIN: f64 = 20.0;
pub(super) const TIER_LABEL_W: f64 = 64.0;
pub(super) const BOX_W: f64 = 150.0;
const COL_PAD: f64 = 10.0;
const COL_W: f64 = BOX_W + 2.0 * COL_PAD;
const REGION_GAP: f64 = 18.0;
pub(super) const REGION_HEAD: f64 = 22.0;
pub(super) const ZONE_HEAD: f64 = 18.0;
pub(super) const BOX_HEAD: f64 = 20.0;
pub(super) const PILL_H: f64 = 16.0;
const BOX_GAP: f64 = 8.0;
const ROW_GAP: f64 = 40.0;

/// A rectangle, top-left corner and size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// The instances of one service in one zone (or one region, or globally).
#[derive(Debug)]
pub(super) struct ServiceBox {
    pub service: String,
    pub package: String,
    pub column: usize,
    pub tier: usize,
    /// Vertex indices, in the order they appeared.
    pub members: Vec<u32>,
    pub rect: Rect,
    /// Where each member is drawn (instance mode only).
    pub pills: Vec<Rect>,
}

/// A region's zone (or the region's own, zone-less services: `*`).
#[derive(Debug)]
pub(super) struct Column {
    pub region: String,
    pub zone: String,
    pub rect: Rect,
}

/// Everything placed.
#[derive(Debug)]
pub(super) struct Layout {
    pub boxes: Vec<ServiceBox>,
    /// The box of each vertex.
    pub box_of: Vec<usize>,
    pub columns: Vec<Column>,
    /// Regions in drawing order, with the rectangle around their columns.
    pub regions: Vec<(String, Rect)>,
    /// The y and height of each tier's row.
    pub rows: Vec<(f64, f64)>,
    /// One box per service and place, members counted, not drawn.
    pub collapsed: bool,
    /// Every edge the run made, between vertices, once each.
    pub edges: Vec<(u32, u32)>,
    /// How each vertex ended, where it ended other than normally.
    pub exits: HashMap<u32, Exit>,
    pub width: f64,
    pub height: f64,
}

/// Where a vertex is: region, zone, service.
fn place_of(name: &str, package: &str) -> (String, String, String) {
    match Name::from_graph_name(name, package) {
        Ok(n) => (n.region, n.zone, n.service),
        // spigo's names always parse; anything else is drawn apart.
        Err(_) => ("?".into(), "?".into(), label(name).to_string()),
    }
}

/// Every distinct edge the run made, and the unusual ends.
fn edges_and_exits(graph: &Graph) -> (Vec<(u32, u32)>, HashMap<u32, Exit>) {
    let mut seen = BTreeSet::new();
    let mut exits = HashMap::new();
    for (_, e) in &graph.entries {
        match *e {
            Entry::Edge { source, target, .. } if source != target => {
                seen.insert((source, target));
            }
            Entry::Done { vertex, exit } if exit != Exit::Normal => {
                exits.insert(vertex, exit);
            }
            _ => {}
        }
    }
    (seen.into_iter().collect(), exits)
}

/// The tier of each service: its distance along edges from the entry
/// services (those of the denominator package, else those nothing calls).
/// Services the entry never reaches go one tier below the deepest.
pub(super) fn tiers(services: &[(String, String)], calls: &BTreeSet<(usize, usize)>) -> Vec<usize> {
    let n = services.len();
    let mut roots: Vec<usize> = (0..n).filter(|&i| services[i].1 == "denominator").collect();
    if roots.is_empty() {
        let called: BTreeSet<usize> = calls.iter().map(|&(_, t)| t).collect();
        roots = (0..n).filter(|i| !called.contains(i)).collect();
    }
    if roots.is_empty() && n > 0 {
        roots.push(0);
    }
    let mut tier = vec![usize::MAX; n];
    let mut queue = VecDeque::new();
    for &r in &roots {
        tier[r] = 0;
        queue.push_back(r);
    }
    while let Some(s) = queue.pop_front() {
        for &(_, t) in calls.range((s, 0)..=(s, usize::MAX)) {
            if tier[t] == usize::MAX {
                tier[t] = tier[s] + 1;
                queue.push_back(t);
            }
        }
    }
    let deepest = tier.iter().filter(|&&t| t != usize::MAX).max().copied();
    let below = deepest.map_or(0, |d| d + 1);
    tier.iter()
        .map(|&t| if t == usize::MAX { below } else { t })
        .collect()
}

/// Whether instances would be unreadable: too many, or a box too tall.
pub(super) fn must_collapse(instances: usize, largest_box: usize) -> bool {
    instances > MAX_DRAWN_INSTANCES || largest_box > MAX_BOX_INSTANCES
}

/// Places the graph below a header `top` high.
pub(super) fn lay_out(graph: &Graph, top: f64) -> Layout {
    let (edges, exits) = edges_and_exits(graph);
    // Services by name (a service spans regions and zones), and boxes by
    // (region, zone, service).
    let mut service_ids: HashMap<String, usize> = HashMap::new();
    let mut services: Vec<(String, String)> = Vec::new();
    let mut box_ids: HashMap<(String, String, usize), usize> = HashMap::new();
    let mut boxes: Vec<(String, String, usize, Vec<u32>)> = Vec::new();
    let mut box_of = Vec::with_capacity(graph.vertices.len());
    for (i, v) in graph.vertices.iter().enumerate() {
        let (region, zone, service) = place_of(&v.name, &v.package);
        let s = *service_ids.entry(service.clone()).or_insert_with(|| {
            services.push((service, v.package.clone()));
            services.len() - 1
        });
        let key = (region.clone(), zone.clone(), s);
        let b = *box_ids.entry(key).or_insert_with(|| {
            boxes.push((region, zone, s, Vec::new()));
            boxes.len() - 1
        });
        boxes[b].3.push(i as u32);
        box_of.push(b);
    }
    let service_of_vertex = |v: u32| boxes[box_of[v as usize]].2;
    let calls: BTreeSet<(usize, usize)> = edges
        .iter()
        .map(|&(s, t)| (service_of_vertex(s), service_of_vertex(t)))
        .filter(|(s, t)| s != t)
        .collect();
    let tier_of = tiers(&services, &calls);
    let largest = boxes.iter().map(|b| b.3.len()).max().unwrap_or(0);
    let collapsed = must_collapse(graph.vertices.len(), largest);

    // Columns: regions in order of appearance with the global one (`*`)
    // first; in each, the region's own services (`*`) then its zones.
    let mut regions: Vec<String> = Vec::new();
    let mut zones: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (region, zone, _, _) in &boxes {
        if !regions.contains(region) {
            regions.push(region.clone());
        }
        zones
            .entry(region.clone())
            .or_default()
            .insert(zone.clone());
    }
    // Names, not arrival order (shards race): the same run, the same picture.
    regions.sort_by(|a, b| (a != "*", a).cmp(&(b != "*", b)));
    let mut columns: Vec<Column> = Vec::new();
    for r in &regions {
        // BTreeSet order puts `*` before letters and digits.
        for z in &zones[r] {
            columns.push(Column {
                region: r.clone(),
                zone: z.clone(),
                rect: Rect::default(),
            });
        }
    }
    let column_of: HashMap<(&str, &str), usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.region.as_str(), c.zone.as_str()), i))
        .collect();

    let mut placed: Vec<ServiceBox> = boxes
        .iter()
        .map(|(region, zone, s, members)| ServiceBox {
            service: services[*s].0.clone(),
            package: services[*s].1.clone(),
            column: column_of[&(region.as_str(), zone.as_str())],
            tier: tier_of[*s],
            members: members.clone(),
            rect: Rect::default(),
            pills: Vec::new(),
        })
        .collect();
    placed.sort_by(|a, b| (a.column, a.tier, &a.service).cmp(&(b.column, b.tier, &b.service)));
    // Sorting moved the boxes: point the vertices at their new places.
    for (i, b) in placed.iter().enumerate() {
        for &m in &b.members {
            box_of[m as usize] = i;
        }
    }
    let box_h = |b: &ServiceBox| match collapsed {
        true => BOX_HEAD + 8.0,
        false => BOX_HEAD + b.members.len() as f64 * PILL_H + 6.0,
    };

    // Rows: each as tall as its fullest cell.
    let tier_count = tier_of.iter().max().map_or(0, |t| t + 1);
    let mut cell_h: HashMap<(usize, usize), f64> = HashMap::new();
    for b in &placed {
        *cell_h.entry((b.column, b.tier)).or_default() += box_h(b) + BOX_GAP;
    }
    let body_top = top + REGION_HEAD + ZONE_HEAD + 8.0;
    let mut rows = Vec::with_capacity(tier_count);
    let mut y = body_top;
    for t in 0..tier_count {
        let h = (0..columns.len())
            .filter_map(|c| cell_h.get(&(c, t)))
            .fold(30.0_f64, |a, &b| a.max(b));
        rows.push((y, h));
        y += h + ROW_GAP;
    }
    let body_bottom = y - ROW_GAP + 8.0;

    // Columns left to right, a gap between regions.
    let mut x = MARGIN + TIER_LABEL_W;
    let mut region_rects: Vec<(String, Rect)> = Vec::new();
    for i in 0..columns.len() {
        if i > 0 && columns[i].region != columns[i - 1].region {
            x += REGION_GAP;
        }
        let c = &mut columns[i];
        c.rect = Rect {
            x,
            y: top + REGION_HEAD,
            w: COL_W,
            h: body_bottom - top - REGION_HEAD,
        };
        x += COL_W;
        match region_rects.last_mut() {
            Some((r, rect)) if *r == c.region => rect.w = x - rect.x,
            _ => region_rects.push((
                c.region.clone(),
                Rect {
                    x: c.rect.x,
                    y: top,
                    w: COL_W,
                    h: body_bottom - top + 6.0,
                },
            )),
        }
    }
    let width = (x + MARGIN).max(720.0);
    let height = body_bottom + 6.0 + MARGIN;

    // Boxes stacked in their cells, pills stacked in their boxes.
    let mut filled: HashMap<(usize, usize), f64> = HashMap::new();
    for b in &mut placed {
        let used = filled.entry((b.column, b.tier)).or_default();
        let col = &columns[b.column].rect;
        let h = box_h(b);
        b.rect = Rect {
            x: col.x + COL_PAD,
            y: rows[b.tier].0 + *used,
            w: BOX_W,
            h,
        };
        *used += h + BOX_GAP;
        if !collapsed {
            b.pills = (0..b.members.len())
                .map(|i| Rect {
                    x: b.rect.x + 6.0,
                    y: b.rect.y + BOX_HEAD + i as f64 * PILL_H,
                    w: BOX_W - 12.0,
                    h: PILL_H - 2.0,
                })
                .collect();
        }
    }
    Layout {
        boxes: placed,
        box_of,
        columns,
        regions: region_rects,
        rows,
        collapsed,
        edges,
        exits,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::graph::Vertex;
    use spigo_proto::Timestamp;

    fn graph(vertices: &[(&str, &str)], edges: &[(u32, u32)]) -> Graph {
        let mut g = Graph::new(false);
        for (i, (name, package)) in vertices.iter().enumerate() {
            g.vertices.push(Vertex {
                name: name.to_string(),
                package: package.to_string(),
                metadata: String::new(),
            });
            g.entries
                .push((Timestamp(i as u64), Entry::Node { vertex: i as u32 }));
        }
        for (id, &(source, target)) in edges.iter().enumerate() {
            let id = id as u32 + 1;
            g.entries
                .push((Timestamp(100), Entry::Edge { id, source, target }));
        }
        g
    }

    #[test]
    fn tiers_count_hops_from_the_entry() {
        let s = |n: &str, p: &str| (n.to_string(), p.to_string());
        let services = [
            s("db", "store"),
            s("www", "denominator"),
            s("elb", "elb"),
            s("app", "karyon"),
            s("lonely", "karyon"),
        ];
        let calls = BTreeSet::from([(1, 2), (2, 3), (3, 0), (0, 3)]);
        assert_eq!(tiers(&services, &calls), [3, 0, 1, 2, 4]);
        // Without a denominator, whatever nothing calls is the entry.
        let services = [s("a", "karyon"), s("b", "karyon"), s("c", "karyon")];
        assert_eq!(
            tiers(&services, &BTreeSet::from([(1, 0), (0, 2)])),
            [1, 0, 2]
        );
        // A pure cycle still gets tiers, from the first service.
        assert_eq!(
            tiers(&services, &BTreeSet::from([(0, 1), (1, 2), (2, 0)])),
            [0, 1, 2]
        );
    }

    #[test]
    fn collapse_when_instances_would_be_unreadable() {
        assert!(!must_collapse(MAX_DRAWN_INSTANCES, MAX_BOX_INSTANCES));
        assert!(must_collapse(MAX_DRAWN_INSTANCES + 1, 1));
        assert!(must_collapse(10, MAX_BOX_INSTANCES + 1));
        assert!(must_collapse(10_000, 1));
    }

    #[test]
    fn zones_are_columns_and_tiers_are_rows() {
        let g = graph(
            &[
                ("n.*.*.www00", "denominator"),
                ("n.r1.*.elb00", "elb"),
                ("n.r1.zoneA.app00", "karyon"),
                ("n.r1.zoneB.app01", "karyon"),
                ("n.r2.zoneA.app02", "karyon"),
            ],
            &[(0, 1), (1, 2), (1, 3), (1, 4)],
        );
        let l = lay_out(&g, 50.0);
        assert!(!l.collapsed);
        let cols: Vec<(&str, &str)> = l
            .columns
            .iter()
            .map(|c| (c.region.as_str(), c.zone.as_str()))
            .collect();
        assert_eq!(
            cols,
            [
                ("*", "*"),
                ("r1", "*"),
                ("r1", "zoneA"),
                ("r1", "zoneB"),
                ("r2", "zoneA")
            ]
        );
        let regions: Vec<&str> = l.regions.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(regions, ["*", "r1", "r2"]);
        let by_vertex = |v: usize| &l.boxes[l.box_of[v]];
        assert_eq!(by_vertex(0).tier, 0);
        assert_eq!(by_vertex(1).tier, 1);
        assert_eq!((by_vertex(2).tier, by_vertex(4).tier), (2, 2));
        // The same service in two zones: two boxes, side by side in one row.
        assert_eq!(by_vertex(2).rect.y, by_vertex(3).rect.y);
        assert!(by_vertex(2).rect.x < by_vertex(3).rect.x);
        assert!(by_vertex(1).rect.y + by_vertex(1).rect.h < by_vertex(2).rect.y);
        // Regions do not overlap; every box is inside the picture.
        assert!(l.regions[1].1.x + l.regions[1].1.w < l.regions[2].1.x);
        for b in &l.boxes {
            assert!(b.rect.x + b.rect.w <= l.width && b.rect.y + b.rect.h <= l.height);
            assert_eq!(b.pills.len(), b.members.len());
        }
        assert_eq!(l.edges.len(), 4);
    }

    #[test]
    fn a_crowded_box_collapses_the_picture() {
        let names: Vec<String> = (0..=MAX_BOX_INSTANCES)
            .map(|i| format!("n.r.zoneA.app{i:02}"))
            .collect();
        let vertices: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "karyon")).collect();
        let l = lay_out(&graph(&vertices, &[]), 0.0);
        assert!(l.collapsed);
        assert_eq!(l.boxes.len(), 1);
        assert_eq!(l.boxes[0].members.len(), MAX_BOX_INSTANCES + 1);
        assert!(l.boxes[0].pills.is_empty());
    }
}
