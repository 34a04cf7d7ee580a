//! Go's flag package, which spigo used, accepted `-name value`,
//! `-name=value` and multi-letter single-dash flags; [`normalise`] rewrites
//! the latter so clap sees `--name`.

/// Multi-letter flags spigo spelled with one dash.
const GO_LONG_FLAGS: &[&str] = &["kv", "cpuprofile"];

/// Rewrites Go-style `-kv x` / `-cpuprofile=x` into `--kv x` / `--cpuprofile=x`.
pub(crate) fn normalise(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .map(|a| {
            let bare = a.strip_prefix('-').filter(|r| !r.starts_with('-'));
            match bare {
                Some(rest) if GO_LONG_FLAGS.contains(&rest.split('=').next().unwrap_or("")) => {
                    format!("-{a}")
                }
                _ => a,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_long_flags_are_rewritten() {
        let v = normalise([
            "-kv".to_string(),
            "chat:1ms".into(),
            "-cpuprofile=f".into(),
            "-d".into(),
        ]);
        assert_eq!(v, ["--kv", "chat:1ms", "--cpuprofile=f", "-d"]);
    }
}
