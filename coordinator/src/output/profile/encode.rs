//! The sampler's report as a pprof protobuf profile that `go tool pprof`
//! reads fully. pprof-rs's own conversion keys functions by bare name, so
//! every inlined `{closure#0}` or `poll` of every crate became one function,
//! and it writes no mappings. Here:
//!
//! - one location per sampled frame, its inlined calls as the location's
//!   lines (innermost first, as pprof wants), with the frame's address and
//!   the mapping that holds it;
//! - a name with no path (debug info names inlined closures and methods
//!   bare: `{closure#0}<…>`, `poll<…>`) gets the function it was inlined
//!   into: `{closure#0}<…> in tokio::runtime::park::CachedParkThread::block_on`;
//! - the mapping table from [`mappings`](super::mappings): the binary's
//!   path, build id and address range first, then the shared libraries.

use super::mappings::{Functions, Region};
use pprof::protos::{Function, Label, Line, Location, Mapping, Profile, Sample, ValueType};
use pprof::{Report, Symbol};
use std::collections::HashMap;
use std::time::SystemTime;

/// The string table: index 0 is the empty string, as the format requires.
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            table: vec![String::new()],
            index: HashMap::from([(String::new(), 0)]),
        }
    }

    fn id(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }
}

/// Whether a demangled name carries its path (`a::b::f<T>`, `<T as U>::f`)
/// or is a bare inlined name (`{closure#0}<T>`, `poll<T>`).
fn is_qualified(name: &str) -> bool {
    name.starts_with('<') || name.split('<').next().is_some_and(|p| p.contains("::"))
}

/// `a::B<T>::f<U>::{{closure}}` → `a::B::f::{{closure}}`: an enclosing
/// function's path without the generic arguments that would make every
/// name a paragraph (`<T as Trait>::f` keeps its leading `<…>`, which is
/// the path).
fn without_generics(name: &str) -> String {
    if name.starts_with('<') {
        return name.to_string();
    }
    let mut depth = 0usize;
    name.chars()
        .filter(|&c| {
            match c {
                '<' => depth += 1,
                '>' if depth > 0 => {
                    depth -= 1;
                    return false;
                }
                _ => {}
            }
            depth == 0 && c != '<'
        })
        .collect()
}

/// Whether the symbol table's `full` name is the function debug info
/// calls `bare` (the same path where debug info has one; `recv` for `tokio::…::Rx<T,S>::recv`; a closure or async
/// body for `…::{{closure}}`): the check that an address was looked up in
/// the right file.
fn same_function(bare: &str, full: &str) -> bool {
    if is_qualified(bare) {
        return without_generics(bare) == without_generics(full);
    }
    let bare = without_generics(bare);
    let last = full.rsplit("::").next().unwrap_or(full);
    let last = last.split('<').next().unwrap_or(last);
    bare == last || (bare.starts_with('{') && last == "{{closure}}")
}

/// The names of one frame's symbols (innermost first), bare ones told
/// which function they were inlined into. `outer` is the symbol table's
/// name for the frame's own function, where it was found and agrees with
/// debug info ([`same_function`]).
fn frame_names(frame: &[Symbol], outer: Option<&str>) -> Vec<String> {
    let mut names: Vec<String> = frame.iter().map(Symbol::name).collect();
    if let (Some(last), Some(outer)) = (names.last_mut(), outer) {
        if !is_qualified(last) {
            *last = outer.to_string();
        }
    }
    (0..names.len())
        .map(|i| {
            if is_qualified(&names[i]) {
                return names[i].clone();
            }
            match names[i + 1..].iter().find(|n| is_qualified(n)) {
                Some(outer) => format!("{} in {}", names[i], without_generics(outer)),
                None => names[i].clone(),
            }
        })
        .collect()
}

