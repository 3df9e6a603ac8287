//! Where tests find the data the repository does not ship — the full MNIST set, system
//! fonts, the real-digit development set — and what happens when it is absent: the test
//! says SKIPPED and returns, or, when `DIGITBOT_REQUIRE_DATA` is set (CI sets it, and has
//! the data), fails, so a test that did not run never counts as passed there.

use std::path::{Path, PathBuf};

use ab_glyph::FontVec;

/// Called when a test's data is absent: panics under `DIGITBOT_REQUIRE_DATA`, otherwise
/// prints why the test is skipped.
pub fn missing(what: &str, how: &str) {
    if std::env::var_os("DIGITBOT_REQUIRE_DATA").is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{what} is missing and DIGITBOT_REQUIRE_DATA is set: {how}");
    }
    eprintln!("SKIPPED: {what} is missing ({how})");
}

fn dir_from(var: &str, default: &str, marker: &str, what: &str) -> Option<PathBuf> {
    let dir =
        std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default));
    if dir.join(marker).exists() {
        Some(dir)
    } else {
        missing(what, &format!("looked in {}; set {var}", dir.display()));
        None
    }
}

/// The MNIST folder: `$DIGITBOT_MNIST` or `../shared/data/mnist`.
pub fn mnist_dir() -> Option<PathBuf> {
    dir_from("DIGITBOT_MNIST", "../shared/data/mnist", "t10k-labels-idx1-ubyte.gz", "the MNIST set")
}

/// The real-digit development set: `$DIGITBOT_REALDIGITS` or
/// `../shared/data/realdigits-dev`.
pub fn realdigits_dir() -> Option<PathBuf> {
    dir_from("DIGITBOT_REALDIGITS", "../shared/data/realdigits-dev", "manifest.json", "the real-digit set")
}

/// The system's fonts with digits (Debian: fonts-dejavu-core).
pub fn fonts() -> Vec<FontVec> {
    let f = crate::sim::scenes::load_fonts(&[PathBuf::from("/usr/share/fonts")]);
    if f.is_empty() {
        missing("fonts under /usr/share/fonts", "apt-get install fonts-dejavu-core");
    }
    f
}
