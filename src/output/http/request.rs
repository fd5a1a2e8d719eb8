//! Reading one HTTP request head off a connection and parsing it with `httparse`: the
//! method, the path and query, and the one header pistream cares about (Authorization).

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Longest request head accepted (request line and headers).
const HEAD_MAX: usize = 8192;
/// A request head must arrive within this long.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Request {
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub query: String,
    /// The `Authorization` header's value, if any.
    pub authorization: Option<String>,
    /// `Content-Type` and `Content-Length`, if given (a WHEP offer's).
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    /// The body's bytes that arrived with the head (the rest is still in the socket).
    pub body_start: Vec<u8>,
}

impl Request {
    /// Whether the query has `name=value` among its `&`-separated pairs.
    pub(super) fn query_has(&self, name: &str, value: &str) -> bool {
        self.query.split('&').any(|pair| pair.split_once('=') == Some((name, value)))
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(super) enum RequestError {
    /// The bytes are not an HTTP/1.x request (answer 400).
    Malformed(String),
    /// The head is longer than [`HEAD_MAX`] (answer 431).
    TooLarge,
    /// The client went away or was too slow (answer nothing).
    Gone,
}

/// Reads the rest of a body of `len` bytes, of which `request.body_start` arrived already,
/// within [`REQUEST_TIMEOUT`]; None if the client went away or was too slow.
#[cfg(feature = "webrtc")]
pub(super) fn read_body(mut stream: &TcpStream, request: &Request, len: usize) -> Option<Vec<u8>> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut body = request.body_start.clone();
    body.truncate(len);
    let mut filled = body.len();
    body.resize(len, 0);
    while filled < len {
        match stream.read(&mut body[filled..]) {
            Ok(0) => return None,
            Ok(n) => filled += n,
            Err(e) if crate::net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
        if Instant::now() >= deadline {
            return None;
        }
    }
    Some(body)
}

/// Reads and parses one request head within [`REQUEST_TIMEOUT`].
pub(super) fn read(mut stream: &TcpStream) -> Result<Request, RequestError> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut head = [0u8; HEAD_MAX];
    let mut filled = 0;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head[..filled]) {
            Ok(httparse::Status::Complete(head_len)) => {
                let mut parsed = to_request(&request);
                parsed.body_start = head[head_len..filled].to_vec();
                return Ok(parsed);
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(RequestError::Malformed(e.to_string())),
        }
        if filled == head.len() {
            return Err(RequestError::TooLarge);
        }
        match stream.read(&mut head[filled..]) {
            Ok(0) => return Err(RequestError::Gone),
            Ok(n) => filled += n,
            Err(e) if crate::net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(RequestError::Gone),
        }
        if Instant::now() >= deadline {
            return Err(RequestError::Gone);
        }
    }
}

fn to_request(request: &httparse::Request<'_, '_>) -> Request {
    let target = request.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    Request {
        method: request.method.unwrap_or("").to_string(),
        path: path.to_string(),
        query: query.to_string(),
        authorization: header("authorization"),
        content_type: header("content-type"),
        content_length: header("content-length").and_then(|v| v.trim().parse().ok()),
        body_start: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn send(bytes: &'static [u8]) -> Result<Request, RequestError> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            for chunk in bytes.chunks(7) {
                s.write_all(chunk).unwrap();
            }
            std::thread::sleep(Duration::from_millis(200));
        });
        let (server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let request = read(&server);
        client.join().unwrap();
        request
    }

    #[test]
    fn a_request_arriving_in_pieces_is_parsed() {
        let r =
            send(b"GET /?action=stream HTTP/1.1\r\nHost: pi\r\nAuthorization: Basic dTpw\r\n\r\n").unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/"));
        assert!(r.query_has("action", "stream") && !r.query_has("action", "snapshot"));
        assert_eq!(r.authorization.as_deref(), Some("Basic dTpw"));
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(send(b"\x16\x03\x01 hello\r\n\r\n"), Err(RequestError::Malformed(_))));
    }
}
