//! The live view: one page, served from the binary on its own thread, showing what the
//! robot sees (the frame with the digit's box, the 28×28 input, the probabilities, the
//! reading, vote, action and wheels, the timings and the last actions) and taking the
//! emergency stop, pause, resume and labels.
//!
//! Security: loopback by default; any other address needs a token, checked in constant
//! time on every request, the page and images included (`Authorization: Bearer TOKEN` or
//! `?token=TOKEN`). Requests that change anything are POST only, with bodies of at most
//! [`MAX_BODY`] bytes. Captures go only into the capture folder, under names the firmware
//! makes. No request can drive the wheels: the most one can do is hold them stopped, or
//! release a hold (after which a fresh vote is needed before anything moves).

use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use image::{Rgb, RgbImage};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tiny_http::{Header, Method, Request, Response, StatusCode};

use crate::capture::{Capture, CaptureDir};
use crate::data::SIDE;
use crate::sink::live::{Live, Snapshot};

/// The page, built into the binary: plain HTML and JavaScript, no fetches elsewhere.
const PAGE: &str = include_str!("page.html");

/// The largest request body taken (a label is a few bytes).
pub const MAX_BODY: usize = 256;

/// Where the live view listens: an IP address and port, or a Unix socket (`unix:/path`),
/// which only this machine can reach — the service uses one, reached from a laptop with
/// `ssh -L 8080:/run/digitbot/web.sock`, so its sandbox needs no network at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebAddress {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl std::str::FromStr for WebAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.strip_prefix("unix:") {
            Some(path) if path.starts_with('/') => Ok(WebAddress::Unix(PathBuf::from(path))),
            Some(_) => Err(format!("a Unix socket is unix:/absolute/path, got {s:?}")),
            None => s
                .parse()
                .map(WebAddress::Tcp)
                .map_err(|_| format!("must be IP:PORT (e.g. 127.0.0.1:8080) or unix:/path, got {s:?}")),
        }
    }
}

impl fmt::Display for WebAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebAddress::Tcp(a) => write!(f, "{a}"),
            WebAddress::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

impl WebAddress {
    /// Reachable from this machine only.
    pub fn is_local(&self) -> bool {
        match self {
            WebAddress::Tcp(a) => a.ip().is_loopback(),
            WebAddress::Unix(_) => true,
        }
    }
}

/// Where the live view listens and who may use it (validated: an address other machines
/// can reach has a token).
#[derive(Clone, Debug, PartialEq)]
pub struct WebConfig {
    pub address: WebAddress,
    pub token: Option<String>,
}

impl WebConfig {
    /// Checks that only loopback goes without a token.
    pub fn validate(&self) -> Result<()> {
        if !self.address.is_local() && self.token.as_deref().is_none_or(str::is_empty) {
            bail!(
                "web.address {} is reachable from other machines: set web.token (or DIGITBOT_WEB_TOKEN), or \
                 bind to 127.0.0.1 and use ssh -L",
                self.address
            );
        }
        if let Some(t) = &self.token {
            if t.len() < 16 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                bail!("web.token must be at least 16 characters of A-Z, a-z, 0-9, - and _");
            }
        }
        Ok(())
    }
}

