//! The records `digitbot` writes beside each labelled capture (see `crate::capture`), and
//! reading a folder of them back.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The JSON record beside each captured frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// What the frame shows: a digit, or None for "no digit".
    pub label: Option<u8>,
    /// What the robot read (None: no digit).
    pub prediction: Option<u8>,
    pub confidence: f32,
    /// Wall-clock time of the capture, ms since the Unix epoch.
    pub time_ms: u64,
    /// The frame's time in the run.
    pub t_ms: u64,
    /// The full frame (PNG), a file beside this record.
    pub frame: String,
    /// The 28×28 model input (PNG), when a digit was found.
    pub input: Option<String>,
    pub model_sha256: String,
    /// "web" or "unattended".
    pub source: String,
}

/// The capture records of a folder, with their paths, oldest first. Files that are not
/// records (no `cap-` prefix, not JSON) are ignored; a broken record is an error naming it.
pub fn read_records(dir: &Path) -> Result<Vec<(PathBuf, Record)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("cap-"))
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).with_context(|| format!("capture record {}", p.display()))?;
            let r: Record = serde_json::from_str(&text)
                .with_context(|| format!("capture record {}: not a digitbot capture record", p.display()))?;
            // The files a record names are its neighbours, never paths elsewhere.
            for name in std::iter::once(&r.frame).chain(&r.input) {
                if name.contains(['/', '\\']) || name.starts_with('.') {
                    anyhow::bail!("capture record {}: {name:?} is not a file of the capture folder", p.display());
                }
            }
            Ok((p, r))
        })
        .collect()
}

/// Whether a folder holds capture records.
pub fn is_capture_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut d| {
        d.any(|e| {
            e.is_ok_and(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.starts_with("cap-") && n.ends_with(".json")
            })
        })
    })
}
