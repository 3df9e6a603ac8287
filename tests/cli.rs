//! The `digitbot` binary, run as a user would, on fixtures and temporary folders.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use digitbot::data::Dataset;
use digitbot::sim::sim_digits;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn digitbot() -> Command {
    let mut c = Command::cargo_bin("digitbot").unwrap();
    c.current_dir(root()).env("RUST_LOG", "warn");
    c
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Runs `digitbot --sim --fast` on a scenario and returns its `--decisions` records.
fn sim_decisions(scenario: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("decisions.jsonl");
    digitbot().args(["--sim", "--fast", "--scenario", scenario, "--decisions"]).arg(&out).assert().success();
    records(&out)
}

#[test]
fn sim_run_decides_the_scenarios_actions_and_ends_stopped() {
    let recs = sim_decisions("tests/fixtures/actions.toml");
    // 9 s at 30 fps, plus the final stop record.
    assert_eq!(recs.len(), 271);
    let actions: Vec<(&str, &str)> =
        recs.iter().filter_map(|r| Some((r["action"].as_str()?, r["reason"].as_str()?))).collect();
    assert_eq!(
        actions,
        vec![
            // Digit 1 (forward 1 s), seen for 2 s: forward, done, again after the cooldown.
            ("forward", "digit"),
            ("stop", "action done"),
            ("forward", "digit"),
            ("stop", "action done"),
            // Digit 3: spin left for 0.5 s. Digit 0 (stop) while stopped changes nothing.
            ("left", "digit"),
            ("stop", "action done"),
            // Digit 2: backward for 1 s.
            ("backward", "digit"),
            ("stop", "action done"),
            ("stop", "shutdown"),
        ]
    );
    // Blank paper is never a digit.
    for r in &recs[..30] {
        assert_eq!(r["digit"], Value::Null, "{r}");
    }
    let last = recs.last().unwrap();
    assert_eq!(last["wheels"], serde_json::json!([0.0, 0.0]));
    // Frame 40 at 30 fps: its number, its time, and a reading of the 1 shown then.
    let r = &recs[40];
    assert_eq!((r["frame"].as_u64(), r["t_ms"].as_u64()), (Some(40), Some(1333)), "{r}");
    assert_eq!(r["digit"], 1, "{r}");
    assert!((0.6..=1.0).contains(&r["confidence"].as_f64().unwrap()), "{r}");
    assert!(r["ms"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn frames_limits_the_run_and_plain_sim_is_the_run_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    digitbot().args(["--sim", "--fast", "--frames", "12", "--decisions"]).arg(&a).assert().success();
    digitbot().args(["run", "--sim", "--fast", "--frames", "12", "--decisions"]).arg(&b).assert().success();
    let (ra, rb) = (records(&a), records(&b));
    assert_eq!(ra.len(), 13);
    assert_eq!(ra.last().unwrap()["reason"], "shutdown");
    // Same seed, same frames, same decisions (timings aside).
    let strip = |v: &[Value]| v.iter().map(|r| (r["digit"].clone(), r["confidence"].clone())).collect::<Vec<_>>();
    assert_eq!(strip(&ra), strip(&rb));
}

#[test]
fn bad_config_and_missing_model_fail_with_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(root().join("config/sim.toml")).unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, cfg.replace("votes = 5", "votes = 0")).unwrap();
    let out = digitbot().args(["--sim", "--fast", "--config"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml: decision.votes must be within 1..=100, got 0"), "{err}");

    let out = digitbot().args(["--sim", "--fast", "--model", "models/nope.onnx"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("models/nope.onnx: file not found"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("->"), "no action was decided");
}

/// Writes test digits as dark ink on light paper, 4× size, with margins: what a photo of a
/// written digit looks like after grayscale conversion.
fn write_pngs(data: &Dataset, range: std::ops::Range<usize>, dir: &Path) -> Vec<(PathBuf, u8)> {
    range
        .map(|i| {
            let img = image::GrayImage::from_fn(160, 140, |x, y| {
                let (sx, sy) = (x as i64 - 24, y as i64 - 14);
                let ink = if (0..112).contains(&sx) && (0..112).contains(&sy) {
                    data.image(i)[(sy / 4 * 28 + sx / 4) as usize] as u32
                } else {
                    0
                };
                image::Luma([(220 - ink * 180 / 255) as u8])
            });
            let path = dir.join(format!("digit-{i:03}.png"));
            img.save(&path).unwrap();
            (path, data.labels[i])
        })
        .collect()
}

#[test]
fn classify_reads_written_digits_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim_digits().unwrap();
    let files = write_pngs(&data, 100..120, dir.path());
    let out = digitbot().args(["classify", "--json"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), files.len());
    let mut right = 0;
    for (line, (path, label)) in lines.iter().zip(&files) {
        assert_eq!(line["file"], path.display().to_string());
        // The default model's ten digits and its "no digit".
        assert_eq!(line["probabilities"].as_array().unwrap().len(), 11);
        assert!(line["ms"].as_f64().unwrap() > 0.0);
        right += (line["digit"] == *label as u64) as usize;
    }
    assert!(right >= 19, "{right} of 20 written digits read right");
}

#[test]
fn classify_names_an_unreadable_image() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.jpg");
    std::fs::File::create(&bad).unwrap().write_all(b"\xff\xd8 truncated jpeg").unwrap();
    let out = digitbot().arg("classify").arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.jpg") && err.contains("not a readable PNG or JPEG"), "{err}");
}

/// Writes a dataset as gzipped IDX files in MNIST's layout.
fn write_idx(data: &Dataset, dir: &Path, prefix: &str) {
    use flate2::{write::GzEncoder, Compression};
    let mut img = Vec::new();
    for v in [0x803u32, data.len() as u32, 28, 28] {
        img.extend_from_slice(&v.to_be_bytes());
    }
    img.extend_from_slice(&data.images);
    let mut lab = Vec::new();
    for v in [0x801u32, data.len() as u32] {
        lab.extend_from_slice(&v.to_be_bytes());
    }
    lab.extend_from_slice(&data.labels);
    for (name, bytes) in
        [(format!("{prefix}-images-idx3-ubyte.gz"), img), (format!("{prefix}-labels-idx1-ubyte.gz"), lab)]
    {
        let mut gz = GzEncoder::new(std::fs::File::create(dir.join(name)).unwrap(), Compression::fast());
        gz.write_all(&bytes).unwrap();
        gz.finish().unwrap();
    }
}

#[test]
fn eval_reports_json_accuracy_on_idx_files() {
    let dir = tempfile::tempdir().unwrap();
    write_idx(&sim_digits().unwrap(), dir.path(), "t10k");
    let out = digitbot().args(["eval", "--json", "--data"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 500);
    assert!(v["accuracy"].as_f64().unwrap() > 0.97, "{v}");
    assert_eq!(v["per_class"].as_array().unwrap().len(), 10);
}

/// The first 400 fixture digits as the lecture's CSV (label, then 784 pixels a row): 300 to
/// train on, 100 to test.
fn write_csv(data: &Dataset, dir: &Path) -> (PathBuf, PathBuf) {
    let rows: Vec<String> = (0..400)
        .map(|i| {
            let px: Vec<String> = data.image(i).iter().map(|p| p.to_string()).collect();
            format!("{},{}", data.labels[i], px.join(","))
        })
        .collect();
    let (csv, test_csv) = (dir.join("digits.csv"), dir.join("test.csv"));
    std::fs::write(&csv, rows[..300].join("\n")).unwrap();
    std::fs::write(&test_csv, rows[300..].join("\n")).unwrap();
    (csv, test_csv)
}

#[test]
fn train_on_csv_exports_a_model_the_firmware_uses() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim_digits().unwrap();
    let (csv, test_csv) = write_csv(&data, dir.path());
    let model = dir.path().join("m.onnx");
    let report = dir.path().join("report");
    digitbot()
        .args(["train", "--arch", "mlp:784-32-10", "--epochs", "8", "--data"])
        .arg(&csv)
        .arg("--test")
        .arg(&test_csv)
        .arg("--out")
        .arg(&model)
        .arg("--report")
        .arg(&report)
        .assert()
        .success();
    for f in ["summary.json", "loss.png", "confusion.png", "misread.png"] {
        assert!(report.join(f).is_file(), "{f} written");
    }
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["epochs"].as_array().unwrap().len(), 8);
    let pngs = write_pngs(&data, 450..460, dir.path());
    let out = digitbot()
        .args(["classify", "--json", "--threshold", "0", "--model"])
        .arg(&model)
        .arg(&pngs[0].0)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let bad_csv = dir.path().join("bad.csv");
    std::fs::write(&bad_csv, "3,0,0\n").unwrap();
    let out = digitbot()
        .args(["train", "--arch", "seed", "--out"])
        .arg(dir.path().join("x.onnx"))
        .arg("--data")
        .arg(&bad_csv)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv: row 1: 3 fields, expected 785"), "{err}");
}

#[test]
fn sigterm_while_driving_stops_the_wheels_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("long.toml");
    std::fs::write(&scenario, "[[segment]]\nseconds = 60\ndigit = 1\n").unwrap();
    let out = dir.path().join("d.jsonl");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("digitbot"))
        .current_dir(root())
        .env("RUST_LOG", "warn")
        .args(["--sim", "--scenario"])
        .arg(&scenario)
        .arg("--decisions")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has decided to drive (the log is flushed at every action).
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&out).unwrap_or_default().contains("\"action\":\"forward\"") {
        assert!(started.elapsed().as_secs() < 20, "no forward action within 20 s");
        assert!(child.try_wait().unwrap().is_none(), "it ended before driving");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let recs = records(&out);
    assert!(recs.iter().any(|r| r["action"] == "forward"), "it was driving");
    let last = recs.last().unwrap();
    assert_eq!((last["action"].as_str(), last["reason"].as_str()), (Some("stop"), Some("shutdown")));
    assert!(recs.len() < 200, "it stopped at the signal, not at the scenario's end");
}