/// The running server; dropping it stops the thread.
pub struct Server {
    addr: WebAddress,
    stop: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds and starts serving on a thread of its own.
    pub fn start(cfg: &WebConfig, live: Arc<Live>, captures: Option<Arc<CaptureDir>>) -> Result<Server> {
        cfg.validate()?;
        let cannot = || format!("live view: cannot listen on {}", cfg.address);
        let (server, addr) = match &cfg.address {
            WebAddress::Tcp(a) => {
                let server = tiny_http::Server::http(a).map_err(|e| anyhow::anyhow!("{e}")).with_context(cannot)?;
                let bound = server.server_addr().to_ip().context("live view: not an IP address")?;
                (server, WebAddress::Tcp(bound))
            }
            WebAddress::Unix(path) => {
                // A socket left by a run that was killed would block the bind.
                if std::fs::symlink_metadata(path)
                    .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                {
                    let _ = std::fs::remove_file(path);
                }
                let server =
                    tiny_http::Server::http_unix(path).map_err(|e| anyhow::anyhow!("{e}")).with_context(cannot)?;
                // Anyone on this machine may connect, as to 127.0.0.1 (the folder decides).
                std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o666))
                    .with_context(cannot)?;
                (server, cfg.address.clone())
            }
        };
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let state = State {
            live,
            captures,
            token: cfg.token.as_ref().map(|t| Sha256::digest(t.as_bytes()).into()),
            jpeg: None,
        };
        let (srv, flag) = (Arc::clone(&server), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("live-view".into())
            .spawn(move || serve(&srv, &flag, state))
            .context("live view: cannot start its thread")?;
        match &addr {
            WebAddress::Tcp(a) => log::info!("live view on http://{a}/"),
            WebAddress::Unix(p) => {
                log::info!(
                    "live view on {} (from a laptop: ssh -L 8080:{} ROBOT, then http://localhost:8080/)",
                    addr,
                    p.display()
                )
            }
        }
        Ok(Server { addr, stop, server, thread: Some(thread) })
    }

    pub fn addr(&self) -> &WebAddress {
        &self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct State {
    live: Arc<Live>,
    captures: Option<Arc<CaptureDir>>,
    /// SHA-256 of the token, so comparing it takes the same time whatever is sent.
    token: Option<[u8; 32]>,
    /// The last frame encoded, by frame number: viewers share one encoding.
    jpeg: Option<(u64, Vec<u8>)>,
}

fn serve(server: &tiny_http::Server, stop: &AtomicBool, mut state: State) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(req)) => {
                let response = handle(&mut state, req);
                if let Err(e) = response {
                    log::debug!("live view: {e:#}");
                }
            }
            Ok(None) => {}
            Err(e) => {
                log::warn!("live view: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn header(name: &str, value: &str) -> Header {
    // Both are constants of ours: valid header bytes.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap_or_else(|_| unreachable!("valid header"))
}

fn reply(code: u16, content_type: &str, body: Vec<u8>) -> Reply {
    Response::from_data(body)
        .with_status_code(StatusCode(code))
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self'",
        ))
}

fn text(code: u16, msg: &str) -> Reply {
    reply(code, "text/plain; charset=utf-8", format!("{msg}\n").into_bytes())
}

/// The token a request carries: `Authorization: Bearer T` or `?token=T`.
fn presented_token(req: &Request) -> Option<String> {
    let bearer = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer "))
        .map(str::to_string);
    bearer.or_else(|| {
        let query = req.url().split_once('?')?.1;
        query.split('&').find_map(|kv| kv.strip_prefix("token=")).map(str::to_string)
    })
}

fn authorized(state: &State, req: &Request) -> bool {
    let Some(want) = &state.token else { return true };
    let got: [u8; 32] = Sha256::digest(presented_token(req).unwrap_or_default().as_bytes()).into();
    bool::from(got.ct_eq(want))
}

