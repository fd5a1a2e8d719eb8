//! MJPEG frames without Huffman tables: many UVC cameras send JPEGs that define no DHT
//! segment, the standard's example tables (ITU-T T.81 Annex K.3) being implied. libjpeg-turbo
//! decodes them as they are, but browsers do not: [`with_standard_huffman_tables`] inserts
//! the tables before the first scan, for the web side's passthrough of a camera's JPEGs.

/// Huffman tables of the JPEG standard (ITU-T T.81 Annex K.3, tables K.3 to K.6): for each,
/// the table class and id byte, the number of codes of each length 1..=16, and the values.
const STANDARD_TABLES: [(u8, [u8; 16], &[u8]); 4] = [
    // K.3: luminance DC.
    (0x00, [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    // K.5: luminance AC.
    (
        0x10,
        [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
        &[
            0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
            0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
            0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
            0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
            0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
            0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
            0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
            0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
            0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
            0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
            0xf9, 0xfa,
        ],
    ),
    // K.4: chrominance DC.
    (0x01, [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    // K.6: chrominance AC.
    (
        0x11,
        [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
        &[
            0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
            0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
            0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
            0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
            0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
            0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
            0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
            0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
            0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
            0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
            0xf9, 0xfa,
        ],
    ),
];

/// Length of the one DHT segment holding all four standard tables, marker included.
const STANDARD_DHT_LEN: usize = 4 + 4 * 17 + 2 * 12 + 2 * 162;

/// The DHT segment (marker, length, the four tables) that [`with_standard_huffman_tables`]
/// inserts, assembled from [`STANDARD_TABLES`] at compile time.
const STANDARD_DHT: [u8; STANDARD_DHT_LEN] = {
    let mut seg = [0u8; STANDARD_DHT_LEN];
    seg[0] = 0xff;
    seg[1] = 0xc4;
    seg[2] = ((STANDARD_DHT_LEN - 2) >> 8) as u8;
    seg[3] = (STANDARD_DHT_LEN - 2) as u8;
    let mut at = 4;
    let mut t = 0;
    while t < STANDARD_TABLES.len() {
        let (class_id, counts, values) = STANDARD_TABLES[t];
        seg[at] = class_id;
        at += 1;
        let mut i = 0;
        while i < 16 {
            seg[at] = counts[i];
            at += 1;
            i += 1;
        }
        i = 0;
        while i < values.len() {
            seg[at] = values[i];
            at += 1;
            i += 1;
        }
        t += 1;
    }
    assert!(at == STANDARD_DHT_LEN);
    seg
};

/// Where a JPEG that defines no Huffman table before its first scan needs them: the offset
/// of its first SOS marker. `None` when it has a DHT segment there, or when its headers
/// cannot be walked (not a JPEG, cut short: the decoder then reports what is wrong).
fn missing_huffman_tables_at(jpeg: &[u8]) -> Option<usize> {
    missing_tables(jpeg)
}

/// Whether a browser can show `jpeg` as it is: it defines its Huffman tables (or its
/// headers cannot be walked, in which case inserting tables would not help either).
pub fn has_huffman_tables(jpeg: &[u8]) -> bool {
    missing_tables(jpeg).is_none()
}

fn missing_tables(jpeg: &[u8]) -> Option<usize> {
    if !jpeg.starts_with(&[0xff, 0xd8]) {
        return None;
    }
    let mut at = 2;
    loop {
        if *jpeg.get(at)? != 0xff {
            return None;
        }
        // Any number of 0xFF fill bytes may precede a marker (T.81 B.1.1.2).
        while jpeg.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        match *jpeg.get(at + 1)? {
            0xda => return Some(at),
            0xc4 | 0xd9 => return None,
            // Markers without a length (TEM, RSTn): not expected here, but harmless.
            0x01 | 0xd0..=0xd7 => at += 2,
            _ => {
                let len = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]) as usize;
                if len < 2 {
                    return None;
                }
                at += 2 + len;
            }
        }
    }
}

/// If `jpeg` defines no Huffman table before its first scan (as many UVC cameras send
/// MJPEG), writes it into `out` (replacing what was there) with the standard tables of
/// T.81 Annex K.3 inserted before that scan, and returns true. Returns false, leaving `out`
/// alone, when the frame has its own tables or is not a JPEG whose headers can be walked.
/// `out` keeps its capacity, so a camera's stream allocates once.
pub fn with_standard_huffman_tables(jpeg: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(sos) = missing_huffman_tables_at(jpeg) else { return false };
    out.clear();
    out.reserve(jpeg.len() + STANDARD_DHT.len());
    out.extend_from_slice(&jpeg[..sos]);
    out.extend_from_slice(&STANDARD_DHT);
    out.extend_from_slice(&jpeg[sos..]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(w: u16, h: u16, sampling: jpeg_encoder::SamplingFactor) -> Vec<u8> {
        let bgr: Vec<u8> = (0..w as usize * h as usize * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
        encoder.set_sampling_factor(sampling);
        encoder.encode(&bgr, w, h, jpeg_encoder::ColorType::Bgr).unwrap();
        out
    }

    /// The segments of `jpeg` before its first scan, as (marker, whole segment).
    fn segments(jpeg: &[u8]) -> Vec<(u8, &[u8])> {
        let mut out = Vec::new();
        let mut at = 2;
        while jpeg[at + 1] != 0xda {
            let len = u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]) as usize;
            out.push((jpeg[at + 1], &jpeg[at..at + 2 + len]));
            at += 2 + len;
        }
        out
    }

    #[test]
    fn the_inserted_tables_are_those_an_encoder_writes_by_default() {
        // jpeg-encoder writes the Annex K tables, one DHT segment per table.
        let jpeg = encode(64, 48, jpeg_encoder::SamplingFactor::R_4_2_0);
        let mut theirs: Vec<&[u8]> =
            segments(&jpeg).into_iter().filter(|s| s.0 == 0xc4).map(|s| &s.1[4..]).collect();
        theirs.sort();
        let mut ours = Vec::new();
        let mut at = 4;
        for (_, counts, values) in STANDARD_TABLES {
            let len = 17 + values.len();
            assert_eq!(counts.iter().map(|&c| c as usize).sum::<usize>(), values.len());
            ours.push(&STANDARD_DHT[at..at + len]);
            at += len;
        }
        ours.sort();
        assert_eq!(theirs, ours);
        assert_eq!(&STANDARD_DHT[..4], &[0xff, 0xc4, 0x01, 0xa2]);
    }

    #[test]
    fn only_frames_without_tables_are_rewritten() {
        let jpeg = encode(32, 16, jpeg_encoder::SamplingFactor::R_4_2_2);
        let mut out = vec![1, 2, 3];
        assert!(!with_standard_huffman_tables(&jpeg, &mut out));
        assert_eq!(out, [1, 2, 3]);
        let mut stripped = jpeg[..2].to_vec();
        for (marker, segment) in segments(&jpeg) {
            if marker != 0xc4 {
                stripped.extend_from_slice(segment);
            }
        }
        let sos = stripped.len();
        let scan = jpeg.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
        stripped.extend_from_slice(&jpeg[scan..]);
        assert!(with_standard_huffman_tables(&stripped, &mut out));
        assert_eq!(out.len(), stripped.len() + STANDARD_DHT_LEN);
        assert_eq!(&out[..sos], &stripped[..sos]);
        assert_eq!(&out[sos..sos + STANDARD_DHT_LEN], &STANDARD_DHT[..]);
        assert_eq!(&out[sos + STANDARD_DHT_LEN..], &stripped[sos..]);
        // Every prefix of the headers (cut short, no SOS yet), and non-JPEGs: left alone.
        for cut in 0..sos {
            assert!(!with_standard_huffman_tables(&stripped[..cut], &mut out), "cut at {cut}");
        }
        for junk in [&b""[..], b"\xff\xd8\xff\xd9", b"\xff\xd8\x00\x00", b"\xff\xd8\xff\xe0\x00\x01", b"JFIF"]
        {
            assert!(!with_standard_huffman_tables(junk, &mut out));
        }
    }
}
