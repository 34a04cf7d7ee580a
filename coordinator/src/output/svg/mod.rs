//! `--svg`: two pictures of a run under `<out>/svg/`. `<arch>.svg` is the
//! graph as an architect draws it (regions and zones as boxes, services in
//! tiers from the entry point down, coloured by package, see `graph.rs`
//! and `layout.rs`); `<arch>_timeline.svg` is the run second by second
//! (requests/s, p50/p99, errors/s, faults marked, see `timeline.rs`).
//! This file owns where they go, the atomic write, and what both share:
//! the package colours and text escaping.

pub(crate) mod graph;
mod layout;
pub(crate) mod timeline;

use super::files::check_writable;
use super::graph::Graph;
use super::writers::write_atomically;
use crate::error;
use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};
use timeline::Timeline;

/// The two files of `--svg`.
pub(crate) struct Pictures {
    pub graph: PathBuf,
    pub timeline: PathBuf,
}

impl Pictures {
    /// `<out>/svg/<stem>.svg` and `<out>/svg/<stem>_timeline.svg`.
    pub(crate) fn new(out: &Path, stem: &str) -> Pictures {
        let dir = out.join("svg");
        Pictures {
            graph: dir.join(format!("{stem}.svg")),
            timeline: dir.join(format!("{stem}_timeline.svg")),
        }
    }

    /// Fails before any simulated time is spent if `svg/` cannot be written.
    pub(crate) fn check(&self) -> error::Result<()> {
        check_writable(self.graph.parent().expect("joined above"), "--svg")
    }

    /// Draws the graph picture; the file appears whole or not at all.
    pub(crate) fn write_graph(&self, graph: &Graph, arch: &str) -> Result<()> {
        let text = graph::draw(graph, arch);
        write_atomically(&self.graph, |w| w.write_all(text.as_bytes()))?;
        tracing::info!("{arch}: wrote {}", self.graph.display());
        Ok(())
    }

    /// Draws the timeline picture.
    pub(crate) fn write_timeline(&self, timeline: &Timeline, arch: &str) -> Result<()> {
        let text = timeline::draw(timeline, arch)
            .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", self.timeline.display()))?;
        write_atomically(&self.timeline, |w| w.write_all(text.as_bytes()))?;
        tracing::info!("{arch}: wrote {}", self.timeline.display());
        Ok(())
    }
}

/// The colour of a package: the live viewer's palette (web/viewer.js
/// `PALETTE`), so the picture and the viewer agree; a package it does not
/// name gets the viewer's hashed hue.
pub(crate) fn colour_of(package: &str) -> String {
    let known = match package {
        "pirate" => "#e6550d",
        "denominator" => "#1f77b4",
        "elb" => "#17becf",
        "zuul" => "#9467bd",
        "karyon" => "#2ca02c",
        "monolith" => "#8c564b",
        "staash" => "#ff9f1c",
        "priamCassandra" => "#d62728",
        "store" => "#e377c2",
        "cache" => "#bcbd22",
        "volume" => "#3949ab",
        "riak" => "#c49c00",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    // JavaScript's `(h * 31 + charCode) >>> 0` over UTF-16 code units.
    let h = package
        .encode_utf16()
        .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)));
    format!("hsl({}, 55%, 48%)", h % 360)
}

/// `text` made safe inside an XML element or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("bell\u{7}"), "bell\u{fffd}");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn colours_agree_with_the_viewer() {
        assert_eq!(colour_of("staash"), "#ff9f1c");
        // viewer.js: [..."zz"] -> (122 * 31 + 122) >>> 0 = 3904; 3904 % 360 = 304
        assert_eq!(colour_of("zz"), "hsl(304, 55%, 48%)");
    }
}
