//! digitbot: a robot reads digits through its camera and acts on them.
//!
//! The pipeline's roles are modules: [`source`] (frames in), [`stage`] (preprocess, model,
//! decide), [`sink`] (actuators out), tied together by [`pipeline`]. [`train`] is the
//! offline trainer that makes the models, [`data`] reads datasets, [`config`] the settings.

pub mod cli;
pub mod config;
pub mod data;
pub mod dump;
pub mod hardware;
pub mod pipeline;
pub mod service;
pub mod sink;
pub mod source;
pub mod stage;
pub mod train;

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
