//! Per-frame cost on one core: the whole pipeline (640×480 grayscale frame → decision) over
//! a set of camera-like scenes — handwritten on paper, on a card on the floor, printed,
//! blank — and its parts; and what the simulator takes to make a frame. Run with
//! `cargo bench`; uses the default model in models/.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

use digitbot::config::Config;
use digitbot::pipeline::{Overrides, Pipeline};
use digitbot::sim::scenario::Scenario;
use digitbot::sim::scenes::{load_fonts, SceneMaker};
use digitbot::source::sim::SimCamera;
use digitbot::source::{Frame, FrameSource, Poll};
use digitbot::stage::preprocess::Preprocessor;

/// How many scenes of each condition the per-frame figures average over.
const PER_CONDITION: u64 = 8;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = Config::load(&root.join("config/sim.toml")).expect("config/sim.toml");
    let mut pipeline = Pipeline::from_config(&cfg, &Overrides::default()).expect("default model");
    let digits = digitbot::sim::sim_digits().expect("built-in digits");
    let fonts = load_fonts(&[std::path::PathBuf::from("/usr/share/fonts")]);
    let maker = SceneMaker { width: 640, height: 480, digits: &digits, fonts: &fonts, seed: 21 };
    let mut frames: Vec<Frame> = maker.sample(PER_CONDITION).into_iter().map(Frame::from).collect();
    let n = frames.len() as u64;
    // The model's input for each frame that holds a digit.
    let mut pre = Preprocessor::new(cfg.preprocess.clone());
    let inputs: Vec<_> = frames
        .iter()
        .filter_map(|f| pre.run(&f.pixels, f.width, f.height).ok())
        .map(|found| pipeline.model_input(&found.digit))
        .collect();

    let mut group = c.benchmark_group("per frame");
    // Each iteration goes through all the frames: divide by their number for one frame.
    group.bench_function(format!("pipeline, {n} camera-like 640x480 frames"), |b| {
        let mut t = 0;
        b.iter(|| {
            // Each frame is stamped with a new time in place: no copy of it is measured.
            for f in frames.iter_mut() {
                t += 33;
                f.t_ms = t;
                pipeline.decider.reset();
                std::hint::black_box(pipeline.process(f).expect("process"));
            }
        })
    });
    group.bench_function(format!("preprocess, {n} camera-like 640x480 frames"), |b| {
        b.iter(|| {
            for f in &frames {
                std::hint::black_box(pre.run(&f.pixels, f.width, f.height).ok());
            }
        })
    });
    group.bench_function(format!("model alone, {} digits", inputs.len()), |b| {
        b.iter(|| {
            for x in &inputs {
                std::hint::black_box(pipeline.model.probabilities(x).expect("run"));
            }
        })
    });
    group.finish();

    let mut sim = c.benchmark_group("simulator");
    for (name, scenario) in [
        ("camera-like scene frame", "[[segment]]\nseconds = 1000\ndigit = 4\nscene = \"card\"\n"),
        ("paper frame", "[[segment]]\nseconds = 1000\ndigit = 4\n"),
    ] {
        let mut cam = SimCamera::new(640, 480, 30.0, Scenario::parse(scenario).expect("scenario"), 1, false, None)
            .expect("camera");
        sim.bench_function(name, |b| {
            b.iter(|| match cam.next_frame() {
                Ok(Poll::Frame(f)) => std::hint::black_box(f),
                other => panic!("a frame, got {other:?}"),
            })
        });
    }
    sim.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
