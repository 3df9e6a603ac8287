//! The hot path does not allocate: once the preprocessor's buffers have grown to the
//! frames it sees, preprocessing and the decision make no allocation at all; the model
//! (tract) makes the same small number every run, measured and bounded here.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use digitbot::config::Config;
use digitbot::pipeline::{Overrides, Pipeline};
use digitbot::sim::scenes::{Condition, SceneMaker};
use digitbot::source::Frame;

/// Counts this thread's allocations (tests run on several threads).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn preprocessing_and_deciding_allocate_nothing_after_warm_up() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cfg = Config::load(&root.join("config/sim.toml")).unwrap();
    let mut pipeline = Pipeline::from_config(&cfg, &Overrides::default()).unwrap();
    let digits = digitbot::sim::sim_digits().unwrap();
    let fonts = digitbot::testdata::fonts();
    let maker = SceneMaker { width: 640, height: 480, digits: &digits, fonts: &fonts, seed: 9 };
    let frames: Vec<Frame> = (0..24)
        .map(|i| Frame { t_ms: 33 * i as u64, ..Frame::from(maker.scene(Condition::ALL[i % 4], i as u64)) })
        .collect();
    // Warm-up: the buffers grow to these frames.
    for f in &frames {
        pipeline.process(f).unwrap();
    }
    let digits_found =
        frames.iter().filter(|f| pipeline.preprocessor.run(&f.pixels, f.width, f.height).is_ok()).count();
    assert!(digits_found >= 12, "most scenes hold a digit: {digits_found}");

    // Preprocessing alone: not one allocation.
    let before = allocations();
    for f in &frames {
        std::hint::black_box(pipeline.preprocessor.run(&f.pixels, f.width, f.height).ok());
    }
    assert_eq!(allocations() - before, 0, "preprocessing allocated");

    // The model: the same number of allocations every run (tract's own), and few.
    let input = pipeline.model_input(&[0u8; 784]);
    let per_run: Vec<usize> = (0..5)
        .map(|_| {
            let before = allocations();
            pipeline.model.probabilities(&input).unwrap();
            allocations() - before
        })
        .collect();
    assert!(per_run.windows(2).all(|w| w[0] == w[1]), "{per_run:?}");
    let model = per_run[0];
    eprintln!("tract allocates {model} times per inference");
    assert!(model <= 64, "{model} allocations per inference");

    // The whole frame: preprocessing and deciding add nothing to the model's.
    let before = allocations();
    let mut runs = 0;
    for f in &frames {
        let r = pipeline.process(f).unwrap();
        runs += r.probabilities.is_some() as usize;
    }
    assert_eq!(allocations() - before, runs * model, "{runs} model runs");
}
