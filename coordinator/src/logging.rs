//! Log lines on stderr in the shape spigo's users know:
//! `2026/11/26 12:06:47.123456 fsm: Delivered 600 messages in 1.2ms`.

use chrono::Local;
use std::fmt;
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

/// Installs the subscriber; `RUST_LOG` overrides the default.
///
/// ractor opens an INFO span for every actor it starts; recording a million
/// of them costs seconds and hundreds of megabytes, so ractor's own logging
/// starts at WARN unless `RUST_LOG` asks for more.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,ractor=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(SpigoFormat)
        .try_init();
}
