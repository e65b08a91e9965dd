//! The demo on a real (virtual) screen: Xvfb, the demo binary, its webview, real media. The demo's
//! `--probe` file says what the page shows (screen, participant count, banner, errors, where tiles and
//! fields are); screenshots (ImageMagick `import`) say what is drawn; `xdotool` types and clicks.
//!
//! Needs `xvfb xauth imagemagick xdotool` (the Makefile installs them). Tests run one at a time: each
//! starts its own X server and a whole call, and the machine has two cores.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// An X server on a free display, stopped on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    /// Lets Xvfb pick a free display itself (`-displayfd`), so stale lock files of killed servers or
    /// displays in use elsewhere never collide with ours.
    fn start() -> Self {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (apt-get install xvfb)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .expect("Xvfb says which display it took");
        let n: u32 = line.trim().parse().expect("a display number");
        Self {
            child,
            display: format!(":{n}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        // SIGTERM, so the server removes its socket and lock file (SIGKILL would leave them).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The demo process and its probe file; killed on drop.
struct Demo {
    child: Child,
    probe: PathBuf,
    display: String,
    dir: PathBuf,
}

impl Demo {
    fn start(x: &Xvfb, args: &[&str]) -> Self {
        Self::start_with(x, args, &[])
    }

    fn start_with(x: &Xvfb, args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "otter-demo-ui-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let probe = dir.join("probe.json");
        let log = std::fs::File::create(dir.join("demo.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_otter-demo"))
            .args(args)
            .arg("--probe")
            .arg(&probe)
            .env("DISPLAY", &x.display)
            .env("RUST_LOG", "warn")
            .env_remove("OTTER_URL")
            .env_remove("OTTER_SURFACE")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the demo starts");
        Self {
            child,
            probe,
            display: x.display.clone(),
            dir,
        }
    }

    fn page(&self) -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(&self.probe).ok()?).ok()
    }

    /// Waits until the page satisfies `ok`, returning it; panics with the last page seen otherwise.
    fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        while Instant::now() < deadline {
            if let Some(page) = self.page() {
                if ok(&page) {
                    return page;
                }
                last = Some(page);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("timed out waiting for {what}; the page showed {last:?}");
    }

    /// The demo window's picture: (width, height, RGB bytes).
    fn screenshot(&self) -> (usize, usize, Vec<u8>) {
        let out = Command::new("import")
            .args([
                "-display",
                &self.display,
                "-window",
                "root",
                "-depth",
                "8",
                "rgb:-",
            ])
            .output()
            .expect("ImageMagick import runs");
        assert!(out.status.success(), "import failed");
        (1280, 800, out.stdout)
    }

    fn xdotool(&self, args: &[&str]) {
        let ok = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .status()
            .expect("xdotool runs")
            .success();
        assert!(ok, "xdotool {args:?} failed");
    }

    /// Clicks the middle of the element with `data-field` = `field`.
    fn click(&self, page: &Value, field: &str) {
        let r = &page["fields"][field];
        let (x, y) = (
            r[0].as_f64().unwrap() + r[2].as_f64().unwrap() / 2.0,
            r[1].as_f64().unwrap() + r[3].as_f64().unwrap() / 2.0,
        );
        let (x, y) = (format!("{}", x as i64), format!("{}", y as i64));
        self.xdotool(&["mousemove", &x, &y, "click", "1"]);
        std::thread::sleep(Duration::from_millis(300));
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

/// The pixels of `rect` (page coordinates; the window sits at the screen's top left).
fn crop(shot: &(usize, usize, Vec<u8>), rect: &Value) -> Vec<[u8; 3]> {
    let (w, h, rgb) = shot;
    let f = |i: usize| rect[i].as_f64().unwrap();
    // A few pixels in from the edge: rounded corners and the name tag are not the video.
    let (x0, y0) = ((f(0) + 4.0) as usize, (f(1) + 4.0) as usize);
    let (x1, y1) = (
        ((f(0) + f(2) - 4.0) as usize).min(*w),
        ((f(1) + f(3) - 30.0) as usize).min(*h),
    );
    let mut px = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            let i = (y * w + x) * 3;
            px.push([rgb[i], rgb[i + 1], rgb[i + 2]]);
        }
    }
    px
}

fn distinct_colours(px: &[[u8; 3]]) -> usize {
    let mut seen: Vec<[u8; 3]> = px
        .iter()
        .map(|p| [p[0] & 0xf0, p[1] & 0xf0, p[2] & 0xf0])
        .collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}

fn changed_fraction(a: &[[u8; 3]], b: &[[u8; 3]]) -> f64 {
    let changed = a
        .iter()
        .zip(b)
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 24))
        .count();
    changed as f64 / a.len().max(1) as f64
}

