//! `report.html` as a browser renders it: a small class is graded, the page
//! is loaded in headless Chromium, and the test reads the laid-out page (the
//! histogram's bars with their rendered sizes, the failure table's first row,
//! the student links). A screenshot is saved as `target/browser/report.png`.
//!
//! Chromium is driven from its command line (`--dump-dom`, `--screenshot`)
//! rather than through a DevTools client crate: `headless_chrome` compiles its
//! generated protocol bindings for over two minutes here, once for clippy and
//! once for the test, while the command line needs nothing built. The
//! measuring is done by a script in a copy of the page, next to the original
//! so its links resolve the same; the report itself has no script. The script
//! runs after the page is laid out (it asks for the bars' boxes) and writes its
//! findings into the page, which `--dump-dom` prints.
//!
//! Built only with `--features browser` (`.ci/run` installs Debian's
//! `chromium` and runs it); without a browser it fails, it never passes
//! silently. `CHROMIUM` names the binary if it is not `chromium` on `PATH`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use serde_json::Value;

const NN: &str = "05";

/// A class of four for exercise 05: the solution, the solution with a bug
/// in `is_set` (partial credit), the stub (zero) and an empty submission.
fn small_class(class: &Path) {
    let solution = fs::read_to_string(
        course()
            .join("solutions")
            .join(topic(NN))
            .join("src/lib.rs"),
    )
    .unwrap();
    let correct = "self.state.lock().set\n";
    assert_eq!(solution.matches(correct).count(), 1, "update the bug below");
    let stub = fs::read_to_string(exercise_dir(NN).join("src/lib.rs")).unwrap();
    write_exercise(&class.join("ada"), NN, &solution);
    write_exercise(
        &class.join("ben"),
        NN,
        &solution.replace(correct, "!self.state.lock().set\n"),
    );
    write_exercise(&class.join("cleo"), NN, &stub);
    fs::create_dir_all(class.join("dev/exercises")).unwrap();
}

/// The hidden tests failed by the most students, per `run.json`.
fn most_failed_tests(run: &Value) -> Vec<String> {
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    for submission in run["submissions"].as_array().unwrap() {
        for exercise in submission["exercises"].as_array().unwrap() {
            if exercise["status"]["kind"] != "graded" {
                continue;
            }
            for test in hidden_tests(exercise) {
                let failed = usize::from(test["outcome"]["kind"] != "passed");
                *failures
                    .entry(test["name"].as_str().unwrap().to_string())
                    .or_default() += failed;
            }
        }
    }
    let most = failures.values().copied().max().unwrap();
    failures
        .into_iter()
        .filter(|(_, n)| *n == most)
        .map(|(name, _)| name)
        .collect()
}

/// The Chromium binary: `CHROMIUM`, or `chromium` on `PATH`.
fn chromium() -> PathBuf {
    let name = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"));
    which(&name).unwrap_or_else(|| {
        panic!(
            "no {} to run: install Debian's chromium (apt-get install chromium) or set CHROMIUM",
            name.display()
        )
    })
}

/// `name` as found on `PATH`, or itself if it is a path to a file.
fn which(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return name.is_file().then(|| name.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs headless Chromium (fresh profile, no network chatter) on `page`
/// with `action` (`--dump-dom`, `--screenshot=...`) and returns its stdout.
fn headless(page: &Path, action: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = assert_cmd::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(action)
        .arg(format!("file://{}", page.display()))
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "chromium {action} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// What the test reads from the rendered page, measured by the browser and
/// written into `<pre id="measured">`.
const MEASURE: &str = r#"<pre id="measured"></pre><script>
document.getElementById('measured').textContent = JSON.stringify({
  bars: [...document.querySelectorAll('#glance > svg.histogram rect.bar')].map(r => {
    const box = r.getBoundingClientRect();
    return { width: box.width, height: box.height, students: Number(r.dataset.students) };
  }),
  firstFailure: (row => row && {
    exercise: row.cells[0].textContent.trim(),
    test: row.querySelector('code').textContent.trim(),
    hint: row.querySelector('.hint').textContent.trim(),
    failed: row.cells[3].textContent.trim(),
  })(document.querySelector('#failures tbody tr')),
  links: [...document.querySelectorAll('a.feedback')].map(a => ({ text: a.textContent, href: a.href })),
});
</script>"#;

/// Loads `report` in the browser with [`MEASURE`] added, and parses what it
/// found.
fn measure(report: &Path) -> Value {
    let html = fs::read_to_string(report).unwrap();
    assert!(html.contains("</body>") && !html.contains("<script"));
    let copy = report.with_file_name("report-measured.html");
    fs::write(&copy, html.replace("</body>", &format!("{MEASURE}</body>"))).unwrap();
    let dom = headless(&copy, "--dump-dom");
    let marker = "<pre id=\"measured\">";
    let start = dom.find(marker).expect("the measured page") + marker.len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
fn the_class_report_renders_its_charts_tables_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    small_class(&class);
    let out = dir.path().join("grades");
    grader()
        .arg("grade")
        .arg(&class)
        .args(["--exercise", NN, "--seed", "5", "--out"])
        .arg(&out)
        .assert()
        .success();
    let run: Value =
        serde_json::from_str(&fs::read_to_string(out.join("run.json")).unwrap()).unwrap();

    let page = measure(&out.join("report.html"));

    // The totals histogram: every student in a bar, a bar with students has
    // a visible size, and more students make a taller bar.
    let bars = page["bars"].as_array().unwrap();
    assert!(!bars.is_empty(), "no histogram bars: {page}");
    let students: u64 = bars.iter().map(|b| b["students"].as_u64().unwrap()).sum();
    assert_eq!(students, 4);
    for bar in bars.iter().filter(|b| b["students"].as_u64() > Some(0)) {
        assert!(bar["width"].as_f64() > Some(1.0), "{bar}");
        assert!(bar["height"].as_f64() > Some(1.0), "{bar}");
    }
    for a in bars {
        for b in bars {
            if a["students"].as_u64() > b["students"].as_u64() {
                assert!(a["height"].as_f64() > b["height"].as_f64(), "{a} {b}");
            }
        }
    }
    // The failure table's first row: one of the most failed tests, failed
    // by the partial and the stub submissions (dev submitted nothing).
    let first = &page["firstFailure"];
    let field = |name: &str| first[name].as_str().unwrap_or_else(|| panic!("{page}"));
    assert_eq!(field("exercise"), topic(NN), "{page}");
    assert!(
        most_failed_tests(&run).contains(&field("test").to_string()),
        "{page}"
    );
    assert!(field("failed").contains("(2/3)"), "{page}");
    assert!(field("hint").len() > 10, "{page}");
    // One link per student, to a feedback.md that exists.
    let links = page["links"].as_array().unwrap();
    let names: Vec<&str> = links.iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(names, ["ada", "ben", "cleo", "dev"]);
    for link in links {
        let href = link["href"].as_str().unwrap();
        let path = href.strip_prefix("file://").expect(href);
        assert!(Path::new(path).is_file(), "{href} is not a file");
        assert!(path.ends_with("/feedback.md"));
    }

    let shots = course().join("target/browser");
    fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("report.png");
    let _ = fs::remove_file(&shot);
    headless(
        &out.join("report.html"),
        &format!("--screenshot={}", shot.display()),
    );
    let png = fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
}
