//! `env` (what a launcher needs, as shell exports) and `completions`.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, EnvArgs, Shell};
use crate::context::Context;
use crate::output::{out, print_json};

pub fn env(ctx: &Context, args: &EnvArgs) -> Result<ExitCode> {
    let installed = ctx.install(&args.selection, &args.sources)?;
    let bin = installed.path.to_str().context("the runtime's path is not UTF-8")?;
    let path_dir = installed.path_dir.is_dir().then_some(&installed.path_dir);
    if ctx.global.json {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path = prepend(path_dir.map(|d| d.as_path()), &path)?;
        print_json(&serde_json::json!({
            "CODEX_BIN": bin,
            "PATH": path.to_str().context("PATH is not UTF-8")?,
            "codex_path": path_dir.map(|d| d.display().to_string()),
            "version": installed.version.to_string(),
            "target": installed.target.triple(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let dir = path_dir.map(|d| d.to_str().context("the runtime's codex-path is not UTF-8")).transpose()?;
    out!("{}", exports(args.shell, bin, dir));
    Ok(ExitCode::SUCCESS)
}

/// `PATH` with `dir` first.
fn prepend(dir: Option<&Path>, path: &std::ffi::OsStr) -> Result<OsString> {
    let rest = std::env::split_paths(path).filter(|p| Some(p.as_path()) != dir);
    Ok(std::env::join_paths(dir.map(Path::to_owned).into_iter().chain(rest))?)
}

/// Exports that set `CODEX_BIN` and put `path_dir` first on `PATH`, referring to the `PATH`
/// of the shell that evaluates them.
fn exports(shell: Shell, bin: &str, path_dir: Option<&str>) -> String {
    match shell {
        Shell::Sh => {
            let mut out = format!("export CODEX_BIN={}\n", sh_quote(bin));
            if let Some(dir) = path_dir {
                out.push_str(&format!("export PATH={}\"${{PATH:+:$PATH}}\"\n", sh_quote(dir)));
            }
            out
        }
        Shell::Fish => {
            let mut out = format!("set -gx CODEX_BIN {}\n", fish_quote(bin));
            if let Some(dir) = path_dir {
                out.push_str(&format!("set -gx PATH {} $PATH\n", fish_quote(dir)));
            }
            out
        }
        Shell::Powershell => {
            let mut out = format!("$env:CODEX_BIN = {}\n", ps_quote(bin));
            if let Some(dir) = path_dir {
                out.push_str(&format!("$env:PATH = {} + [IO.Path]::PathSeparator + $env:PATH\n", ps_quote(dir)));
            }
            out
        }
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn fish_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
}

fn ps_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

pub fn completions(args: &CompletionsArgs) -> Result<ExitCode> {
    clap_complete::generate(args.shell, &mut Cli::command(), "codex-runtime", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_quote_hostile_paths() {
        let bin = "/c/it's here/bin/codex";
        assert_eq!(
            exports(Shell::Sh, bin, Some("/c/p")),
            "export CODEX_BIN='/c/it'\\''s here/bin/codex'\nexport PATH='/c/p'\"${PATH:+:$PATH}\"\n"
        );
        assert_eq!(exports(Shell::Fish, bin, None), "set -gx CODEX_BIN '/c/it\\'s here/bin/codex'\n");
        assert_eq!(exports(Shell::Powershell, bin, None), "$env:CODEX_BIN = '/c/it''s here/bin/codex'\n");
    }

    #[test]
    fn prepend_puts_the_dir_first_once() {
        let path = std::env::join_paths(["/a", "/p", "/b"]).unwrap();
        let joined = prepend(Some(Path::new("/p")), &path).unwrap();
        assert_eq!(joined, std::env::join_paths(["/p", "/a", "/b"]).unwrap());
    }
}