/// Builds the profile. `regions` and `functions` come from
/// [`of_this_process`](super::mappings::of_this_process), main binary first.
pub(crate) fn profile(report: &Report, regions: &[Region], functions: &Functions) -> Profile {
    let mut strings = Strings::new();
    let mapping: Vec<Mapping> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| Mapping {
            id: i as u64 + 1,
            memory_start: r.start,
            memory_limit: r.limit,
            file_offset: r.offset,
            filename: strings.id(&r.path),
            build_id: strings.id(r.build_id.as_deref().unwrap_or("")),
            // Already symbolised here: pprof need not look the addresses up.
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
        })
        .collect();
    // Debug info gives file addresses; the main binary's bias turns them
    // into addresses in memory, inside its mapping.
    let main_bias = regions.first().and_then(|r| r.bias);

    let mut ids_by_name: HashMap<(String, String), u64> = HashMap::new();
    let mut function: Vec<Function> = Vec::new();
    let mut locations: HashMap<(u64, Vec<u64>), u64> = HashMap::new();
    let mut location: Vec<Location> = Vec::new();
    let mut sample = Vec::new();
    let thread = strings.id("thread");
    let period = 1_000_000_000 / i64::from(report.timing.frequency.max(1));
    for (frames, &count) in &report.data {
        let mut ids = Vec::with_capacity(frames.frames.len());
        for frame in &frames.frames {
            let file_address = frame.last().and_then(|s| s.addr).map(|a| a as usize as u64);
            let outer = file_address.and_then(|a| functions.containing(a));
            let bare = frame.last().map(Symbol::name).unwrap_or_default();
            // Only an address the main binary's symbols agree on is its.
            let (address, mapping_id, outer) = match (file_address, main_bias, outer) {
                (Some(a), Some(bias), Some(o)) if same_function(&bare, o) => (a + bias, 1, Some(o)),
                _ => (0, 0, None),
            };
            let mut lines = Vec::with_capacity(frame.len());
            for (symbol, name) in frame.iter().zip(frame_names(frame, outer)) {
                let file = symbol.filename().into_owned();
                let key = (name, file);
                let id = match ids_by_name.get(&key) {
                    Some(&id) => id,
                    None => {
                        let id = function.len() as u64 + 1;
                        function.push(Function {
                            id,
                            name: strings.id(&key.0),
                            system_name: strings.id(&symbol.sys_name()),
                            filename: strings.id(&key.1),
                            ..Function::default()
                        });
                        ids_by_name.insert(key, id);
                        id
                    }
                };
                lines.push(Line {
                    function_id: id,
                    line: i64::from(symbol.lineno.unwrap_or(0)),
                });
            }
            let key = (address, lines.iter().map(|l| l.function_id).collect());
            let id = *locations.entry(key).or_insert_with(|| {
                let id = location.len() as u64 + 1;
                location.push(Location {
                    id,
                    mapping_id,
                    address,
                    line: lines,
                    ..Location::default()
                });
                id
            });
            ids.push(id);
        }
        let name = strings.id(&frames.thread_name_or_id());
        sample.push(Sample {
            location_id: ids,
            value: vec![count as i64, count as i64 * period],
            label: vec![Label {
                key: thread,
                str: name,
                ..Label::default()
            }],
        });
    }
    let cpu = ValueType {
        ty: strings.id("cpu"),
        unit: strings.id("nanoseconds"),
    };
    let samples = ValueType {
        ty: strings.id("samples"),
        unit: strings.id("count"),
    };
    Profile {
        sample_type: vec![samples, cpu.clone()],
        sample,
        mapping,
        location,
        function,
        time_nanos: report
            .timing
            .start_time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
        duration_nanos: report.timing.duration.as_nanos() as i64,
        period_type: Some(cpu),
        period,
        string_table: strings.table,
        ..Profile::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(name: &str) -> Symbol {
        Symbol {
            name: Some(name.as_bytes().to_vec()),
            addr: None,
            lineno: Some(7),
            filename: None,
        }
    }

    #[test]
    fn bare_inlined_names_get_the_function_they_were_inlined_into() {
        let frame = [
            symbol("{closure#0}<spigo::run::Thing>"),
            symbol("poll<u8>"),
            symbol("tokio::runtime::park::CachedParkThread::block_on<F>"),
        ];
        assert_eq!(
            frame_names(&frame, None),
            [
                "{closure#0}<spigo::run::Thing> in tokio::runtime::park::CachedParkThread::block_on",
                "poll<u8> in tokio::runtime::park::CachedParkThread::block_on",
                "tokio::runtime::park::CachedParkThread::block_on<F>",
            ]
        );
        assert!(is_qualified("<T as core::future::Future>::poll"));
        assert_eq!(
            without_generics("ractor::ActorRuntime<A>::start<F<G>>::{{closure}}"),
            "ractor::ActorRuntime::start::{{closure}}"
        );
        assert_eq!(frame_names(&[symbol("main")], None), ["main"]);
        // Debug info names every frame bare; the symbol table has the path.
        let frame = [symbol("{closure#0}<u8>"), symbol("recv<T>")];
        assert_eq!(
            frame_names(&frame, Some("tokio::sync::mpsc::chan::Rx<T,S>::recv")),
            [
                "{closure#0}<u8> in tokio::sync::mpsc::chan::Rx::recv",
                "tokio::sync::mpsc::chan::Rx<T,S>::recv"
            ]
        );
        assert!(same_function(
            "{async_fn#0}<X>",
            "ractor::actor::Actor::start::{{closure}}"
        ));
        assert!(!same_function(
            "poll",
            "tokio::sync::mpsc::chan::Rx<T,S>::recv"
        ));
    }

    #[test]
    fn an_empty_report_is_a_valid_profile_with_its_mappings() {
        let report = Report {
            data: HashMap::new(),
            timing: Default::default(),
        };
        let regions = [Region {
            start: 0x1000,
            limit: 0x9000,
            offset: 0,
            path: "/usr/bin/spigo".into(),
            build_id: Some("abcd".into()),
            bias: Some(0),
        }];
        let p = profile(&report, &regions, &Functions::default());
        assert!(p.sample.is_empty());
        assert_eq!(p.string_table[0], "");
        let m = &p.mapping[0];
        assert_eq!(p.string_table[m.filename as usize], "/usr/bin/spigo");
        assert_eq!(p.string_table[m.build_id as usize], "abcd");
        assert_eq!((m.memory_start, m.memory_limit), (0x1000, 0x9000));
    }
}
