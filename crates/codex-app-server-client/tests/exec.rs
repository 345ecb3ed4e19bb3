//! `exec` replaces the calling process, so this test (without the libtest harness) runs copies
//! of itself as `exec.rs --exec-helper PATH_DIR PROGRAM ARGS...`, which call `exec`. It speaks
//! enough of libtest's command line for `cargo test` and `cargo nextest`: `--list`,
//! `--ignored`, a name filter and `--exact`.

#[cfg(unix)]
fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|arg| arg == "--exec-helper") {
        unix::helper(&args[1..]);
    }
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let filter = args.iter().find(|a| !a.starts_with('-') && *a != "terse" && *a != "pretty");
    let selected = |name: &str| match filter {
        None => true,
        Some(f) if flag("--exact") => name == f,
        Some(f) => name.contains(f.as_str()),
    };
    if flag("--list") {
        // None of these tests is ignored.
        if !flag("--ignored") {
            for (name, _) in unix::TESTS.iter().filter(|(name, _)| selected(name)) {
                println!("{name}: test");
            }
        }
        return;
    }
    if flag("--ignored") {
        return;
    }
    unix::run(|name| selected(name));
}

#[cfg(not(unix))]
fn main() {
    println!("exec: the process-replacing tests are Unix-only");
}

#[cfg(unix)]
mod unix {
    use std::ffi::OsString;
    use std::os::unix::process::ExitStatusExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output, Stdio};

    use codex_app_server_client::{Error, exec};

    pub fn helper(args: &[OsString]) -> ! {
        let path_dir = PathBuf::from(&args[0]);
        let program = PathBuf::from(&args[1]);
        let error = exec(&program, &args[2..], Some(&path_dir)).unwrap_err();
        eprintln!("exec failed: {error}");
        std::process::exit(101);
    }

    pub const TESTS: [(&str, fn()); 4] = [
        ("passes_arguments_path_and_exit_status", passes_arguments_path_and_exit_status),
        ("replaces_the_process", replaces_the_process),
        ("passes_signals_through", passes_signals_through),
        ("missing_program_is_an_error", missing_program_is_an_error),
    ];

    pub fn run(selected: impl Fn(&str) -> bool) {
        let mut ran = 0;
        for (name, test) in TESTS.iter().filter(|(name, _)| selected(name)) {
            test();
            println!("test {name} ... ok");
            ran += 1;
        }
        println!("exec: {ran} tests passed");
    }

    /// Runs a copy of this test that execs `sh -c SCRIPT ARGS...` with `path_dir` on PATH.
    fn run_sh(path_dir: &Path, script: &str, args: &[&str]) -> (u32, Output) {
        let child = Command::new(std::env::current_exe().unwrap())
            .arg("--exec-helper")
            .arg(path_dir)
            .args(["/bin/sh", "-c", script])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        (pid, child.wait_with_output().unwrap())
    }

    fn passes_arguments_path_and_exit_status() {
        let path_dir = tempfile::tempdir().unwrap();
        let (_, output) = run_sh(path_dir.path(), r#"printf '%s\n' "$PATH" "$0" "$1"; exit 7"#, &["zero", "one two"]);
        assert_eq!(output.status.code(), Some(7), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        let mut path = std::env::split_paths(lines[0]);
        assert_eq!(path.next().as_deref(), Some(path_dir.path()));
        assert_eq!(lines[1..], ["zero", "one two"]);
    }

    fn replaces_the_process() {
        let path_dir = tempfile::tempdir().unwrap();
        let (pid, output) = run_sh(path_dir.path(), "echo $$", &[]);
        assert!(output.status.success(), "{output:?}");
        let shell_pid: u32 = String::from_utf8(output.stdout).unwrap().trim().parse().unwrap();
        assert_eq!(shell_pid, pid, "the program runs in the caller's process");
    }

    fn passes_signals_through() {
        let path_dir = tempfile::tempdir().unwrap();
        let (_, output) = run_sh(path_dir.path(), "kill -TERM $$", &[]);
        assert_eq!(output.status.signal(), Some(15), "{output:?}");
    }

    fn missing_program_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("codex");
        match exec(&missing, &[], None) {
            Err(Error::Exec { program, source }) => {
                assert_eq!(program, missing);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
    }
}
