// Take memory slowly, 8 MiB at a time, up to 3 GiB.
fn attack() {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    for _ in 0..384 {
        hoard.push(vec![1u8; 8 << 20]);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    std::hint::black_box(&hoard);
}
