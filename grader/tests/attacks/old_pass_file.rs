// The attacks on the old pass file: its path from the environment, from
// /proc/self/environ or by scanning /tmp; directories that block it.
fn attack() {
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("main").to_string();
    let mut paths: Vec<String> = std::env::var("INTERLEAVE_PASS_FILE").into_iter().collect();
    if let Ok(environ) = std::fs::read("/proc/self/environ") {
        for var in environ.split(|b| *b == 0) {
            let var = String::from_utf8_lossy(var);
            if let Some(path) = var.strip_prefix("INTERLEAVE_PASS_FILE=") {
                paths.push(path.to_string());
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir("/tmp") {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("interleave-") {
                for i in 0..200 {
                    let _ = std::fs::create_dir(entry.path().join(format!("pass-{i}")));
                    paths.push(entry.path().join(format!("pass-{i}.txt")).display().to_string());
                }
            }
        }
    }
    for path in paths {
        if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(file, "{name}");
        }
    }
    std::process::exit(0);
}
