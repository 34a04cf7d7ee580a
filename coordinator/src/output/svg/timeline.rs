//! `<arch>_timeline.svg`: the run second by second. Three charts share the
//! time axis: requests per second (all requests and the busiest services),
//! response times (p50 dashed, p99 solid) and errors per second; the chaos
//! monkey, crashes, lost nodes and an interrupt are vertical lines with a
//! label. Whatever a series lacks is written on the picture, never left
//! blank silently. Drawn with plotters' SVG backend: text is emitted as
//! `<text>`, so no font is read or rasterised.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::time::Duration;

/// What the rates count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counting {
    /// Requests the denominators send (service architectures).
    Requests,
    /// Messages delivered (pirates send no requests).
    Messages,
}

/// One sampled stretch (a second, or a tenth of a shorter run) of one series.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Point {
    /// Seconds since simulated time began, at the end of the stretch.
    pub t: f64,
    /// Per second over the stretch.
    pub rate: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// Every guarded call of one sample added up: per second, and the
/// breakers open at its end.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct CallPoint {
    pub t: f64,
    pub timeout: f64,
    pub short_circuited: f64,
    pub fallback: f64,
    pub retried: f64,
    pub breakers_open: u64,
}

/// The series of one run, as `run/timeline.rs` samples them.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    /// The simulated time asked for (`-d`).
    pub duration: Duration,
    pub counting: Counting,
    /// The whole run: requests (or messages) and the denominators'
    /// response times.
    pub total: Vec<Point>,
    /// Errors per second, `(t, rate)`.
    pub errors: Vec<(f64, f64)>,
    /// The busiest services (by requests received), busiest first.
    pub services: Vec<(String, Vec<Point>)>,
    /// The most utilised services with a concurrency limit, `(t,
    /// fraction)`; empty when no service has a work model.
    pub utilisation: Vec<(String, Vec<(f64, f64)>)>,
    /// The guarded calls; empty when no service has resilience settings.
    pub calls: Vec<CallPoint>,
    /// Faults and other moments, `(t, label)`.
    pub events: Vec<(f64, String)>,
    /// What the picture lacks, and why.
    pub missing: Vec<String>,
}

const WIDTH: u32 = 1100;
const CHART_H: u32 = 260;
const HEAD_H: u32 = 70;
/// Series colours (Tableau's ten, first five): the whole run is black.
const COLOURS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];
const EVENT: RGBColor = RGBColor(200, 0, 0);
const FONT: &str = "sans-serif";

