//! The browser verifier page (web/) end to end: the digits MLP compiled, set up, proven and
//! exported for snarkjs by the CLI; web/ served on 127.0.0.1 by a small static server here;
//! web/tests/page.test.mjs drives the page in headless Chromium with puppeteer-core and asserts
//! valid, invalid and error verdicts (see that file for the cases).
//!
//! Needs node, Debian's `chromium` (`.ci/install-debian.sh`) and puppeteer-core
//! (`.ci/install-node-tools.sh`); skipped with a message when one is missing, unless `CI` is
//! set. `ZKINFER_WEB_SCREENSHOT=web/screenshot.png` saves the valid case's screenshot there
//! (the README's picture); otherwise it goes to a temporary folder.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Prints `SKIPPED: why` and returns None, or panics when `CI` is set (CI runs every check).
fn skip<T>(why: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("CI is set and a required tool is missing: {why}");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// The first of `names` found on PATH.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// node, chromium and the folder holding node_modules/puppeteer-core, or None after a skip.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !node_ok {
        return skip("node not found; install Node.js (>= 18), e.g. apt-get install nodejs");
    }
    let chromium = match std::env::var_os("ZKINFER_CHROMIUM") {
        Some(p) => Some(PathBuf::from(p)),
        None => on_path(&["chromium", "chromium-browser"]),
    };
    let Some(chromium) = chromium else {
        return skip("chromium not found; run bash .ci/install-debian.sh (apt-get install chromium) or set ZKINFER_CHROMIUM");
    };
    let node_tools = std::env::var_os("ZKINFER_NODE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".ci/node"));
    if !node_tools
        .join("node_modules/puppeteer-core/package.json")
        .exists()
    {
        return skip(&format!(
            "puppeteer-core not found in {}; run bash .ci/install-node-tools.sh or set ZKINFER_NODE_TOOLS",
            node_tools.display()
        ));
    }
    Some((chromium, node_tools))
}

fn zkinfer(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_zkinfer"))
        .args(args)
        .output()
        .expect("run zkinfer");
    assert!(
        o.status.success(),
        "zkinfer {args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Compiles the digits MLP at `scale` and sets it up: `<name>.zkc`, `.pk`, `.vk` in `dir`.
fn compile_setup(dir: &Path, name: &str, scale: &str) {
    let model = repo().join("fixtures/mlp/model.onnx");
    let zkc = dir.join(format!("{name}.zkc"));
    zkinfer(&[
        "compile",
        "--model",
        s(&model),
        "--out",
        s(&zkc),
        "--scale",
        scale,
        "--input-bits",
        "9",
    ]);
    let (pk, vk) = (
        dir.join(format!("{name}.pk")),
        dir.join(format!("{name}.vk")),
    );
    zkinfer(&[
        "setup",
        "--circuit",
        s(&zkc),
        "--pk",
        s(&pk),
        "--vk",
        s(&vk),
    ]);
}

/// The Content-Type of a served file.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        // ES modules must be served as JavaScript or the browser refuses them.
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Answers one HTTP/1.1 GET with a file under `root` (404 for anything else, including paths
/// that would leave `root`), then closes the connection.
fn serve_one(mut stream: TcpStream, root: &Path) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    // Drain the headers; the page sends no bodies.
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
        line.clear();
    }
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let target = target.split(['?', '#']).next().unwrap_or("/");
    let rel = Path::new(target.trim_start_matches('/'));
    let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
    let path = if target == "/" {
        root.join("index.html")
    } else {
        root.join(rel)
    };
    let response = match (safe, std::fs::read(&path)) {
        (true, Ok(body)) => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                content_type(&path),
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(&body);
            r
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&response);
}

/// Serves `root` on 127.0.0.1 at a free port, from a thread that lives as long as the test
/// process; returns the base URL.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || serve_one(stream, &root));
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// Runs `cmd` to completion, killing it after `limit`; returns (success, stdout + stderr).
fn run_with_timeout(mut cmd: Command, limit: Duration) -> (bool, String) {
    use std::os::unix::process::CommandExt;
    // A process group of its own, so that a time-out kills Node and the Chromium it started
    // together: Chromium killed with Node's pipe alone could outlive a hung script.
    let mut child = cmd
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        let mut e = String::new();
        let _ = err.read_to_string(&mut e);
        text + &e
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            // The group this test started: Node and its Chromium.
            // SAFETY: kill(2) with a negative pid signals the process group the child leads.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = reader.join().unwrap();
    match status {
        Some(s) => (s.success(), text),
        None => (false, format!("{text}\n(killed after {limit:?})")),
    }
}

#[test]
fn the_page_verifies_the_digits_proof_and_rejects_tampering() {
    let Some((chromium, node_tools)) = tools() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("zkinfer-web-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    compile_setup(&dir, "mlp", "7");
    compile_setup(&dir, "other", "6");
    let input = repo().join("fixtures/mlp/input.json");
    let proof = dir.join("proof.json");
    zkinfer(&[
        "prove",
        "--circuit",
        s(&dir.join("mlp.zkc")),
        "--pk",
        s(&dir.join("mlp.pk")),
        "--input",
        s(&input),
        "--proof",
        s(&proof),
    ]);
    zkinfer(&[
        "export",
        "--format",
        "snarkjs",
        "--vk",
        s(&dir.join("mlp.vk")),
        "--proof",
        s(&proof),
        "--out",
        s(&dir.join("snarkjs")),
    ]);

    let url = format!("{}/index.html", serve(repo().join("web")));
    let screenshot = match std::env::var_os("ZKINFER_WEB_SCREENSHOT") {
        Some(p) => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                repo().join(p)
            }
        }
        None => dir.join("screenshot.png"),
    };
    let _ = std::fs::remove_file(&screenshot);
    let mut cmd = Command::new("node");
    cmd.arg("web/tests/page.test.mjs")
        .current_dir(repo())
        .env("ZKINFER_CHROMIUM", &chromium)
        .env("ZKINFER_NODE_TOOLS", &node_tools)
        .env("ZKINFER_WEB_URL", &url)
        .env("ZKINFER_WEB_DIR", &dir)
        .env("ZKINFER_WEB_SCREENSHOT", &screenshot);
    let (ok, text) = run_with_timeout(cmd, Duration::from_secs(300));
    println!("{text}");
    assert!(ok, "the page test failed:\n{text}");
    assert!(text.contains("page test: all cases passed"), "{text}");

    // The page's own measurements, for the record, and proof that every case ran.
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("page-results.json")).unwrap()).unwrap();
    assert_eq!(results.as_object().unwrap().len(), 10, "{results}");
    assert_eq!(results["valid proof + .vk"]["status"], "valid");
    let png = std::fs::read(&screenshot).expect("the page test saves a screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is not a plausible screenshot",
        screenshot.display()
    );
    println!("screenshot: {}", screenshot.display());
    let _ = std::fs::remove_dir_all(&dir);
}
