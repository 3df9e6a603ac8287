//! The per-frame benchmark's work without criterion around it, for a profiler: the same 32
//! camera-like 640×480 frames (`SceneMaker::sample`, seed 21) through the whole pipeline,
//! `REPS` times (default 3), with the default model or the ONNX file given after REPS.
//! Instruction counts, which unlike times do not drift with the
//! machine's load:
//!
//!     cargo build --release --example profile
//!     valgrind --tool=callgrind --toggle-collect='digitbot::pipeline::Pipeline::process*' \
//!         target/release/examples/profile 3
//!     callgrind_annotate --inclusive=yes callgrind.out.*
//!
//! Divide the total by 96 (3 × 32) for instructions per frame. Without valgrind it prints
//! the mean time per frame, and the model's part of it. Where the time goes (memory stalls
//! included, which instruction counts miss), sampled by the kernel's clock, which works
//! in a virtual machine without hardware counters; build with
//! `CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` for names of inlined callers:
//!
//!     perf record -e cpu-clock -F 4000 --call-graph dwarf target/release/examples/profile 150
//!     perf report --children --sort symbol

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use digitbot::config::Config;
use digitbot::pipeline::{Overrides, Pipeline};
use digitbot::sim::scenes::{load_fonts, SceneMaker};
use digitbot::source::Frame;

fn main() -> Result<()> {
    let reps: usize = match std::env::args().nth(1) {
        Some(a) => a.parse().with_context(|| format!("REPS: a count of repetitions, not {a:?}"))?,
        None => 3,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = Config::load(&root.join("config/sim.toml"))?;
    let model = std::env::args().nth(2).map(PathBuf::from);
    let mut pipeline = Pipeline::from_config(&cfg, &Overrides { model, ..Overrides::default() })?;
    let digits = digitbot::sim::sim_digits()?;
    let fonts = load_fonts(&[PathBuf::from("/usr/share/fonts")]);
    let maker = SceneMaker { width: 640, height: 480, digits: &digits, fonts: &fonts, seed: 21 };
    let mut frames: Vec<Frame> = maker.sample(8).into_iter().map(Frame::from).collect();
    let (mut t, start) = (0, Instant::now());
    let mut model = 0.0;
    for _ in 0..reps {
        for f in frames.iter_mut() {
            t += 33;
            f.t_ms = t;
            pipeline.decider.reset();
            let r = pipeline.process(f)?;
            model += r.timings.model;
            std::hint::black_box(r);
        }
    }
    let n = (reps * frames.len()).max(1);
    println!(
        "{n} frames, {:.3} ms per frame, model {:.3}",
        start.elapsed().as_secs_f64() * 1e3 / n as f64,
        model / n as f64
    );
    Ok(())
}
