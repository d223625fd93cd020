// Write a 1 GiB file in /tmp, then 3 GiB into the private tmp.
fn attack() {
    use std::io::Write;
    let chunk = vec![7u8; 1 << 20];
    if let Ok(mut file) = std::fs::File::create("/tmp/@MARKER@-big") {
        for _ in 0..1024 {
            let _ = file.write_all(&chunk);
        }
    }
    let mut file = std::fs::File::create(std::env::temp_dir().join("big")).unwrap();
    for _ in 0..3072 {
        file.write_all(&chunk).unwrap();
    }
}
