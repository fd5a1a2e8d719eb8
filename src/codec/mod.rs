//! What turns pictures from one encoding into another: pixel conversion to and from packed
//! BGR and between Y'CbCr layouts (`convert`), JPEG through libjpeg-turbo (`jpeg`), and the
//! stateless products a viewer may ask of a captured frame (`products`: tight I420, JPEG at
//! a quality, a camera's JPEG fixed up for browsers). Stateful codecs (H.264) join here.

pub mod convert;
pub mod jpeg;
pub mod products;