fn handle(state: &mut State, mut req: Request) -> std::io::Result<()> {
    if !authorized(state, &req) {
        return req.respond(text(401, "401: this live view needs its token (?token=… or Authorization: Bearer …)"));
    }
    let path = req.url().split('?').next().unwrap_or("/").to_string();
    let post = *req.method() == Method::Post;
    let response = match (path.as_str(), req.method()) {
        ("/", Method::Get) => reply(200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
        ("/api/state", Method::Get) => reply(200, "application/json", state_json(state).into_bytes()),
        ("/frame.jpg", Method::Get) => match frame_jpeg(state) {
            Some(jpeg) => reply(200, "image/jpeg", jpeg),
            None => text(503, "no frame yet"),
        },
        ("/input.png", Method::Get) => match state.live.latest().and_then(|s| input_png(&s)) {
            Some(png) => reply(200, "image/png", png),
            None => text(404, "no digit in the newest frame"),
        },
        ("/api/estop" | "/api/pause" | "/api/resume" | "/api/label", _) if !post => {
            text(405, "405: use POST").with_header(header("Allow", "POST"))
        }
        ("/api/estop", _) => {
            state.live.controls.estop.store(true, Ordering::SeqCst);
            log::warn!("live view: emergency stop from {:?}", req.remote_addr());
            text(200, "stopped")
        }
        ("/api/pause", _) => {
            state.live.controls.paused.store(true, Ordering::SeqCst);
            text(200, "paused")
        }
        ("/api/resume", _) => {
            state.live.controls.resume();
            text(200, "resumed")
        }
        ("/api/label", _) => match read_body(&mut req) {
            Err(r) => r,
            Ok(body) => label(state, &body),
        },
        _ => text(404, "404: not here"),
    };
    req.respond(response)
}

/// The body, refused when over [`MAX_BODY`] bytes.
fn read_body(req: &mut Request) -> Result<String, Reply> {
    if req.body_length().is_some_and(|n| n > MAX_BODY) {
        return Err(text(413, "413: body too large"));
    }
    let mut body = Vec::new();
    if req.as_reader().take(MAX_BODY as u64 + 1).read_to_end(&mut body).is_err() {
        return Err(text(400, "400: could not read the body"));
    }
    if body.len() > MAX_BODY {
        return Err(text(413, "413: body too large"));
    }
    String::from_utf8(body).map_err(|_| text(400, "400: the body is not text"))
}

/// `POST /api/label` with body `0`..`9` or `none`: the newest frame, captured with that
/// label.
fn label(state: &State, body: &str) -> Reply {
    let label = match body.trim() {
        "none" => None,
        d if d.len() == 1 && d.as_bytes()[0].is_ascii_digit() => Some(d.as_bytes()[0] - b'0'),
        _ => return text(400, "400: the label is a digit 0-9 or none"),
    };
    let Some(caps) = &state.captures else { return text(409, "409: no capture folder is configured") };
    let Some(snap) = state.live.latest() else { return text(503, "503: no frame yet") };
    let c = Capture {
        label,
        prediction: snap.digit,
        confidence: snap.confidence,
        t_ms: snap.t_ms,
        width: snap.width,
        height: snap.height,
        frame: &snap.pixels,
        input: snap.input.as_ref(),
        model_sha256: &state.live.model_sha256,
        source: "web",
    };
    match caps.write(&c) {
        Ok(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            reply(200, "application/json", serde_json::json!({ "capture": name }).to_string().into_bytes())
        }
        Err(e) => {
            log::error!("live view: {e:#}");
            text(500, "500: the capture could not be written (see the log)")
        }
    }
}

fn state_json(state: &State) -> String {
    let snap = state.live.latest();
    let captures =
        state.captures.as_ref().map(|c| crate::data::captures::read_records(c.path()).map_or(0, |r| r.len()));
    serde_json::json!({
        "snapshot": snap.as_deref(),
        "labels": state.live.labels,
        "hold": state.live.controls.hold(),
        "actions": state.live.actions(),
        "captures": captures,
    })
    .to_string()
}

/// The newest frame as a JPEG with the digit's box drawn in, encoded once per frame.
fn frame_jpeg(state: &mut State) -> Option<Vec<u8>> {
    let snap = state.live.latest()?;
    if let Some((frame, jpeg)) = &state.jpeg {
        if *frame == snap.frame {
            return Some(jpeg.clone());
        }
    }
    let mut img = RgbImage::from_fn(snap.width as u32, snap.height as u32, |x, y| {
        let v = snap.pixels.get(y as usize * snap.width + x as usize).copied().unwrap_or(0);
        Rgb([v, v, v])
    });
    if let Some(b) = snap.bbox {
        let red = Rgb([230, 30, 30]);
        let t = (snap.width.max(snap.height) / 200).max(1) as u32;
        for x in b.x0 as u32..=b.x1 as u32 {
            for k in 0..t {
                for y in [b.y0 as u32 + k, (b.y1 as u32).saturating_sub(k)] {
                    if x < img.width() && y < img.height() {
                        img.put_pixel(x, y, red);
                    }
                }
            }
        }
        for y in b.y0 as u32..=b.y1 as u32 {
            for k in 0..t {
                for x in [b.x0 as u32 + k, (b.x1 as u32).saturating_sub(k)] {
                    if x < img.width() && y < img.height() {
                        img.put_pixel(x, y, red);
                    }
                }
            }
        }
    }
    let mut jpeg = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80);
    image::ImageEncoder::write_image(enc, img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .ok()?;
    state.jpeg = Some((snap.frame, jpeg.clone()));
    Some(jpeg)
}

/// The 28×28 model input, 8× enlarged.
fn input_png(snap: &Snapshot) -> Option<Vec<u8>> {
    let input = snap.input?;
    let img = image::GrayImage::from_fn(SIDE as u32 * 8, SIDE as u32 * 8, |x, y| {
        image::Luma([input[(y / 8) as usize * SIDE + (x / 8) as usize]])
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).ok()?;
    Some(png)
}
