//! The built-in live page in a real headless browser (Debian's chromium,
//! driven by playwright-core from npm; scripts/install-test-deps installs
//! both): against a running demo, the leaderboard shows rows and updates
//! within 5 s, clicking a rep shows its score explanation, and a
//! phone-sized screenshot is saved to target/live-page.png.

use std::path::Path;
use std::process::Command;

mod support;
use support::http_get;

#[cfg_attr(
    not(feature = "external"),
    ignore = "needs chromium and node with playwright-core (scripts/test runs it: cargo test --features external)"
)]
#[test]
fn the_live_page_shows_an_updating_leaderboard_and_a_reps_explanation() {
    let (mut demo, _, http, token) = support::run::start_demo(&["--rate", "400", "--reps", "40"]);
    // The page and its parts are served from the binary.
    let (code, page) = http_get(&http, "/").expect("page");
    assert_eq!(code, 200);
    assert!(
        page.contains("text/html") && page.contains("/page.js"),
        "{page}"
    );
    let (code, script) = http_get(&http, "/page.js").expect("script");
    assert_eq!(code, 200);
    assert!(script.contains("/v1/stream"));

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shot = root.join("target/live-page.png");
    let _ = std::fs::remove_file(&shot);
    let home = std::env::var("HOME").unwrap_or_default();
    let out = Command::new("node")
        .arg(root.join("tests/browser/live_page.mjs"))
        .arg(format!("http://{http}/#token={token}"))
        .arg(&shot)
        .env(
            "SALESPULSE_NODE_MODULES",
            format!("{home}/.cache/salespulse/node/node_modules"),
        )
        .output()
        .expect("node (scripts/install-test-deps installs it)");
    let _ = demo.kill();
    let _ = demo.wait();
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let result: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert!(result["components"].as_u64().unwrap() >= 3, "{result}");
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false),
        "screenshot"
    );
}
