//! The house rules a reviewer checks by eye, checked by machine: inside each
//! crate `use` goes downward (no file reaches, directly or through others,
//! a file that reaches it back), and no source file outside tests grows past
//! what a newcomer reads in one go.
//!
//! The import graph is read from the source text: every `crate::` and
//! `super::` path outside comments and test modules is an edge from its
//! file to the file of the module it names. A name a module only
//! re-exports (`pub use a::b::Name`) is followed to where it comes from,
//! so re-exporting from `lib.rs` or a folder's `mod.rs` is no circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source files may be this long at most, tests excluded (and the viewer's
/// JavaScript, which is not Rust).
const MAX_LINES: usize = 650;

/// One crate's source: module path (`run::fsm`) -> its file's code, test
/// modules and comments cut.
struct Crate {
    modules: BTreeMap<String, String>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The code of a file without `//` comments and without its test module.
fn code_of(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..cut]
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.last().map(String::as_str) {
        Some("main" | "lib") if parts.len() == 1 => String::new(),
        Some("mod") => parts[..parts.len() - 1].join("::"),
        _ => parts.join("::"),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

impl Crate {
    fn read(name: &str) -> Crate {
        let src = workspace().join(name).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules = files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                (module_of(&src, f), code_of(&text))
            })
            .collect();
        Crate { modules }
    }

    /// Where `Name` in module `m` really lives, following `pub use`.
    fn origin(&self, m: &str, name: &str, depth: usize) -> String {
        let Some(code) = self.modules.get(m) else {
            return m.to_string();
        };
        if depth > 8 {
            return m.to_string();
        }
        for stmt in code.split(';') {
            let stmt = stmt.trim();
            let Some(path) = stmt
                .strip_prefix("pub use ")
                .or_else(|| stmt.strip_prefix("pub(crate) use "))
            else {
                continue;
            };
            let path = path.replace(char::is_whitespace, "");
            let (base, names): (&str, Vec<&str>) = match path.split_once("::{") {
                Some((base, rest)) => (base, rest.trim_end_matches('}').split(',').collect()),
                None => match path.rsplit_once("::") {
                    Some((base, last)) => (base, vec![last]),
                    None => continue,
                },
            };
            let exported = |n: &&str| {
                let n = n.rsplit("::").next().unwrap_or(n);
                n == name || n.ends_with(&format!(" as {name}"))
            };
            if names.iter().any(exported) {
                let base = base.trim_start_matches("self::");
                let target = if let Some(abs) = base.strip_prefix("crate::") {
                    abs.to_string()
                } else if m.is_empty() {
                    base.to_string()
                } else {
                    format!("{m}::{base}")
                };
                let target = self.resolve(&target);
                return self.origin(&target, name, depth + 1);
            }
        }
        m.to_string()
    }

    /// The longest module prefix of `path` that is a file of the crate.
    fn resolve(&self, path: &str) -> String {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        for n in (0..=parts.len()).rev() {
            let m = parts[..n].join("::");
            if self.modules.contains_key(&m) {
                return m;
            }
        }
        String::new()
    }

    /// Module -> modules it reaches.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, code) in &self.modules {
            let parent = m.rsplit_once("::").map_or("", |(p, _)| p);
            let mut add = |abs: String| {
                let target = self.resolve(&abs);
                let name = abs
                    .strip_prefix(&target)
                    .unwrap_or("")
                    .trim_start_matches("::")
                    .split("::")
                    .next()
                    .unwrap_or("")
                    .to_string();
                let target = self.origin(&target, &name, 0);
                if target != *m {
                    edges.entry(m.clone()).or_default().insert(target);
                }
            };
            for (i, _) in code.match_indices("crate::") {
                add(path_at(&code[i + "crate::".len()..]));
            }
            for (i, _) in code.match_indices("super::") {
                if code[..i].ends_with("::") {
                    continue;
                }
                let rest = path_at(&code[i + "super::".len()..]);
                add(if parent.is_empty() {
                    rest
                } else {
                    format!("{parent}::{rest}")
                });
            }
            // `use` groups: `use crate::{a::X, b::Y}`.
            for (i, _) in code.match_indices("crate::{") {
                let group = &code[i + "crate::{".len()..];
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',') {
                    add(item.trim().to_string());
                }
            }
        }
        edges
    }
}

