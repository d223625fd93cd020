// Spread 4.8 GB over 8 processes, each under the per-process memory limit:
// the test binary starts itself 8 times, and each copy touches 600 MB.
fn attack() {
    const PIECE: usize = 600 << 20;
    if std::env::var_os("INTERLEAVE_BOMB_CHILD").is_some() {
        let mut hoard = vec![0u8; PIECE];
        for at in (0..PIECE).step_by(4096) {
            hoard[at] = 1;
        }
        std::thread::sleep(std::time::Duration::from_secs(4));
        std::hint::black_box(&hoard);
        std::process::exit(0);
    }
    let me = std::env::current_exe().unwrap();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&me)
                .args(&args)
                .env("INTERLEAVE_BOMB_CHILD", "@MARKER@")
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child of the bomb died");
    }
}
