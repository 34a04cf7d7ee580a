//! What shells and `man` read about spigo, made from the same clap
//! definition the command line is parsed with, so neither can fall behind
//! the flags: `spigo completions SHELL` and `spigo man`.

use super::args::Cli;
use clap::CommandFactory;
use clap_complete::Shell;

/// The completion script for `shell`, completing `spigo`.
pub(crate) fn completions(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "spigo", &mut script);
    script
}

/// The man page, in roff.
pub(crate) fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_know_the_flags() {
        let bash = String::from_utf8(completions(Shell::Bash)).unwrap();
        assert!(bash.contains("--duration"), "{bash}");
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.contains(".TH spigo 1"), "{page}");
        assert!(page.contains(r"\-\-duration"), "{page}");
    }
}
