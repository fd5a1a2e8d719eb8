//! RTSP on the camera's port. Not served yet: a client (an NVR, VLC, ffmpeg) that opens with
//! an RTSP request gets an RTSP answer saying so (`501 Not Implemented`, its `CSeq`
//! echoed, and one line of text), instead of being answered as HTTP or not at all.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::net::demux::{request_line, Claim, RequestLine};

/// RTSP methods no HTTP request uses: such an opening is RTSP as soon as the method is whole.
const RTSP_ONLY: [&[u8]; 10] = [
    b"DESCRIBE",
    b"ANNOUNCE",
    b"SETUP",
    b"PLAY",
    b"PAUSE",
    b"TEARDOWN",
    b"RECORD",
    b"REDIRECT",
    b"GET_PARAMETER",
    b"SET_PARAMETER",
];

/// Whether a connection's first bytes are an RTSP request: an RTSP-only method, or a
/// request line whose protocol is `RTSP/` (`OPTIONS` is both HTTP's and RTSP's).
pub fn claim(first: &[u8]) -> Claim {
    match request_line(first) {
        RequestLine::NotALine => Claim::NotMine,
        RequestLine::Line { method, protocol } => {
            if protocol.starts_with(b"RTSP/") || RTSP_ONLY.contains(&method) {
                Claim::Mine
            } else {
                Claim::NotMine
            }
        }
        RequestLine::Partial { method, complete_method: true } if RTSP_ONLY.contains(&method) => Claim::Mine,
        RequestLine::Partial { .. } => Claim::NeedMore,
    }
}

/// The longest request head read before answering.
const HEAD_MAX: usize = 8192;

/// Answers an RTSP client that RTSP is not served here, then closes.
pub fn refuse(stream: &TcpStream) {
    let mut head = [0u8; HEAD_MAX];
    let mut filled = 0;
    let deadline = Instant::now() + Duration::from_secs(2);
    while filled < head.len() && Instant::now() < deadline {
        if head[..filled].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        match (&*stream).read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if crate::net::is_timeout(&e) || e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
    let cseq = cseq(&head[..filled]);
    let body = "this pistream does not serve RTSP yet: watch over HTTP (/stream) or with pistream display\n";
    let mut answer = std::io::Cursor::new([0u8; 512]);
    let written = write!(
        answer,
        "RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\nServer: pistream\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if written.is_ok() {
        let len = answer.position() as usize;
        let _ = (&*stream).write_all(&answer.get_ref()[..len]);
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

/// The request's `CSeq` (0 if it has none, or not a number).
fn cseq(head: &[u8]) -> u32 {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("cseq").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtsp_requests_are_claimed_and_http_ones_are_not() {
        assert_eq!(claim(b"OPTIONS rtsp://pi/stream RTSP/1.0\r\n"), Claim::Mine);
        assert_eq!(claim(b"DESCRIBE "), Claim::Mine);
        assert_eq!(claim(b"OPTIONS * HTTP/1.1\r\n"), Claim::NotMine);
        assert_eq!(claim(b"OPTIONS"), Claim::NeedMore);
        assert_eq!(claim(b"GET / HTTP/1.1\r\n"), Claim::NotMine);
        assert_eq!(cseq(b"OPTIONS * RTSP/1.0\r\nCSeq: 17\r\n\r\n"), 17);
    }
}
