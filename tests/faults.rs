//! Fault injection: every way the loop can go wrong stops the wheels, and the loop
//! recovers when frames return. Runs the real pipeline with the default model on the
//! simulated camera, and records what reached the actuators.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};

use serde_json::Value;

use digitbot::config::Config;
use digitbot::pipeline::{run, Overrides, Pipeline, RunOptions, Summary};
use digitbot::sim::scenario::Scenario;
use digitbot::sink::decisions::DecisionLog;
use digitbot::sink::fake::{RecordingI2c, RecordingPins};
use digitbot::sink::leds::Leds;
use digitbot::sink::motor_hat::{MotorConfig, MotorHat};
use digitbot::sink::{Actuators, Event, RecordingSink, Sinks};
use digitbot::source::sim::SimCamera;
use digitbot::source::{FrameSource, Poll};

fn config() -> Config {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/sim.toml");
    // Long enough that only the fault, not the action's own end, can stop the wheels.
    let text = std::fs::read_to_string(&path).unwrap().replace("duration_ms = 1000", "duration_ms = 20000");
    Config::parse(&text, &path).unwrap()
}

fn pipeline(cfg: &Config) -> Pipeline {
    Pipeline::from_config(cfg, &Overrides::default()).unwrap()
}

/// Runs a scenario; returns the summary (or error text), the actuator events and the
/// decision records.
fn run_scenario(scenario: &str, sink: &mut dyn Actuators, dir: &Path) -> (Result<Summary, String>, Vec<Value>) {
    run_with_sinks(scenario, sink, dir, Sinks::new())
}

/// [`run_scenario`] with more sinks than the decision log.
fn run_with_sinks(
    scenario: &str,
    sink: &mut dyn Actuators,
    dir: &Path,
    mut sinks: Sinks,
) -> (Result<Summary, String>, Vec<Value>) {
    let cfg = config();
    let mut cam = SimCamera::new(320, 240, 30.0, Scenario::parse(scenario).unwrap(), 3, false, None).unwrap();
    let path = dir.join("decisions.jsonl");
    sinks.push(DecisionLog::create(&path).unwrap());
    let result =
        run(&mut cam, &mut pipeline(&cfg), sink, &mut sinks, &RunOptions::default()).map_err(|e| format!("{e:#}"));
    let recs = std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (result, recs)
}

fn actions(recs: &[Value]) -> Vec<(String, String)> {
    recs.iter().filter_map(|r| Some((r["action"].as_str()?.to_string(), r["reason"].as_str()?.to_string()))).collect()
}

fn fault_scenario(fault: &str) -> String {
    format!(
        "[[segment]]\nseconds = 1.5\ndigit = 1\n[[segment]]\nseconds = 2.0\n{fault} = true\n\
         [[segment]]\nseconds = 1.5\ndigit = 3\n"
    )
}

fn check_fault(fault: &str, reason: &str) {
    let dir = tempfile::tempdir().unwrap();
    let rec = RecordingSink::new();
    let (result, recs) = run_scenario(&fault_scenario(fault), &mut rec.clone(), dir.path());
    assert!(result.is_ok(), "{fault}: {result:?}");
    let acts = actions(&recs);
    let pair = |a: &str, r: &str| (a.to_string(), r.to_string());
    assert_eq!(
        acts,
        vec![
            pair("forward", "digit"),
            pair("stop", reason),
            pair("left", "digit"),
            pair("stop", "action done"),
            pair("stop", "shutdown")
        ],
        "{fault}"
    );
    // The stop reached the wheels while the fault lasted, before the next motion.
    let ev = rec.events();
    let forward = ev.iter().position(|e| *e == Event::Motors(0.4, 0.4)).unwrap();
    let left = ev.iter().position(|e| *e == Event::Motors(-0.3, 0.3)).unwrap();
    assert!(ev[forward + 1..left].contains(&Event::Stop), "{fault}: {ev:?}");
    assert_eq!(ev.last(), Some(&Event::Stop), "{fault}: stopped at the end");
    // The stop came within the fault segment (1.5 s .. 3.5 s).
    let t = recs.iter().find(|r| r["reason"] == reason).unwrap()["t_ms"].as_u64().unwrap();
    assert!((1500..3500).contains(&t), "{fault}: stopped at {t} ms");
}

