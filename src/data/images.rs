//! Folders of labelled images — anyone's photos, scans and drawings of digits — for
//! `digitbot eval --images`. Labels come from a `manifest.json` in the folder
//! (`[{"file": "a.jpg", "label": 3, "kind": "photo"}]`, label `null` or -1 for "no digit"),
//! from the records of a capture folder, or else from the file names (`3_anything.png`,
//! `none_anything.jpg`, or just `7.png`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::DataError;

/// One image and what it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledImage {
    pub path: PathBuf,
    /// The digit shown; None when the image shows no digit.
    pub label: Option<u8>,
    /// A group to report accuracy by (photo, scan, drawn …).
    pub kind: String,
}

#[derive(Deserialize)]
struct ManifestEntry {
    file: String,
    label: Option<i64>,
    kind: Option<String>,
}

/// The kind of images that do not say.
pub const DEFAULT_KIND: &str = "image";
/// The kind of a capture folder's frames.
pub const CAPTURE_KIND: &str = "capture";

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Reads the labelled images of a folder: its `manifest.json` when there is one, else its
/// image files (and those of its subfolders, whose names become the kind), labelled by name.
pub fn read_labelled(dir: &Path) -> Result<Vec<LabelledImage>, DataError> {
    let manifest = dir.join("manifest.json");
    if manifest.is_file() {
        return read_manifest(&manifest);
    }
    if super::captures::is_capture_dir(dir) {
        let records = super::captures::read_records(dir)
            .map_err(|e| DataError::Format { path: dir.to_path_buf(), what: format!("{e:#}") })?;
        return Ok(records
            .into_iter()
            .map(|(_, r)| LabelledImage { path: dir.join(&r.frame), label: r.label, kind: CAPTURE_KIND.into() })
            .collect());
    }
    if !dir.is_dir() {
        return Err(DataError::Format { path: dir.to_path_buf(), what: "no such folder".into() });
    }
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(DataError::Format {
            path: dir.to_path_buf(),
            what: "no manifest.json and no .png, .jpg or .jpeg images".into(),
        });
    }
    files
        .into_iter()
        .map(|(path, kind)| {
            let label = label_from_name(&path).ok_or_else(|| DataError::Format {
                path: path.clone(),
                what: "cannot tell what it shows: name it 3_….png (or none_….png for no digit), or list it \
                       in a manifest.json"
                    .into(),
            })?;
            Ok(LabelledImage { path, label, kind })
        })
        .collect()
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String)>) -> Result<(), DataError> {
    let entries = std::fs::read_dir(dir).map_err(|source| DataError::Io { path: dir.to_path_buf(), source })?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out)?;
        } else if is_image(&p) {
            let kind = p
                .parent()
                .filter(|d| *d != root)
                .and_then(|d| d.strip_prefix(root).ok())
                .map_or(DEFAULT_KIND.to_string(), |d| d.display().to_string());
            out.push((p, kind));
        }
    }
    Ok(())
}

/// `3_x.png`, `3-x.png` or `3.png` → Some(Some(3)); `none_x.png` → Some(None).
pub fn label_from_name(path: &Path) -> Option<Option<u8>> {
    let stem = path.file_stem()?.to_str()?;
    let head = stem.split(['_', '-', ' ']).next()?;
    match head.to_ascii_lowercase().as_str() {
        "none" | "blank" => Some(None),
        d if d.len() == 1 => d.parse::<u8>().ok().map(Some),
        _ => None,
    }
}

fn read_manifest(path: &Path) -> Result<Vec<LabelledImage>, DataError> {
    let bad = |what: String| DataError::Format { path: path.to_path_buf(), what };
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let entries: Vec<ManifestEntry> = serde_json::from_str(&text)
        .map_err(|e| bad(format!("expected [{{\"file\", \"label\", \"kind\"?}}, …]: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    entries
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let label = match e.label {
                None | Some(-1) => None,
                Some(d @ 0..=9) => Some(d as u8),
                Some(other) => {
                    return Err(bad(format!("entry {i} ({}): label {other} is not 0-9, -1 or null", e.file)));
                }
            };
            if Path::new(&e.file).is_absolute() || e.file.split(['/', '\\']).any(|c| c == "..") {
                return Err(bad(format!("entry {i}: file {:?} must be a path inside the folder", e.file)));
            }
            Ok(LabelledImage { path: dir.join(&e.file), label, kind: e.kind.unwrap_or_else(|| DEFAULT_KIND.into()) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_labels() {
        assert_eq!(label_from_name(Path::new("a/3_x.png")), Some(Some(3)));
        assert_eq!(label_from_name(Path::new("7.jpg")), Some(Some(7)));
        assert_eq!(label_from_name(Path::new("0-scan.jpeg")), Some(Some(0)));
        assert_eq!(label_from_name(Path::new("none_shadow.png")), Some(None));
        assert_eq!(label_from_name(Path::new("12_x.png")), None);
        assert_eq!(label_from_name(Path::new("photo.png")), None);
    }

    #[test]
    fn a_manifest_gives_labels_and_kinds_and_names_bad_entries() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("manifest.json");
        std::fs::write(
            &m,
            r#"[{"file": "a.png", "label": 4, "kind": "scan", "repo": "x"},
                {"file": "sub/b.jpg", "label": null}, {"file": "c.png", "label": -1}]"#,
        )
        .unwrap();
        let set = read_labelled(dir.path()).unwrap();
        assert_eq!(set[0], LabelledImage { path: dir.path().join("a.png"), label: Some(4), kind: "scan".into() });
        assert_eq!((set[1].label, set[1].kind.as_str()), (None, DEFAULT_KIND));
        assert_eq!(set[2].label, None);
        std::fs::write(&m, r#"[{"file": "a.png", "label": 12}]"#).unwrap();
        let e = read_labelled(dir.path()).unwrap_err().to_string();
        assert!(e.contains("manifest.json") && e.contains("label 12 is not 0-9"), "{e}");
        std::fs::write(&m, r#"[{"file": "../../etc/passwd", "label": 1}]"#).unwrap();
        assert!(read_labelled(dir.path()).unwrap_err().to_string().contains("inside the folder"));
        std::fs::write(&m, r#"{"file": "a.png"}"#).unwrap();
        assert!(read_labelled(dir.path()).unwrap_err().to_string().contains("expected [{"));
    }

    #[test]
    fn without_a_manifest_names_and_subfolders_say_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("photos")).unwrap();
        for f in ["3_a.png", "photos/none_b.jpg", "notes.txt"] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        let set = read_labelled(dir.path()).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!((set[0].label, set[0].kind.as_str()), (Some(3), DEFAULT_KIND));
        assert_eq!((set[1].label, set[1].kind.as_str()), (None, "photos"));
        std::fs::write(dir.path().join("holiday.png"), b"").unwrap();
        let e = read_labelled(dir.path()).unwrap_err().to_string();
        assert!(e.contains("holiday.png") && e.contains("cannot tell what it shows"), "{e}");
    }
}
