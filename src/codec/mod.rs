//! What turns pictures from one encoding into another: pixel conversion to and from packed
//! BGR and between Y'CbCr layouts (`convert`), JPEG through libjpeg-turbo (`jpeg`), the
//! stateless products a viewer may ask of a captured frame (`products`: tight I420, JPEG at
//! a quality, a camera's JPEG fixed up for browsers), and the stateful codec, H.264 (`h264`), in software or on a hardware memory-to-memory
//! codec (`m2m`: the Pi's bcm2835-codec), as `--h264-encoder` chooses (`select`).

pub mod convert;
pub mod h264;
pub mod jpeg;
pub mod m2m;
pub mod products;
pub mod select;