/// Two screenshots a second apart: every tile of `page` shows a picture (several colours) that moves.
/// Returns the second screenshot.
fn assert_tiles_live(demo: &Demo, page: &Value) -> (usize, usize, Vec<u8>) {
    let first = demo.screenshot();
    std::thread::sleep(Duration::from_secs(1));
    let second = demo.screenshot();
    for tile in page["tiles"].as_array().unwrap() {
        let (a, b) = (crop(&first, &tile["rect"]), crop(&second, &tile["rect"]));
        assert!(a.len() > 10_000, "tile {tile} is on screen");
        let colours = distinct_colours(&a);
        assert!(
            colours >= 6,
            "tile {tile} shows a picture ({colours} colours)"
        );
        let changed = changed_fraction(&a, &b);
        assert!(
            changed > 0.005,
            "tile {tile} moves ({:.2}% changed)",
            changed * 100.0
        );
    }
    second
}

#[test]
fn the_webgl_path_draws_too() {
    // This machine has no GPU, so surfaces choose the 2D canvas; force the WebGL (I420 shader) path,
    // which machines with a GPU take, and check it draws the same kind of picture.
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    let demo = Demo::start_with(
        &x,
        &["--bots", "1", "--join"],
        &[("OTTER_SURFACE", "webgl")],
    );
    let page = demo.wait_for("two tiles with video", Duration::from_secs(60), |p| {
        p["tiles"]
            .as_array()
            .is_some_and(|t| t.len() == 2 && t.iter().all(|t| t["video"] == true))
            && p["frames_drawn"]
                .as_array()
                .is_some_and(|d| d.len() == 2 && d.iter().all(|n| n.as_u64() > Some(10)))
    });
    assert_tiles_live(&demo, &page);
}

#[test]
fn a_call_with_two_bots_shows_three_live_tiles() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    // `--bots` alone joins at once: one person sees a full call without a click.
    let demo = Demo::start(&x, &["--bots", "2", "--name", "Tester"]);
    let page = demo.wait_for("three tiles with video", Duration::from_secs(60), |p| {
        p["screen"] == "call"
            && p["tiles"]
                .as_array()
                .is_some_and(|t| t.len() == 3 && t.iter().all(|t| t["video"] == true))
            && p["frames_drawn"]
                .as_array()
                .is_some_and(|d| d.len() == 3 && d.iter().all(|n| n.as_u64() > Some(10)))
    });
    assert_eq!(page["participants"], "3", "the participant count reads 3");
    let second = assert_tiles_live(&demo, &page);
    if std::env::var_os("OTTER_UPDATE_SCREENSHOT").is_some() {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/demo.png");
        let mut convert = Command::new("convert")
            .args([
                "-size",
                "1280x800",
                "-depth",
                "8",
                "rgb:-",
                "-crop",
                "1200x800+0+0",
            ])
            .arg(&out)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        convert.stdin.take().unwrap().write_all(&second.2).unwrap();
        assert!(convert.wait().unwrap().success());
    }
    // Leave: back to the join screen, which stays (`--join` joins once, not after every leave).
    demo.click(&page, "leave");
    demo.wait_for("the join screen", Duration::from_secs(10), |p| {
        p["screen"] == "join"
    });
    std::thread::sleep(Duration::from_secs(2));
    let page = demo.page().unwrap();
    assert_eq!(page["screen"], "join", "left, and not joined again");
    assert!(page["error"].is_null(), "leaving is not an error: {page}");
}

