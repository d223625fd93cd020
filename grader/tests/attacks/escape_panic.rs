// Panic with terminal escapes: clear the screen, retitle the window, a
// carriage return that overwrites the line, a C1 CSI, a bidi override.
fn attack() {
    panic!("\x1b[2J\x1b]0;owned\x07\rpassed\u{9b}31m\u{202e}deriaf \x7f\x00 done");
}
