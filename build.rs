//! Records the git commit and the default model's sha256 for `digitbot --version`.

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    println!("cargo:rustc-env=DIGITBOT_GIT_COMMIT={commit}{}", if dirty { "-dirty" } else { "" });
    let model = std::fs::read("models/digit-cnn.onnx").map(|b| sha256::hex(&b)).unwrap_or_else(|_| "missing".into());
    println!("cargo:rustc-env=DIGITBOT_MODEL_SHA256={model}");
    println!("cargo:rerun-if-changed=models/digit-cnn.onnx");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
}

mod sha256 {
    use sha2::Digest;

    pub fn hex(bytes: &[u8]) -> String {
        sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }
}
