// Run this very test again with the chaos stand-in switched off, and exit
// with the child's status.
fn attack() {
    if std::env::var("INTERLEAVE_CHAOS").is_ok() {
        return;
    }
    let exe = std::env::current_exe().unwrap_or_else(|_| std::env::args().next().unwrap().into());
    let status = std::process::Command::new(exe)
        .args(std::env::args().skip(1))
        .env("INTERLEAVE_CHAOS", "off")
        .status();
    std::process::exit(status.ok().and_then(|s| s.code()).unwrap_or(0));
}
