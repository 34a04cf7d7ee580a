//! Log lines on stderr in the shape spigo's users know:
//! `2026/11/26 12:06:47.123456 fsm: Delivered 600 messages in 1.2ms`,
//! and progress bars for long phases when stderr is a terminal (log lines
//! are printed above the bars, never through them).

use chrono::Local;
use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};
use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

struct SpigoFormat;

impl<S, N> FormatEvent<S, N> for SpigoFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(w, "{} ", Local::now().format("%Y/%m/%d %H:%M:%S%.6f"))?;
        let level = *event.metadata().level();
        if level <= Level::WARN {
            write!(w, "{level}: ")?;
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Progress bars share stderr with the log.
static BARS: OnceLock<MultiProgress> = OnceLock::new();

fn bars() -> &'static MultiProgress {
    BARS.get_or_init(MultiProgress::new)
}

/// Whether to draw progress bars: stderr is a terminal and not `-q`.
static DRAW: AtomicBool = AtomicBool::new(false);

/// A bar for a long phase, or a hidden one when not on a terminal.
pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    if !DRAW.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    // The rate as a person writes it (`667k/s`, not `666,676.7058/s`),
    // and time spent rather than an estimate of time left: spawn rates
    // swing too much for one ("0s left" at 22%).
    let style = ProgressStyle::with_template(
        "{msg:>18} [{bar:40}] {human_pos}/{human_len} ({rate}/s, {elapsed})",
    )
    .expect("a valid template")
    .with_key("rate", |state: &ProgressState, w: &mut dyn fmt::Write| {
        let _ = w.write_str(&per_second(state.per_sec()));
    })
    .progress_chars("=> ");
    bars().add(
        ProgressBar::new(len)
            .with_style(style)
            .with_message(what.to_string()),
    )
}

/// Writes each log line with the progress bars out of the way.
struct AboveBars;

impl Write for AboveBars {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        bars().suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The log filter in force, handed to the node processes `--nodes` starts
/// so that `-q` and `-v` apply to their lines too.
static DIRECTIVE: OnceLock<String> = OnceLock::new();

pub(crate) fn directive() -> &'static str {
    DIRECTIVE.get().map_or("info,ractor=warn", String::as_str)
}

/// Installs the subscriber. `RUST_LOG` overrides the default level, which is
/// info, warn with `-q`, debug with `-v`, trace with `-vv`.
///
/// ractor opens an INFO span for every actor it starts; recording a million
/// of them costs seconds and hundreds of megabytes, so ractor's own logging
/// starts at WARN unless `RUST_LOG` asks for more.
pub(crate) fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let directive = std::env::var("RUST_LOG").unwrap_or_else(|_| format!("{level},ractor=warn"));
    let _ = DIRECTIVE.set(directive.clone());
    let filter = EnvFilter::try_new(&directive)
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},ractor=warn")));
    DRAW.store(std::io::stderr().is_terminal() && !quiet, Ordering::Relaxed);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| AboveBars)
        .event_format(SpigoFormat)
        .try_init();
}

/// A line that shows where a running simulation is (`run/progress.rs`),
/// or a hidden one when not on a terminal.
pub(crate) fn status_line() -> ProgressBar {
    if !DRAW.load(Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{msg}").expect("a valid template");
    bars().add(ProgressBar::new_spinner().with_style(style))
}

/// A rate as a person writes it: `87`, `46.5k`, `667k`, `1.2M`.
pub(crate) fn per_second(x: f64) -> String {
    match x {
        x if !x.is_finite() || x < 0.0 => "-".to_string(),
        x if x < 999.5 => format!("{x:.0}"),
        x if x < 99_950.0 => format!("{:.1}k", x / 1e3),
        x if x < 999_500.0 => format!("{:.0}k", x / 1e3),
        x => format!("{:.1}M", x / 1e6),
    }
}

/// A count with thousands separated: `1,894`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_counts_read_as_written() {
        assert_eq!(per_second(87.2), "87");
        assert_eq!(per_second(46_512.0), "46.5k");
        assert_eq!(per_second(666_676.705_8), "667k");
        assert_eq!(per_second(1_234_567.0), "1.2M");
        assert_eq!(per_second(f64::NAN), "-");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1894), "1,894");
        assert_eq!(grouped(1_000_000), "1,000,000");
    }
}
