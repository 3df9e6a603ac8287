//! The deploy script's dry run: the plan it prints is the plan it would carry out.

use std::process::Command;

fn plan(args: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/deploy.sh"))
        .args(args)
        .output()
        .expect("bash runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}

fn position(text: &str, needle: &str) -> usize {
    text.find(needle).unwrap_or_else(|| panic!("plan lacks {needle:?}:\n{text}"))
}

#[test]
fn cross_build_plan_installs_restarts_and_can_roll_back() {
    let (ok, text) = plan(&["--dry-run", "jetson@jetbot"]);
    assert!(ok, "{text}");
    let steps = [
        "+ cargo zigbuild --release --target aarch64-unknown-linux-gnu.2.27 --features camera",
        "+ scp target/aarch64-unknown-linux-gnu/release/digitbot jetson@jetbot:/tmp/digitbot-deploy/digitbot",
        "models/digit-cnn.onnx",
        "config/robot.toml deploy/digitbot.service jetson@jetbot:/tmp/digitbot-deploy/",
        "useradd --system --user-group",
        "cp -p /opt/digitbot/bin/digitbot /opt/digitbot/bin/digitbot.prev",
        "mv -f /opt/digitbot/bin/digitbot.new /opt/digitbot/bin/digitbot",
        "/etc/systemd/system/digitbot.service",
        "systemctl restart digitbot",
        "systemctl is-active --quiet digitbot",
        "mv -f /opt/digitbot/bin/digitbot.prev /opt/digitbot/bin/digitbot",
    ];
    let mut last = 0;
    for s in steps {
        let at = position(&text, s);
        assert!(at >= last, "{s:?} is out of order in:\n{text}");
        last = at;
    }
    assert!(text.contains("force_config=0"), "keeps the robot's config by default");
    assert!(!text.contains("cargo build --release --features camera"), "no native build");
}

#[test]
fn native_and_force_config_change_the_plan() {
    let (ok, text) = plan(&["--dry-run", "--native", "--force-config", "me@bot"]);
    assert!(ok, "{text}");
    position(&text, "+ rsync -a --delete --exclude /target --exclude /.git ./ me@bot:digitbot-src/");
    position(&text, "cd digitbot-src && cargo build --release --features camera");
    assert!(text.contains("force_config=1"));
    assert!(!text.contains("zigbuild"));
}

#[test]
fn a_host_is_required() {
    let (ok, text) = plan(&["--dry-run"]);
    assert!(!ok);
    assert!(text.contains("usage:"), "{text}");
    let (ok, _) = plan(&["--dry-run", "--bogus", "a@b"]);
    assert!(!ok);
}

#[test]
fn the_service_stops_the_motors_after_every_stop() {
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/digitbot.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    assert!(
        lines.contains(&"ExecStopPost=/opt/digitbot/bin/digitbot stop-motors --config /etc/digitbot/robot.toml"),
        "{unit}"
    );
    // systemd runs ExecStopPost= after SIGKILL and watchdog aborts too, as the same user:
    // that user must still reach the I2C bus.
    assert!(lines.contains(&"DeviceAllow=char-i2c rw"));
}

#[test]
fn the_live_view_needs_no_network_on_the_robot() {
    let root = env!("CARGO_MANIFEST_DIR");
    let unit = std::fs::read_to_string(format!("{root}/deploy/digitbot.service")).unwrap();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    for want in [
        "PrivateNetwork=yes",
        "RestrictAddressFamilies=AF_UNIX",
        "RuntimeDirectory=digitbot",
        "StateDirectory=digitbot",
    ] {
        assert!(lines.contains(&want), "{want} in the unit");
    }
    // The robot's config serves the view on a socket in that runtime folder, and captures
    // into the state folder.
    let cfg = digitbot::config::Config::load(std::path::Path::new(&format!("{root}/config/robot.toml"))).unwrap();
    assert_eq!(cfg.web.web.address.to_string(), "unix:/run/digitbot/web.sock");
    assert!(cfg.capture.dir.starts_with("/var/lib/digitbot"));
}

#[test]
fn a_model_alone_is_swapped_atomically_checked_and_rolled_back() {
    let (ok, text) = plan(&["--dry-run", "--model", "models/digit-cnn.onnx", "jetson@jetbot"]);
    assert!(ok, "{text}");
    let steps = [
        "+ scp models/digit-cnn.onnx jetson@jetbot:/tmp/digitbot-deploy/model.onnx",
        "/etc/digitbot/robot.toml)",
        "cp -p \"$dest\" \"$dest.prev\"",
        "install -m 0644 /tmp/digitbot-deploy/model.onnx \"$dest.new\"",
        // One rename: the service never sees half a model.
        "mv -f \"$dest.new\" \"$dest\"",
        "systemctl restart digitbot",
        "systemctl is-active --quiet digitbot",
        "mv -f \"$dest.prev\" \"$dest\"",
    ];
    let mut last = 0;
    for s in steps {
        let at = position(&text, s);
        assert!(at >= last, "{s:?} is out of order in:\n{text}");
        last = at;
    }
    assert!(!text.contains("cargo"), "nothing is built for a model");
    assert!(!text.contains("/opt/digitbot/bin/"), "the binary is left alone");
    let (ok, text) = plan(&["--model", "no-such-model.onnx", "a@b"]);
    assert!(!ok && text.contains("no-such-model.onnx: no such file"), "{text}");
    let (ok, _) = plan(&["--dry-run", "--model"]);
    assert!(!ok, "--model needs a file");
}