#[test]
fn a_stalled_camera_stops_the_wheels_and_the_loop_recovers() {
    check_fault("stall", "camera stalled");
}

#[test]
fn an_unplugged_camera_stops_the_wheels_and_the_loop_recovers() {
    check_fault("disconnect", "camera lost: simulated camera unplugged");
}

#[test]
fn corrupt_frames_read_as_no_digit_and_the_hold_stops_the_wheels() {
    check_fault("garbage", "no digit for hold_ms");
}

/// Gives a few frames, then panics.
struct Panicky(SimCamera, u32);

impl FrameSource for Panicky {
    fn next_frame(&mut self) -> anyhow::Result<Poll> {
        self.1 += 1;
        if self.1 > 20 {
            panic!("injected panic in the frame source");
        }
        self.0.next_frame()
    }
    fn describe(&self) -> String {
        "panicky".into()
    }
}

#[test]
fn a_panic_mid_run_still_stops_the_wheels() {
    let cfg = config();
    let scenario = Scenario::parse("[[segment]]\nseconds = 5\ndigit = 1\n").unwrap();
    let mut src = Panicky(SimCamera::new(320, 240, 30.0, scenario, 3, false, None).unwrap(), 0);
    let rec = RecordingSink::new();
    let mut sink = rec.clone();
    let mut p = pipeline(&cfg);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        run(&mut src, &mut p, &mut sink, &mut Sinks::new(), &RunOptions::default())
    }));
    assert!(outcome.is_err(), "the panic went through");
    let ev = rec.events();
    assert!(ev.contains(&Event::Motors(0.4, 0.4)), "it was driving: {ev:?}");
    assert_eq!(ev.last(), Some(&Event::Stop));
}

#[test]
fn an_i2c_error_ends_the_run_with_the_wheels_released_and_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let bus = RecordingI2c::new();
    let mut hat = MotorHat::new(bus.clone(), MotorConfig::default()).unwrap();
    bus.take();
    // The start-up stop (six writes) goes through, and three writes of the first drive
    // command; then the bus dies.
    bus.fail_after(6 + 3);
    let (result, recs) = run_scenario("[[segment]]\nseconds = 2\ndigit = 1\n", &mut hat, dir.path());
    let err = result.unwrap_err();
    assert!(err.contains("motor HAT at I2C bus 1, address 0x60") && err.contains("i2cdetect"), "{err}");
    let last = recs.last().unwrap();
    assert_eq!(last["action"], "stop");
    assert!(last["reason"].as_str().unwrap().starts_with("error: "), "{last}");
    // After the failure, releasing was tried again and again (every attempt failed).
    assert!(bus.attempts() > 6, "{} attempts", bus.attempts());
}

#[test]
fn a_failing_led_is_switched_off_and_the_robot_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let pins = RecordingPins::new(4);
    let leds = Leds::new(pins.clone()).unwrap();
    // Showing the first digit fails on its second pin write; the GPIO works again after.
    pins.fail_after(1, 1);
    let mut sinks = Sinks::new();
    sinks.push(leds);
    let rec = RecordingSink::new();
    let scenario = "[[segment]]\nseconds = 1.5\ndigit = 1\n[[segment]]\nseconds = 1.0\nblank = true\n\
                    [[segment]]\nseconds = 1.5\ndigit = 3\n";
    let (result, recs) = run_with_sinks(scenario, &mut rec.clone(), dir.path(), sinks);
    assert!(result.is_ok(), "an LED does not end the run: {result:?}");
    let acts: Vec<String> = actions(&recs).into_iter().map(|(a, _)| a).collect();
    assert_eq!(acts, ["forward", "stop", "left", "stop", "stop"], "the robot carried on");
    assert!(rec.events().contains(&Event::Motors(-0.3, 0.3)), "and still drove after the LED failed");
    // Switched off once after the failure (every pin low), then never written again.
    assert_eq!(pins.levels(), vec![false; 4]);
    assert_eq!(pins.attempts(), 4 + 2 + 4, "start-up, the failed show, the switch-off: nothing more");
}

