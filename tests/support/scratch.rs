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
                eprintln!("kept for inspection: {}", d.keep().display());
            }
        }
    }
}