#[test]
#[cfg_attr(feature = "camera", ignore = "with the camera built in, this would open /dev/video0")]
fn the_robot_build_without_a_camera_says_how_to_get_one() {
    let out = digitbot().args(["run", "--config", "config/sim.toml", "--frames", "1"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--features camera") && err.contains("libclang"), "{err}");
}

#[test]
fn dump_writes_frame_mask_and_input_for_classify_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim_digits().unwrap();
    let files = write_pngs(&data, 7..9, dir.path());
    let dump = dir.path().join("dump");
    digitbot().args(["classify", "--dump"]).arg(&dump).arg(&files[0].0).arg(&files[1].0).assert().success();
    for stem in ["digit-007", "digit-008"] {
        for part in ["frame", "mask", "input"] {
            let p = dump.join(format!("{stem}-{part}.png"));
            assert!(p.is_file(), "{} written", p.display());
        }
    }
    let input = image::open(dump.join("digit-007-input.png")).unwrap().into_luma8();
    assert_eq!(input.dimensions(), (112, 112), "the 28×28 input, 4× for viewing");
    let run_dump = dir.path().join("run");
    digitbot().args(["--sim", "--fast", "--frames", "3", "--dump"]).arg(&run_dump).assert().success();
    let n = std::fs::read_dir(&run_dump).unwrap().count();
    assert!(n >= 6, "frame and mask for each of 3 frames: {n} files");
    assert!(run_dump.join("frame-00002-frame.png").is_file());
}

#[test]
fn eval_sim_scenes_reports_every_condition() {
    let out = digitbot().args(["eval", "--sim-scenes", "5", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let conds = v["conditions"].as_array().unwrap();
    let names: Vec<&str> = conds.iter().map(|c| c["condition"].as_str().unwrap()).collect();
    assert_eq!(names, ["handwritten on paper", "handwritten on a card on the floor", "printed", "blank view"]);
    assert!(conds.iter().all(|c| c["n"] == 5));
    let (total, model) = (v["ms_per_frame"].as_f64().unwrap(), v["model_ms_per_frame"].as_f64().unwrap());
    assert!(total > 0.0);
    // The model's time is part of the whole, and spread over every frame it is no more
    // than over the frames that reached it.
    assert!(model > 0.0 && model < total, "model {model} ms of {total} ms per frame");
    assert!(v["model_ms_per_reaching_frame"].as_f64().unwrap() >= model);
}

#[test]
fn scenario_scenes_cards_and_printed_signs_drive_the_robot() {
    let recs = sim_decisions("tests/fixtures/scenes.toml");
    let actions: Vec<&str> = recs.iter().filter_map(|r| r["action"].as_str()).collect();
    // 1 on a card: forward; blank card: nothing; printed 4: right; 0 on paper while stopped.
    assert_eq!(actions, ["forward", "stop", "right", "stop", "stop"]);
    // The blank card (frames 30-59) is never read as a digit.
    for r in &recs[30..60] {
        assert_eq!(r["digit"], Value::Null, "{r}");
    }
    assert!(recs[100..119].iter().all(|r| r["digit"] == 0), "the 0 on paper is read");
}

#[test]
fn stop_motors_names_the_bus_it_cannot_open_and_knows_when_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(root().join("config/sim.toml")).unwrap();
    let none = dir.path().join("none.toml");
    std::fs::write(&none, &cfg).unwrap();
    let out = digitbot().args(["stop-motors", "--config"]).arg(&none).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no motor driver"));
    // A motor HAT on a bus this machine does not have: one clear error, non-zero exit.
    let hat = dir.path().join("hat.toml");
    std::fs::write(
        &hat,
        cfg.replace("driver = \"none\"", "driver = \"motor-hat\"").replace("i2c_bus = 1", "i2c_bus = 250"),
    )
    .unwrap();
    let out = digitbot().args(["stop-motors", "--config"]).arg(&hat).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/i2c-250") && err.contains("i2c group"), "{err}");
}

#[test]
fn eval_images_scores_a_labelled_folder_per_kind() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim_digits().unwrap();
    let files = write_pngs(&data, 200..210, dir.path());
    // A blank sheet, which must be read as no digit, and a file that is not an image.
    image::GrayImage::from_pixel(160, 140, image::Luma([215])).save(dir.path().join("blank.png")).unwrap();
    std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
    let mut manifest: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, (p, label))| {
            let kind = if i < 5 { "scan" } else { "photo" };
            serde_json::json!({"file": p.file_name().unwrap().to_str().unwrap(), "label": label, "kind": kind})
        })
        .collect();
    manifest.push(serde_json::json!({"file": "blank.png", "label": null, "kind": "blank"}));
    manifest.push(serde_json::json!({"file": "broken.png", "label": 3, "kind": "photo"}));
    std::fs::write(dir.path().join("manifest.json"), serde_json::to_string(&manifest).unwrap()).unwrap();
    let out = digitbot().args(["eval", "--json", "--images"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 12);
    assert_eq!((v["kinds"]["scan"]["n"].as_u64(), v["kinds"]["photo"]["n"].as_u64()), (Some(5), Some(6)));
    assert_eq!(v["kinds"]["blank"]["accuracy"], 1.0, "the blank sheet is no digit: {v}");
    // The broken file is one misread, named; the written digits are read.
    let misread = v["misread"].as_array().unwrap();
    assert!(misread.iter().any(|m| m["file"].as_str().unwrap().ends_with("broken.png")), "{v}");
    assert!(v["accuracy"].as_f64().unwrap() >= 10.0 / 12.0, "{v}");
    assert!(v["no_digit"].as_u64().unwrap() >= 2, "the blank and the broken file: {v}");

    // Without a manifest, names say the label; --dump keeps what was misread.
    let named = tempfile::tempdir().unwrap();
    for (p, label) in &files[..3] {
        std::fs::copy(p, named.path().join(format!("{label}_{}", p.file_name().unwrap().to_str().unwrap()))).unwrap();
    }
    std::fs::copy(dir.path().join("blank.png"), named.path().join("2_not_really.png")).unwrap();
    let dump = named.path().join("dump");
    let out = digitbot().args(["eval", "--images"]).arg(named.path()).arg("--dump").arg(&dump).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2_not_really.png: shows 2, read none"), "{text}");
    assert!(text.contains("75.00%"), "{text}");
    let dumped: Vec<_> = std::fs::read_dir(&dump).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(dumped.iter().any(|n| n.to_string_lossy().contains("2_not_really-shows-2-read-none-frame")), "{dumped:?}");
}

