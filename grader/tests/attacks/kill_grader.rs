// Kill the grader: the parent process, and the grader's real pid (learned
// some other way; here the test runner's own, whose death fails the test).
fn attack() {
    let parent = std::os::unix::process::parent_id().to_string();
    let _ = std::process::Command::new("kill").args(["-9", &parent]).status();
    let _ = std::process::Command::new("kill").args(["-9", "@GRADER_PID@"]).status();
}
