//! The window sink: an OpenCV highgui window titled with the peer's address. Each frame is
//! wrapped as a `Mat` that borrows the receive buffer (no pixel copy on our side; highgui
//! then draws it). Enter, Esc or q, or closing the window, ends the session.

use std::time::Duration;

use opencv::core::{Mat, Vec3b};
use opencv::highgui;

use super::show::{Sink, SinkControl, SinkError};
use crate::media::{Frame, Geometry};

const KEY_ENTER: i32 = 13;
const KEY_LINEFEED: i32 = 10;
const KEY_ESC: i32 = 27;

pub(super) struct WindowSink {
    title: Option<String>,
}

impl WindowSink {
    pub(super) fn new() -> Self {
        WindowSink { title: None }
    }
}

impl Default for WindowSink {
    fn default() -> Self {
        Self::new()
    }
}

fn cv(context: &str) -> impl FnOnce(opencv::Error) -> SinkError + '_ {
    move |e| SinkError(format!("{context}: {e} (is DISPLAY set and an X server running? try --sink null)"))
}

/// Whether a key code from `waitKey` means "end the session".
pub(super) fn is_quit_key(key: i32) -> bool {
    let key = key & 0xff;
    key == KEY_ENTER
        || key == KEY_LINEFEED
        || key == KEY_ESC
        || key == i32::from(b'q')
        || key == i32::from(b'Q')
}

impl Sink for WindowSink {
    fn start(&mut self, _geometry: Geometry, peer: &str) -> Result<(), SinkError> {
        let title = format!("pistream - {peer}");
        if self.title.as_deref() != Some(title.as_str()) {
            if let Some(old) = self.title.take() {
                let _ = highgui::destroy_window(&old);
            }
            highgui::named_window(&title, highgui::WINDOW_AUTOSIZE | highgui::WINDOW_GUI_NORMAL)
                .map_err(cv("opening the window"))?;
            self.title = Some(title);
        }
        Ok(())
    }

    fn show(&mut self, frame: &Frame) -> Result<(), SinkError> {
        let Some(title) = &self.title else { return Ok(()) };
        let (rows, cols) = (frame.geometry.height as i32, frame.geometry.width as i32);
        // Borrows frame.data: a Mat header pointing at our buffer, not a copy of it.
        let mat = Mat::new_rows_cols_with_bytes::<Vec3b>(rows, cols, &frame.data)
            .map_err(cv("wrapping the frame"))?;
        highgui::imshow(title, &mat).map_err(cv("showing the frame"))
    }

    fn poll(&mut self, wait: Duration) -> Result<SinkControl, SinkError> {
        let Some(title) = &self.title else {
            std::thread::sleep(wait);
            return Ok(SinkControl::Continue);
        };
        let key = highgui::wait_key(wait.as_millis().clamp(1, 1000) as i32).map_err(cv("reading keys"))?;
        if key >= 0 && is_quit_key(key) {
            return Ok(SinkControl::Quit);
        }
        // The close button: the window is no longer visible.
        match highgui::get_window_property(title, highgui::WND_PROP_VISIBLE) {
            Ok(visible) if visible < 1.0 => Ok(SinkControl::Quit),
            _ => Ok(SinkControl::Continue),
        }
    }
}

impl Drop for WindowSink {
    fn drop(&mut self) {
        if let Some(title) = &self.title {
            let _ = highgui::destroy_window(title);
            let _ = highgui::wait_key(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_esc_and_q_quit_other_keys_do_not() {
        for key in [13, 10, 27, b'q' as i32, b'Q' as i32, 0x10000d] {
            assert!(is_quit_key(key), "{key}");
        }
        for key in [b' ' as i32, b'a' as i32, 82] {
            assert!(!is_quit_key(key), "{key}");
        }
    }
}
