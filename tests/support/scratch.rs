//! Scratch directories for tests: removed when the guard drops, kept (and
//! named on stderr) when the test is panicking so a failure can be
//! inspected. Tests used to leave hundreds of MB behind per run, which ran a
//! CI machine's disk full.

use std::ops::Deref;
use std::path::Path;

/// A temporary directory that derefs to its path.
pub struct Scratch(Option<tempfile::TempDir>);

/// A new empty scratch directory whose name starts with `salespulse-<name>-`.
pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("salespulse-{name}-"))
        .tempdir()
        .expect("create a scratch directory");
    Scratch(Some(dir))
}

impl Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        match &self.0 {
            Some(d) => d.path(),
            None => Path::new(""),
        }
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            if std::thread::panicking() {
                let dir = d.keep();
                print_last_runs(&dir);
                eprintln!("kept for inspection: {}", dir.display());
            }
        }
    }
}

/// The last lines of the two newest service logs (`run-N.log`) in `dir`:
/// CI keeps only the test's output, and a stuck service says why there.
fn print_last_runs(dir: &Path) {
    let mut runs: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name
                .strip_prefix("run-")?
                .strip_suffix(".log")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    runs.sort();
    for (_, path) in runs.iter().rev().take(2).rev() {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("CONFWARN")).collect();
        eprintln!("-- last lines of {}:", path.display());
        for line in &lines[lines.len().saturating_sub(12)..] {
            eprintln!("   {line}");
        }
    }
}
