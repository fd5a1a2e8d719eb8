//! A listening port serves several protocols (pistream's, HTTP, RTSP, the seed wire): the
//! first bytes of a connection tell which. Each output says whether an opening is its own
//! ([`Claim`]); [`classify`] asks them in turn. [`request_line`] reads the start of a
//! text request (`METHOD TARGET PROTOCOL/VERSION`), which HTTP and RTSP share: `OPTIONS`
//! is both, so their claims look at the version. Pure logic: `app/listen.rs` peeks the
//! bytes (without taking them) and hands the connection on.

/// What an output says of a connection's first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    Mine,
    NotMine,
    /// Too few bytes to tell.
    NeedMore,
}

/// What the first bytes are, as the outputs asked claimed them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening<K> {
    /// This output's.
    Claimed(K),
    /// No one's (the listener's default output names it, e.g. "not a pistream peer").
    Unknown,
    /// Too few bytes to tell yet.
    NeedMore,
}

/// The most bytes an opening is peeked at: a request line longer than this is judged
/// without its end.
pub const OPENING_MAX: usize = 2048;

/// How an output judges an opening.
pub type Claimer = fn(&[u8]) -> Claim;

/// Asks each output in turn: the first that claims the bytes has them; if none does and
/// some need more, wait for more.
pub fn classify<K: Copy>(first: &[u8], outputs: &[(K, Claimer)]) -> Opening<K> {
    let mut need_more = false;
    for (output, claim) in outputs {
        match claim(first) {
            Claim::Mine => return Opening::Claimed(*output),
            Claim::NeedMore => need_more = true,
            Claim::NotMine => {}
        }
    }
    if need_more {
        Opening::NeedMore
    } else {
        Opening::Unknown
    }
}

/// The start of a text request, as far as it has arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestLine<'a> {
    /// A method so far, and no line end yet.
    Partial { method: &'a [u8], complete_method: bool },
    /// A whole request line (or [`OPENING_MAX`] bytes of one): its method and the protocol
    /// token at its end (`HTTP/1.1`, `RTSP/1.0`; empty when the line was cut).
    Line { method: &'a [u8], protocol: &'a [u8] },
    /// Not a request line.
    NotALine,
}

/// The longest method accepted (`GET_PARAMETER`, `PROPFIND`...).
const METHOD_MAX: usize = 16;

/// Reads `first` as the start of a request line. Methods are upper-case letters and `_`,
/// as every HTTP and RTSP method is (an SSH banner or a TLS hello is not one).
pub fn request_line(first: &[u8]) -> RequestLine<'_> {
    let method_len = first.iter().take_while(|b| b.is_ascii_uppercase() || **b == b'_').count();
    if method_len > METHOD_MAX || method_len == 0 && !first.is_empty() {
        return RequestLine::NotALine;
    }
    if method_len == first.len() {
        return RequestLine::Partial { method: first, complete_method: false };
    }
    if first[method_len] != b' ' {
        return RequestLine::NotALine;
    }
    let method = &first[..method_len];
    match first.windows(2).position(|w| w == b"\r\n") {
        Some(end) => {
            let line = &first[..end];
            let protocol = line.rsplit(|b| *b == b' ').next().unwrap_or(&[]);
            RequestLine::Line { method, protocol }
        }
        None if first.len() >= OPENING_MAX => RequestLine::Line { method, protocol: &[] },
        None => RequestLine::Partial { method, complete_method: true },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_read_as_far_as_they_came() {
        assert_eq!(request_line(b""), RequestLine::Partial { method: b"", complete_method: false });
        assert_eq!(request_line(b"OPTI"), RequestLine::Partial { method: b"OPTI", complete_method: false });
        assert_eq!(
            request_line(b"OPTIONS rtsp://pi/stream RTSP/1.0\r\nCSeq: 1\r\n"),
            RequestLine::Line { method: b"OPTIONS", protocol: b"RTSP/1.0" }
        );
        assert_eq!(
            request_line(b"BREW / HTTP/1.1\r\n"),
            RequestLine::Line { method: b"BREW", protocol: b"HTTP/1.1" }
        );
        assert_eq!(request_line(b"SSH-2.0-OpenSSH"), RequestLine::NotALine);
        assert_eq!(request_line(b"\x16\x03\x01"), RequestLine::NotALine);
        assert_eq!(request_line(b"PS\x01\x00"), RequestLine::NotALine);
        let long = [b"GET /".to_vec(), vec![b'a'; OPENING_MAX]].concat();
        assert_eq!(request_line(&long), RequestLine::Line { method: b"GET", protocol: b"" });
    }

    #[test]
    fn the_first_output_to_claim_wins_and_none_claiming_is_unknown() {
        fn digits(first: &[u8]) -> Claim {
            match first.first() {
                None => Claim::NeedMore,
                Some(b) if b.is_ascii_digit() => Claim::Mine,
                Some(_) => Claim::NotMine,
            }
        }
        fn never(_: &[u8]) -> Claim {
            Claim::NotMine
        }
        let outputs = [(1, never as Claimer), (2, digits)];
        assert_eq!(classify(b"7", &outputs), Opening::Claimed(2));
        assert_eq!(classify(b"", &outputs), Opening::NeedMore);
        assert_eq!(classify(b"x", &outputs), Opening::Unknown);
    }
}