/// The picture as SVG text, or what plotters failed at.
pub(crate) fn draw(timeline: &Timeline, arch: &str) -> Result<String, String> {
    let plotted = !timeline.duration.is_zero() && !timeline.total.is_empty();
    let work = plotted && !timeline.utilisation.is_empty();
    let guarded = plotted && !timeline.calls.is_empty();
    let charts = match (plotted, timeline.counting) {
        (false, _) => 0,
        (true, Counting::Requests) => 3 + u32::from(work) + u32::from(guarded),
        (true, Counting::Messages) => 1,
    };
    let notes = notes(timeline, plotted);
    let height = HEAD_H + 18 * notes.len() as u32 + CHART_H * charts + 20;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let head_h = HEAD_H + 18 * notes.len() as u32;
        let (head, body) = root.split_vertically(head_h);
        header(&head, timeline, arch, &notes).map_err(|e| e.to_string())?;
        if charts > 0 {
            let panels = body.split_evenly((charts as usize, 1));
            let span = timeline.duration.as_secs_f64();
            rates(&panels[0], timeline, span).map_err(|e| e.to_string())?;
            if charts >= 3 {
                latencies(&panels[1], timeline, span).map_err(|e| e.to_string())?;
                errors(&panels[2], timeline, span).map_err(|e| e.to_string())?;
                let mut next = panels[3..].iter();
                if work {
                    let area = next.next().expect("a panel for utilisation");
                    utilisation(area, timeline, span).map_err(|e| e.to_string())?;
                }
                if guarded {
                    let area = next.next().expect("a panel for guarded calls");
                    calls(area, timeline, span).map_err(|e| e.to_string())?;
                }
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// What is missing, said on the picture.
fn notes(timeline: &Timeline, plotted: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if timeline.duration.is_zero() {
        notes.push("no simulated time (-d 0): nothing ran to plot".to_string());
    } else if timeline.total.is_empty() {
        notes.push("no samples: the run ended before the first second was measured".to_string());
    }
    if plotted && timeline.counting == Counting::Messages {
        notes.push(
            "pirates send messages, not requests: no response times, errors or services to show"
                .to_string(),
        );
    }
    notes.extend(timeline.missing.iter().cloned());
    notes
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn header(area: &Area, timeline: &Timeline, arch: &str, notes: &[String]) -> Drawn {
    let what = match timeline.counting {
        Counting::Requests => "requests/s, response times and errors/s",
        Counting::Messages => "messages delivered per second",
    };
    area.draw(&Text::new(
        format!(
            "{arch}: {what} over {:.1} s of simulated time",
            timeline.duration.as_secs_f64()
        ),
        (20, 12),
        (FONT, 18).into_font().style(FontStyle::Bold),
    ))?;
    let events = match timeline.events.len() {
        0 => "no faults or other events during the run".to_string(),
        _ => {
            let list: Vec<String> = (timeline.events.iter())
                .map(|(t, l)| format!("{l} at {t:.1} s"))
                .collect();
            format!("events (red lines): {}", list.join("; "))
        }
    };
    area.draw(&Text::new(events, (20, 40), (FONT, 13)))?;
    for (i, n) in notes.iter().enumerate() {
        area.draw(&Text::new(
            n.clone(),
            (20, 62 + 18 * i as i32),
            (FONT, 14).into_font().color(&EVENT),
        ))?;
    }
    Ok(())
}

/// Chart frame with the events drawn in; `y_max` is the top of the scale.
fn chart<'a, 'b>(
    area: &'a Area<'b>,
    caption: &str,
    y_desc: &str,
    span: f64,
    y_max: f64,
    timeline: &Timeline,
) -> Result<Chart<'a, 'b>, DrawingAreaErrorKind<std::io::Error>> {
    let top = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let mut c = ChartBuilder::on(area)
        .caption(caption, (FONT, 15))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..span, 0f64..top)?;
    c.configure_mesh()
        .x_desc("seconds of simulated time")
        .y_desc(y_desc)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (i, (t, label)) in timeline.events.iter().enumerate() {
        c.draw_series(std::iter::once(PathElement::new(
            vec![(*t, 0.0), (*t, top)],
            EVENT.stroke_width(1),
        )))?;
        let y = top * (0.95 - 0.08 * (i % 4) as f64);
        c.draw_series(std::iter::once(Text::new(
            label.clone(),
            (*t + span * 0.005, y),
            (FONT, 11).into_font().color(&EVENT),
        )))?;
    }
    Ok(c)
}

fn max_of(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, f64::max)
}

fn rates(area: &Area, timeline: &Timeline, span: f64) -> Drawn {
    let (caption, y_desc, total_label) = match timeline.counting {
        Counting::Requests => (
            "requests per second: all the denominators sent, and those the busiest services received",
            "requests/s",
            "all requests (denominators)",
        ),
        Counting::Messages => ("messages delivered per second", "messages/s", "all messages"),
    };
    let y_max = max_of(
        (timeline.total.iter())
            .chain(timeline.services.iter().flat_map(|(_, s)| s))
            .map(|p| p.rate),
    );
    let mut c = chart(area, caption, y_desc, span, y_max, timeline)?;
    let line = |p: &Point| (p.t, p.rate);
    c.draw_series(LineSeries::new(
        timeline.total.iter().map(line),
        BLACK.stroke_width(2),
    ))?
    .label(total_label)
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    for (i, (name, points)) in timeline.services.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        c.draw_series(LineSeries::new(
            points.iter().map(line),
            colour.stroke_width(2),
        ))?
        .label(name.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    legend(&mut c)
}

fn legend<'a, 'b: 'a>(c: &mut Chart<'a, 'b>) -> Drawn {
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FONT, 11))
        .draw()
}