#[test]
fn a_recorded_run_with_faults_replays_to_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("faults.toml");
    std::fs::write(
        &scenario,
        "[[segment]]\nseconds = 1.5\ndigit = 1\n[[segment]]\nseconds = 0.5\nstall = true\n\
         [[segment]]\nseconds = 1.0\ndigit = 3\n[[segment]]\nseconds = 0.5\ngarbage = true\n\
         [[segment]]\nseconds = 0.5\ndisconnect = true\n[[segment]]\nseconds = 1.5\ndigit = 2\nscene = \"card\"\n",
    )
    .unwrap();
    let rec = dir.path().join("rec");
    digitbot().args(["--sim", "--fast", "--scenario"]).arg(&scenario).arg("--record").arg(&rec).assert().success();
    let replayed = dir.path().join("replayed.jsonl");
    digitbot()
        .args(["run", "--config", "config/sim.toml", "--fast", "--replay"])
        .arg(&rec)
        .arg("--decisions")
        .arg(&replayed)
        .assert()
        .success();
    let strip = |recs: Vec<Value>| -> Vec<Value> {
        recs.into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("ms");
                r
            })
            .collect()
    };
    let (a, b) = (strip(records(&rec.join("decisions.jsonl"))), strip(records(&replayed)));
    assert!(a.len() > 100, "{} records", a.len());
    assert!(a.iter().any(|r| r["reason"] == "camera stalled") && a.iter().any(|r| r["action"] == "forward"));
    assert_eq!(a, b, "the replay decides exactly as the run did");
    // Short (garbage) buffers are kept as they were, not turned into whole frames.
    let raw =
        std::fs::read_dir(&rec).unwrap().filter(|e| e.as_ref().unwrap().path().to_string_lossy().ends_with(".gray.gz"));
    assert!(raw.count() > 0);
}

