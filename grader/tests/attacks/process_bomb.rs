// Start 300 processes.
fn attack() {
    let mut children = Vec::new();
    for _ in 0..600 {
        children.push(std::process::Command::new("sleep").arg("30").spawn().unwrap());
    }
}
