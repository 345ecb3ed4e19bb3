//! How the library's progress reaches a person: a bar on a terminal, a few lines otherwise.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use codex_runtime::{Reporter, Target};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Shows installs on stderr.
pub struct Progress {
    quiet: bool,
    bar: Option<Mutex<Option<ProgressBar>>>,
    /// A bundle's lines, one per target, on a terminal.
    targets: Option<(MultiProgress, Mutex<HashMap<Target, ProgressBar>>)>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let terminal = !quiet && std::io::stderr().is_terminal();
        Progress {
            quiet,
            bar: terminal.then(|| Mutex::new(None)),
            targets: terminal.then(|| (MultiProgress::new(), Mutex::new(HashMap::new()))),
        }
    }

    fn target_bar(&self, target: Target) -> Option<ProgressBar> {
        self.targets.as_ref().and_then(|(_, bars)| bars.lock().unwrap().get(&target).cloned())
    }

    fn note(&self, message: &str) {
        if !self.quiet {
            match self.bar.as_ref().and_then(|b| b.lock().unwrap().clone()) {
                Some(bar) => bar.println(message),
                None => match &self.targets {
                    Some((multi, _)) => {
                        let _ = multi.println(message);
                    }
                    None => eprintln!("{message}"),
                },
            }
        }
    }
}

impl Reporter for Progress {
    fn attempt(&self, source: &str, location: &str) {
        tracing::info!("trying {source}: {location}");
    }

    fn copy_started(&self, file: &str, total: Option<u64>) {
        match &self.bar {
            Some(_) => self.download_started(file, total),
            None => self.note(&format!("copying {file}")),
        }
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

    fn waiting(&self, what: &str, lock: &str) {
        self.note(&format!("waiting for another process {what} (lock {lock})"));
    }

    fn target_started(&self, target: Target) {
        let Some((multi, bars)) = &self.targets else { return };
        let bar = multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{prefix:28} {msg}").expect("a valid template").progress_chars("=> "),
        );
        bar.set_prefix(target.triple());
        bar.set_message("resolving");
        bars.lock().unwrap().insert(target, bar);
    }

    fn target_download(&self, target: Target, file: &str, total: Option<u64>) {
        match self.target_bar(target) {
            Some(bar) => {
                bar.set_style(
                    ProgressStyle::with_template("{prefix:28} [{bar:24}] {bytes}/{total_bytes} {bytes_per_sec} {msg}")
                        .expect("a valid template")
                        .progress_chars("=> "),
                );
                bar.set_length(total.unwrap_or(0));
                bar.set_position(0);
                bar.set_message(file.to_owned());
            }
            None => self.note(&format!("{target}: downloading {file}")),
        }
    }

    fn target_copy(&self, target: Target, file: &str, total: Option<u64>) {
        match self.target_bar(target) {
            Some(_) => self.target_download(target, file, total),
            None => self.note(&format!("{target}: copying {file}")),
        }
    }

    fn target_bytes(&self, target: Target, bytes: u64) {
        if let Some(bar) = self.target_bar(target) {
            bar.inc(bytes);
        }
    }

    fn target_step(&self, target: Target, step: &str) {
        match self.target_bar(target) {
            Some(bar) => {
                bar.set_style(ProgressStyle::with_template("{prefix:28} {msg}").expect("a valid template"));
                bar.set_message(step.to_owned());
            }
            None => tracing::info!("{target}: {step}"),
        }
    }

    fn target_finished(&self, target: Target, failure: Option<&str>) {
        let message = match failure {
            None => "done".to_owned(),
            Some(reason) => format!("failed: {}", reason.lines().next().unwrap_or_default()),
        };
        match self.target_bar(target) {
            Some(bar) => {
                bar.set_style(ProgressStyle::with_template("{prefix:28} {msg}").expect("a valid template"));
                bar.finish_with_message(message);
            }
            None => self.note(&format!("{target}: {message}")),
        }
    }
}
