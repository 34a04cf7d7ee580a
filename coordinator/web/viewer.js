// spigo graph viewer: draws one GraphJSON graph (or the live run) as a
// force-directed picture, in SVG elements while the graph is small and on a
// canvas once it is big (see CANVAS_EDGES). Plain browser JavaScript, no
// dependencies, no build step; served next to index.html by `spigo serve` /
// `spigo --live`.
'use strict';

(() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------------------------------------------------------------- colours

  // One fixed colour per spigo package so the same service type looks the
  // same in every graph; packages not listed get a stable hashed hue.
  const PALETTE = {
    pirate: '#e6550d',
    denominator: '#1f77b4',
    elb: '#17becf',
    zuul: '#9467bd',
    karyon: '#2ca02c',
    monolith: '#8c564b',
    staash: '#ff9f1c',
    priamCassandra: '#d62728',
    store: '#e377c2',
    cache: '#bcbd22',
    volume: '#3949ab',
    riak: '#c49c00',
  };

  function colourOf(pkg) {
    if (PALETTE[pkg]) return PALETTE[pkg];
    let h = 0;
    for (const ch of String(pkg)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return `hsl(${h % 360}, 55%, 48%)`;
  }

  // Live load (a --live run's metrics events): an instance is filled by its
  // service's utilisation, an edge stroked by the error rate of the guarded
  // calls between its two services. Both figures are cut into a few steps,
  // so the canvas paints a handful of colour groups rather than a colour per
  // node or edge, and a figure wobbling by a point restyles nothing.
  const UTIL_STEPS = 20; // 5% each
  // pale green, amber, red: an idle service is pale, unlike every package
  // colour (all of them saturated; karyon's is a full green)
  const UTIL_STOPS = [[0, [165, 214, 167]], [0.7, [255, 179, 0]], [1, [211, 47, 47]]];
  const ERR_STEPS = 10;
  const ERR_FULL = 0.5; // an error rate from here up is drawn full red
  const ERR_STOPS = [[0, [245, 166, 35]], [1, [198, 17, 17]]]; // amber to red
  const OPEN = 16; // added to an edge's tint while a caller's breaker is open

  function mix(stops, t) {
    let i = 1;
    while (i < stops.length - 1 && t > stops[i][0]) i++;
    const [t0, a] = stops[i - 1], [t1, b] = stops[i];
    const f = Math.min(1, Math.max(0, (t - t0) / (t1 - t0)));
    return '#' + a.map((v, j) => Math.round(v + (b[j] - v) * f).toString(16).padStart(2, '0')).join('');
  }

  const UTIL_COLOURS = Array.from({ length: UTIL_STEPS + 1 }, (_, i) => mix(UTIL_STOPS, i / UTIL_STEPS));
  // index 0 is unused: an edge without errors keeps EDGE_COLOUR
  const ERR_COLOURS = Array.from({ length: ERR_STEPS + 1 }, (_, i) => mix(ERR_STOPS, (i - 1) / (ERR_STEPS - 1)));

  function utilColour(u) {
    return UTIL_COLOURS[Math.round(Math.min(1, Math.max(0, u)) * UTIL_STEPS)];
  }

  // An edge's tint: its error step (0 none, else 1 to ERR_STEPS; any error
  // at all is step 1, so a rare failure still shows), plus OPEN.
  function tintOf(pair) {
    const step = pair.rate > 0 ? Math.max(1, Math.round(Math.min(1, pair.rate / ERR_FULL) * ERR_STEPS)) : 0;
    return step + (pair.open > 0 ? OPEN : 0);
  }

  // The service an instance belongs to, read as spigo reads a graph name
  // (proto/src/names.rs): after arch.region.zone the instance is the first
  // of the next two parts ending in two or more digits (a machine may come
  // before it, a container and a process after it), and the service is the
  // instance without its number. The metrics name services that way.
  function serviceOf(name) {
    const rest = name.split('.').slice(3);
    if (!rest.length) return name;
    let at = rest.findIndex((p) => /\d\d$/.test(p));
    if (at < 0 || at > 1) at = rest.length === 4 ? 1 : 0;
    const instance = rest[at] || '';
    return instance.replace(/\d+$/, '') || instance;
  }

  // ------------------------------------------------------------ graph model

  // The graph as the entries so far describe it. Applying an entry twice is
  // harmless, which matters for live mode: a reconnecting EventSource gets
  // the whole replay again.
  class Graph {
    constructor() {
      this.nodes = new Map();   // name -> node
      this.list = [];           // nodes in arrival order (the layout's array)
      this.edges = new Map();   // edge id -> edge
      this.byPair = new Map();  // "source\ttarget" -> edge id
      this.pending = new Map(); // edge id -> entry whose ends are not known yet
      this.added = [];          // nodes/edges created since the view last looked
      this.removed = [];        // edges forgotten since the view last looked
      this.restyled = [];       // nodes whose exit changed since the view last looked
      this.packagesChanged = false;
      // Kept as entries arrive, so the status line need not walk every node:
      this.pkgCounts = new Map();  // package -> nodes, in order of first appearance
      this.exitCounts = new Map(); // early exit -> { count, first: lowest node index }
    }

    apply(e) {
      if (!e || typeof e !== 'object') return;
      if (e.node !== undefined) this.addNode(e);
      else if (e.edge !== undefined) this.addEdge(e);
      else if (e.forget !== undefined) this.forget(e);
      else if (e.done !== undefined) this.markDone(e);
    }

    addNode(e) {
      const name = String(e.node);
      const old = this.nodes.get(name);
      if (old) { // a repeated entry only refreshes what it says
        if (e.metadata !== undefined) old.meta = String(e.metadata);
        return;
      }
      const n = {
        name,
        pkg: e.package !== undefined ? String(e.package) : 'unknown',
        service: serviceOf(name),
        meta: e.metadata !== undefined ? String(e.metadata) : '',
        exit: null,
        index: this.list.length,
        x: NaN, y: NaN, vx: 0, vy: 0, fx: null, fy: null,
        degree: 0,
        edges: new Set(),
        fresh: false, justPlaced: false, // see Layout.placeNew
        styleDirty: false,       // its exit changed since the view last looked
        el: null,
        r: 0,
        fill: '',                // what it is filled with, see fillFor
      };
      n.fill = colourOf(n.pkg);
      this.nodes.set(name, n);
      this.list.push(n);
      this.added.push(n);
      this.pkgCounts.set(n.pkg, (this.pkgCounts.get(n.pkg) || 0) + 1);
      this.packagesChanged = true;
      // Edges that arrived before this node can be placed now. Over a copy:
      // an edge still missing its other end is set again, and a Map visits
      // entries set during the loop, so the live Map would never finish.
      for (const [id, pe] of [...this.pending]) {
        if (pe.source === name || pe.target === name) {
          this.pending.delete(id);
          this.addEdge(pe);
        }
      }
    }

    addEdge(e) {
      const src = String(e.source), dst = String(e.target);
      const pair = src + '\t' + dst;
      const id = e.edge !== undefined && e.edge !== '' ? String(e.edge) : pair;
      if (this.edges.has(id) || this.byPair.has(pair)) return;
      const s = this.nodes.get(src), t = this.nodes.get(dst);
      if (!s || !t) { this.pending.set(id, e); return; }
      // spair: its services' pair, the key of the error rates (see tintFor)
      const edge = { id, pair, source: s, target: t, el: null, spair: s.service + '\t' + t.service, tint: 0 };
      this.edges.set(id, edge);
      this.byPair.set(pair, id);
      s.degree++; t.degree++;
      s.edges.add(edge); t.edges.add(edge);
      this.added.push(edge);
    }

    forget(e) {
      const pair = String(e.source) + '\t' + String(e.target);
      // A forget removes the edge with the same source and target; its own id
      // is not relied on (older files number edges differently).
      const id = this.byPair.get(pair);
      if (id === undefined) { // maybe still waiting for one of its nodes
        for (const [pid, pe] of this.pending) {
          if (String(pe.source) + '\t' + String(pe.target) === pair) this.pending.delete(pid);
        }
        return;
      }
      const edge = this.edges.get(id);
      this.edges.delete(id);
      this.byPair.delete(pair);
      edge.source.degree--; edge.target.degree--;
      edge.source.edges.delete(edge); edge.target.edges.delete(edge);
      this.removed.push(edge);
    }

    markDone(e) {
      const n = this.nodes.get(String(e.done));
      if (!n) return;
      const early = (x) => x && x !== 'normal';
      const was = n.exit;
      n.exit = e.exit !== undefined ? String(e.exit) : 'normal';
      if (early(was) && was !== n.exit) {
        const c = this.exitCounts.get(was);
        if (--c.count === 0) this.exitCounts.delete(was);
        else if (c.first === n.index) c.first = this.list.find((m) => m.exit === was).index;
      }
      if (early(n.exit) && was !== n.exit) {
        const c = this.exitCounts.get(n.exit);
        if (c) { c.count++; c.first = Math.min(c.first, n.index); }
        else this.exitCounts.set(n.exit, { count: 1, first: n.index });
      }
      if (!n.styleDirty) this.restyled.push(n);
      n.styleDirty = true;
      this.packagesChanged = true;
    }

    // Counts of instances per package, and of early departures per reason
    // (in the order of the first node that left for each).
    summary() {
      const exits = new Map([...this.exitCounts]
        .sort((a, b) => a[1].first - b[1].first)
        .map(([exit, c]) => [exit, c.count]));
      return { pkgs: new Map(this.pkgCounts), exits };
    }
  }

  // ----------------------------------------------------------------- layout

  // A velocity-Verlet spring/charge simulation with "alpha" cooling, so the
  // number of iterations is bounded: it stops by itself once alpha < ALPHA_MIN.
  const ALPHA_MIN = 0.002;
  const VELOCITY_DECAY = 0.45;  // fraction of velocity lost per tick
  const LINK_DISTANCE = 34;
  const CHARGE = 80;            // repulsion strength
  const GRAVITY = 0.04;         // pull to the centre: keeps loose parts near
  const EXACT_LIMIT = 1500;     // above this many nodes repulsion uses a quadtree
  const THETA2 = 0.81;          // Barnes-Hut opening criterion, squared

  class Layout {
    constructor(graph) {
      this.graph = graph;
      this.alpha = 1;
      this.alphaTarget = 0;
      this.setBudget(graph.list.length);
      this.placed = 0;         // list[0 .. placed) have had a position given
      this.fresh = new Set();  // nodes placed on the spiral while waiting for an edge
    }

    // Big graphs get fewer (costlier) ticks so a layout never runs for ages.
    setBudget(n) {
      const ticks = n <= 3000 ? 300 : Math.max(60, Math.round(300 * 3000 / n));
      this.alphaDecay = 1 - Math.pow(ALPHA_MIN, 1 / ticks);
    }

    get running() { return this.alpha >= ALPHA_MIN || this.alphaTarget > 0; }

    reheat(a) { this.alpha = Math.max(this.alpha, Math.min(1, a)); }

    // Give every new node a starting point: beside an already placed
    // neighbour if it has one (so live additions appear where they belong),
    // otherwise on a sunflower spiral, which spreads nodes evenly without
    // randomness. Live nodes usually arrive before their edges, so a node put
    // on the spiral with no edge yet stays "fresh" and moves next to its
    // first neighbour when its first edge shows up.
    placeNew() {
      const list = this.graph.list;
      const placeBeside = (n, anchor, i) => {
        const a = i * 2.399963;
        n.x = anchor.x + 12 * Math.cos(a);
        n.y = anchor.y + 12 * Math.sin(a);
      };
      const settledNeighbour = (n) => {
        for (const e of n.edges) {
          const o = e.source === n ? e.target : e.source;
          if (!Number.isNaN(o.x) && !o.fresh && !o.justPlaced) return o;
        }
        return null;
      };
      for (const n of this.fresh) {
        if (n.degree === 0) continue;
        const anchor = settledNeighbour(n);
        if (anchor) placeBeside(n, anchor, n.index);
        n.fresh = false;
        this.fresh.delete(n);
      }
      const placedNow = [];
      for (let i = this.placed; i < list.length; i++) {
        const n = list[i];
        if (!Number.isNaN(n.x)) continue;
        const anchor = settledNeighbour(n);
        if (anchor) {
          placeBeside(n, anchor, i);
        } else {
          const r = 10 * Math.sqrt(0.5 + i), a = i * 2.399963; // golden angle
          n.x = r * Math.cos(a);
          n.y = r * Math.sin(a);
          // Nodes placed in the same pass are no anchors for each other: a
          // whole graph loaded at once would otherwise collapse into chains.
          n.justPlaced = true;
          placedNow.push(n);
          if (n.degree === 0) { n.fresh = true; this.fresh.add(n); }
        }
      }
      for (const n of placedNow) n.justPlaced = false;
      this.placed = list.length;
    }

    tick() {
      const nodes = this.graph.list;
      this.alpha += (this.alphaTarget - this.alpha) * this.alphaDecay;
      const alpha = this.alpha;

      // Springs: pull linked nodes towards LINK_DISTANCE; a hub moves less
      // than its leaves (strength and bias from the degrees, as in d3-force).
      for (const e of this.graph.edges.values()) {
        const s = e.source, t = e.target;
        if (s === t) continue;
        let dx = t.x + t.vx - s.x - s.vx, dy = t.y + t.vy - s.y - s.vy;
        let l = Math.sqrt(dx * dx + dy * dy) || 1e-6;
        const strength = 1 / Math.max(1, Math.min(s.degree, t.degree));
        l = (l - LINK_DISTANCE) / l * alpha * strength;
        dx *= l; dy *= l;
        const bias = s.degree / (s.degree + t.degree);
        t.vx -= dx * bias; t.vy -= dy * bias;
        s.vx += dx * (1 - bias); s.vy += dy * (1 - bias);
      }

      if (nodes.length <= EXACT_LIMIT) this.repelExact(nodes, alpha);
      else this.repelTree(nodes, alpha);

      for (const n of nodes) {
        n.vx -= n.x * GRAVITY * alpha;
        n.vy -= n.y * GRAVITY * alpha;
        if (n.fx !== null) { n.x = n.fx; n.y = n.fy; n.vx = 0; n.vy = 0; continue; }
        n.vx *= 1 - VELOCITY_DECAY; n.vy *= 1 - VELOCITY_DECAY;
        n.x += n.vx; n.y += n.vy;
      }
    }

    repelExact(nodes, alpha) {
      const k = CHARGE * alpha;
      for (let i = 0; i < nodes.length; i++) {
        const a = nodes[i];
        for (let j = i + 1; j < nodes.length; j++) {
          const b = nodes[j];
          let dx = b.x - a.x, dy = b.y - a.y;
          let d2 = dx * dx + dy * dy;
          if (d2 < 1) { // coincident nodes: nudge apart deterministically
            dx = ((i * 7 + j) % 5) - 2 || 1; dy = ((i + j * 3) % 5) - 2 || 1; d2 = 1;
          }
          const f = k / d2;
          a.vx -= dx * f; a.vy -= dy * f;
          b.vx += dx * f; b.vy += dy * f;
        }
      }
    }

    // Barnes-Hut: far-away groups of nodes act as one mass at their centroid,
    // which makes a tick O(n log n) instead of O(n^2).
    repelTree(nodes, alpha) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const n of nodes) {
        if (n.x < x0) x0 = n.x; if (n.x > x1) x1 = n.x;
        if (n.y < y0) y0 = n.y; if (n.y > y1) y1 = n.y;
      }
      const root = newCell(x0, y0, Math.max(x1 - x0, y1 - y0, 1) * 1.0001);
      for (const n of nodes) insertCell(root, n, 0);
      const k = CHARGE * alpha;
      for (const n of nodes) applyCell(root, n, k);
    }
  }

  function newCell(x, y, size) {
    return { x, y, size, m: 0, sx: 0, sy: 0, bodies: [], kids: null };
  }

  function insertCell(cell, n, depth) {
    for (;;) {
      cell.m += 1; cell.sx += n.x; cell.sy += n.y;
      if (!cell.kids) {
        cell.bodies.push(n);
        // Split a leaf holding two or more nodes, unless they sit on top of
        // each other (depth cap), which would recurse forever.
        if (cell.bodies.length > 1 && depth < 18) {
          const h = cell.size / 2;
          cell.kids = [newCell(cell.x, cell.y, h), newCell(cell.x + h, cell.y, h),
                       newCell(cell.x, cell.y + h, h), newCell(cell.x + h, cell.y + h, h)];
          const bodies = cell.bodies;
          cell.bodies = null;
          for (const b of bodies) insertCell(childFor(cell, b), b, depth + 1);
        }
        return;
      }
      cell = childFor(cell, n);
      depth++;
    }
  }

  function childFor(cell, n) {
    const h = cell.size / 2;
    return cell.kids[(n.x >= cell.x + h ? 1 : 0) + (n.y >= cell.y + h ? 2 : 0)];
  }

  function applyCell(cell, n, k) {
    if (cell.m === 0) return;
    if (cell.kids) {
      const dx = cell.sx / cell.m - n.x, dy = cell.sy / cell.m - n.y;
      const d2 = dx * dx + dy * dy;
      if (cell.size * cell.size < THETA2 * d2) { // far enough: one aggregate push
        const f = k * cell.m / d2;
        n.vx -= dx * f; n.vy -= dy * f;
        return;
      }
      for (const c of cell.kids) applyCell(c, n, k);
      return;
    }
    for (const b of cell.bodies) {
      if (b === n) continue;
      const dx = b.x - n.x, dy = b.y - n.y;
      const d2 = Math.max(dx * dx + dy * dy, 1);
      const f = k / d2;
      n.vx -= dx * f; n.vy -= dy * f;
    }
  }

  // ------------------------------------------------------------------- view

  const $ = (id) => document.getElementById(id);
  const svg = $('graph');
  const statusEl = $('status');
  const tooltip = $('tooltip');
  const legendEl = $('legend');
  const metricsEl = $('metrics');
  const select = $('graph-select');
  const stepBox = $('step-box');
  const stepInput = $('step');
  const stepLabel = $('step-label');

  const canvas = $('graph-canvas');
  const ctx = canvas.getContext('2d');

  const viewport = document.createElementNS(SVG_NS, 'g');
  svg.appendChild(viewport);
  let edgeLayer, nodeLayer;

  // Above either count the graph is painted on the canvas instead. Every SVG
  // element is a DOM node the browser keeps styled and repaints on each pan
  // or zoom step. Measured in headless Chromium (software rendering, the
  // pan and zoom of .ci/check_viewer.py): at 3,000 edges one frame in
  // twenty already takes two vsyncs (p95 33 ms), at 6,000 p95 is 67 ms, at
  // 12,000 167 ms; 1,500 nodes bring about that many edges in a real graph
  // (pirates start with two each), and at 23,000 edges building the
  // elements alone stalled the page for over a second. A canvas repaint
  // costs one path per colour, whatever the count. Below the threshold SVG
  // stays: crisp at any zoom and inspectable element by element. A live
  // graph that grows past it switches once and stays on the canvas, so a
  // run hovering around the threshold does not flip back and forth.
  const CANVAS_EDGES = 3000;
  const CANVAS_NODES = 1500;

  const view = {
    graph: new Graph(),
    layout: null,
    title: '',
    mode: 'static',       // 'static' | 'live'
    liveState: '',        // '', 'live', 'finished', 'disconnected'
    k: 1, tx: 0, ty: 0,   // screen = world * k + t
    autoFit: true,        // until the user zooms or pans, keep the graph fitted
    frame: 0,             // pending requestAnimationFrame / timeout handle
    dirty: true,          // status, legend or radii need an update
    moved: false,         // positions changed since they were last drawn
    firstDraw: true,      // the first picture of a graph is fitted at once
    lastFrame: 0, lastDraw: 0, drawCost: 0, costing: false, costSoFar: 0, // see frame()
    forceDraw: false,     // draw in the next frame whatever it costs
    edgesHidden: false, edgesStale: false, interacting: false, interactTimer: 0,
    onSettled: null,      // called once when the layout stops
    renderer: 'svg',      // 'svg' | 'canvas', see CANVAS_EDGES
    repaint: false,       // the canvas must be painted again
    highlight: null,      // canvas: the hovered node, and its neighbours in hlNodes
    hlNodes: new Set(),
    hit: null,            // canvas: quadtree of node positions for hit testing
    edgePath: null,       // canvas: every untinted edge as one Path2D, until nodes move or tints change
    tintPaths: new Map(), // canvas: tint -> Path2D of the edges with that tint, built with edgePath
    work: newWork(),      // the live load figures, see takeWork
    workOn: true,         // colour by them (the legend's checkbox); kept across graphs
    paintedAt: null,      // canvas: the view {k, tx, ty} the last paint used
    painted: { nodes: 0, edges: 0, visible: 0 }, // what the last canvas picture held
    lastStatus: '',
    error: false,         // the status line shows an error
  };

  // The last value of each figure a metrics event carried (a service or a
  // pair missing from one event keeps its last), and the tints they give
  // per service pair.
  function newWork() {
    return {
      util: new Map(),   // service -> utilisation 0..1
      queue: new Map(),  // service -> mean requests waiting
      pairs: new Map(),  // "service\tdependency" -> { calls, errors, rate, open }
      tints: new Map(),  // "a\tb" -> tint, both directions (see takeWork)
      hadTints: false,   // the last restyle left some edge tinted
      shown: false,      // the legend says what the colours mean
    };
  }

  function resetView(title, mode) {
    if (edgeLayer) edgeLayer.remove();
    if (nodeLayer) nodeLayer.remove();
    edgeLayer = document.createElementNS(SVG_NS, 'g');
    nodeLayer = document.createElementNS(SVG_NS, 'g');
    viewport.append(edgeLayer, nodeLayer);
    view.graph = new Graph();
    view.layout = new Layout(view.graph);
    view.title = title;
    view.mode = mode;
    view.liveState = mode === 'live' ? 'live' : '';
    view.error = false;
    view.autoFit = true;
    view.onSettled = null;
    view.dirty = true;
    view.moved = true;
    view.lastFrame = 0;
    view.costing = false;
    view.forceDraw = false;
    view.firstDraw = true;
    view.drawCost = 0;
    view.edgesHidden = false;
    view.edgesStale = false;
    view.renderer = 'svg';
    view.repaint = false;
    view.hit = null;
    view.edgePath = null;
    view.tintPaths = new Map();
    view.work = newWork();
    view.paintedAt = null;
    canvas.style.transform = '';
    view.highlight = null;
    view.hlNodes = new Set();
    view.painted = { nodes: 0, edges: 0, visible: 0 };
    canvas.hidden = true;
    legendEl.textContent = '';
    metricsEl.textContent = '';
    hideTooltip();
  }

  // Radius in world units: hubs are bigger, and dots grow and shrink with only
  // the square root of the zoom, so a big graph zoomed out stays visible and
  // a small one zoomed in does not turn into balloons.
  function radiusOf(n) {
    return (3.5 + Math.min(7, 1.1 * Math.sqrt(n.degree))) / Math.sqrt(view.k);
  }

  function nodeClass(n) {
    if (!n.exit) return 'node';
    return 'node done exit-' + n.exit.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  // Create elements for what the model added and drop what it forgot. On
  // the canvas every paint draws the whole model, so the lists are only
  // emptied there.
  function syncElements() {
    const g = view.graph;
    if (view.renderer === 'svg' && (g.edges.size > CANVAS_EDGES || g.list.length > CANVAS_NODES)) useCanvas();
    if (view.work.util.size || view.work.tints.size) for (const item of g.added) freshLook(item);
    if (view.renderer === 'canvas') {
      g.added.length = 0;
      g.removed.length = 0;
      for (const n of g.restyled) n.styleDirty = false;
      g.restyled.length = 0;
      view.repaint = true;
      return;
    }
    if (g.added.length) {
      const nf = document.createDocumentFragment(), ef = document.createDocumentFragment();
      for (const item of g.added) {
        if (item.name !== undefined) {
          const c = document.createElementNS(SVG_NS, 'circle');
          c.setAttribute('class', nodeClass(item));
          c.setAttribute('data-name', item.name);
          c.setAttribute('data-package', item.pkg);
          c.setAttribute('fill', item.fill);
          item.el = c;
          item.styleDirty = false;
          item.r = 0;
          drawNode(item);
          nf.appendChild(c);
        } else if (g.edges.get(item.id) === item) {
          const l = document.createElementNS(SVG_NS, 'line');
          l.setAttribute('class', 'edge');
          item.el = l;
          if (item.tint) styleEdge(item);
          drawEdge(item);
          ef.appendChild(l);
        }
      }
      nodeLayer.appendChild(nf);
      edgeLayer.appendChild(ef);
      g.added.length = 0;
    }
    for (const e of g.removed) if (e.el) { e.el.remove(); e.el = null; }
    g.removed.length = 0;
    const later = []; // restyled before their element exists
    for (const n of g.restyled) {
      if (!n.styleDirty) continue;
      if (n.el) { n.el.setAttribute('class', nodeClass(n)); n.styleDirty = false; } else later.push(n);
    }
    g.restyled = later;
  }

  // ------------------------------------------------------------ live load

  function fillFor(n) {
    const u = view.workOn ? view.work.util.get(n.service) : undefined;
    return u === undefined ? colourOf(n.pkg) : utilColour(u);
  }

  // The stored edge goes either way round between caller and dependency
  // (see takeWork); edges of pairs without resilience settings stay plain.
  function tintFor(e) {
    return view.workOn ? view.work.tints.get(e.spair) || 0 : 0;
  }

  // A node or edge new to the view gets the colours the figures give now.
  function freshLook(item) {
    if (item.name !== undefined) item.fill = fillFor(item);
    else {
      item.tint = tintFor(item);
      if (item.tint) { view.edgePath = null; view.work.hadTints = true; }
    }
  }

  // An SVG edge's tint as classes (the stylesheet's .edge.err and
  // .edge.open) and the colour as a custom property, so the hover
  // highlight's rules still win over it.
  function styleEdge(e) {
    const step = e.tint % OPEN;
    e.el.classList.toggle('err', step > 0);
    e.el.classList.toggle('open', e.tint >= OPEN);
    if (step) e.el.style.setProperty('--err', ERR_COLOURS[step]);
    else e.el.style.removeProperty('--err');
  }

  // After new figures (about once a second) or the legend's checkbox: give
  // every node and edge its colour again, touching only those whose colour
  // changed. The edges are not visited at all while no pair has a tint and
  // none had one, as in every run without resilience settings.
  function restyleWork(force) {
    const g = view.graph, w = view.work;
    let changed = false;
    for (const n of g.list) {
      const f = fillFor(n);
      if (f === n.fill) continue;
      n.fill = f;
      if (n.el) n.el.setAttribute('fill', f);
      changed = true;
    }
    if (force || w.tints.size || w.hadTints) {
      let tinted = false, edgesChanged = false;
      for (const e of g.edges.values()) {
        const t = tintFor(e);
        if (t) tinted = true;
        if (t === e.tint) continue;
        e.tint = t;
        if (e.el) styleEdge(e);
        edgesChanged = true;
      }
      w.hadTints = tinted;
      if (edgesChanged) { view.edgePath = null; changed = true; }
    }
    if (changed && view.renderer === 'canvas') { view.repaint = true; schedule(); }
  }

  // Positions go through the SVG DOM's baseVal, which is markedly faster
  // than setAttribute's string round trip when there are tens of thousands.
  function drawNode(n) {
    n.el.cx.baseVal.value = n.x;
    n.el.cy.baseVal.value = n.y;
    drawRadius(n);
  }

  function drawRadius(n) {
    const r = radiusOf(n);
    if (Math.abs(r - n.r) > 0.05) { n.r = r; n.el.r.baseVal.value = r; }
  }

  function drawEdge(e) {
    e.el.x1.baseVal.value = e.source.x;
    e.el.y1.baseVal.value = e.source.y;
    e.el.x2.baseVal.value = e.target.x;
    e.el.y2.baseVal.value = e.target.y;
  }

  function drawNodes() {
    for (const n of view.graph.list) if (n.el) drawNode(n);
  }

  function drawEdges() {
    for (const e of view.graph.edges.values()) if (e.el) drawEdge(e);
  }

  // Leave SVG for the canvas: the elements go, the model stays.
  function useCanvas() {
    hideTooltip();
    view.renderer = 'canvas';
    edgeLayer.textContent = '';
    nodeLayer.textContent = '';
    edgeLayer.style.display = '';
    for (const n of view.graph.list) n.el = null;
    for (const e of view.graph.edges.values()) e.el = null;
    viewport.removeAttribute('transform');
    canvas.hidden = false;
    view.edgesHidden = false;
    view.edgesStale = false;
    view.edgePath = null;
    view.repaint = true;
    view.dirty = true; // the status line names the renderer
  }

  function applyTransform() {
    if (view.renderer === 'svg') {
      viewport.setAttribute('transform', `translate(${view.tx},${view.ty}) scale(${view.k})`);
      return;
    }
    // The picture painted at (pk, ptx, pty), moved to the view as it is now
    // until the next paint: screen = (old screen - pt) * k / pk + t.
    const p = view.paintedAt;
    if (p) {
      const s = view.k / p.k;
      canvas.style.transform = `translate(${view.tx - p.tx * s}px, ${view.ty - p.ty * s}px) scale(${s})`;
    }
    view.repaint = true;
    schedule();
  }

  // ----------------------------------------------------------------- canvas

  const EDGE_COLOUR = '#9aa3ad';
  const EDGE_HL_COLOUR = '#333';
  const TAU = 2 * Math.PI;

  // How a node's disc is drawn, as the stylesheet's .node rules say for SVG:
  // a white rim; a dashed grey rim once done; grey altogether if it left early.
  const RIMS = {
    live: { stroke: '#fff', dash: false, fill: null, alpha: 1 },
    done: { stroke: '#777', dash: true, fill: null, alpha: 1 },
    early: { stroke: '#888', dash: true, fill: '#c4c4c4', alpha: 0.8 },
  };

  // How an edge of a tint is stroked on the canvas, as .edge, .edge.err and
  // .edge.open say for SVG; width in CSS pixels (see paint for how).
  function edgeLook(tint) {
    const step = tint % OPEN;
    return { stroke: step ? ERR_COLOURS[step] : EDGE_COLOUR, alpha: step ? 0.85 : 0.45, width: tint >= OPEN ? 2 : 1 };
  }

  function rimOf(n) {
    if (!n.exit) return 'live';
    return n.exit === 'normal' ? 'done' : 'early';
  }

  // Paint the whole picture: the edges as one path (two while a node is
  // hovered), then the nodes as one path per colour and rim, so the cost is
  // a few strokes and fills however big the graph. Whatever lies outside the
  // window is skipped. The canvas holds devicePixelRatio pixels per CSS
  // pixel, so it is as sharp as the SVG on a high-density screen.
  function paint() {
    const started = performance.now();
    view.repaint = false;
    const g = view.graph;
    const w = svg.clientWidth, h = svg.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.max(1, Math.round(w * dpr)), ch = Math.max(1, Math.round(h * dpr));
    if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
    const k = view.k;
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * view.tx, dpr * view.ty);
    const px = 1 / k; // one CSS pixel in world units: strokes stay that wide
    const reach = (3.5 + 7) / Math.sqrt(k) + px; // the biggest disc, see radiusOf
    const x0 = -view.tx / k - reach, y0 = -view.ty / k - reach;
    const x1 = (w - view.tx) / k + reach, y1 = (h - view.ty) / k + reach;
    const hl = view.highlight;
    const off = (a, b) => (a.x < x0 && b.x < x0) || (a.x > x1 && b.x > x1) ||
                          (a.y < y0 && b.y < y0) || (a.y > y1 && b.y > y1);
    ctx.lineWidth = px;
    ctx.setLineDash([]);
    let edges = 0;
    if (!view.edgesHidden) {
      ctx.strokeStyle = EDGE_COLOUR;
      ctx.globalAlpha = hl ? 0.12 : 0.45;
      if (!view.edgePath) {
        view.edgePath = new Path2D();
        view.tintPaths = new Map();
        for (const e of g.edges.values()) {
          let path = view.edgePath;
          if (e.tint) {
            path = view.tintPaths.get(e.tint);
            if (!path) { path = new Path2D(); view.tintPaths.set(e.tint, path); }
          }
          path.moveTo(e.source.x, e.source.y);
          path.lineTo(e.target.x, e.target.y);
        }
      }
      ctx.stroke(view.edgePath);
      // Tinted edges over the plain ones, the worst on top; bolder, so a
      // few red edges among thousands still show. An open breaker's edges
      // are wider, as .edge.open in SVG, but drawn as three one-pixel lines
      // (a pixel right and a pixel down: about two pixels wide at any
      // angle): the canvas has a fast path for one-pixel lines only, and
      // without a GPU 25,000 edges 2.5 px wide took 2 s to raster against
      // 0.1 s at one pixel.
      if (view.tintPaths.size) {
        for (const [tint, path] of [...view.tintPaths].sort((a, b) => a[0] % OPEN - b[0] % OPEN)) {
          const look = edgeLook(tint);
          ctx.strokeStyle = look.stroke;
          ctx.globalAlpha = hl ? 0.12 : look.alpha;
          ctx.stroke(path);
          if (look.width > 1) {
            ctx.translate(px, 0); ctx.stroke(path);
            ctx.translate(-px, px); ctx.stroke(path);
            ctx.translate(0, -px);
          }
        }
      }
      if (hl) {
        ctx.strokeStyle = EDGE_HL_COLOUR;
        ctx.globalAlpha = 0.9;
        ctx.beginPath();
        for (const e of hl.edges) {
          ctx.moveTo(e.source.x, e.source.y);
          ctx.lineTo(e.target.x, e.target.y);
        }
        ctx.stroke();
      }
      edges = g.edges.size;
    }

    // Group the visible nodes by how they look; hovered ones go last, on top.
    const groups = new Map();
    let visible = 0;
    for (const n of g.list) {
      if (!(n.x >= x0 && n.x <= x1 && n.y >= y0 && n.y <= y1)) continue; // NaN too
      visible++;
      const rim = rimOf(n);
      const lit = !hl || view.hlNodes.has(n);
      const key = (lit ? '1' : '0') + rim + (RIMS[rim].fill || n.fill);
      let grp = groups.get(key);
      if (!grp) {
        grp = { lit, rim: RIMS[rim], fill: RIMS[rim].fill || n.fill, nodes: [] };
        groups.set(key, grp);
      }
      grp.nodes.push(n);
    }
    const order = [...groups.values()].sort((a, b) => a.lit - b.lit);
    for (const grp of order) {
      ctx.beginPath();
      for (const n of grp.nodes) {
        const r = radiusOf(n);
        ctx.moveTo(n.x + r, n.y);
        ctx.arc(n.x, n.y, r, 0, TAU);
      }
      const base = grp.lit ? 1 : 0.35;
      ctx.globalAlpha = base * grp.rim.alpha;
      ctx.fillStyle = grp.fill;
      ctx.fill();
      ctx.globalAlpha = base;
      ctx.strokeStyle = grp.rim.stroke;
      ctx.setLineDash(grp.rim.dash ? [2 * px, 2 * px] : []);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    ctx.setLineDash([]);
    view.painted = { nodes: g.list.length, edges, visible, ms: performance.now() - started };
    view.paintedAt = { k, tx: view.tx, ty: view.ty };
    canvas.style.transform = '';
  }

  // The node under a point of the window, found through a quadtree of the
  // positions (the layout's own cells), built again only after nodes moved:
  // a mouse move over 2,000 nodes visits a few cells, not every node. Of
  // overlapping discs the one whose centre is nearest wins.
  function nodeAt(clientX, clientY) {
    if (!view.hit) {
      const list = view.graph.list.filter((n) => Number.isFinite(n.x) && Number.isFinite(n.y));
      if (!list.length) return null;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const n of list) {
        if (n.x < x0) x0 = n.x; if (n.x > x1) x1 = n.x;
        if (n.y < y0) y0 = n.y; if (n.y > y1) y1 = n.y;
      }
      view.hit = newCell(x0, y0, Math.max(x1 - x0, y1 - y0, 1) * 1.0001);
      for (const n of list) insertCell(view.hit, n, 0);
    }
    const p = toWorld(clientX, clientY);
    const slop = 1 / view.k; // the rim, a screen pixel wide
    const reach = (3.5 + 7) / Math.sqrt(view.k) + slop;
    let best = null, bestD2 = Infinity;
    const visit = (cell) => {
      if (cell.m === 0 || p.x < cell.x - reach || p.x > cell.x + cell.size + reach ||
          p.y < cell.y - reach || p.y > cell.y + cell.size + reach) return;
      if (cell.kids) { for (const c of cell.kids) visit(c); return; }
      for (const n of cell.bodies) {
        const dx = n.x - p.x, dy = n.y - p.y, d2 = dx * dx + dy * dy;
        const r = radiusOf(n) + slop;
        if (d2 <= r * r && d2 < bestD2) { best = n; bestD2 = d2; }
      }
    };
    visit(view.hit);
    return best;
  }

  // Scale and centre the graph's bounding box into the SVG, with a margin.
  // With ease < 1 the view moves only part of the way, so a growing live
  // graph or a layout in progress zooms smoothly instead of twitching.
  function fit(ease = 1) {
    const list = view.graph.list;
    const w = svg.clientWidth, h = svg.clientHeight;
    if (!list.length || !w || !h) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of list) {
      if (n.x < x0) x0 = n.x; if (n.x > x1) x1 = n.x;
      if (n.y < y0) y0 = n.y; if (n.y > y1) y1 = n.y;
    }
    const pad = 40;
    // keep clear of the live metrics panel in the top right corner
    const right = metricsEl.childElementCount ? Math.min(metricsEl.offsetWidth + 10, w / 3) : 0;
    const k = Math.min(3, (w - right - 2 * pad) / Math.max(x1 - x0, 1), (h - 2 * pad) / Math.max(y1 - y0, 1));
    const k1 = Math.max(k, 1e-3);
    const tx1 = (w - right) / 2 - k1 * (x0 + x1) / 2;
    const ty1 = h / 2 - k1 * (y0 + y1) / 2;
    view.k += (k1 - view.k) * ease;
    view.tx += (tx1 - view.tx) * ease;
    view.ty += (ty1 - view.ty) * ease;
    applyTransform();
  }

  function updateStatus() {
    if (view.error) return; // an error message stays until the next load
    const g = view.graph;
    let text = `${view.title || 'graph'}: ${g.list.length} nodes, ${g.edges.size} edges`;
    const { exits } = g.summary();
    if (exits.size) text += ' · left: ' + [...exits].map(([k, v]) => `${k} ${v}`).join(', ');
    if (view.mode === 'live') text += ' · ' + (view.liveState || 'live');
    if (view.edgesHidden && !view.interacting) text += ' · edges shown once the layout settles';
    text += view.renderer === 'canvas' ? ' · canvas' : ' · svg';
    if (text !== view.lastStatus) {
      statusEl.title = view.renderer === 'canvas'
        ? `drawn on a canvas: more than ${CANVAS_EDGES} edges or ${CANVAS_NODES} nodes`
        : 'drawn as SVG elements';
      statusEl.textContent = text;
      statusEl.classList.remove('error');
      view.lastStatus = text;
    }
  }

  function showError(msg) {
    view.error = true;
    statusEl.textContent = msg;
    statusEl.classList.add('error');
    view.lastStatus = msg;
  }

  function updateLegend() {
    const { pkgs } = view.graph.summary();
    legendEl.textContent = '';
    if (view.work.shown) legendEl.appendChild(workLegend());
    for (const [pkg, count] of [...pkgs].sort((a, b) => a[0].localeCompare(b[0]))) {
      const row = document.createElement('div');
      const dot = document.createElement('i');
      dot.style.background = colourOf(pkg);
      const name = document.createElement('span');
      name.textContent = pkg;
      const n = document.createElement('span');
      n.className = 'n';
      n.textContent = count;
      row.append(dot, name, n);
      legendEl.appendChild(row);
    }
  }

  // What the load colours mean, once a metrics event brought some; the
  // checkbox turns them off to see the packages again.
  function workLegend() {
    const row = document.createElement('div');
    row.className = 'work';
    const label = document.createElement('label');
    label.className = 'work';
    label.title = 'fill: the busy fraction of the service\'s concurrency slots over the last interval (about a second): ' +
      'pale green 0%, amber 70%, red 100%; the package colour where the service has no concurrency limit\n' +
      `edges: the error rate of the guarded calls between the two services (failed, timed out, short-circuited): ` +
      `grey none, amber to red at ${100 * ERR_FULL}% or more; thicker while a caller's circuit breaker is open`;
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = view.workOn;
    box.addEventListener('change', () => {
      view.workOn = box.checked;
      restyleWork(true);
      invalidate();
    });
    const scale = (stops, from) => {
      const b = document.createElement('b');
      b.className = 'scale';
      const parts = stops.map(([t, c]) => `rgb(${c.join(',')}) ${Math.round(100 * t)}%`);
      b.style.background = `linear-gradient(to right, ${from ? from + ' 0%, ' : ''}${parts.join(', ')})`;
      return b;
    };
    // the error bar starts grey: no errors
    const errStops = ERR_STOPS.map(([t, c]) => [0.15 + 0.85 * t, c]);
    label.append(box, 'fill: utilisation', scale(UTIL_STOPS), '· edges: error rate', scale(errStops, EDGE_COLOUR));
    row.appendChild(label);
    return row;
  }

  // One animation frame: layout ticks for a time budget, then maybe a DOM
  // update. DOM updates (new elements and positions alike) are throttled by
  // what they cost, the browser's repaint included: an update costing 100 ms
  // happens at most every 200 ms while the ticks carry on in between, so
  // thousands of nodes, or a live run adding thousands of edges a second,
  // never freeze the page. Small graphs are redrawn every frame.
  function frame() {
    view.frame = 0;
    const now = performance.now();
    const layout = view.layout;
    const g = view.graph;
    if (g.added.length || g.removed.length) {
      layout.setBudget(g.list.length);
      view.moved = true;
    }
    layout.placeNew();

    if (view.lastFrame && view.costing) {
      // Beyond one vsync interval, the gaps after a draw are the browser
      // repainting; a big repaint can hold back more than one frame.
      const excess = now - view.lastFrame - 17;
      if (excess > 20) view.costSoFar += excess;
      else { view.drawCost = view.costSoFar; view.costing = false; }
    }
    if (layout.running) {
      const small = g.list.length < 1000;
      for (let i = 0; layout.running; i++) {
        // a small graph settles visibly instead of jumping into place
        if (small && i >= 4) break;
        layout.tick();
        view.moved = true;
        if (performance.now() - now > (small ? 12 : 30)) break;
      }
    }
    if (view.moved) { view.hit = null; view.edgePath = null; } // positions changed

    const settled = !layout.running;
    updateEdgeVisibility(settled);
    if ((view.moved || view.forceDraw) &&
        (settled || view.forceDraw || now - view.lastDraw >= 2 * view.drawCost)) {
      const t = performance.now();
      syncElements();
      if (view.autoFit) fit(settled || view.firstDraw ? 1 : 0.3);
      view.firstDraw = false;
      if (view.renderer === 'canvas') {
        paint();
      } else {
        drawNodes();
        if (!view.edgesHidden) drawEdges();
        else view.edgesStale = true;
      }
      noteDraw(t);
      view.moved = false;
      view.forceDraw = false;
      view.dirty = true;
    } else if (view.dirty && view.renderer === 'svg') {
      // the zoom (or a degree) may have changed; positions wait for a draw
      for (const n of g.list) if (n.el) drawRadius(n);
    }
    if (!view.edgesHidden && view.edgesStale) { drawEdges(); view.edgesStale = false; }
    // Hover and restyling repaint the canvas at once: it draws the model as
    // it is now, positions included. While the user pans or zooms, the last
    // picture is moved and scaled as a whole (see applyTransform), which
    // costs the page next to nothing; it is painted afresh during the
    // gesture only if that fits in a frame, else once the input pauses.
    let painted = false;
    if (view.renderer === 'canvas' && (view.repaint || g.restyled.length) &&
        (!view.interacting || view.drawCost <= SMOOTH_PAINT_MS)) {
      const t = performance.now();
      syncElements();
      paint();
      noteDraw(t);
      painted = true;
    }
    if (view.dirty) {
      updateStatus();
      if (g.packagesChanged) { updateLegend(); g.packagesChanged = false; }
      view.dirty = false;
    }
    // After a paint one more frame comes, to learn what the paint cost.
    view.lastFrame = settled && !painted ? 0 : performance.now();
    if (!settled || view.moved || painted || (view.renderer === 'canvas' && view.repaint)) schedule();
    else if (view.onSettled) { const cb = view.onSettled; view.onSettled = null; cb(); }
  }

  // A canvas paint costing more than this (the browser's rasterising
  // included) is not repeated while the user pans or zooms: a 60 Hz frame
  // has 16 ms, and the page needs some of them for itself.
  const SMOOTH_PAINT_MS = 12;

  // A draw began at T: its cost so far; the frames after add the browser's
  // own repaint (see the top of frame()).
  function noteDraw(t) {
    if (view.costing) view.drawCost = Math.max(view.drawCost, view.costSoFar);
    view.costing = true;
    view.costSoFar = performance.now() - t;
    view.lastDraw = performance.now();
  }

  // With very many edges (netflixoss scaled up has 100k) every repaint is
  // slow, even on the canvas, so the edges are hidden while a static graph's
  // layout runs and while the user pans or zooms, and drawn again afterwards.
  const HEAVY_EDGES = 60000;

  function heavy() { return view.graph.edges.size > HEAVY_EDGES; }

  function updateEdgeVisibility(settled) {
    const hide = heavy() && ((view.mode === 'static' && !settled) || view.interacting);
    if (hide !== view.edgesHidden) {
      view.edgesHidden = hide;
      edgeLayer.style.display = hide ? 'none' : '';
      view.repaint = true;
      view.dirty = true; // the status says so
    }
  }

  // Called on every wheel or pan movement: the gesture lasts until the
  // input pauses, then the picture is drawn in full again.
  function interacted() {
    view.interacting = true;
    clearTimeout(view.interactTimer);
    view.interactTimer = setTimeout(() => {
      view.interacting = false;
      view.repaint = view.renderer === 'canvas';
      invalidate();
    }, heavy() ? 300 : 150);
    if (heavy()) invalidate();
  }

  // requestAnimationFrame does not fire in a background tab; fall back to a
  // timer there so a load still finishes (and sets data-ready).
  function schedule() {
    if (view.frame) return;
    view.frame = document.hidden ? -setTimeout(frame, 50) : requestAnimationFrame(frame);
  }

  function cancelFrame() {
    if (view.frame > 0) cancelAnimationFrame(view.frame);
    else if (view.frame < 0) clearTimeout(-view.frame);
    view.frame = 0;
  }

  function invalidate() { view.dirty = true; schedule(); }

  // ------------------------------------------------------------ interaction

  function toWorld(clientX, clientY) {
    const r = svg.getBoundingClientRect();
    return { x: (clientX - r.left - view.tx) / view.k, y: (clientY - r.top - view.ty) / view.k };
  }

  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    const unit = ev.deltaMode === 1 ? 16 : ev.deltaMode === 2 ? 400 : 1;
    const factor = Math.exp(-ev.deltaY * unit * 0.0015);
    const r = svg.getBoundingClientRect();
    const px = ev.clientX - r.left, py = ev.clientY - r.top;
    const k = Math.min(40, Math.max(0.01, view.k * factor));
    // keep the point under the mouse where it is
    view.tx = px - (px - view.tx) * (k / view.k);
    view.ty = py - (py - view.ty) * (k / view.k);
    view.k = k;
    view.autoFit = false;
    applyTransform();
    interacted();
    invalidate(); // radii depend on the zoom
  }, { passive: false });

  let drag = null; // {kind: 'pan'|'node', ...}

  svg.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    const n = nodeOfEvent(ev);
    svg.setPointerCapture(ev.pointerId);
    if (n) {
      const p = toWorld(ev.clientX, ev.clientY);
      n.fx = n.x; n.fy = n.y;
      drag = { kind: 'node', node: n, dx: n.x - p.x, dy: n.y - p.y, id: ev.pointerId };
      view.layout.alphaTarget = 0.25;
      view.layout.reheat(0.25);
      view.autoFit = false; // the graph must not rescale under the mouse
      schedule();
    } else {
      drag = { kind: 'pan', x: ev.clientX, y: ev.clientY, tx: view.tx, ty: view.ty, id: ev.pointerId };
      svg.classList.add('panning');
    }
    hideTooltip();
  });

  svg.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    if (drag.kind === 'pan') {
      view.tx = drag.tx + ev.clientX - drag.x;
      view.ty = drag.ty + ev.clientY - drag.y;
      view.autoFit = false;
      applyTransform();
      interacted();
    } else {
      const p = toWorld(ev.clientX, ev.clientY);
      drag.node.fx = p.x + drag.dx;
      drag.node.fy = p.y + drag.dy;
      schedule();
    }
  });

  function endDrag(ev) {
    if (!drag || ev.pointerId !== drag.id) return;
    if (drag.kind === 'node') {
      drag.node.fx = null; drag.node.fy = null;
      view.layout.alphaTarget = 0;
      schedule();
    }
    svg.classList.remove('panning');
    drag = null;
  }
  svg.addEventListener('pointerup', endDrag);
  svg.addEventListener('pointercancel', endDrag);

  svg.addEventListener('dblclick', (ev) => {
    if (!nodeOfEvent(ev)) { view.autoFit = true; fit(); invalidate(); }
  });

  function nodeOf(el) {
    if (!el || !el.classList || !el.classList.contains('node')) return null;
    return view.graph.nodes.get(el.getAttribute('data-name')) || null;
  }

  // The node a pointer event is over: its element in SVG, a hit test on the
  // canvas (where the event's target is always the empty SVG on top).
  function nodeOfEvent(ev) {
    return view.renderer === 'svg' ? nodeOf(ev.target) : nodeAt(ev.clientX, ev.clientY);
  }

  // Hover: tooltip plus highlighting the node's own edges and neighbours.
  // SVG elements say when the pointer enters and leaves them; on the canvas
  // each move is hit-tested.
  let hovered = null;
  svg.addEventListener('pointerover', (ev) => {
    if (drag || view.renderer !== 'svg') return;
    const n = nodeOf(ev.target);
    if (n) showTooltip(n, ev);
  });
  svg.addEventListener('pointermove', (ev) => {
    if (view.renderer === 'canvas' && !drag) {
      const n = nodeAt(ev.clientX, ev.clientY);
      if (n !== hovered) {
        if (hovered) hideTooltip();
        if (n) showTooltip(n, ev);
      }
      svg.classList.toggle('over-node', !!n);
    }
    if (hovered) moveTooltip(ev);
  });
  svg.addEventListener('pointerout', (ev) => {
    if (hovered && view.renderer === 'svg' && nodeOf(ev.target) === hovered) hideTooltip();
  });
  svg.addEventListener('pointerleave', () => {
    svg.classList.remove('over-node');
    if (hovered && view.renderer === 'canvas') hideTooltip();
  });

  function showTooltip(n, ev) {
    hovered = n;
    tooltip.textContent = '';
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = n.name;
    const meta = document.createElement('div');
    meta.className = 'meta';
    let text = n.pkg + (n.meta ? ' · ' + n.meta : '') + ` · ${n.degree} edge${n.degree === 1 ? '' : 's'}`;
    if (n.exit) text += ` · done: ${n.exit}`;
    const u = view.work.util.get(n.service), q = view.work.queue.get(n.service);
    if (u !== undefined) text += ` · ${n.service} utilisation ${formatShare(u)}`;
    if (q !== undefined) text += ` · queue ${q.toFixed(1)}`;
    meta.textContent = text;
    tooltip.append(name, meta);
    tooltip.style.display = 'block';
    moveTooltip(ev);
    setHighlight(n, true);
  }

  function moveTooltip(ev) {
    const pad = 14;
    const w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    let x = ev.clientX + pad, y = ev.clientY + pad;
    if (x + w > window.innerWidth) x = Math.max(0, ev.clientX - pad - w);
    if (y + h > window.innerHeight) y = Math.max(0, ev.clientY - pad - h);
    tooltip.style.left = x + 'px';
    tooltip.style.top = y + 'px';
  }

  function hideTooltip() {
    tooltip.style.display = 'none';
    if (hovered) setHighlight(hovered, false);
    hovered = null;
  }

  function setHighlight(n, on) {
    if (view.renderer === 'canvas') {
      view.highlight = on ? n : null;
      view.hlNodes = new Set();
      if (on) {
        view.hlNodes.add(n);
        for (const e of n.edges) view.hlNodes.add(e.source === n ? e.target : e.source);
      }
      view.repaint = true;
      schedule();
      return;
    }
    svg.classList.toggle('hovering', on);
    if (n.el) n.el.classList.toggle('hl', on);
    for (const e of n.edges) {
      if (e.el) e.el.classList.toggle('hl', on);
      const o = e.source === n ? e.target : e.source;
      if (o.el) o.el.classList.toggle('hl', on);
    }
  }

  $('fit').addEventListener('click', () => { view.autoFit = true; fit(); invalidate(); });
  $('relayout').addEventListener('click', () => { view.layout.reheat(0.8); view.autoFit = true; schedule(); });
  window.addEventListener('keydown', (ev) => {
    if ((ev.key === 'f' || ev.key === 'F') && !(ev.target instanceof HTMLInputElement) &&
        !(ev.target instanceof HTMLSelectElement)) {
      view.autoFit = true; fit(); invalidate();
    }
  });
  window.addEventListener('resize', () => { if (view.autoFit) fit(); view.repaint = true; invalidate(); });
  document.addEventListener('visibilitychange', () => {
    // switch the pending frame between timer and animation frame
    if (view.frame) { cancelFrame(); schedule(); }
  });

  // ---------------------------------------------------------- data sources

  const LIVE = '';          // the select's value for the live run
  let graphs = [];          // the server's list
  let live = null;          // {source: EventSource, retries, timer}
  let loadSeq = 0;          // ignores answers to superseded loads

  function setReady(on) {
    document.body.dataset.ready = on ? '1' : '0';
  }

  async function fetchJSON(url) {
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${res.statusText}`);
    return res.json();
  }

  // Show a static graph. Nodes keep the positions they had in the previous
  // graph when the name matches, so moving the step slider morphs the picture
  // instead of redrawing it from scratch.
  async function showStatic(info, keepPositions) {
    const seq = ++loadSeq;
    stopLive();
    setReady(false);
    statusEl.classList.remove('error');
    statusEl.textContent = `loading ${info.name}…`;
    view.lastStatus = '';
    let doc;
    try {
      doc = await fetchJSON(info.file || `json/${encodeURIComponent(info.name)}.json`);
    } catch (err) {
      if (seq === loadSeq) failLoad(info.name, `could not load ${info.name}: ${err.message}`);
      return;
    }
    if (seq !== loadSeq) return;
    if (!doc || !Array.isArray(doc.graph)) {
      failLoad(info.name, `${info.name}: not a GraphJSON file (no "graph" list)`);
      return;
    }
    const previous = keepPositions ? view.graph.nodes : null;
    const oldTransform = { k: view.k, tx: view.tx, ty: view.ty, autoFit: view.autoFit };
    cancelFrame();
    resetView(info.name, 'static');
    const g = view.graph;
    for (const e of doc.graph) g.apply(e);
    let kept = 0;
    if (previous) {
      for (const n of g.list) {
        const o = previous.get(n.name);
        if (o) { n.x = o.x; n.y = o.y; kept++; }
      }
    }
    if (kept) { // a gentle settle from the previous picture, same zoom
      view.layout.alpha = 0.4;
      Object.assign(view, oldTransform);
      view.firstDraw = false;
      applyTransform();
    }
    view.onSettled = () => { if (seq === loadSeq) setReady(true); };
    // Huge graphs may take long to cool; they count as drawn after a while.
    setTimeout(() => { if (seq === loadSeq) setReady(true); }, 10000);
    invalidate();
  }

  // Drop the previous picture (it is not what the select now says) and
  // leave the message in the status line.
  function failLoad(name, msg) {
    cancelFrame();
    resetView(name, 'static');
    showError(msg);
  }

  function showLive() {
    ++loadSeq;
    stopLive();
    cancelFrame();
    setReady(false);
    resetView('live', 'live');
    statusEl.textContent = 'live: connecting…';
    view.lastStatus = '';
    connectLive(0);
  }

  function connectLive(retries) {
    if (typeof EventSource === 'undefined') { showError('this browser has no EventSource'); return; }
    const source = new EventSource('api/live');
    live = { source, retries, timer: 0 };
    const seq = loadSeq; // entries still queued when another graph is chosen are dropped
    let batch = [];
    let pendingFlush = false;

    // Entries come in bursts (the replay sends everything at once), so
    // apply them together once per frame rather than one layout kick each.
    const flush = () => {
      pendingFlush = false;
      if (seq !== loadSeq) return;
      const g = view.graph;
      const before = g.list.length;
      for (const e of batch) g.apply(e);
      batch = [];
      const added = g.list.length - before;
      if (view.title === 'live' && g.list.length) {
        // name the run after its architecture, the first part of node names
        view.title = g.list[0].name.split('.')[0] || 'live';
      }
      // New nodes warm the layout in proportion to how much of the graph is
      // new; a new edge alone only nudges it, so the picture does not jump.
      const frac = g.list.length ? added / g.list.length : 0;
      view.layout.reheat(added ? 0.1 + 1.5 * frac : 0.04);
      invalidate();
    };

    source.addEventListener('entry', (ev) => {
      let e;
      try { e = JSON.parse(ev.data); } catch (_) { return; }
      if (Array.isArray(e)) { for (const x of e) batch.push(x); } else batch.push(e);
      if (!pendingFlush) { pendingFlush = true; setTimeout(flush, 0); }
    });
    source.addEventListener('open', () => {
      if (!live || live.source !== source) return;
      live.retries = 0;
      if (view.liveState !== 'live') { view.liveState = 'live'; invalidate(); }
    });
    source.addEventListener('metrics', (ev) => {
      try { renderMetrics(JSON.parse(ev.data)); } catch (_) { /* a bad sample is skipped */ }
    });
    source.addEventListener('end', () => {
      // Close before the server goes away, or EventSource would keep trying
      // to reconnect (and the browser logs each failed attempt as an error).
      if (seq !== loadSeq) return;
      stopLive();
      flush();
      view.liveState = 'finished';
      view.onSettled = null;
      // draw the final picture now, unthrottled, then say it is there
      view.forceDraw = true;
      view.dirty = true;
      cancelFrame();
      frame();
      setReady(true);
    });
    source.addEventListener('error', () => {
      if (!live || live.source !== source) return;
      // Take over reconnecting so it is bounded; a replay is idempotent.
      source.close();
      const tries = live.retries;
      if (tries >= 5) {
        view.liveState = 'disconnected';
        invalidate();
        return;
      }
      view.liveState = `reconnecting (${tries + 1})`;
      invalidate();
      live.timer = setTimeout(() => connectLive(tries + 1), 1000 * (tries + 1));
    });
  }

  function stopLive() {
    if (!live) return;
    live.source.close();
    clearTimeout(live.timer);
    live = null;
  }

  function formatMicros(us) {
    if (typeof us !== 'number' || !Number.isFinite(us)) return '–';
    if (us >= 1e6) return (us / 1e6).toFixed(2) + ' s';
    if (us >= 1000) return (us / 1000).toFixed(us >= 1e4 ? 0 : 1) + ' ms';
    return Math.round(us) + ' µs';
  }

  function formatShare(x) {
    if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
    return (100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0) + '%';
  }

  const isNumber = (x) => typeof x === 'number' && Number.isFinite(x);
  const amount = (x) => (isNumber(x) && x > 0 ? x : 0);

  // Keep the load figures of a metrics event (see newWork) and recolour.
  // A pair's tint goes to the services' edges either way round: the graph
  // stores the edge as the caller's, but nothing else need rely on that.
  // Where both directions are guarded pairs, each edge takes its own.
  function takeWork(m, services) {
    const w = view.work;
    for (const [name, s] of Object.entries(services)) {
      if (!s || typeof s !== 'object') continue;
      if (isNumber(s.utilisation)) w.util.set(name, Math.min(1, Math.max(0, s.utilisation)));
      if (isNumber(s.queue)) w.queue.set(name, Math.max(0, s.queue));
    }
    if (Array.isArray(m.edges)) {
      for (const e of m.edges) {
        if (!e || typeof e.service !== 'string' || typeof e.dependency !== 'string') continue;
        w.pairs.set(e.service + '\t' + e.dependency, {
          calls: amount(e.calls), errors: amount(e.errors),
          rate: Math.min(1, amount(e.error_rate)), open: amount(e.breakers_open),
        });
      }
      w.tints = new Map();
      for (const [key, pair] of w.pairs) {
        const t = tintOf(pair);
        if (!t) continue;
        w.tints.set(key, t);
        const [a, b] = key.split('\t');
        const back = b + '\t' + a;
        if (!w.pairs.has(back)) w.tints.set(back, t);
      }
    }
    restyleWork(false);
    const shown = w.util.size > 0 || w.pairs.size > 0;
    if (shown !== w.shown) {
      w.shown = shown;
      view.graph.packagesChanged = true; // the legend gains its first line
      invalidate();
    }
  }

  // Per dependency, the error rate of the guarded calls made to it in this
  // event's interval, over all its callers: errors over attempts, where
  // attempts not made (short-circuited) count too, as in each pair's
  // error_rate; so a pair's total is errors / error_rate, or its calls
  // when it had no errors.
  function errorsInto(edges) {
    const into = new Map();
    for (const e of Array.isArray(edges) ? edges : []) {
      if (!e || typeof e.dependency !== 'string') continue;
      const errors = amount(e.errors), rate = amount(e.error_rate);
      const total = errors > 0 && rate > 0 ? errors / rate : amount(e.calls);
      const t = into.get(e.dependency) || { errors: 0, total: 0 };
      t.errors += errors; t.total += total;
      into.set(e.dependency, t);
    }
    return into;
  }

  function renderMetrics(m) {
    if (!m || typeof m !== 'object') return;
    metricsEl.textContent = '';
    const services = m.services && typeof m.services === 'object' ? m.services : {};
    takeWork(m, services);
    const names = Object.keys(services).sort();
    if (names.length) {
      // util and err% only when some service has them (a run with work
      // models, guarded calls)
      const hasUtil = names.some((n) => services[n] && isNumber(services[n].utilisation));
      const into = errorsInto(m.edges);
      const hasErr = names.some((n) => into.has(n));
      const table = document.createElement('table');
      const head = table.createTHead().insertRow();
      const heads = [['service'], ['count'], ['p50'], ['p99']];
      if (hasUtil) heads.push(['util', 'busy fraction of the concurrency slots over the last interval']);
      if (hasErr) heads.push(['err%', 'of the guarded calls to this service over the last interval: failed, timed out or short-circuited']);
      for (const [h, title] of heads) {
        const th = document.createElement('th');
        th.textContent = h;
        if (title) th.title = title;
        head.appendChild(th);
      }
      const body = table.createTBody();
      for (const name of names) {
        const s = services[name] || {};
        const row = body.insertRow();
        const cells = [name, isNumber(s.count) ? String(s.count) : '–', formatMicros(s.p50_us), formatMicros(s.p99_us)];
        if (hasUtil) cells.push(formatShare(s.utilisation));
        if (hasErr) {
          const t = into.get(name);
          cells.push(t && t.total > 0 ? formatShare(t.errors / t.total) : '–');
        }
        for (const v of cells) row.insertCell().textContent = v;
      }
      metricsEl.appendChild(table);
    }
    const req = Number(m.requests) || 0, ans = Number(m.answered) || 0;
    // fsm runs carry no requests: leave the panel empty (and hidden) then
    if (names.length || req || ans) {
      const p = document.createElement('p');
      p.textContent = `requests ${req} · answered ${ans}` + (req ? ` (${(100 * ans / req).toFixed(1)}%)` : '');
      metricsEl.appendChild(p);
    }
  }

  // ---------------------------------------------------------- the controls

  // Steps of the current graph's architecture, in numeric order.
  function stepsOf(arch) {
    return graphs.filter((g) => g.arch === arch && g.step !== null && g.step !== undefined)
      .sort((a, b) => a.step - b.step);
  }

  function fillSelect(isLive) {
    select.textContent = '';
    if (isLive) select.appendChild(new Option('live run', LIVE));
    for (const g of graphs) select.appendChild(new Option(g.name, g.name));
  }

  function updateSteps(info) {
    const steps = info ? stepsOf(info.arch) : [];
    if (steps.length < 2) { stepBox.hidden = true; return; }
    stepBox.hidden = false;
    stepInput.max = String(steps.length - 1);
    stepInput.value = String(Math.max(0, steps.indexOf(info)));
    stepLabel.textContent = `step ${info.step}`;
  }

  function choose(name, how) {
    const url = new URL(window.location.href);
    if (name === LIVE) url.searchParams.delete('graph');
    else url.searchParams.set('graph', name);
    if (how === 'push') history.pushState(null, '', url);
    else history.replaceState(null, '', url);
    route(how === 'step');
  }

  let listIsLive = false;
  let latestName = null;    // the graph the server says was written last

  function route(keepPositions) {
    const wanted = new URL(window.location.href).searchParams.get('graph');
    let info = null;
    if (wanted) {
      info = graphs.find((g) => g.name === wanted) || null;
      if (!info) {
        ++loadSeq;
        stopLive();
        select.value = wanted;
        updateSteps(null);
        setReady(false);
        failLoad(wanted, `no graph named "${wanted}"` + (graphs.length ? '; pick one from the list' : ''));
        return;
      }
    } else if (!listIsLive) {
      // The graph written last (the run just made), else the first.
      info = graphs.find((g) => g.name === latestName) || graphs[0] || null;
      if (!info) { failLoad('', 'the server lists no graphs'); return; }
    }
    select.value = info ? info.name : LIVE;
    updateSteps(info);
    if (info) showStatic(info, keepPositions);
    else if (view.mode !== 'live' || !live) showLive();
  }

  select.addEventListener('change', () => choose(select.value, 'push'));

  // The slider moves through steps as it is dragged; loads are coalesced so a
  // fast drag does not queue a fetch per position.
  let stepTimer = 0;
  stepInput.addEventListener('input', () => {
    const current = graphs.find((g) => g.name === select.value);
    const steps = current ? stepsOf(current.arch) : [];
    const target = steps[Number(stepInput.value)];
    if (!target) return;
    stepLabel.textContent = `step ${target.step}`;
    clearTimeout(stepTimer);
    stepTimer = setTimeout(() => choose(target.name, 'step'), 60);
  });

  window.addEventListener('popstate', () => route(false));

  async function start() {
    setReady(false);
    let list;
    try {
      list = await fetchJSON('api/graphs');
    } catch (err) {
      showError(`could not list graphs: ${err.message}`);
      return;
    }
    listIsLive = !!(list && list.live);
    latestName = (list && typeof list.latest === 'string') ? list.latest : null;
    graphs = Array.isArray(list && list.graphs) ? list.graphs.filter((g) => g && g.name) : [];
    for (const g of graphs) {
      if (g.arch === undefined || g.arch === null) g.arch = g.name;
      if (g.step === undefined) g.step = null;
    }
    fillSelect(listIsLive);
    route(false);
  }

  // What the picture holds, for tests in a browser (.ci/check_viewer.py):
  // a canvas has no elements to count. nodes/edges are those drawn (SVG
  // elements, or the last canvas paint's; edges hidden while panning a
  // huge graph count 0), visible the nodes inside the window.
  window.spigoViewer = {
    get renderer() { return view.renderer; },
    get nodes() { return view.renderer === 'svg' ? nodeLayer.childElementCount : view.painted.nodes; },
    get edges() { return view.renderer === 'svg' ? edgeLayer.childElementCount : view.painted.edges; },
    get visible() { return view.renderer === 'svg' ? nodeLayer.childElementCount : view.painted.visible; },
    get paintMs() { return view.painted.ms; },
    get hovered() { return hovered ? hovered.name : null; },
    // where a node is in the window (CSS pixels), and what a point hits
    screenOf(name) {
      const n = view.graph.nodes.get(name);
      if (!n || !Number.isFinite(n.x)) return null;
      const r = svg.getBoundingClientRect();
      return { x: r.left + view.tx + view.k * n.x, y: r.top + view.ty + view.k * n.y, r: view.k * radiusOf(n) };
    },
    nodeAt(x, y) {
      const n = view.renderer === 'svg' ? nodeOf(document.elementFromPoint(x, y)) : nodeAt(x, y);
      return n ? n.name : null;
    },
    names() { return view.graph.list.map((n) => n.name); },
    // The live load colours. Colours come as '#rrggbb'. fillOf and
    // edgeColour say what is drawn: in SVG the browser's computed style,
    // on the canvas what the last paint used.
    get utilisation() { return Object.fromEntries(view.work.util); },
    get errorRates() {
      return Object.fromEntries([...view.work.pairs].map(([k, p]) => [k.replace('\t', '→'), p.rate]));
    },
    serviceOf(name) { const n = view.graph.nodes.get(name); return n ? n.service : null; },
    packageColourOf(name) { const n = view.graph.nodes.get(name); return n ? cssColour(colourOf(n.pkg)) : null; },
    utilColour(u) { return cssColour(utilColour(u)); },
    fillOf(name) {
      const n = view.graph.nodes.get(name);
      if (!n) return null;
      if (view.renderer === 'svg') return n.el ? cssColour(getComputedStyle(n.el).fill) : null;
      return cssColour(RIMS[rimOf(n)].fill || n.fill);
    },
    // the edge between two nodes, stored either way round: {stroke, width, errorRate}
    edgeColour(a, b) {
      const g = view.graph;
      const id = g.byPair.get(a + '\t' + b) || g.byPair.get(b + '\t' + a);
      const e = id === undefined ? null : g.edges.get(id);
      if (!e) return null;
      const pair = view.work.pairs.get(e.spair) || view.work.pairs.get(e.target.service + '\t' + e.source.service);
      const errorRate = pair ? pair.rate : null;
      if (view.renderer === 'svg') {
        if (!e.el) return null;
        const st = getComputedStyle(e.el);
        return { stroke: cssColour(st.stroke), width: parseFloat(st.strokeWidth), errorRate };
      }
      const look = edgeLook(e.tint);
      return { stroke: cssColour(look.stroke), width: look.width, errorRate };
    },
    // up to LIMIT edges drawn with an error colour, as [source, target]
    tintedEdges(limit = 100) {
      const out = [];
      for (const e of view.graph.edges.values()) {
        if (out.length >= limit) break;
        if (e.tint % OPEN) out.push([e.source.name, e.target.name]);
      }
      return out;
    },
    // feed a metrics event as the live stream would (a static graph has none)
    metrics(m) { renderMetrics(m); },
  };

  // Any CSS colour as '#rrggbb', the form a 2D context gives back.
  const probe = document.createElement('canvas').getContext('2d');
  function cssColour(c) {
    probe.fillStyle = '#000';
    probe.fillStyle = c;
    return probe.fillStyle;
  }

  start();
})();