/// Presses the live view's buttons at given frames: e-stop, then resume.
struct Presser {
    cam: SimCamera,
    controls: std::sync::Arc<digitbot::pipeline::Controls>,
    frames: u64,
}

impl FrameSource for Presser {
    fn next_frame(&mut self) -> anyhow::Result<Poll> {
        use std::sync::atomic::Ordering;
        match self.frames {
            45 => self.controls.estop.store(true, Ordering::SeqCst),
            80 => self.controls.resume(),
            _ => {}
        }
        self.frames += 1;
        self.cam.next_frame()
    }
    fn describe(&self) -> String {
        "presser".into()
    }
}

#[test]
fn an_emergency_stop_holds_the_wheels_until_resume_and_replays_the_same() {
    use digitbot::pipeline::Controls;
    use digitbot::sink::record::Recorder;
    use digitbot::source::recording::RecordingSource;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config();
    let controls = Arc::new(Controls::default());
    let scenario = Scenario::parse("[[segment]]\nseconds = 5\ndigit = 1\n").unwrap();
    let cam = SimCamera::new(320, 240, 30.0, scenario, 3, false, None).unwrap();
    let mut src = Presser { cam, controls: Arc::clone(&controls), frames: 0 };
    let rec_dir = dir.path().join("rec");
    let mut sinks = Sinks::new();
    sinks.push(Recorder::create(&rec_dir).unwrap());
    sinks.push(DecisionLog::create(&dir.path().join("a.jsonl")).unwrap());
    let wheels = RecordingSink::new();
    let opts = RunOptions { controls: Arc::clone(&controls), ..RunOptions::default() };
    run(&mut src, &mut pipeline(&cfg), &mut wheels.clone(), &mut sinks, &opts).unwrap();
    let a: Vec<Value> = std::fs::read_to_string(dir.path().join("a.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let acts = actions(&a);
    let stop = acts.iter().position(|(_, why)| why == "e-stop").expect("an e-stop record");
    assert_eq!(acts[stop - 1].0, "forward", "it was driving: {acts:?}");
    assert_eq!(acts[stop + 1], ("forward".to_string(), "digit".to_string()), "it drove again after resume: {acts:?}");
    // The wheels were stopped at the e-stop and nothing moved them until after the resume.
    let ev = wheels.events();
    let first_forward = ev.iter().position(|e| *e == Event::Motors(0.4, 0.4)).unwrap();
    let again =
        ev.iter().skip(first_forward + 1).position(|e| *e == Event::Motors(0.4, 0.4)).unwrap() + first_forward + 1;
    assert!(ev[first_forward + 1..again].iter().all(|e| *e == Event::Stop), "{ev:?}");
    // Every frame read while held: the wheels at rest, no action (the e-stop record aside).
    let held: Vec<&Value> =
        a.iter().filter(|r| (46..80).contains(&r["frame"].as_u64().unwrap_or(0)) && r["reason"] != "e-stop").collect();
    assert!(held.len() >= 30, "frames went on while held");
    assert!(held.iter().all(|r| r["wheels"] == serde_json::json!([0.0, 0.0]) && r["action"].is_null()), "{held:?}");
    // The recording replays the hold where it happened: the same decisions.
    let replay_controls = Arc::new(Controls::default());
    let mut replay = RecordingSource::open(&rec_dir, false, Arc::clone(&replay_controls)).unwrap();
    let mut sinks = Sinks::new();
    sinks.push(DecisionLog::create(&dir.path().join("b.jsonl")).unwrap());
    let opts = RunOptions { controls: replay_controls, ..RunOptions::default() };
    run(&mut replay, &mut pipeline(&cfg), &mut RecordingSink::new(), &mut sinks, &opts).unwrap();
    let strip = |path: &Path| -> Vec<Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("ms");
                v
            })
            .collect()
    };
    assert_eq!(strip(&dir.path().join("a.jsonl")), strip(&dir.path().join("b.jsonl")));
}
