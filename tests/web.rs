//! The live view in a real browser: headless Chromium, driven through chromedriver, against
//! `digitbot --sim --web`. The frame updates, the reading shown is the one in the decision
//! log, the emergency stop holds the wheels until resume, a label key writes a capture, a
//! blank view stays live (no digit, an empty input), and a wrong token gets 401.
//!
//! Needs Debian's `chromium` and `chromium-driver` (CI installs them); without them the test
//! says SKIPPED, or fails under DIGITBOT_REQUIRE_DATA.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use serde_json::Value;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const TOKEN: &str = "test-token-0123456789";

/// Kills the process when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Kills every process whose command line names this (unique) path when the test ends.
struct Pkill(PathBuf);

impl Drop for Pkill {
    fn drop(&mut self) {
        let _ = Command::new("pkill").arg("-f").arg(&self.0).status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Polls `check` every 50 ms for up to `secs` seconds.
async fn eventually<T>(secs: u64, what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A plain HTTP GET: (status, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// `digitbot --sim --web` on a free port, showing one segment (`digit = 1`, `blank = true`)
/// for two minutes; returns once it says where it listens.
fn live_bot(dir: &Path, segment: &str, decisions: &Path, captures: &Path) -> (Killed, u16) {
    let scenario = dir.join(format!("{}.toml", segment.replace([' ', '='], "")));
    std::fs::write(&scenario, format!("[[segment]]\nseconds = 120\n{segment}\n")).unwrap();
    let port = free_port();
    let mut bot = Command::new(env!("CARGO_BIN_EXE_digitbot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUST_LOG", "info")
        .env("DIGITBOT_WEB_TOKEN", TOKEN)
        .args(["--sim", "--scenario"])
        .arg(&scenario)
        .arg("--web")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--decisions")
        .arg(decisions)
        .arg("--capture")
        .arg(captures)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = bot.stderr.take().unwrap();
    let bot = Killed(bot);
    let mut lines = BufReader::new(stderr).lines();
    let listening = lines.by_ref().take(50).map_while(Result::ok).any(|l| l.contains("live view on http://"));
    assert!(listening, "digitbot announced its live view");
    std::thread::spawn(move || lines.for_each(drop));
    (bot, port)
}

#[tokio::test(flavor = "current_thread")]
async fn the_live_view_shows_the_run_and_takes_stop_resume_and_labels() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        digitbot::testdata::missing("chromium and chromedriver", "apt-get install chromium chromium-driver");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (decisions, captures) = (dir.path().join("d.jsonl"), dir.path().join("captures"));
    let (bot, port) = live_bot(dir.path(), "digit = 1", &decisions, &captures);

    // A wrong token, or none, gets 401 on every path, the page included.
    assert_eq!(get(port, "/").0, 401);
    assert_eq!(get(port, "/api/state?token=wrong-token-0123456789").0, 401);
    assert_eq!(get(port, "/frame.jpg").0, 401);
    assert_eq!(get(port, &format!("/api/state?token={TOKEN}")).0, 200);
    // State changes are POST only.
    assert_eq!(get(port, &format!("/api/estop?token={TOKEN}")).0, 405);

    let driver_port = free_port();
    let _driver = Killed(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let profile = dir.path().join("chromium-profile");
    // A failing assertion drops chromedriver without closing the session, and its Chromium
    // would live on: kill whatever runs with this test's profile.
    let _chromium = Pkill(profile.clone());
    let caps: serde_json::Map<String, Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", format!("--user-data-dir={}", profile.display())]
        }
    }))
    .unwrap();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let url = format!("http://127.0.0.1:{driver_port}");
    let client = eventually(20, "chromedriver", async || {
        ClientBuilder::new(connector.clone()).capabilities(caps.clone()).connect(&url).await.ok()
    })
    .await;

    // With the wrong token the browser sees only the refusal.
    client.goto(&format!("http://127.0.0.1:{port}/?token=nope-nope-nope-nope")).await.unwrap();
    let body = client.find(Locator::Css("body")).await.unwrap().text().await.unwrap();
    assert!(body.contains("401"), "{body}");

    client.goto(&format!("http://127.0.0.1:{port}/?token={TOKEN}")).await.unwrap();
    let text = async |id: &str| client.find(Locator::Id(id)).await.ok()?.text().await.ok();
    // The frame image updates.
    let first: u64 = eventually(20, "a first frame", async || text("frame-no").await?.parse().ok()).await;
    let src = client.find(Locator::Id("frame")).await.unwrap().attr("src").await.unwrap().unwrap_or_default();
    eventually(10, "a newer frame", async || {
        let n: u64 = text("frame-no").await?.parse().ok()?;
        let now = client.find(Locator::Id("frame")).await.ok()?.attr("src").await.ok()??;
        (n > first + 5 && now != src).then_some(())
    })
    .await;
    eventually(10, "the frame image loaded", async || {
        let js = "const i = document.getElementById('frame'); return [i.complete, i.naturalWidth];";
        let loaded = client.execute(js, vec![]).await.ok()?;
        (loaded == serde_json::json!([true, 640])).then_some(())
    })
    .await;

    // The reading shown is the decision log's for the frame shown.
    let (frame, reading) = eventually(10, "a frame the log has", async || {
        let f: u64 = text("frame-no").await?.parse().ok()?;
        let r = text("reading").await?;
        let again: u64 = text("frame-no").await?.parse().ok()?;
        let logged = records(&decisions).iter().any(|rec| rec["frame"] == f);
        (f == again && logged).then_some((f, r))
    })
    .await;
    let rec = records(&decisions).into_iter().find(|r| r["frame"] == frame).unwrap();
    let logged = rec["digit"].as_u64().map_or("no digit".to_string(), |d| d.to_string());
    assert_eq!(reading, logged, "frame {frame}: page and log agree");

    // It has been driving forward for the 1; the emergency stop stops the wheels and keeps
    // them stopped until resume.
    eventually(20, "driving", async || records(&decisions).iter().any(|r| r["action"] == "forward").then_some(()))
        .await;
    client.find(Locator::Id("estop")).await.unwrap().click().await.unwrap();
    let stop_at = eventually(10, "the e-stop in the log", async || {
        records(&decisions).iter().position(|r| r["reason"] == "e-stop")
    })
    .await;
    eventually(5, "the hold shown", async || text("hold").await.filter(|h| h.contains("e-stop"))).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let held = records(&decisions);
    assert!(held.len() > stop_at + 30, "frames went on while held");
    for r in &held[stop_at + 1..] {
        assert!(r["action"].is_null(), "nothing moved while held: {r}");
        assert_eq!(r["wheels"], serde_json::json!([0.0, 0.0]), "{r}");
    }
    client.find(Locator::Id("resume")).await.unwrap().click().await.unwrap();
    eventually(10, "driving again after resume", async || {
        records(&decisions)[stop_at..].iter().any(|r| r["action"] == "forward").then_some(())
    })
    .await;

    // A label key writes a capture: the frame, the input and the record, labelled.
    client.find(Locator::Css("body")).await.unwrap().send_keys("3").await.unwrap();
    let record: Value = eventually(10, "a capture", async || {
        let entry = std::fs::read_dir(&captures)
            .ok()?
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with("-3.json"))?;
        serde_json::from_str(&std::fs::read_to_string(entry.path()).ok()?).ok()
    })
    .await;
    assert_eq!(record["label"], 3);
    assert_eq!(record["source"], "web");
    assert!(captures.join(record["frame"].as_str().unwrap()).is_file());
    eventually(5, "the capture counted", async || text("captures").await.filter(|c| c == "1")).await;

    // A blank view: no digit, so no probabilities; the page keeps showing frames, says "no
    // digit" and shows an empty input, not a broken image.
    let (blank_bot, blank_port) =
        live_bot(dir.path(), "blank = true", &dir.path().join("blank.jsonl"), &dir.path().join("blank-captures"));
    client.goto(&format!("http://127.0.0.1:{blank_port}/?token={TOKEN}")).await.unwrap();
    let first: u64 = eventually(20, "a first blank frame", async || text("frame-no").await?.parse().ok()).await;
    eventually(10, "newer blank frames, shown live", async || {
        let n: u64 = text("frame-no").await?.parse().ok()?;
        (n > first + 5 && text("status").await? == "live" && text("reading").await? == "no digit").then_some(())
    })
    .await;
    let input = client.find(Locator::Id("input")).await.unwrap().attr("src").await.unwrap().unwrap_or_default();
    assert!(input.starts_with("data:image/gif"), "an empty input, not a broken image: {input}");

    let _ = client.close().await;
    drop(bot);
    drop(blank_bot);
}
