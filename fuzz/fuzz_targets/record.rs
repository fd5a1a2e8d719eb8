//! The record decoder of keyed sessions: a genuine sealed frame (header and body records,
//! sealed with the same key the opener holds), with the fuzz input XORed over its wire
//! bytes. Must never panic; an untouched message opens to exactly what was sealed; a
//! message with any byte changed fails to open at or before the changed record, so no
//! forged byte is ever accepted. The first input byte picks the cipher and body length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pistream::output::pistream::protocol::keys::Cipher;
use pistream::output::pistream::protocol::record::{sealed_body_len, Opener, Sealer, RECORD_MAX, SEALED_HEADER_LEN, TAG_LEN};
use pistream::output::pistream::protocol::HEADER_LEN;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mask)) = data.split_first() else { return };
    let cipher = if mode & 1 == 0 { Cipher::ChaChaPoly } else { Cipher::AesGcm };
    // 0, 1, a partial record, exactly one record, or one record and a bit.
    let len = [0, 1, 1000, RECORD_MAX, RECORD_MAX + 17][(mode as usize >> 1) % 5];
    let body: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
    let header = [0x42u8; HEADER_LEN];
    let mut sealer = Sealer::new(cipher, &mut [9; 32]);
    let mut wire = sealer.seal_header(&header).unwrap().to_vec();
    let mut sealed = vec![0u8; sealed_body_len(len)];
    sealer.seal_body(&body, &mut sealed).unwrap();
    wire.extend_from_slice(&sealed);
    for (byte, m) in wire.iter_mut().zip(mask) {
        *byte ^= m;
    }
    let changed = mask.iter().take(wire.len()).any(|&m| m != 0);

    let mut opener = Opener::new(cipher, &mut [9; 32]);
    let opened_header = opener.open_header(wire[..SEALED_HEADER_LEN].try_into().unwrap());
    let mut out = vec![0u8; len];
    let opened = opened_header.and_then(|h| {
        let mut at = SEALED_HEADER_LEN;
        for chunk in out.chunks_mut(RECORD_MAX) {
            chunk.copy_from_slice(&wire[at..at + chunk.len()]);
            let tag: [u8; TAG_LEN] = wire[at + chunk.len()..at + chunk.len() + TAG_LEN].try_into().unwrap();
            opener.open_record(chunk, &tag)?;
            at += chunk.len() + TAG_LEN;
        }
        Ok(h)
    });
    match opened {
        Ok(h) => {
            assert!(!changed, "a changed message opened");
            assert_eq!(h, header);
            assert_eq!(out, body);
        }
        Err(_) => assert!(changed, "an untouched message failed to open"),
    }
});