fn latencies(area: &Area, timeline: &Timeline, span: f64) -> Drawn {
    let all = || {
        (timeline.total.iter())
            .chain(timeline.services.iter().flat_map(|(_, s)| s))
            .flat_map(|p| [p.p50_ms, p.p99_ms])
            .flatten()
    };
    let mut c = chart(
        area,
        "response time, ms (p99 solid, p50 dashed): the denominators' end to end, and each busy service's",
        "ms",
        span,
        max_of(all()),
        timeline,
    )?;
    let series = std::iter::once(("all requests (denominators)", &timeline.total, BLACK)).chain(
        (timeline.services.iter().enumerate())
            .map(|(i, (name, s))| (name.as_str(), s, COLOURS[i % COLOURS.len()])),
    );
    for (name, points, colour) in series {
        // A second without answers has no percentile: the line breaks there.
        for run in split(points, |p| p.p99_ms) {
            c.draw_series(LineSeries::new(run, colour.stroke_width(2)))?;
        }
        for run in split(points, |p| p.p50_ms) {
            c.draw_series(DashedLineSeries::new(run, 5, 4, colour.stroke_width(1)))?;
        }
        c.draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
    }
    if all().next().is_none() {
        area.draw(&Text::new(
            "no request was answered: no response times",
            (120, 60),
            (FONT, 14).into_font().color(&EVENT),
        ))?;
    }
    legend(&mut c)
}

/// The stretches of `points` where `value` is known.
fn split(points: &[Point], value: impl Fn(&Point) -> Option<f64>) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for p in points {
        match value(p) {
            Some(v) => runs.last_mut().expect("one run at least").push((p.t, v)),
            None => runs.push(Vec::new()),
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

fn errors(area: &Area, timeline: &Timeline, span: f64) -> Drawn {
    let y_max = max_of(timeline.errors.iter().map(|(_, e)| *e));
    let mut c = chart(
        area,
        "errors per second: gets that failed and puts that were lost, any reason",
        "errors/s",
        span,
        y_max,
        timeline,
    )?;
    c.draw_series(LineSeries::new(
        timeline.errors.iter().copied(),
        EVENT.stroke_width(2),
    ))?
    .label("errors")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], EVENT.stroke_width(2)));
    legend(&mut c)
}

