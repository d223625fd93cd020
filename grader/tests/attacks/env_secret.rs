// Compile the grader's environment into the submission, and read it at run time.
fn attack() {
    let built = option_env!("INTERLEAVE_ATTACK_TOKEN").unwrap_or("none");
    let running = std::env::var("INTERLEAVE_ATTACK_TOKEN").unwrap_or_default();
    panic!("token at build time: {built}; at run time: {running}");
}