/// The `a::b::Name` path that starts `text`.
fn path_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect::<String>()
        .trim_end_matches(':')
        .to_string()
}

/// The circles of a graph: every strongly connected set of more than one
/// module (Tarjan's algorithm, iteratively small enough to recurse).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on_stack: BTreeSet<String>,
        found: Vec<Vec<String>>,
    }
    impl Walk<'_> {
        fn visit(&mut self, m: &str) {
            let i = self.index.len();
            self.index.insert(m.to_string(), i);
            self.low.insert(m.to_string(), i);
            self.stack.push(m.to_string());
            self.on_stack.insert(m.to_string());
            let next: Vec<String> = self
                .edges
                .get(m)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            for n in next {
                if !self.index.contains_key(&n) {
                    self.visit(&n);
                    let low = self.low[m].min(self.low[&n]);
                    self.low.insert(m.to_string(), low);
                } else if self.on_stack.contains(&n) {
                    let low = self.low[m].min(self.index[&n]);
                    self.low.insert(m.to_string(), low);
                }
            }
            if self.low[m] == self.index[m] {
                let mut set = Vec::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(&top);
                    let done = top == m;
                    set.push(top);
                    if done {
                        break;
                    }
                }
                if set.len() > 1 {
                    set.sort();
                    self.found.push(set);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    let all: BTreeSet<String> = edges
        .iter()
        .flat_map(|(k, v)| std::iter::once(k.clone()).chain(v.iter().cloned()))
        .collect();
    for m in &all {
        if !walk.index.contains_key(m) {
            walk.visit(m);
        }
    }
    walk.found
}

fn show(m: &str) -> &str {
    if m.is_empty() {
        "(crate root)"
    } else {
        m
    }
}

#[test]
fn use_goes_downward_in_every_crate() {
    let mut problems = Vec::new();
    for name in ["proto", "node", "coordinator"] {
        let c = Crate::read(name);
        let edges = c.edges();
        for set in circles(&edges) {
            let names: Vec<&str> = set.iter().map(|m| show(m)).collect();
            problems.push(format!("{name}: import circle among {}", names.join(", ")));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_source_file_is_too_long() {
    let mut long = Vec::new();
    for name in ["proto", "node", "coordinator"] {
        let mut files = Vec::new();
        rust_files(&workspace().join(name).join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let code = text
                .find("#[cfg(test)]\nmod tests")
                .map_or(text.as_str(), |i| &text[..i]);
            let n = code.lines().count();
            if n > MAX_LINES && !f.ends_with("tests.rs") {
                long.push(format!(
                    "{}: {n} lines",
                    f.strip_prefix(workspace()).unwrap_or(&f).display()
                ));
            }
        }
    }
    assert!(
        long.is_empty(),
        "longer than {MAX_LINES} lines outside tests:\n{}",
        long.join("\n")
    );
}

/// The checker itself finds a circle where there is one.
#[test]
fn the_circle_finder_finds_circles() {
    let c = Crate {
        modules: [
            ("", "mod a; mod b; pub use a::Thing;"),
            ("a", "use crate::b::Other; pub struct Thing;"),
            ("b", "use crate::Thing; pub struct Other;"),
            ("c", "use super::a::Thing;"),
        ]
        .into_iter()
        .map(|(m, code)| (m.to_string(), code_of(code)))
        .collect(),
    };
    let edges = c.edges();
    assert!(edges["b"].contains("a"), "re-export followed: {edges:?}");
    assert_eq!(
        circles(&edges),
        vec![vec!["a".to_string(), "b".to_string()]]
    );
}
