//! The frame splitter (server side, intro first). The input is cut into pieces whose sizes come
//! from the first byte; whatever the cuts, re-encoding the intro and frames read must give back
//! exactly the bytes consumed, and the same frames as feeding everything at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wa_noise::{FrameDecoder, FrameEncoder};

fn run(data: &[u8], step: usize) -> (Result<(), wa_noise::FrameError>, Vec<Vec<u8>>, FrameDecoder) {
    let mut dec = FrameDecoder::server().with_max_frame_len(1 << 20);
    let mut frames = Vec::new();
    for piece in data.chunks(step.max(1)) {
        dec.push(piece);
        loop {
            match dec.next_frame() {
                Ok(Some(f)) => frames.push(f.to_vec()),
                Ok(None) => break,
                Err(e) => return (Err(e), frames, dec),
            }
        }
    }
    (Ok(()), frames, dec)
}

fuzz_target!(|data: &[u8]| {
    let Some((step, rest)) = data.split_first() else {
        return;
    };
    let (r1, frames, dec) = run(rest, usize::from(*step));
    let (r2, frames_whole, _) = run(rest, rest.len());
    assert_eq!(r1.is_ok(), r2.is_ok());
    if r1.is_ok() {
        assert_eq!(frames, frames_whole);
        if let Some(intro) = dec.intro() {
            let mut enc = FrameEncoder::client(intro.clone());
            let mut out = Vec::new();
            for f in &frames {
                enc.encode(f, &mut out).expect("frame fits");
            }
            if frames.is_empty() {
                intro.write_to(&mut out);
            }
            let consumed = rest.len() - dec.buffered();
            assert_eq!(out.as_slice(), &rest[..consumed]);
        }
    }
});
