//! What HTTP serves with: the endpoint's web settings (`--http-password-file`,
//! `--jpeg-quality`, `--http ADDR`).

use std::net::SocketAddr;

use super::auth::Credentials;

/// Default `--jpeg-quality`.
pub const DEFAULT_JPEG_QUALITY: u8 = 80;

/// The web settings of an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSettings {
    /// `--http-password-file`: Basic auth for every request.
    pub credentials: Option<Credentials>,
    /// `--jpeg-quality`.
    pub jpeg_quality: u8,
    /// `--http ADDR`: also serve HTTP there.
    pub extra_address: Option<SocketAddr>,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings { credentials: None, jpeg_quality: DEFAULT_JPEG_QUALITY, extra_address: None }
    }
}
