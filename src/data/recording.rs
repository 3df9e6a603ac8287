//! The format of a `run --record` folder: `recording.jsonl`, one [`Event`] per line, beside
//! the frames' files. Written by `sink::record`, read back by `source::recording`.

use serde::{Deserialize, Serialize};

/// The recording's index file in its folder.
pub const INDEX: &str = "recording.jsonl";

/// One line of the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A frame, in `file` (a PNG, or `.gray.gz`: the raw bytes, for a short buffer).
    Frame {
        index: u64,
        t_ms: u64,
        width: usize,
        height: usize,
        file: String,
    },
    Stalled {
        t_ms: u64,
    },
    Lost {
        t_ms: u64,
        why: String,
    },
    /// The live view held the robot (`why`: e-stop or paused) before frame `frame`.
    Hold {
        frame: u64,
        why: String,
    },
    /// The hold was released before frame `frame`.
    Release {
        frame: u64,
    },
}
