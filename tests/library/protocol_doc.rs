//! docs/PROTOCOL.md against the code: its tables of kinds, wire formats and bye reasons,
//! every `NAME = value` constant it quotes, the byte layouts it draws, the Noise names
//! and labels, and the worked example's bytes, so the document cannot drift.

use pistream::media::Geometry;
use pistream::media::PixelFormat;
use pistream::output::pistream::protocol::keys::{Cipher, PSK_INFO, PSK_SALT};
use pistream::output::pistream::protocol::record::{RECORD_MAX, SEALED_HEADER_LEN, TAG_LEN};
use pistream::output::pistream::protocol::{
    encode_frame_header, encode_hello, ByeReason, Hello, MessageKind, BYE_MAX_LEN, HEADER_LEN, HELLO_LEN,
    HELLO_MAX_LEN, NOISE_MAX_LEN, PROLOGUE_LABEL, PROTOCOL_VERSION,
};
use pistream::output::pistream::protocol::{
    from_wire_code, max_len, H264_MIN_BOUND, REPORT_LEN, WIRE_FORMATS,
};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md")).unwrap()
}

/// The section of the document under a `## N.` heading.
fn section(doc: &str, number: u32) -> String {
    let start = doc.find(&format!("\n## {number}. ")).unwrap_or_else(|| panic!("no section {number}"));
    let rest = &doc[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    rest[..end].to_string()
}

/// Table rows of a section as trimmed cells (header and separator rows skipped).
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with('|') && !l.contains("---"))
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().replace('`', "")).collect())
        .filter(|cells: &Vec<String>| cells[0].parse::<u64>().is_ok())
        .collect()
}

#[test]
fn the_kind_table_matches_the_code() {
    let rows = rows(&section(&doc(), 3));
    assert_eq!(rows.len(), 7);
    for row in rows {
        let kind = MessageKind::from_byte(row[0].parse().unwrap()).expect("a known kind");
        assert_eq!(kind.name(), row[1], "{row:?}");
    }
    assert_eq!(MessageKind::from_byte(8), None, "the table lists every kind");
}

#[test]
fn the_wire_format_table_matches_the_code_including_the_lengths() {
    let rows = rows(&section(&doc(), 8));
    assert_eq!(rows.len(), WIRE_FORMATS.len());
    for row in rows {
        let format = from_wire_code(row[0].parse().unwrap()).expect("a known format");
        assert_eq!(format.name(), row[1], "{row:?}");
        // The documented length formula, evaluated at an odd size, against the code's.
        let (w, h) = (5usize, 3usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let documented = match row[3].as_str() {
            "exactly W * H * 3" => w * h * 3,
            "exactly ceil(W/2) * 4 * H" => cw * 4 * h,
            "exactly W * H + ceil(W/2) * 2 * ceil(H/2)" => w * h + cw * 2 * ch,
            "exactly W * H + 2 * ceil(W/2) * ceil(H/2)" => w * h + 2 * cw * ch,
            other if other.starts_with("1..=max(W * H * 3, 65536)") => {
                assert_eq!(format.tight_len(5, 3), None);
                assert_eq!(max_len(format, 5, 3), 65536);
                assert_eq!(max_len(format, 640, 480), 640 * 480 * 3);
                continue;
            }
            other if other.starts_with("1..=W * H * 3") => {
                assert_eq!(format.tight_len(5, 3), None);
                assert_eq!(max_len(format, 5, 3), w * h * 3);
                continue;
            }
            other => panic!("unknown length rule {other:?}"),
        };
        assert_eq!(format.tight_len(5, 3), Some(documented), "{row:?}");
    }
}

#[test]
fn the_bye_reason_table_matches_the_code() {
    let rows = rows(&section(&doc(), 10));
    let reasons: Vec<&Vec<String>> =
        rows.iter().filter(|r| r[1].chars().next().is_some_and(char::is_uppercase)).collect();
    assert_eq!(reasons.len(), 3);
    for row in reasons {
        let reason = ByeReason::from_code(row[0].parse().unwrap());
        assert_eq!(format!("{reason:?}"), row[1], "{row:?}");
    }
}

#[test]
fn every_quoted_constant_has_the_codes_value() {
    let doc = doc();
    let known: &[(&str, usize)] = &[
        ("HEADER_LEN", HEADER_LEN),
        ("HELLO_LEN", HELLO_LEN),
        ("HELLO_MAX_LEN", HELLO_MAX_LEN),
        ("NOISE_MAX_LEN", NOISE_MAX_LEN),
        ("BYE_MAX_LEN", BYE_MAX_LEN),
        ("RECORD_MAX", RECORD_MAX),
        ("TAG_LEN", TAG_LEN),
        ("SEALED_HEADER_LEN", SEALED_HEADER_LEN),
        ("REPORT_LEN", REPORT_LEN),
        ("H264_MIN_BOUND", H264_MIN_BOUND),
    ];
    let mut seen = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let Some((name, value)) = quoted.split_once(" = ") else { continue };
        let Ok(value) = value.replace('_', "").parse::<usize>() else { continue };
        let (_, actual) =
            known.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("{name} is not checked"));
        assert_eq!(value, *actual, "{name}");
        seen += 1;
    }
    assert!(seen >= known.len(), "every constant is quoted at least once ({seen})");
    assert!(doc.contains(&format!("# pistream wire protocol (version {PROTOCOL_VERSION})")));
}

#[test]
fn the_drawn_layouts_cover_every_byte_in_order() {
    let doc = doc();
    for (number, len) in [(2, HEADER_LEN), (4, HELLO_LEN)] {
        let mut at = 0;
        for row in rows(&section(&doc, number)) {
            let (Ok(offset), Ok(size)) = (row[0].parse::<usize>(), row[1].parse::<usize>()) else { continue };
            if offset != at {
                continue; // another table in the section
            }
            at += size;
        }
        assert_eq!(at, len, "section {number}'s layout");
    }
}

#[test]
fn the_noise_names_and_labels_are_the_codes() {
    let six = section(&doc(), 6);
    for cipher in [Cipher::ChaChaPoly, Cipher::AesGcm] {
        assert!(six.contains(cipher.noise_params()), "{}", cipher.noise_params());
    }
    for label in [PROLOGUE_LABEL, PSK_SALT, PSK_INFO] {
        let label = std::str::from_utf8(label).unwrap();
        assert!(six.contains(&format!("\"{label}\"")), "{label}");
    }
}

/// The hex bytes of the `n`th fenced block of a section (the first column of each line).
fn hex_block(text: &str, n: usize) -> Vec<u8> {
    let block = text.split("```text").nth(n + 1).unwrap().split("```").next().unwrap();
    block
        .lines()
        .flat_map(|l| {
            l.split("  ").next().unwrap_or("").split_whitespace().map(String::from).collect::<Vec<_>>()
        })
        .filter_map(|b| (b.len() == 2).then(|| u8::from_str_radix(&b, 16).ok()).flatten())
        .collect()
}

#[test]
fn the_worked_example_is_what_the_code_sends() {
    let fourteen = section(&doc(), 14);
    let hello = Hello { nonce: [0x11; 16], ..Hello::sender(Geometry::new(640, 480), 30.0) };
    assert_eq!(hex_block(&fourteen, 0), encode_hello(&hello, 1_700_000_000_000_000).to_vec());
    let frame = encode_frame_header(1, 1_700_000_000_000_000, PixelFormat::Bgr24, 640 * 480 * 3);
    assert_eq!(hex_block(&fourteen, 1), frame.to_vec());
}
