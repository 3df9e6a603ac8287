//! Property tests on everything the firmware reads that it did not write: config files,
//! scenario files, ONNX models, image files, camera buffers, capture records, recordings,
//! and the frames themselves. Each gets random and mutated input for a bounded number of
//! cases; none may panic — a bad input is an error (or "no digit"), never a crash.
//! (`fuzz/` has the same targets for cargo-fuzz on nightly, for longer runs.)

use std::path::Path;

use proptest::prelude::*;

use digitbot::config::Config;
use digitbot::sim::scenario::Scenario;
use digitbot::source::convert::{to_gray, PixelFormat};
use digitbot::stage::model::Model;
use digitbot::stage::preprocess::{preprocess, Params, Preprocessor};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Byte-level mutations of a valid input: flips, overwrites, cuts and splices.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let n = base.len().max(1);
    prop::collection::vec((0..n, any::<u8>(), 0u8..4), 1..12).prop_map(move |edits| {
        let mut b = base.clone();
        for (at, byte, kind) in edits {
            if b.is_empty() {
                break;
            }
            let at = at % b.len();
            match kind {
                0 => b[at] ^= byte | 1,
                1 => b[at] = byte,
                2 => b.truncate(at),
                _ => {
                    let tail = b[at..].to_vec();
                    b.extend_from_slice(&tail[..tail.len().min(64)]);
                }
            }
        }
        b
    })
}

fn config_text() -> String {
    std::fs::read_to_string(root().join("config/sim.toml")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn config_parsing_never_panics(bytes in mutated(config_text().into_bytes())) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Config::parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn config_values_out_of_range_are_errors(key in 0usize..8, value in prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        "\"[a-z0-9:./]{0,12}\"",
    ]) {
        let keys = ["votes", "agreement", "threshold", "min_contrast", "fps", "width", "max_speed", "every"];
        let text = config_text();
        let line = text.lines().find(|l| l.starts_with(&format!("{} =", keys[key]))).unwrap_or("votes = 5");
        let changed = text.replacen(line, &format!("{} = {value}", keys[key]), 1);
        // Whatever the value, an answer: a config or an error naming the file.
        if let Err(e) = Config::parse(&changed, Path::new("fuzz.toml")) {
            prop_assert!(e.to_string().contains("fuzz.toml"), "{e}");
        }
    }

    #[test]
    fn scenario_parsing_never_panics(text in "(\\[\\[segment\\]\\]\n|seconds = [-0-9.e]{1,6}\n|digit = -?[0-9]{1,3}\n|blank = (true|false)\n|stall = true\n|scene = \"[a-z]{0,8}\"\n|garbage = true\n|disconnect = true\n|[a-z =\"]{0,10}\n){0,12}") {
        if let Ok(s) = Scenario::parse(&text) {
            prop_assert!(!s.segments.is_empty());
            prop_assert!(s.segments.iter().all(|seg| seg.seconds > 0.0));
        }
    }

    #[test]
    fn preprocessing_any_frame_never_panics(w in 0usize..90, h in 0usize..90, seed in any::<u64>(), short in any::<bool>()) {
        let mut px: Vec<u8> = (0..w * h).map(|i| ((i as u64).wrapping_mul(seed | 1) >> 7) as u8).collect();
        if short {
            px.truncate(px.len() / 2);
        }
        let _ = preprocess(&px, w, h, &Params::default());
    }

    #[test]
    fn a_reused_preprocessor_reads_each_frame_as_a_fresh_one(
        frames in proptest::collection::vec((1usize..70, 1usize..70, any::<u64>()), 2..6),
    ) {
        // Frames of changing shapes through one Preprocessor (whose buffers persist), as
        // replayed photos of several sizes come.
        let mut reused = Preprocessor::new(Params::default());
        for (w, h, seed) in frames {
            let mut rng = seed | 1;
            let px: Vec<u8> = (0..w * h)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    // Mostly paper, some ink.
                    if rng % 5 == 0 { (rng >> 20) as u8 / 3 } else { 200 + (rng >> 40) as u8 % 40 }
                })
                .collect();
            let fresh = preprocess(&px, w, h, &Params::default()).map(|f| (f.digit.to_vec(), f.bbox));
            let again = reused.run(&px, w, h).map(|f| (f.digit.to_vec(), f.bbox));
            prop_assert_eq!(format!("{again:?}"), format!("{fresh:?}"), "{}x{}", w, h);
        }
    }

    #[test]
    fn camera_buffers_of_any_size_are_converted_or_refused(
        format in prop_oneof![Just(PixelFormat::Grey), Just(PixelFormat::Yuyv), Just(PixelFormat::Mjpeg), Just(PixelFormat::Bayer10)],
        w in 0usize..64, h in 0usize..48, stride in 0usize..200, len in 0usize..12000, seed in any::<u8>(),
    ) {
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seed | 1)).collect();
        let mut out = Vec::new();
        if let Ok((ow, oh)) = to_gray(format, w, h, stride, &data, &mut out) {
            prop_assert_eq!(out.len(), ow * oh);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_models_load_or_are_refused_by_name(bytes in mutated(std::fs::read(root().join("models/mnist-seed-784-30-10.onnx")).unwrap())) {
        match Model::from_bytes(Path::new("fuzz.onnx"), &bytes) {
            Ok(m) => {
                // Whatever loaded runs, and gives probabilities or an error.
                let _ = m.probabilities(&[0.5; 784]);
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz.onnx"), "{e}"),
        }
    }

    #[test]
    fn mutated_images_decode_or_are_refused(png in any::<bool>(), bytes in mutated({
        let img = image::GrayImage::from_fn(24, 20, |x, y| image::Luma([(x * 9 + y * 5) as u8]));
        let mut b = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Png).unwrap();
        b
    }), jpeg in mutated({
        let img = image::GrayImage::from_fn(24, 20, |x, y| image::Luma([(x * 9 + y * 5) as u8]));
        let mut b = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Jpeg).unwrap();
        b
    })) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(if png { "x.png" } else { "x.jpg" });
        std::fs::write(&path, if png { &bytes } else { &jpeg }).unwrap();
        if let Ok((w, h, px)) = digitbot::source::file::load_gray(&path) {
            prop_assert_eq!(px.len(), w * h);
        }
    }

    #[test]
    fn capture_records_and_recordings_read_or_are_refused(text in "(\\{|\\}|\"[a-z_]{1,10}\"|:|,|null|-?[0-9]{1,4}|\"[a-z0-9./-]{0,16}\"|\\[|\\]|\n){0,40}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cap-1-0000-3.json"), &text).unwrap();
        let _ = digitbot::data::captures::read_records(dir.path());
        std::fs::write(dir.path().join("manifest.json"), &text).unwrap();
        let _ = digitbot::data::images::read_labelled(dir.path());
        std::fs::write(dir.path().join("recording.jsonl"), &text).unwrap();
        let controls = std::sync::Arc::new(digitbot::pipeline::Controls::default());
        if let Ok(mut r) = digitbot::source::recording::RecordingSource::open(dir.path(), false, controls) {
            for _ in 0..8 {
                let _ = digitbot::source::FrameSource::next_frame(&mut r);
            }
        }
    }
}
