//! The trainer on real digits: the built-in fixture always, full MNIST when it is present
//! (`DIGITBOT_MNIST`, default `../shared/data/mnist`).

use digitbot::data::{read_split, Split};
use digitbot::sim::sim_digits;
use digitbot::testdata::mnist_dir;
use digitbot::train::net::Net;
use digitbot::train::{self, Arch, Gradient, TrainConfig};
use rand::SeedableRng;

/// The largest difference between two networks' parameters.
fn max_difference(a: &Net<f64>, b: &Net<f64>) -> f64 {
    let mut worst = 0f64;
    for (la, lb) in a.layers.iter().zip(&b.layers) {
        for (pa, pb) in la.params().iter().zip(lb.params()) {
            for (x, y) in pa.iter().zip(pb) {
                worst = worst.max((x - y).abs());
            }
        }
    }
    worst
}

#[test]
fn lecture_network_on_5000_mnist_digits_beats_85_percent() {
    // One pass over 5000 digits reaches ~79 %; the lecture's settings need three to pass 85 %.
    let Some(dir) = mnist_dir() else { return };
    let train_set = read_split(&dir, Split::Train).unwrap().take(5000);
    let test_set = read_split(&dir, Split::Test).unwrap().take(1000);
    let mut cfg = TrainConfig::for_arch(Arch::Seed);
    cfg.seed = 1;
    // The lecture's settings exactly: batch 1, lr 0.01, plain SGD, file order.
    assert_eq!((cfg.batch, cfg.lr, cfg.epochs, cfg.shuffle), (1, 0.01, 1, false));
    cfg.epochs = 3;
    let (net, _) = train::train::<f32>(&cfg, &train_set, None, 10, |_| {});
    let acc = train::evaluate(&net, &test_set, Arch::Seed.input_range()).accuracy;
    assert!(acc > 0.85, "accuracy {acc}");
}

#[test]
fn small_cnn_learns_the_fixture_digits() {
    let data = sim_digits().unwrap();
    let (train_set, test_set) = (data.take(400), data.slice(400, 500));
    let mut cfg = TrainConfig::for_arch("cnn:4-8-32".parse().unwrap());
    cfg.epochs = 6;
    cfg.batch = 16;
    let (net, history) = train::train::<f32>(&cfg, &train_set, Some(&test_set), 10, |_| {});
    assert!(history.last().unwrap().loss < history[0].loss / 2.0, "loss falls: {history:?}");
    let acc = train::evaluate(&net, &test_set, (0.0, 1.0)).accuracy;
    assert!(acc > 0.75, "accuracy {acc}");
}

#[test]
fn numerical_and_backprop_training_end_in_the_same_place() {
    // The lecture's method and backprop must train the same network, step for step.
    let data = sim_digits().unwrap().take(12);
    let mut cfg = TrainConfig::for_arch("mlp:784-6-10:sigmoid".parse().unwrap());
    cfg.batch = 4;
    cfg.lr = 0.1;
    cfg.optimizer = train::Optimizer::Sgd { momentum: 0.0 };
    cfg.decay = false;
    cfg.epochs = 2;
    let (bp, _) = train::train::<f64>(&cfg, &data, None, 10, |_| {});
    cfg.gradient = Gradient::Numerical;
    let (num, _) = train::train::<f64>(&cfg, &data, None, 10, |_| {});
    let worst = max_difference(&bp, &num);
    assert!(worst < 1e-6, "weights differ by {worst}");
    // And training moved them: the agreement is not two untouched copies of the start.
    let start: Net<f64> = cfg.arch.build(10, &mut rand_chacha::ChaCha8Rng::seed_from_u64(cfg.seed));
    let moved = max_difference(&bp, &start);
    assert!(moved > 1e-3, "training changed the weights by only {moved}");
}

#[test]
fn training_is_reproducible_for_a_seed_whatever_the_threads() {
    let data = sim_digits().unwrap().take(200);
    let mut cfg = TrainConfig::for_arch("mlp:784-16-10".parse().unwrap());
    cfg.epochs = 2;
    cfg.augment = true;
    cfg.seed = 9;
    let (a, _) = train::train::<f32>(&cfg, &data, None, 10, |_| {});
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (b, _) = pool.install(|| train::train::<f32>(&cfg, &data, None, 10, |_| {}));
    assert_eq!(a.layers[0].params()[0], b.layers[0].params()[0]);
    cfg.seed = 10;
    let (c, _) = train::train::<f32>(&cfg, &data, None, 10, |_| {});
    assert_ne!(a.layers[0].params()[0], c.layers[0].params()[0]);
}
