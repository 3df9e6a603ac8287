//! The 500 MNIST test digits shipped in the binary, so the simulator and the tests need no
//! download.

use std::path::Path;

use anyhow::Result;

use crate::data::{parse_idx_images, parse_idx_labels, Dataset};

const IMAGES_GZ: &[u8] = include_bytes!("sim-digits-images-idx3-ubyte.gz");
const LABELS_GZ: &[u8] = include_bytes!("sim-digits-labels-idx1-ubyte.gz");

/// The 500 MNIST test digits the simulator draws from (the first 500 of `t10k`).
pub fn sim_digits() -> Result<Dataset> {
    let gunzip = |b: &[u8]| -> Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(b), &mut out)?;
        Ok(out)
    };
    let path = Path::new("<built-in simulator digits>");
    let (_, rows, cols, images) = parse_idx_images(path, &gunzip(IMAGES_GZ)?)?;
    let labels = parse_idx_labels(path, &gunzip(LABELS_GZ)?)?;
    Ok(Dataset { rows, cols, images, labels })
}
