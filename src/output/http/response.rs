//! Writing HTTP responses: a status line and headers formatted into a stack buffer, and
//! the body written straight from where it lies (a frame's JPEG, a static page), with
//! vectored writes that ride out the socket's timeouts and give up on a client that takes
//! nothing for 5 s.

use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::runtime::Shutdown;

/// A client that takes no byte for this long is dropped.
pub(super) const CLIENT_SILENCE_LIMIT: Duration = Duration::from_secs(5);

/// Headers that stop browsers and proxies from keeping a live picture.
pub(super) const NO_CACHE: &str =
    "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\nPragma: no-cache\r\nExpires: 0\r\n";

/// A fixed buffer `write!` can format into (a response head, a multipart part header).
pub(super) struct HeadBuf {
    bytes: [u8; 1024],
    len: usize,
}

impl HeadBuf {
    pub(super) fn new() -> Self {
        HeadBuf { bytes: [0; 1024], len: 0 }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Default for HeadBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl io::Write for HeadBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(self.bytes.len() - self.len);
        if n < data.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "response head longer than 1 KiB"));
        }
        self.bytes[self.len..self.len + n].copy_from_slice(data);
        self.len += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes every byte of `parts`; fails once the client has taken nothing for
/// [`CLIENT_SILENCE_LIMIT`] or shutdown is requested.
pub(super) fn write_all(
    mut stream: &TcpStream,
    parts: &mut [IoSlice<'_>],
    shutdown: &Shutdown,
) -> io::Result<()> {
    let mut parts = parts;
    let mut last_progress = Instant::now();
    while !parts.is_empty() {
        match stream.write_vectored(parts) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                IoSlice::advance_slices(&mut parts, n);
                last_progress = Instant::now();
            }
            Err(e) if crate::net::is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {
                if shutdown.requested() || last_progress.elapsed() >= CLIENT_SILENCE_LIMIT {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A whole response with a body (`head_only` for HEAD requests: the same headers, no body).
pub(super) fn respond(
    stream: &TcpStream,
    status: &str,
    content_type: &str,
    extra_headers: &str,
    body: &[u8],
    head_only: bool,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let mut head = HeadBuf::new();
    write!(
        head,
        "HTTP/1.1 {status}\r\nServer: pistream\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n",
        body.len()
    )?;
    let body = if head_only { &[][..] } else { body };
    write_all(stream, &mut [IoSlice::new(head.as_bytes()), IoSlice::new(body)], shutdown)
}

/// A short plain-text answer (errors, refusals).
pub(super) fn text(
    stream: &TcpStream,
    status: &str,
    extra_headers: &str,
    message: &str,
    head_only: bool,
    shutdown: &Shutdown,
) {
    let _ = respond(
        stream,
        status,
        "text/plain; charset=utf-8",
        extra_headers,
        message.as_bytes(),
        head_only,
        shutdown,
    );
}