fn utilisation(area: &Area, timeline: &Timeline, span: f64) -> Drawn {
    let mut c = chart(
        area,
        "utilisation, % of concurrency slots busy: the most utilised services with a work model",
        "% busy",
        span,
        100.0 / 1.15,
        timeline,
    )?;
    for (i, (name, points)) in timeline.utilisation.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        c.draw_series(LineSeries::new(
            points.iter().map(|&(t, u)| (t, 100.0 * u)),
            colour.stroke_width(2),
        ))?
        .label(name.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    legend(&mut c)
}

/// Guarded calls: what resilience did each second, and the breakers open
/// (a count, drawn on the same scale as a step line).
fn calls(area: &Area, timeline: &Timeline, span: f64) -> Drawn {
    let points = &timeline.calls;
    let y_max = max_of(points.iter().flat_map(|p| {
        [
            p.timeout,
            p.short_circuited,
            p.fallback,
            p.retried,
            p.breakers_open as f64,
        ]
    }));
    let mut c = chart(
        area,
        "guarded calls per second: timed out, short-circuited (breaker open), fallbacks, retries; and breakers open",
        "calls/s · breakers",
        span,
        y_max,
        timeline,
    )?;
    type Pick = fn(&CallPoint) -> f64;
    let lines: [(&str, Pick, RGBColor); 4] = [
        ("timed out", |p| p.timeout, COLOURS[1]),
        ("short-circuited", |p| p.short_circuited, EVENT),
        ("fallback", |p| p.fallback, COLOURS[2]),
        ("retried", |p| p.retried, COLOURS[4]),
    ];
    for (label, pick, colour) in lines {
        c.draw_series(LineSeries::new(
            points.iter().map(|p| (p.t, pick(p))),
            colour.stroke_width(2),
        ))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    // A breaker's count holds from one sample to the next: steps.
    let mut steps = Vec::new();
    let mut t0 = 0.0;
    for p in points {
        let n = p.breakers_open as f64;
        steps.push((t0, n));
        steps.push((p.t, n));
        t0 = p.t;
    }
    c.draw_series(DashedLineSeries::new(steps, 6, 3, BLACK.stroke_width(2)))?
        .label("breakers open (count)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    legend(&mut c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: f64, rate: f64, p99: Option<f64>) -> Point {
        Point {
            t,
            rate,
            p50_ms: p99.map(|v| v / 2.0),
            p99_ms: p99,
        }
    }

    fn well_formed(svg: &str) {
        let mut reader = quick_xml::Reader::from_str(svg);
        loop {
            if let quick_xml::events::Event::Eof = reader.read_event().expect("well-formed SVG") {
                return;
            }
        }
    }

    fn synthetic() -> Timeline {
        Timeline {
            duration: Duration::from_secs(4),
            counting: Counting::Requests,
            total: (1..=4)
                .map(|t| point(t as f64, 100.0 * t as f64, Some(2.0)))
                .collect(),
            errors: vec![(1.0, 0.0), (2.0, 3.0), (3.0, 0.0), (4.0, 0.0)],
            services: vec![
                (
                    "zuul".into(),
                    (1..=4).map(|t| point(t as f64, 90.0, Some(1.0))).collect(),
                ),
                (
                    "staash<&>".into(),
                    vec![point(1.0, 5.0, None), point(2.0, 7.0, Some(4.0))],
                ),
            ],
            utilisation: Vec::new(),
            calls: Vec::new(),
            events: vec![(2.0, "chaos monkey: homepage03".into())],
            missing: vec!["node2 was lost: its figures stop at 3.0 s".into()],
        }
    }

    #[test]
    fn work_and_guarded_calls_get_their_own_charts() {
        let plain = draw(&synthetic(), "netflixoss").unwrap();
        assert!(!plain.contains("utilisation") && !plain.contains("guarded calls"));
        let t = Timeline {
            utilisation: vec![("homepage".into(), vec![(1.0, 0.5), (2.0, 0.97)])],
            calls: (1..=4)
                .map(|t| CallPoint {
                    t: t as f64,
                    short_circuited: if t >= 3 { 40.0 } else { 0.0 },
                    breakers_open: u64::from(t >= 3) * 6,
                    ..CallPoint::default()
                })
                .collect(),
            ..synthetic()
        };
        let svg = draw(&t, "netflixoss").unwrap();
        well_formed(&svg);
        for needle in [
            "utilisation, % of",
            "homepage",
            "guarded calls per second",
            "breakers open (count)",
        ] {
            assert!(svg.contains(needle), "no {needle}");
        }
        // Two more charts: the picture is taller.
        let height = |svg: &str| {
            svg.split("height=\"")
                .nth(1)
                .and_then(|h| h.split('"').next())
                .map(String::from)
        };
        assert_ne!(height(&svg), height(&plain));
    }

    #[test]
    fn a_synthetic_series_is_drawn_with_its_events() {
        let svg = draw(&synthetic(), "netflixoss").unwrap();
        well_formed(&svg);
        for needle in [
            "netflixoss: requests/s",
            "chaos monkey: homepage03",
            "zuul",
            "staash&lt;&amp;&gt;",
            "node2 was lost",
            "errors per second",
            "<polyline",
        ] {
            assert!(svg.contains(needle), "no {needle}");
        }
    }

    #[test]
    fn no_simulated_time_says_so() {
        let t = Timeline {
            duration: Duration::ZERO,
            total: Vec::new(),
            errors: Vec::new(),
            services: Vec::new(),
            events: Vec::new(),
            missing: Vec::new(),
            ..synthetic()
        };
        let svg = draw(&t, "fsm").unwrap();
        well_formed(&svg);
        assert!(svg.contains("no simulated time"));
        assert!(!svg.contains("<polyline"));
    }

    #[test]
    fn pirates_get_messages_and_say_what_they_lack() {
        let t = Timeline {
            counting: Counting::Messages,
            services: Vec::new(),
            ..synthetic()
        };
        let svg = draw(&t, "fsm").unwrap();
        well_formed(&svg);
        assert!(svg.contains("messages delivered per second"));
        assert!(svg.contains("pirates send messages, not requests"));
        assert!(!svg.contains("errors per second"));
    }

    #[test]
    fn gaps_break_a_line() {
        let pts = [
            point(1.0, 1.0, Some(1.0)),
            point(2.0, 1.0, None),
            point(3.0, 1.0, Some(3.0)),
        ];
        assert_eq!(
            split(&pts, |p| p.p99_ms),
            vec![vec![(1.0, 1.0)], vec![(3.0, 3.0)]]
        );
    }
}
