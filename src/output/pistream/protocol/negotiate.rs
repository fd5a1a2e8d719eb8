//! Negotiation: what flows each way, in which wire formats, under which cipher, decided by
//! each side on its own from the two hellos (both sides reach the same answer).

use super::error::ProtocolError;
use super::formats::FormatSet;
use super::hello::Hello;
use super::keys::Cipher;
use crate::media::Geometry;

/// What a connection carries, fixed once both hellos are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// This side sends frames (it offers video and the peer wants it), in these formats
    /// (empty when it sends none).
    pub send_formats: FormatSet,
    /// This side receives frames of this geometry...
    pub receive: Option<Geometry>,
    /// ...in these formats (empty when it receives none).
    pub receive_formats: FormatSet,
    /// The peer's announced frame rate, millihertz (0 = unknown).
    pub peer_fps_millihz: u32,
    /// Both sides hold a key: the Noise handshake runs with this cipher, and every message
    /// after it is sealed with it.
    pub cipher: Option<Cipher>,
}

impl Negotiated {
    /// Whether this side sends frames.
    pub fn sends(&self) -> bool {
        !self.send_formats.is_empty()
    }
}

/// Decides what flows each way, or why nothing can.
pub fn negotiate(local: &Hello, peer: &Hello) -> Result<Negotiated, ProtocolError> {
    let cipher = match (local.keyed, peer.keyed) {
        (Some(_), None) => return Err(ProtocolError::PeerHasNoKey),
        (None, Some(_)) => return Err(ProtocolError::PeerRequiresKey),
        (Some(ours), Some(theirs)) => Some(ours.choose(theirs)),
        (None, None) => None,
    };
    let send = local.directions.sends && peer.directions.wants;
    let receive = if local.directions.wants && peer.directions.sends { peer.geometry } else { None };
    if !send && receive.is_none() {
        let why = if !peer.directions.sends && !peer.directions.wants {
            "the peer neither sends nor wants video"
        } else {
            match (local.directions.sends, peer.directions.sends) {
                (true, true) => {
                    "both ends only send video (connect a display to a camera, or use call on both ends)"
                }
                (false, false) => {
                    "both ends only want video (is the other end a display too? connect to a camera)"
                }
                _ => "neither end wants what the other sends",
            }
        };
        return Err(ProtocolError::NothingToStream { why });
    }
    // A receiver may accept only some formats (an H.264-only display): a direction with
    // none in common cannot flow.
    let send_formats = if send { local.sends.intersect(peer.decodes) } else { FormatSet::EMPTY };
    let receive_formats =
        if receive.is_some() { peer.sends.intersect(local.decodes) } else { FormatSet::EMPTY };
    if send && send_formats.is_empty() {
        return Err(ProtocolError::NoCommonFormat { sends: local.sends, accepts: peer.decodes });
    }
    if receive.is_some() && receive_formats.is_empty() {
        return Err(ProtocolError::NoCommonFormat { sends: peer.sends, accepts: local.decodes });
    }
    Ok(Negotiated { send_formats, receive, receive_formats, peer_fps_millihz: peer.fps_millihz, cipher })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::PixelFormat;
    use crate::output::pistream::protocol::keys::CipherSet;

    #[test]
    fn camera_and_display_agree_one_way() {
        let camera = Hello::sender(Geometry::new(640, 480), 30.0);
        let display = Hello::receiver();
        let at_camera = negotiate(&camera, &display).unwrap();
        let at_display = negotiate(&display, &camera).unwrap();
        assert_eq!((at_camera.sends(), at_camera.receive), (true, None));
        assert_eq!((at_display.sends(), at_display.receive), (false, Some(Geometry::new(640, 480))));
        assert_eq!(at_display.peer_fps_millihz, 30_000);
        assert_eq!(at_display.cipher, None);
    }

    #[test]
    fn formats_are_what_the_sender_offers_and_the_receiver_decodes() {
        let camera = Hello::sender(Geometry::new(64, 48), 30.0)
            .sending(FormatSet::of(&[PixelFormat::Yuyv, PixelFormat::Mjpeg]));
        let display = Hello::receiver().decoding(FormatSet::of(&[PixelFormat::Mjpeg, PixelFormat::Nv12]));
        let at_camera = negotiate(&camera, &display).unwrap();
        assert_eq!(
            at_camera.send_formats,
            FormatSet::only(PixelFormat::Mjpeg),
            "what both name, BGR3 or not"
        );
        assert_eq!(negotiate(&display, &camera).unwrap().receive_formats, at_camera.send_formats);
    }

    #[test]
    fn a_display_may_accept_h264_alone_but_not_what_the_camera_does_not_send() {
        let camera = Hello::sender(Geometry::new(64, 48), 30.0)
            .sending(FormatSet::of(&[PixelFormat::I420, PixelFormat::H264]));
        let h264_only = Hello::receiver().decoding(FormatSet::only(PixelFormat::H264));
        assert_eq!(negotiate(&camera, &h264_only).unwrap().send_formats, FormatSet::only(PixelFormat::H264));
        let uyvy_only = Hello::receiver().decoding(FormatSet::only(PixelFormat::Uyvy));
        for err in [negotiate(&camera, &uyvy_only).unwrap_err(), negotiate(&uyvy_only, &camera).unwrap_err()]
        {
            let text = err.to_string();
            assert!(text.contains("accepts UYVY") && text.contains("sends BGR3,I420,H264"), "{text}");
        }
    }

    #[test]
    fn a_call_flows_both_ways_with_each_sides_geometry() {
        let a = Hello::two_way(Geometry::new(640, 480), 30.0);
        let b = Hello::two_way(Geometry::new(320, 240), 15.0);
        let at_a = negotiate(&a, &b).unwrap();
        assert!(at_a.sends());
        assert_eq!(at_a.receive, Some(Geometry::new(320, 240)));
    }

    #[test]
    fn two_displays_or_two_cameras_are_refused_with_a_reason() {
        let err = negotiate(&Hello::receiver(), &Hello::receiver()).unwrap_err().to_string();
        assert!(err.contains("both ends only want video"), "{err}");
        let cam = Hello::sender(Geometry::new(2, 2), 1.0);
        let err = negotiate(&cam, &cam).unwrap_err().to_string();
        assert!(err.contains("both ends only send video"), "{err}");
    }

    #[test]
    fn a_key_on_one_side_only_is_refused_with_what_to_do() {
        let keyed = |h: Hello| Hello { keyed: Some(CipherSet::of(&[])), ..h };
        let camera = keyed(Hello::sender(Geometry::new(64, 48), 30.0));
        assert_eq!(negotiate(&camera, &Hello::receiver()), Err(ProtocolError::PeerHasNoKey));
        let err = negotiate(&Hello::receiver(), &camera).unwrap_err();
        assert_eq!(err, ProtocolError::PeerRequiresKey);
        assert!(err.to_string().contains("--key-file"));
        let display = keyed(Hello::receiver());
        assert_eq!(
            negotiate(&display, &camera).unwrap().cipher,
            Some(crate::output::pistream::protocol::keys::Cipher::ChaChaPoly)
        );
    }
}
