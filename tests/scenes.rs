//! The reader on camera-like scenes: digits on paper, on cards on the floor, printed, and
//! blank views, with uneven light, blur, noise and JPEG. Above all, a blank view must not
//! be read as a digit: on a robot that means driving.

use std::path::PathBuf;

use digitbot::config::Config;
use digitbot::pipeline::{Overrides, Pipeline};
use digitbot::sim::scenes::{Condition, SceneMaker};
use digitbot::sim::sim_digits;
use digitbot::source::Frame;

#[test]
fn scenes_are_read_and_blank_views_are_no_digit() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cfg = Config::load(&root.join("config/sim.toml")).unwrap();
    let mut p = Pipeline::from_config(&cfg, &Overrides { single_frame: true, ..Overrides::default() }).unwrap();
    let digits = sim_digits().unwrap();
    let fonts = digitbot::testdata::fonts();
    // A seed the command-line measurement does not use.
    let maker = SceneMaker { width: 320, height: 240, digits: &digits, fonts: &fonts, seed: 77 };
    for cond in Condition::ALL {
        let (mut right, mut wrong) = (0, 0);
        for i in 0..40 {
            let s = maker.scene(cond, i);
            let shown = s.digit;
            p.decider.reset();
            let read = p.process(&Frame::from(s)).unwrap().decision.digit;
            if read == shown {
                right += 1;
            } else if read.is_some() {
                wrong += 1;
            }
        }
        if cond == Condition::Blank {
            assert!(right >= 39, "{}: {right} of 40 blank views read as no digit", cond.name());
        } else {
            assert!(right >= 34, "{}: {right} of 40 read right", cond.name());
            assert!(wrong <= 2, "{}: {wrong} of 40 read as another digit", cond.name());
        }
    }
}

#[test]
fn raw_mnist_digits_pass_through_preprocessing() {
    // White on black, digit-sized: nothing in them may be taken for a card or an edge.
    let digits = sim_digits().unwrap();
    let params = digitbot::stage::preprocess::Params::default();
    let found = (0..digits.len())
        .filter(|&i| digitbot::stage::preprocess::preprocess(digits.image(i), 28, 28, &params).is_ok())
        .count();
    assert_eq!(found, digits.len());
}
