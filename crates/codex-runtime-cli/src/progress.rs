//! How the library's progress reaches a person: a bar on a terminal, a few lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;

use codex_runtime::Reporter;
use indicatif::{ProgressBar, ProgressStyle};

/// Shows installs on stderr.
pub struct Progress {
    quiet: bool,
    bar: Option<Mutex<Option<ProgressBar>>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let terminal = !quiet && std::io::stderr().is_terminal();
        Progress { quiet, bar: terminal.then(|| Mutex::new(None)) }
    }

    fn note(&self, message: &str) {
        if !self.quiet {
            match self.bar.as_ref().and_then(|b| b.lock().unwrap().clone()) {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            }
        }
    }
}

impl Reporter for Progress {
    fn attempt(&self, source: &str, location: &str) {
        tracing::info!("trying {source}: {location}");
    }

    fn download_started(&self, file: &str, total: Option<u64>) {
        let Some(slot) = &self.bar else {
            self.note(&format!("downloading {file}"));
            return;
        };
        let bar = ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_message(file.to_owned());
        *slot.lock().unwrap() = Some(bar);
    }

    fn download_progress(&self, bytes: u64) {
        if let Some(bar) = self.bar.as_ref().and_then(|b| b.lock().unwrap().clone()) {
            bar.inc(bytes);
        }
    }

    fn download_finished(&self) {
        if let Some(bar) = self.bar.as_ref().and_then(|b| b.lock().unwrap().take()) {
            bar.finish_and_clear();
        }
    }

    fn attempt_failed(&self, source: &str, location: &str, reason: &str) {
        self.note(&format!("warning: {source} {location}: {reason}; trying the next source"));
    }

    fn extracting(&self, file: &str) {
        self.note(&format!("verified {file}; extracting"));
    }
}
