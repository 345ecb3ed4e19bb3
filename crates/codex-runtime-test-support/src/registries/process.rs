//! A server child process in a process group of its own, its output in a log file, killed and
//! reaped with its whole group on drop; a watchdog in the same group kills it if the test
//! process dies without dropping it (a test killed on timeout), so no server outlives its test.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// The longest a server lives: its watchdog ends it then even if the test still runs.
pub(super) const MAX_LIFETIME: Duration = Duration::from_secs(2 * 60 * 60);

/// A running server process.
pub(super) struct ServerProcess {
    name: String,
    child: Child,
    watchdog: Option<Child>,
    log: PathBuf,
    stopped: bool,
}

impl ServerProcess {
    /// Spawn `cmd` (stdin closed, stdout and stderr to `log`) as the leader of a new process
    /// group, and its watchdog.
    pub(super) fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<ServerProcess, String> {
        let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("cannot reopen {}: {e}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
        let child = cmd.spawn().map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        let mut process =
            ServerProcess { name: name.to_owned(), child, watchdog: None, log: log.to_owned(), stopped: false };
        process.watchdog = Some(process.spawn_watchdog()?);
        Ok(process)
    }

    /// `sh` polling once a second, for at most [`MAX_LIFETIME`], that this test process
    /// is alive; then it kills the server's group, itself included.
    fn spawn_watchdog(&self) -> Result<Child, String> {
        let pgid = self.child.id();
        let polls = MAX_LIFETIME.as_secs();
        let script = format!(
            "i=0; while [ \"$i\" -lt {polls} ] && kill -0 \"$1\" 2>/dev/null; do sleep 1; i=$((i+1)); done; kill -KILL -\"$2\" 2>/dev/null"
        );
        Command::new("sh")
            .args(["-c", &script, "watchdog", &std::process::id().to_string(), &pgid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(i32::try_from(pgid).map_err(|e| format!("pid {pgid}: {e}"))?)
            .spawn()
            .map_err(|e| format!("cannot start the watchdog of {}: {e}", self.name))
    }

    /// The server's exit status if it has exited.
    pub(super) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The log file.
    pub(super) fn log(&self) -> &Path {
        &self.log
    }

    /// The last lines of the server's log.
    pub(super) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"));
        super::tail(&text, 40)
    }

    /// Poll `ready` every 100 ms until it answers `true`, for at most `timeout` (and at most
    /// `timeout / 100 ms` polls); an error if the server exits or the time runs out.
    pub(super) fn wait_until(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<Duration, StartError> {
        let start = Instant::now();
        let polls = (timeout.as_millis() / 100).max(1);
        for _ in 0..polls {
            if ready() {
                return Ok(start.elapsed());
            }
            if let Some(status) = self.exited() {
                return Err(StartError::Exited(format!(
                    "{} exited with {status} before it answered; its log ({}):\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                )));
            }
            if start.elapsed() > timeout {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(StartError::Timeout(format!(
            "{} did not answer within {timeout:?}; its log ({}):\n{}",
            self.name,
            self.log.display(),
            self.log_tail()
        )))
    }

    /// Kill the group and reap the server and its watchdog (once).
    pub(super) fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if let Some(pgid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            let _ = kill_process_group(pgid, Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Why a server did not come up.
#[derive(Debug)]
pub(super) enum StartError {
    /// It exited (maybe its port was taken meanwhile: the caller may retry on another).
    Exited(String),
    /// It did not answer in time.
    Timeout(String),
}

impl StartError {
    /// The message.
    pub(super) fn message(&self) -> &str {
        match self {
            StartError::Exited(m) | StartError::Timeout(m) => m,
        }
    }

    /// Whether the server lost a race for its port.
    pub(super) fn port_taken(&self) -> bool {
        matches!(self, StartError::Exited(m) if m.contains("EADDRINUSE") || m.contains("in use"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut cmd = Command::new("sh");
        // A grandchild in the group as well.
        cmd.args(["-c", "sleep 300 & echo \"grandchild $!\"; wait"]);
        let mut server = ServerProcess::spawn("sleeper", cmd, &log).unwrap();
        let waited = server.wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&log).is_ok_and(|l| l.contains("grandchild"))
        });
        assert!(waited.is_ok(), "{waited:?}");
        let log_text = std::fs::read_to_string(&log).unwrap();
        let grandchild = log_text.trim().strip_prefix("grandchild ").unwrap().to_owned();
        let proc_dir = Path::new("/proc").join(&grandchild);
        assert!(proc_dir.exists());
        drop(server);
        // Killed, then reaped by init: bounded wait for it to vanish (or linger as a zombie).
        let gone = (0..100).any(|_| {
            let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
            let gone = state.is_empty() || state.contains(") Z ");
            if !gone {
                std::thread::sleep(Duration::from_millis(50));
            }
            gone
        });
        assert!(gone, "the grandchild {grandchild} outlived its server");
    }

    #[test]
    fn an_exit_before_ready_reports_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'listen EADDRINUSE: address already in use' >&2; exit 3"]);
        let mut server = ServerProcess::spawn("failing", cmd, &log).unwrap();
        let err = server.wait_until(Duration::from_secs(10), || false).unwrap_err();
        assert!(err.port_taken(), "{err:?}");
        assert!(err.message().contains("exited with exit status: 3"), "{err:?}");
    }
}
