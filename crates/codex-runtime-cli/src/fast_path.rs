//! The command lines an SDK runs on every start (`codex-runtime [--cache-dir DIR] path
//! [--version V] ...`) read without clap.
//!
//! clap builds the whole command tree, every subcommand and flag, before it reads a word; for
//! a cached `path` that is most of the heap the process ever touches and a third of its
//! instructions (BENCHMARKS.md). [`parse`] accepts a strict subset of what clap accepts and
//! gives the same [`Cli`] for it; anything else (help, an unknown or repeated flag, a value
//! that does not parse, a variable clap reads a flag from) returns `None`, and clap reads the
//! command line and says what is wrong with it. `tests::agrees_with_clap` holds the two to the
//! same answer.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::{Cli, Command, GlobalArgs, PathArgs, Selection, SourceArgs};

/// The variables clap reads flags of `path` from (`--manifest`, `--mirror`): a command line is
/// left to clap whenever one of them is set.
const ENV: [&str; 2] = [codex_runtime::model::env::MANIFEST, codex_runtime::model::env::MIRROR];

/// The `Cli` clap would read from `args` (the program name first), when `args` is a `path`
/// command line made only of the flags below; `None` for everything else.
pub fn parse(args: impl IntoIterator<Item = OsString>, env_set: impl Fn(&str) -> bool) -> Option<Cli> {
    if ENV.iter().any(|name| env_set(name)) {
        return None;
    }
    let mut words = args.into_iter().skip(1).map(|word| word.into_string().ok());
    let mut global =
        GlobalArgs { cache_dir: None, manifest: Vec::new(), offline: false, json: false, quiet: false, verbose: 0 };
    let mut selection = Selection { channel: None, version: None, version_from: None, target: None };
    let mut no_install = false;
    let mut in_path = false;
    while let Some(word) = words.next() {
        let word = word?;
        if !in_path && word == "path" {
            in_path = true;
            continue;
        }
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (word.as_str(), None),
        };
        let mut value = || -> Option<String> {
            let value = match inline.clone() {
                Some(value) => value,
                None => words.next()??,
            };
            (!value.is_empty() && !value.starts_with('-')).then_some(value)
        };
        match (flag, in_path) {
            ("--cache-dir", _) if global.cache_dir.is_none() => global.cache_dir = Some(PathBuf::from(value()?)),
            ("--json", _) if inline.is_none() && !global.json => global.json = true,
            ("--offline", _) if inline.is_none() && !global.offline => global.offline = true,
            ("--no-install", true) if inline.is_none() && !no_install => no_install = true,
            ("--version", true) if selection.version.is_none() => {
                selection.version = Some(codex_runtime::VersionRequest::parse_cli(&value()?).ok()?);
            }
            ("--channel", true) if selection.channel.is_none() => selection.channel = Some(value()?.parse().ok()?),
            ("--target", true) if selection.target.is_none() => selection.target = Some(value()?.parse().ok()?),
            _ => return None,
        }
    }
    let sources = SourceArgs {
        mirror: None,
        sources: Vec::new(),
        npm_registry: None,
        pypi_index: None,
        python: None,
        explain_sources: false,
    };
    in_path.then(|| Cli { global, command: Command::Path(PathArgs { selection, sources, no_install }) })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("codex-runtime").chain(words.iter().copied()).map(OsString::from).collect()
    }

    fn fast(words: &[&str]) -> Option<Cli> {
        parse(argv(words), |_| false)
    }

    /// Words the command lines below are made of: every flag the fast path reads, in both
    /// spellings, with good and bad values, and words it must leave to clap.
    const PIECES: &[&[&str]] = &[
        &["--cache-dir", "/c"],
        &["--cache-dir=/d"],
        &["--cache-dir"],
        &["--cache-dir="],
        &["--json"],
        &["--json=true"],
        &["--offline"],
        &["--no-install"],
        &["--version", "0.163.0"],
        &["--version=0.160"],
        &["--version", ">=0.159, <0.160"],
        &["--version", "0.163.0-alpha.2"],
        &["--version", "not a version"],
        &["--version", "-1"],
        &["--channel", "alpha"],
        &["--channel=stable"],
        &["--channel", "nightly"],
        &["--target", "aarch64-apple-darwin"],
        &["--target=x86_64-unknown-linux-musl"],
        &["--target", "x86_64-unknown-linux-gnu"],
        &["--version-from", "pyproject.toml"],
        &["--mirror", "/m"],
        &["-q"],
        &["-v"],
        &["--help"],
        &["-h"],
        &["--"],
        &["path"],
        &["install"],
        &["extra"],
    ];

    #[test]
    fn agrees_with_clap() {
        let (mut accepted, mut total) = (0, 0);
        let mut check = |words: Vec<&str>| {
            total += 1;
            let Some(ours) = fast(&words) else { return };
            accepted += 1;
            let clap = Cli::try_parse_from(argv(&words)).unwrap_or_else(|e| panic!("{words:?}: clap refuses it: {e}"));
            assert_eq!(format!("{ours:?}"), format!("{clap:?}"), "{words:?}");
        };
        // Up to one piece before `path` and up to two after it, in every order: about 30,000 lines.
        let before = std::iter::once(&[][..]).chain(PIECES.iter().copied());
        for first in before {
            for second in std::iter::once(&[][..]).chain(PIECES.iter().copied()) {
                for third in std::iter::once(&[][..]).chain(PIECES.iter().copied()) {
                    let mut words: Vec<&str> = first.to_vec();
                    words.push("path");
                    words.extend(second);
                    words.extend(third);
                    check(words);
                }
            }
        }
        // Without `path`, or with it only as a flag's value, it is never the fast path's.
        for piece in PIECES {
            assert!(fast(piece).is_none() || piece == &["path"], "{piece:?}");
        }
        assert!(fast(&["--cache-dir", "path"]).is_none());
        assert!(fast(&[]).is_none());
        // What an SDK runs is read here, not by clap.
        for words in [
            &["path"][..],
            &["--cache-dir", "/c", "path", "--version", "0.163.0"],
            &["path", "--json", "--no-install", "--channel", "alpha", "--target", "aarch64-apple-darwin"],
            &["--offline", "--json", "path", "--version=^0.160.1", "--cache-dir=/c"],
        ] {
            assert!(fast(words).is_some(), "{words:?}");
        }
        assert!(accepted > 500 && accepted < total / 2, "{accepted} of {total}");
    }

    #[test]
    fn leaves_a_command_line_to_clap_when_a_flag_may_come_from_the_environment() {
        for name in ENV {
            assert!(parse(argv(&["path"]), |set| set == name).is_none(), "{name}");
        }
        // Every variable clap reads for `path` is one of those.
        let mut command = Cli::command();
        command.build();
        let path = command.find_subcommand("path").unwrap();
        for arg in path.get_arguments() {
            if let Some(name) = arg.get_env() {
                assert!(ENV.iter().any(|known| name == *known), "--{}: {name:?}", arg.get_id());
            }
        }
    }

    #[test]
    fn leaves_words_that_are_not_unicode_to_clap() {
        use std::os::unix::ffi::OsStringExt as _;
        let mut words = argv(&["path", "--cache-dir"]);
        words.push(OsString::from_vec(b"/c\xff".to_vec()));
        assert!(parse(words, |_| false).is_none());
    }
}
