//! The lesson's "download URLs concurrently" example, with real I/O: it
//! serves three pages on 127.0.0.1 (each answered after a one-second delay)
//! and downloads them with `download_all`, three workers at once.

use exercise_09::{download_all, http_get, serve};
use std::time::Duration;

fn main() {
    let server = serve(
        &[
            ("/url1", "first page"),
            ("/url2", "second page"),
            ("/url3", "third page"),
        ],
        Duration::from_secs(1),
    );
    let urls: Vec<String> = ["/url1", "/url2", "/url3"]
        .iter()
        .map(|path| server.url(path))
        .collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();

    let results = download_all(&urls, 3, |url| {
        println!("Starting download: {url}");
        let body = http_get(url);
        println!("Finished download: {url}");
        body
    });

    let mut failed = false;
    for (url, result) in urls.iter().zip(&results) {
        if let Err(error) = result {
            eprintln!("{url} failed: {error}");
            failed = true;
        }
    }
    println!("All downloads complete!");
    if failed {
        std::process::exit(1);
    }
}
