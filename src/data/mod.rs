//! Digit datasets: MNIST-format IDX files (gzipped or not) and the lecture's CSV format.
//!
//! Every reader checks what it reads and names the file and the problem, because a
//! truncated download otherwise shows up much later as a mysteriously bad model.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

pub mod captures;
pub mod images;
pub mod recording;

/// Side of an MNIST image.
pub const SIDE: usize = 28;
/// Pixels in an MNIST image.
pub const PIXELS: usize = SIDE * SIDE;

/// Errors reading a dataset, each naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {what}")]
    Format { path: PathBuf, what: String },
    #[error("{dir}: no {what} file found (looked for {tried})")]
    Missing { dir: PathBuf, what: String, tried: String },
}

fn format_err(path: &Path, what: impl Into<String>) -> DataError {
    DataError::Format { path: path.to_path_buf(), what: what.into() }
}

/// Grayscale digits (0 = background, 255 = ink, as in MNIST) with their labels.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub rows: usize,
    pub cols: usize,
    /// `len() * rows * cols` bytes, image after image.
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.images[i * n..(i + 1) * n]
    }

    /// The first `n` samples (all of them if there are fewer).
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        let px = self.rows * self.cols;
        Dataset {
            rows: self.rows,
            cols: self.cols,
            images: self.images[..n * px].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Appends another dataset of the same image size.
    pub fn extend(&mut self, other: &Dataset) {
        debug_assert_eq!((self.rows, self.cols), (other.rows, other.cols));
        self.images.extend_from_slice(&other.images);
        self.labels.extend_from_slice(&other.labels);
    }

    /// Splits off about one sample in `every`, chosen at random with `seed`: (the rest, the
    /// samples split off).
    pub fn split_every(&self, every: usize, seed: u64) -> (Dataset, Dataset) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5B17);
        let empty = || Dataset { rows: self.rows, cols: self.cols, ..Dataset::default() };
        let (mut rest, mut off) = (empty(), empty());
        for i in 0..self.len() {
            let to = if rng.random_range(0..every.max(1)) == 0 { &mut off } else { &mut rest };
            to.images.extend_from_slice(self.image(i));
            to.labels.push(self.labels[i]);
        }
        (rest, off)
    }

    /// Samples `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> Dataset {
        let end = end.min(self.len());
        let start = start.min(end);
        let px = self.rows * self.cols;
        Dataset {
            rows: self.rows,
            cols: self.cols,
            images: self.images[start * px..end * px].to_vec(),
            labels: self.labels[start..end].to_vec(),
        }
    }
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    decompress_if_gz(path, raw)
}

