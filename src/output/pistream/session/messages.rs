//! Messages after the handshake, plain or sealed: [`MessageWriter`] puts frames,
//! heartbeats, keyframe requests, reports and byes on the socket, [`MessageReader`] takes validated messages off it.
//!
//! Plain: a header and its body go out in one `writev`, straight from the frame buffer; a
//! frame body is read straight into the buffer that will be shown. Sealed (keyed
//! sessions, `protocol::record`): each record is copied into this writer's one-record
//! buffer, sealed there and written (the one copy a keyed viewer costs; a record is small
//! enough to stay in cache between the copy, the AEAD and the kernel's copy), and read
//! record by record into the frame buffer and opened there, in place. Neither allocates
//! per message.

use std::io::IoSlice;
use std::net::TcpStream;

use super::control::Control;
use super::io::{read_full, write_all, ReadUntil};
use crate::media::now_us;
use crate::output::ending::SessionError;
use crate::output::pistream::protocol::record::{
    sealed_body_len, Opener, Sealer, RECORD_MAX, SEALED_HEADER_LEN, TAG_LEN,
};
use crate::output::pistream::protocol::{
    encode_bye, encode_heartbeat, encode_keyframe_request, ByeReason, Inbound, InboundState, ProtocolError,
    Report, BYE_MAX_LEN, HEADER_LEN,
};

/// Writes messages to the peer.
pub struct MessageWriter {
    sealer: Option<Sealer>,
    /// One sealed record (keyed sessions only).
    record: Vec<u8>,
}

impl MessageWriter {
    /// A writer for bodies of at most `max_body` bytes (the largest frame this side may send).
    pub fn new(sealer: Option<Sealer>, max_body: usize) -> Self {
        let record_len = max_body.clamp(BYE_MAX_LEN, RECORD_MAX);
        let record = if sealer.is_some() { vec![0u8; sealed_body_len(record_len)] } else { Vec::new() };
        MessageWriter { sealer, record }
    }

    /// Writes one message; returns the bytes it took on the wire.
    pub fn write(
        &mut self,
        stream: &TcpStream,
        header: &[u8; HEADER_LEN],
        body: &[u8],
        ctl: &Control,
    ) -> Result<usize, SessionError> {
        let Some(sealer) = self.sealer.as_mut() else {
            write_all(stream, &mut [IoSlice::new(header), IoSlice::new(body)], ctl)?;
            return Ok(HEADER_LEN + body.len());
        };
        let sealed_header = sealer.seal_header(header).map_err(ProtocolError::from)?;
        let mut header_part: &[u8] = &sealed_header;
        let mut wire = SEALED_HEADER_LEN;
        for chunk in body.chunks(RECORD_MAX) {
            let n = sealer.seal_body(chunk, &mut self.record).map_err(ProtocolError::from)?;
            write_all(stream, &mut [IoSlice::new(header_part), IoSlice::new(&self.record[..n])], ctl)?;
            header_part = &[];
            wire += n;
        }
        if !header_part.is_empty() {
            write_all(stream, &mut [IoSlice::new(header_part)], ctl)?;
        }
        Ok(wire)
    }

    pub fn heartbeat(&mut self, stream: &TcpStream, ctl: &Control) -> Result<usize, SessionError> {
        self.write(stream, &encode_heartbeat(now_us()), &[], ctl)
    }

    pub fn keyframe_request(&mut self, stream: &TcpStream, ctl: &Control) -> Result<usize, SessionError> {
        self.write(stream, &encode_keyframe_request(now_us()), &[], ctl)
    }

    pub fn report(
        &mut self,
        stream: &TcpStream,
        report: &Report,
        ctl: &Control,
    ) -> Result<usize, SessionError> {
        let message = report.encode();
        let (header, body) = message.split_at(HEADER_LEN);
        self.write(stream, header.try_into().expect("24 bytes"), body, ctl)
    }

    pub fn bye(
        &mut self,
        stream: &TcpStream,
        reason: ByeReason,
        text: &str,
        ctl: &Control,
    ) -> Result<(), SessionError> {
        let mut buf = [0u8; HEADER_LEN + BYE_MAX_LEN];
        let n = encode_bye(reason, text, now_us(), &mut buf);
        let (header, body) = buf[..n].split_at(HEADER_LEN);
        self.write(stream, header.try_into().expect("24 bytes"), body, ctl).map(|_| ())
    }
}

/// Reads and validates messages from the peer.
pub struct MessageReader {
    opener: Option<Opener>,
    inbound: InboundState,
}

impl MessageReader {
    pub fn new(opener: Option<Opener>, inbound: InboundState) -> Self {
        MessageReader { opener, inbound }
    }

    /// Bytes a header takes on the wire.
    pub fn header_len(&self) -> usize {
        if self.opener.is_some() {
            SEALED_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Bytes a body of `len` takes on the wire.
    pub fn body_wire_len(&self, len: usize) -> usize {
        if self.opener.is_some() {
            sealed_body_len(len)
        } else {
            len
        }
    }

    /// Reads and validates the next header; `Ok(None)` if the session ended first.
    pub fn next(&mut self, stream: &TcpStream, ctl: &Control) -> Result<Option<Inbound>, SessionError> {
        let mut wire = [0u8; SEALED_HEADER_LEN];
        let wire = &mut wire[..self.header_len()];
        if !read_full(stream, wire, ctl, ReadUntil::Header)? {
            return Ok(None);
        }
        let header: [u8; HEADER_LEN] = match self.opener.as_mut() {
            Some(opener) => {
                opener.open_header((&*wire).try_into().expect("40 bytes")).map_err(ProtocolError::from)?
            }
            None => (&*wire).try_into().expect("24 bytes"),
        };
        Ok(Some(self.inbound.on_header(&header)?))
    }

    /// Reads a body whose validated length is `out.len()` into `out`; keyed, opens it there
    /// record by record. Nothing of a record that fails to authenticate is left as plaintext.
    pub fn body(&mut self, stream: &TcpStream, out: &mut [u8], ctl: &Control) -> Result<(), SessionError> {
        let Some(opener) = self.opener.as_mut() else {
            read_full(stream, out, ctl, ReadUntil::Body)?;
            return Ok(());
        };
        for record in out.chunks_mut(RECORD_MAX) {
            let mut tag = [0u8; TAG_LEN];
            read_full(stream, record, ctl, ReadUntil::Body)?;
            read_full(stream, &mut tag, ctl, ReadUntil::Body)?;
            opener.open_record(record, &tag).map_err(ProtocolError::from)?;
        }
        Ok(())
    }
}
