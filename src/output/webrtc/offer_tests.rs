//! Offers from a real client (aiortc's, saved in tests/fixtures/webrtc) and broken ones
//! made from it, answered or refused, never a panic.

use super::*;

const AIORTC: &str = include_str!("../../../tests/fixtures/webrtc/aiortc-offer.sdp");

fn locals() -> Vec<SocketAddr> {
    vec!["127.0.0.1:5678".parse().unwrap()]
}

#[test]
fn an_aiortc_offer_is_answered_with_h264_and_the_camera_s_candidate() {
    let answered = answer(AIORTC, &locals(), Instant::now()).unwrap_or_else(|e| panic!("{e:?}"));
    let sdp = &answered.sdp;
    // aiortc offers 42e01f mode 1 as payload type 101: the answer takes it.
    assert!(sdp.contains("a=rtpmap:101 H264/90000"), "{sdp}");
    assert!(!sdp.contains("VP8"), "{sdp}");
    assert!(sdp.contains("a=ice-lite") && sdp.contains("a=sendonly"), "{sdp}");
    assert!(sdp.contains("127.0.0.1 5678 typ host"), "{sdp}");
    assert_eq!(*answered.pt, 101);
}

/// `offer` mutated line by line as a hostile or broken client might send it: each line
/// removed, cut in half, emptied after its `=` or `:`, its numbers made huge, repeated, its
/// value replaced by bytes no SDP has; and the whole offer cut short every 50 bytes.
fn mutants(offer: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = offer.split("\r\n").collect();
    let with = |i: usize, replacement: &[String]| {
        let mut out: Vec<String> = lines[..i].iter().map(|l| l.to_string()).collect();
        out.extend_from_slice(replacement);
        out.extend(lines[i + 1..].iter().map(|l| l.to_string()));
        out.join("\r\n")
    };
    let mut all = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let cut = line.char_indices().nth(line.chars().count() / 2).map_or(0, |(at, _)| at);
        let value_at = line.find(':').or_else(|| line.find('=')).map_or(line.len(), |at| at + 1);
        let mut huge = String::new();
        let mut in_digits = false;
        for c in line.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    huge.push_str("184467440737095516159");
                }
                in_digits = true;
            } else {
                huge.push(c);
                in_digits = false;
            }
        }
        let garbage = format!("{}\u{0}\u{1F600}%n\u{7f}", &line[..value_at]);
        all.push((format!("line {i} removed"), with(i, &[])));
        all.push((format!("line {i} cut at {cut}"), with(i, &[line[..cut].to_string()])));
        all.push((format!("line {i} emptied"), with(i, &[line[..value_at].to_string()])));
        all.push((format!("line {i} with huge numbers"), with(i, &[huge])));
        all.push((
            format!("line {i} three times"),
            with(i, &[line.to_string(), line.to_string(), line.to_string()]),
        ));
        all.push((format!("line {i} with garbage"), with(i, &[garbage])));
    }
    for end in (0..offer.len()).step_by(50).filter(|end| offer.is_char_boundary(*end)) {
        all.push((format!("cut at byte {end}"), offer[..end].to_string()));
    }
    all.push(("LF line ends".into(), offer.replace("\r\n", "\n")));
    all.push(("CR line ends".into(), offer.replace("\r\n", "\r")));
    all
}

#[test]
fn no_mutation_of_a_real_offer_panics_and_each_is_answered_or_refused() {
    let mutants = mutants(AIORTC);
    assert!(mutants.len() > 200, "{}", mutants.len());
    let (mut answered, mut refused, mut panicked) = (0, 0, Vec::new());
    for (what, offer) in &mutants {
        let outcome = std::panic::catch_unwind(|| answer(offer, &locals(), Instant::now()).map(|a| a.sdp));
        match outcome {
            Ok(Ok(sdp)) => {
                answered += 1;
                assert!(sdp.contains("H264/90000") && sdp.contains("a=ice-lite"), "{what}: {sdp}");
            }
            Ok(Err(e)) => {
                refused += 1;
                // Every refusal has its HTTP status and a message that says what was wrong.
                assert!(e.status().starts_with("40") && e.message().len() > 10, "{what}: {e:?}");
            }
            Err(_) => panicked.push(what.clone()),
        }
    }
    eprintln!("{} mutated offers: {answered} answered, {refused} refused", mutants.len());
    assert!(panicked.is_empty(), "answering these offers panicked: {panicked:?}");
    // Both outcomes happen: the sweep reaches past the parser into the answer.
    assert!(answered > 10 && refused > 10, "answered {answered}, refused {refused}");
}
