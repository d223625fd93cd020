// Reach the grader's machine over loopback.
fn attack() {
    let address: std::net::SocketAddr = "127.0.0.1:@PORT@".parse().unwrap();
    let _ = std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(1));
}
