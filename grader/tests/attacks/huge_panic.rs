// Panic with a 12 MB message, in every test.
fn attack() {
    panic!("{}", "a twelve megabyte panic message. ".repeat(12 << 20 >> 5));
}