/// The whole teaching loop a user runs: a picture the model cannot read, captured from the
/// simulated camera with a label, fine-tunes the model until it reads it.
#[test]
fn captures_from_the_simulator_fine_tune_a_model_to_read_a_new_sign() {
    let dir = tempfile::tempdir().unwrap();
    let data = sim_digits().unwrap();
    // A small model, trained on digits only.
    let (csv, test_csv) = write_csv(&data, dir.path());
    let model = dir.path().join("m.onnx");
    let train = |extra: &[&str], out: &Path| {
        let o = digitbot()
            .args(["train", "--data"])
            .arg(&csv)
            .arg("--test")
            .arg(&test_csv)
            .args(extra)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    train(&["--arch", "mlp:784-32-10", "--epochs", "8"], &model);

    // The new sign: a thick plus, which the user wants read as a 7.
    let mut plus = image::GrayImage::from_pixel(100, 100, image::Luma([255]));
    for (x, y, p) in plus.enumerate_pixels_mut() {
        if (43..57).contains(&x) && (15..85).contains(&y) || (43..57).contains(&y) && (15..85).contains(&x) {
            *p = image::Luma([0]);
        }
    }
    plus.save(dir.path().join("plus.png")).unwrap();
    let capture = |segment: &str, label: &str| {
        let scenario = dir.path().join(format!("{label}.toml"));
        std::fs::write(&scenario, format!("[[segment]]\nseconds = 4\n{segment}\n")).unwrap();
        digitbot()
            .args(["--sim", "--fast", "--scenario"])
            .arg(&scenario)
            .arg("--model")
            .arg(&model)
            .arg("--capture")
            .arg(dir.path().join("captures"))
            .args(["--label", label, "--capture-every", "3"])
            .assert()
            .success();
    };
    capture("digit = 7\nimage = \"plus.png\"", "7");
    // "No digit" captures cannot teach a model without a "no digit" output: left out, and said.
    capture("digit = 7\nimage = \"plus.png\"", "none");
    // The share of all captures read as labelled (the "none" ones, read at threshold 0, never are).
    let accuracy = |m: &Path| {
        let o = digitbot()
            .args(["eval", "--json", "--threshold", "0", "--model"])
            .arg(m)
            .arg("--images")
            .arg(dir.path().join("captures"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["n"].as_u64().unwrap() >= 60, "captures of both runs are read: {v}");
        v["accuracy"].as_f64().unwrap()
    };
    let before = accuracy(&model);

    let tuned = dir.path().join("tuned.onnx");
    let captures = dir.path().join("captures");
    // The defaults (2 gentle epochs) suit a well-trained CNN; this small net needs more.
    let extra = ["--epochs", "5", "--lr", "0.001", "--extra", captures.to_str().unwrap()];
    let log = train(&[&["--init", model.to_str().unwrap()][..], &extra].concat(), &tuned);
    assert!(log.contains("\"no digit\" captures: the model has no \"no digit\" output"), "{log}");
    // "fine-tune: captures kept aside (N) A % -> B %, test set C % -> D %"
    let line = log.lines().find(|l| l.starts_with("fine-tune: captures kept aside")).expect(&log);
    let pct: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert!(pct[1] == 100.0 && pct[1] > pct[0], "the kept-aside plus signs are read as 7: {log}");
    let after = accuracy(&tuned);
    assert!(after > before + 0.3, "captures read: before {before}, after {after}");
}
