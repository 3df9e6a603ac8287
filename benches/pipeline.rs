//! Per-frame cost: the whole pipeline (640×480 grayscale frame → decision), and its parts.
//! Run with `cargo bench`; uses the default model in models/.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

use digitbot::config::Config;
use digitbot::pipeline::{Overrides, Pipeline};
use digitbot::sim::scenario::Scenario;
use digitbot::source::sim::SimCamera;
use digitbot::source::{FrameSource, Poll};
use digitbot::stage::preprocess::preprocess;

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = Config::load(&root.join("config/sim.toml")).expect("config/sim.toml");
    let mut pipeline = Pipeline::from_config(&cfg, &Overrides::default()).expect("default model");
    let scenario = Scenario::parse("[[segment]]\nseconds = 1\ndigit = 7\n").expect("scenario");
    let mut cam = SimCamera::new(640, 480, 30.0, scenario, 1, false, None).expect("camera");
    let Ok(Poll::Frame(mut frame)) = cam.next_frame() else { panic!("the simulator gives a frame") };
    let found =
        preprocess(&frame.pixels, frame.width, frame.height, &pipeline.params).expect("the frame holds a digit");
    let input = pipeline.model_input(&found.digit);

    c.bench_function("pipeline 640x480 frame -> decision", |b| {
        b.iter(|| {
            frame.t_ms += 33;
            pipeline.process(&frame).expect("process")
        })
    });
    c.bench_function("preprocess 640x480", |b| {
        b.iter(|| preprocess(&frame.pixels, frame.width, frame.height, &pipeline.params))
    });
    c.bench_function("downscale 640x480 by 4", |b| {
        let img = digitbot::gray::Gray::new(&frame.pixels, frame.width, frame.height).expect("a whole frame");
        b.iter(|| digitbot::gray::downscale_area(img, 4))
    });
    c.bench_function("model alone", |b| b.iter(|| pipeline.model.probabilities(&input).expect("run")));
}

criterion_group!(benches, bench);
criterion_main!(benches);