fn decompress_if_gz(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| format_err(path, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses an IDX image file (magic 0x00000803) into (count, rows, cols, pixels).
pub fn parse_idx_images(path: &Path, b: &[u8]) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    if b.len() < 16 {
        return Err(format_err(path, format!("truncated: {} bytes, an IDX image header needs 16", b.len())));
    }
    let magic = be_u32(b, 0);
    if magic != 0x0000_0803 {
        return Err(format_err(
            path,
            format!("bad magic 0x{magic:08x}: expected 0x00000803 (IDX images, u8, 3 dimensions)"),
        ));
    }
    let (n, rows, cols) = (be_u32(b, 4) as usize, be_u32(b, 8) as usize, be_u32(b, 12) as usize);
    let want = n
        .checked_mul(rows)
        .and_then(|v| v.checked_mul(cols))
        .ok_or_else(|| format_err(path, "header sizes overflow"))?;
    let have = b.len() - 16;
    if have < want {
        return Err(format_err(
            path,
            format!("truncated: header says {n} images of {rows}x{cols} ({want} bytes), file has {have}"),
        ));
    }
    Ok((n, rows, cols, b[16..16 + want].to_vec()))
}

/// Parses an IDX label file (magic 0x00000801).
pub fn parse_idx_labels(path: &Path, b: &[u8]) -> Result<Vec<u8>, DataError> {
    if b.len() < 8 {
        return Err(format_err(path, format!("truncated: {} bytes, an IDX label header needs 8", b.len())));
    }
    let magic = be_u32(b, 0);
    if magic != 0x0000_0801 {
        return Err(format_err(
            path,
            format!("bad magic 0x{magic:08x}: expected 0x00000801 (IDX labels, u8, 1 dimension)"),
        ));
    }
    let n = be_u32(b, 4) as usize;
    let have = b.len() - 8;
    if have < n {
        return Err(format_err(path, format!("truncated: header says {n} labels, file has {have}")));
    }
    Ok(b[8..8 + n].to_vec())
}

/// Reads a pair of IDX files (images and labels).
pub fn read_idx_pair(images: &Path, labels: &Path) -> Result<Dataset, DataError> {
    let (n, rows, cols, pixels) = parse_idx_images(images, &read_maybe_gz(images)?)?;
    let labels_v = parse_idx_labels(labels, &read_maybe_gz(labels)?)?;
    if labels_v.len() != n {
        return Err(format_err(labels, format!("{} labels but {} has {n} images", labels_v.len(), images.display())));
    }
    Ok(Dataset { rows, cols, images: pixels, labels: labels_v })
}

/// Which part of a dataset folder to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

fn find_file(dir: &Path, stem: &str, what: &str) -> Result<PathBuf, DataError> {
    let names = [format!("{stem}.gz"), stem.to_string()];
    for name in &names {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(DataError::Missing { dir: dir.to_path_buf(), what: what.to_string(), tried: names.join(", ") })
}

/// Reads one split of an MNIST-layout folder (`train-images-idx3-ubyte[.gz]`,
/// `t10k-labels-idx1-ubyte[.gz]`, …): MNIST and Fashion-MNIST both use these names.
pub fn read_split(dir: &Path, split: Split) -> Result<Dataset, DataError> {
    let p = split.prefix();
    let images = find_file(dir, &format!("{p}-images-idx3-ubyte"), &format!("{p} images"))?;
    let labels = find_file(dir, &format!("{p}-labels-idx1-ubyte"), &format!("{p} labels"))?;
    read_idx_pair(&images, &labels)
}

/// Reads the lecture's CSV format: per row a label then 784 pixel values, no header.
pub fn read_csv(path: &Path) -> Result<Dataset, DataError> {
    let raw = read_maybe_gz(path)?;
    let text = std::str::from_utf8(&raw).map_err(|_| format_err(path, "not UTF-8 text"))?;
    parse_csv(path, text)
}

pub fn parse_csv(path: &Path, text: &str) -> Result<Dataset, DataError> {
    let mut ds = Dataset { rows: SIDE, cols: SIDE, ..Dataset::default() };
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let row = lineno + 1;
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != PIXELS + 1 {
            return Err(format_err(
                path,
                format!("row {row}: {} fields, expected 785 (label then 784 pixels)", fields.len()),
            ));
        }
        for (col, f) in fields.iter().enumerate() {
            let v: u32 = f
                .trim()
                .parse()
                .map_err(|_| format_err(path, format!("row {row}, field {}: {f:?} is not a whole number", col + 1)))?;
            if col == 0 {
                if v > 9 {
                    return Err(format_err(path, format!("row {row}: label {v} is not a digit 0-9")));
                }
                ds.labels.push(v as u8);
            } else {
                if v > 255 {
                    return Err(format_err(path, format!("row {row}, field {}: pixel value {v} is over 255", col + 1)));
                }
                ds.images.push(v as u8);
            }
        }
    }
    if ds.is_empty() {
        return Err(format_err(path, "no rows"));
    }
    Ok(ds)
}

/// Reads training or test data from a path: an MNIST-layout folder, or a CSV file
/// (in which case the split is ignored: the file is the data).
pub fn read_any(path: &Path, split: Split) -> Result<Dataset, DataError> {
    if path.is_dir() {
        read_split(path, split)
    } else {
        read_csv(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_images(n: u32, rows: u32, cols: u32, body: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x803u32, n, rows, cols] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend(std::iter::repeat_n(7u8, body));
        b
    }

    #[test]
    fn idx_images_parse_and_check() {
        let p = Path::new("x.idx");
        let (n, r, c, px) = parse_idx_images(p, &idx_images(2, 2, 3, 12)).unwrap();
        assert_eq!((n, r, c, px.len()), (2, 2, 3, 12));
        let e = parse_idx_images(p, &idx_images(2, 2, 3, 11)).unwrap_err().to_string();
        assert!(e.contains("x.idx") && e.contains("truncated"), "{e}");
        let mut bad = idx_images(1, 1, 1, 1);
        bad[3] = 0x01;
        let e = parse_idx_images(p, &bad).unwrap_err().to_string();
        assert!(e.contains("bad magic 0x00000801"), "{e}");
    }

    #[test]
    fn idx_labels_parse_and_check() {
        let p = Path::new("l.idx");
        let mut b = vec![0, 0, 8, 1, 0, 0, 0, 3, 5, 0, 4];
        assert_eq!(parse_idx_labels(p, &b).unwrap(), vec![5, 0, 4]);
        b.pop();
        assert!(parse_idx_labels(p, &b).unwrap_err().to_string().contains("truncated"));
    }

    #[test]
    fn csv_parses_and_rejects_bad_rows() {
        let p = Path::new("d.csv");
        let row = |label: &str, px: &str| {
            let mut s = label.to_string();
            for _ in 0..PIXELS {
                s.push(',');
                s.push_str(px);
            }
            s
        };
        let ds = parse_csv(p, &format!("{}\n{}\n", row("3", "0"), row("9", "255"))).unwrap();
        assert_eq!(ds.labels, vec![3, 9]);
        assert_eq!(ds.image(1)[783], 255);
        let e = parse_csv(p, &row("3", "256")).unwrap_err().to_string();
        assert!(e.contains("d.csv") && e.contains("over 255"), "{e}");
        let e = parse_csv(p, "1,2,3").unwrap_err().to_string();
        assert!(e.contains("row 1: 3 fields, expected 785"), "{e}");
    }

    #[test]
    fn gz_is_detected_and_corrupt_gz_named() {
        let p = Path::new("c.gz");
        let e = decompress_if_gz(p, vec![0x1f, 0x8b, 0, 1, 2]).unwrap_err().to_string();
        assert!(e.contains("c.gz") && e.contains("corrupt gzip"), "{e}");
        assert_eq!(decompress_if_gz(p, vec![1, 2]).unwrap(), vec![1, 2]);
    }
}
