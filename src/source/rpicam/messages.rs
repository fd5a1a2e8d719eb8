//! What a line of rpicam-vid's stderr says, for the log and for the source: libcamera's
//! own lines name the Raspberry Pi ISP (its pipeline handler's file) and the stream as
//! configured (`configuring streams: (0) 640x480-YUV420/sYCC ...`); rpicam-apps' fatal
//! errors read `ERROR: *** ... ***`. No I/O here.

use super::layout::Isp;

/// One stderr line, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Message {
    /// A line naming the ISP the camera runs on.
    Isp(Isp),
    /// The main stream as libcamera configured it: size and colour space.
    Configured { width: u32, height: u32, colour_space: String },
    /// An error (rpicam-apps' or libcamera's): logged as a warning.
    Error,
    /// Anything else: logged at debug level.
    Other,
}

impl Message {
    pub(super) fn classify(line: &str) -> Message {
        if let Some(isp) = Isp::named_in(line) {
            return Message::Isp(isp);
        }
        if let Some(rest) = line.split("configuring streams: (0) ").nth(1) {
            let stream = rest.split_whitespace().next().unwrap_or("");
            let (size, format) = stream.split_once('-').unwrap_or((stream, ""));
            let colour_space = format.split_once('/').map_or("", |(_, cs)| cs).to_string();
            if let Some((w, h)) = size.split_once('x') {
                if let (Ok(width), Ok(height)) = (w.parse(), h.parse()) {
                    return Message::Configured { width, height, colour_space };
                }
            }
        }
        let upper = line.trim_start();
        if upper.starts_with("ERROR") || line.contains(" ERROR ") || line.contains("FATAL") {
            return Message::Error;
        }
        Message::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_told_apart() {
        assert_eq!(
            Message::classify(
                "[0:01:30.84] [1869]  INFO Camera camera.cpp:1215 configuring streams: (0) 1456x1088-YUV420/sYCC (1) 1456x1088-SBGGR10_CSI2P/RAW"
            ),
            Message::Configured { width: 1456, height: 1088, colour_space: "sYCC".into() }
        );
        assert_eq!(
            Message::classify("ERROR: *** failed to acquire camera /base/soc/i2c0mux/i2c@1/imx708@1a ***"),
            Message::Error
        );
        assert_eq!(
            Message::classify(
                "[0:00:01.5] [900] ERROR RPI pipeline_base.cpp:770 Camera frontend has timed out!"
            ),
            Message::Error
        );
        assert_eq!(
            Message::classify("[0:00:01.0] [900]  INFO RPI vc4.cpp:440 Registered camera /base/soc/i2c0mux/i2c@1/imx219@10 to Unicam device /dev/media3 and ISP device /dev/media0"),
            Message::Isp(Isp::Vc4)
        );
        assert_eq!(Message::classify("Mode selection for 640:480:12:P"), Message::Other);
    }
}
