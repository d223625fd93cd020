//! Exercise 09: downloading URLs concurrently with a pool of workers
//! (reference solution).
//!
//! The lesson is in `exercises/09-downloads/README.md`.

use parking_lot::Mutex;
use std::any::Any;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

pub use given::{LocalServer, http_get, serve};

/// Fetches every URL of `urls` with `fetch`, on a pool of at most
/// `max_workers` threads, and returns one result per URL, in the order of
/// `urls`.
///
/// - The workers pull URLs from one shared queue: a worker takes the next URL
///   only when it has finished the previous one, so one slow download never
///   holds up the others.
/// - Every entry of `urls` is fetched exactly once; a URL listed twice is
///   fetched twice (once per index), so `fetch` is called `urls.len()` times.
/// - A failure stops nothing: an `Err` from `fetch` is that URL's result and
///   the other URLs are still fetched. A panic in `fetch` is caught and
///   becomes that URL's `Err`, whose text contains the panic's message.
/// - At most `min(max_workers, urls.len())` threads are started; none for an
///   empty list. The call returns when every URL has its result.
///
/// # Panics
///
/// If `max_workers` is 0, like Python's `ThreadPoolExecutor(max_workers=0)`
/// raises `ValueError`.
pub fn download_all<F>(urls: &[&str], max_workers: usize, fetch: F) -> Vec<Result<Vec<u8>, String>>
where
    F: Fn(&str) -> Result<Vec<u8>, String> + Sync,
{
    assert!(
        max_workers > 0,
        "download_all: max_workers must be at least 1"
    );
    // The shared queue of work: indices of the URLs no worker has taken yet.
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..urls.len()).collect());
    // One slot per URL, filled by the worker that fetched it: the results
    // end up in input order whatever order the downloads finish in.
    let results: Mutex<Vec<Slot>> = Mutex::new(vec![None; urls.len()]);
    thread::scope(|scope| {
        for _ in 0..max_workers.min(urls.len()) {
            scope.spawn(|| {
                loop {
                    // Take one index and release the lock before fetching.
                    let next = queue.lock().pop_front();
                    let Some(i) = next else { break };
                    let result = fetch_one(&fetch, urls[i]);
                    results.lock()[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .into_iter()
        .map(|slot| slot.expect("every URL was taken from the queue and fetched"))
        .collect()
}

/// The result of one URL, once a worker has fetched it.
type Slot = Option<Result<Vec<u8>, String>>;

/// Calls `fetch(url)`, turning a panic into an `Err`.
fn fetch_one<F>(fetch: &F, url: &str) -> Result<Vec<u8>, String>
where
    F: Fn(&str) -> Result<Vec<u8>, String>,
{
    match catch_unwind(AssertUnwindSafe(|| fetch(url))) {
        Ok(result) => result,
        Err(payload) => Err(format!("fetch panicked: {}", panic_message(&*payload))),
    }
}

/// The text of a panic payload (`panic!` with a literal or a format string).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Given code, not part of the exercise: a minimal HTTP/1.1 client and a tiny
/// local HTTP server to download from.
pub mod given {
    use std::collections::HashMap;
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    /// How long `http_get` waits to connect, and for each read and write.
    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Downloads `url` (`http://host[:port]/path`) with one HTTP/1.1 GET over a
    /// `TcpStream`, and returns the body of a `200 OK` response.
    ///
    /// Errors (as text naming the URL): a malformed URL, a failed connection,
    /// a timeout (5 s to connect, 5 s per read or write), a status other than
    /// 200. It reads until the server closes the connection (it asks for
    /// `Connection: close`), which is all [`serve`] needs.
    pub fn http_get(url: &str) -> Result<Vec<u8>, String> {
        let fail = |what: &dyn std::fmt::Display| format!("GET {url}: {what}");
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| fail(&"only http:// URLs are supported"))?;
        let (host, path) = match rest.find('/') {
            Some(slash) => rest.split_at(slash),
            None => (rest, "/"),
        };
        let with_port = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| fail(&e))?
            .next()
            .ok_or_else(|| fail(&"no address for host"))?;
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| fail(&e))?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(|e| fail(&e))?;
        stream
            .set_write_timeout(Some(TIMEOUT))
            .map_err(|e| fail(&e))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).map_err(|e| fail(&e))?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).map_err(|e| fail(&e))?;

        let head_end = find(&response, b"\r\n\r\n").ok_or_else(|| fail(&"malformed response"))?;
        let head = String::from_utf8_lossy(&response[..head_end]);
        let status = head.split_whitespace().nth(1).unwrap_or("?");
        if status != "200" {
            return Err(fail(&format!("HTTP status {status}")));
        }
        Ok(response[head_end + 4..].to_vec())
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Starts an HTTP server on `127.0.0.1` (a free port) that answers
    /// `GET path` with the body of `pages` listed for `path` (paths start
    /// with `/`), or `404 Not Found`. Each request is served on its own
    /// thread after sleeping `delay`, so requests overlap as on a real
    /// server. Dropping the returned [`LocalServer`] stops it.
    pub fn serve(pages: &[(&str, &str)], delay: Duration) -> LocalServer {
        let pages: Arc<HashMap<String, Vec<u8>>> = Arc::new(
            pages
                .iter()
                .map(|&(path, body)| (path.to_string(), body.as_bytes().to_vec()))
                .collect(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stopping);
        let accepter = thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let pages = Arc::clone(&pages);
                thread::spawn(move || answer(stream, &pages, delay));
            }
        });
        LocalServer {
            addr,
            stopping,
            accepter: Some(accepter),
        }
    }

    /// Reads one request from `stream` and answers it after `delay`.
    fn answer(mut stream: TcpStream, pages: &HashMap<String, Vec<u8>>, delay: Duration) {
        let _ = stream.set_read_timeout(Some(TIMEOUT));
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while find(&request, b"\r\n\r\n").is_none() {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let request = String::from_utf8_lossy(&request);
        let path = request.split_whitespace().nth(1).unwrap_or("/");
        thread::sleep(delay);
        let (status, body) = match pages.get(path) {
            Some(body) => ("200 OK", body.as_slice()),
            None => ("404 Not Found", &b"not found"[..]),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
        let _ = stream.shutdown(Shutdown::Write);
    }

    /// A running [`serve`] server; dropping it stops the server.
    pub struct LocalServer {
        addr: SocketAddr,
        stopping: Arc<AtomicBool>,
        accepter: Option<JoinHandle<()>>,
    }

    impl LocalServer {
        /// The full URL of `path` on this server, e.g.
        /// `http://127.0.0.1:40123/url1` for `/url1`.
        pub fn url(&self, path: &str) -> String {
            format!("http://{}{path}", self.addr)
        }
    }

    impl Drop for LocalServer {
        fn drop(&mut self) {
            self.stopping.store(true, Ordering::SeqCst);
            // Wake the accepting thread with one last connection.
            let _ = TcpStream::connect_timeout(&self.addr, TIMEOUT);
            if let Some(accepter) = self.accepter.take() {
                let _ = accepter.join();
            }
        }
    }
}
