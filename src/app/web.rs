//! HTTP clients on a listening endpoint's port (placeholder until the web viewer lands).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use super::peer::Endpoint;

/// Answers an HTTP client.
pub(super) fn serve(_endpoint: &Endpoint, mut stream: &TcpStream, peer: SocketAddr) {
    log::info!("{peer}: an HTTP request on the pistream port; HTTP is not served yet");
    let body = "pistream speaks its own protocol on this port: use `pistream display --connect HOST:PORT`\n";
    let _ = write!(
        stream,
        "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}
