// Start 3000 threads.
fn attack() {
    let mut threads = Vec::new();
    for _ in 0..3000 {
        threads.push(std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_secs(30))));
    }
}