#[test]
fn a_bad_token_shows_1004_and_the_join_screen_stays_usable() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    let demo = Demo::start(&x, &["--name", "Tester"]);
    let page = demo.wait_for("the join screen", Duration::from_secs(30), |p| {
        p["screen"] == "join" && p["fields"]["advanced"].is_array()
    });
    demo.click(&page, "advanced");
    let page = demo.wait_for("the token field", Duration::from_secs(5), |p| {
        p["fields"]["token"][2].as_f64() > Some(0.0)
    });
    demo.click(&page, "token");
    demo.xdotool(&["type", "--delay", "20", "not-a-real-token"]);
    // The webview takes the keys in its own time: join only once the field holds all of them.
    let page = demo.wait_for("the typed token", Duration::from_secs(10), |p| {
        p["values"]["token"] == "not-a-real-token"
    });
    demo.click(&page, "join");
    let page = demo.wait_for("the 1004 error", Duration::from_secs(30), |p| {
        p["screen"] == "join" && p["error"].as_str().is_some_and(|e| e.contains("1004"))
    });
    let error = page["error"].as_str().unwrap();
    assert!(
        error.contains("token"),
        "the error says what was wrong: {error}"
    );
    // Still usable: the form kept what was typed; clear the token and join for real.
    assert_eq!(page["values"]["token"], "not-a-real-token");
    demo.click(&page, "token");
    demo.xdotool(&["key", "ctrl+a", "BackSpace"]);
    let page = demo.wait_for("an empty token field", Duration::from_secs(5), |p| {
        p["values"]["token"] == ""
    });
    demo.click(&page, "join");
    let page = demo.wait_for("the call", Duration::from_secs(30), |p| {
        p["screen"] == "call" && p["participants"] == "1"
    });
    // Stop video: the preview becomes the placeholder; start it again: video is back.
    demo.wait_for("your preview", Duration::from_secs(20), |p| {
        p["tiles"][0]["video"] == true
    });
    demo.click(&page, "camera");
    demo.wait_for("the placeholder", Duration::from_secs(10), |p| {
        p["tiles"][0]["video"] == false
    });
    demo.click(&page, "camera");
    demo.wait_for("your preview again", Duration::from_secs(10), |p| {
        p["tiles"][0]["video"] == true
    });
    // And the chat works: a message is a signal that comes back to everyone, the sender included.
    demo.click(&page, "chat");
    demo.xdotool(&["type", "--delay", "20", "hello otters"]);
    demo.xdotool(&["key", "Return"]);
    demo.wait_for("the chat message", Duration::from_secs(10), |p| {
        p["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|t| t.as_str() == Some("Testerhello otters")))
            && p["values"]["chat"] == ""
    });
}

/// A TCP relay that can be cut (all links closed, new ones refused) and restored.
struct Proxy {
    addr: std::net::SocketAddr,
    cut: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (c, l) = (cut.clone(), links.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(upstream) else {
                    continue;
                };
                let mut links = l.lock().unwrap();
                links.push(client.try_clone().unwrap());
                links.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0 || to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Self { addr, cut, links }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            let _ = link.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[test]
fn the_reconnect_banner_shows_while_the_link_is_cut() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = otter_server::ServerConfig::development();
    let project = config.projects[0].clone();
    let server = runtime
        .block_on(otter_server::start(
            config,
            otter_server::ListenOptions::default(),
        ))
        .expect("a separate session server");
    let proxy = Proxy::start(server.addr);
    let x = Xvfb::start();
    let url = format!("http://{}", proxy.addr);
    let demo = Demo::start(
        &x,
        &[
            "--server",
            &url,
            "--api-key",
            &project.api_key,
            "--api-secret",
            &project.api_secret,
            "--join",
        ],
    );
    demo.wait_for("the call", Duration::from_secs(60), |p| {
        p["screen"] == "call" && p["participants"] == "1" && p["banner"] == false
    });
    proxy.cut();
    demo.wait_for("the reconnect banner", Duration::from_secs(20), |p| {
        p["banner"] == true && p["screen"] == "call"
    });
    std::thread::sleep(Duration::from_secs(2));
    proxy.restore();
    demo.wait_for("the banner to go", Duration::from_secs(30), |p| {
        p["banner"] == false && p["screen"] == "call"
    });
}

#[test]
fn a_server_that_is_gone_is_said_plainly() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // A port nothing listens on.
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{gone}");
    let x = Xvfb::start();
    let demo = Demo::start(
        &x,
        &[
            "--server",
            &url,
            "--api-key",
            "1234",
            "--api-secret",
            "s",
            "--join",
        ],
    );
    let page = demo.wait_for("the error", Duration::from_secs(30), |p| {
        p["screen"] == "join" && p["error"].is_string()
    });
    let error = page["error"].as_str().unwrap();
    assert!(error.contains("cannot be reached"), "{error}");
    assert!(error.contains(&url), "the error names the server: {error}");
}
