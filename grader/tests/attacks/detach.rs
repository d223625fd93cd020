// Leave processes behind: a detached shell that rewrites the gradebook
// after the grader is done, and a sleeper in its own session.
fn attack() {
    let _ = std::process::Command::new("setsid")
        .args(["sh", "-c", "sleep 4; echo hacked > @OUT@/gradebook.csv; : @MARKER@"])
        .spawn();
    let _ = std::process::Command::new("setsid")
        .args(["sh", "-c", "sleep 300; : @MARKER@"])
        .spawn();
    let _ = std::process::Command::new("sh")
        .args(["-c", "(sleep 300; : @MARKER@) & disown; exit 0"])
        .status();
}
