//! Real codecs round trip: the test pattern through VP8 and H.264 reads back its stamps; a tone through
//! Opus keeps its frequency.

use otter_media::frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use otter_media::opus_codec::{OpusDecoder, OpusEncoder, OpusReceiver, MAX_OPUS_PACKET};
use otter_media::pattern::read_stamp;
use otter_media::tone::dominant_frequency;
use otter_media::*;

fn round_trip(codec: VideoCodec, width: u32, height: u32) {
    let settings = VideoEncoderSettings::new(width, height, 15);
    let mut encoder = video_encoder(codec, settings).unwrap();
    let mut decoder = video_decoder(codec).unwrap();
    let mut pattern = TestPattern::new(width, height);
    let mut frame = VideoFrame::black(width, height);
    let mut counters = Vec::new();
    let total = 45;
    for i in 0..total {
        pattern.render_into(&mut frame, 1_000_000 + i as u64 * 66_666);
        let encoded = encoder
            .encode(&frame, i == 0 || i == 30)
            .unwrap()
            .expect("no frame dropped");
        if i == 0 || i == 30 {
            assert!(encoded.keyframe, "frame {i} was asked to be a key frame");
        }
        assert_eq!(encoded.capture_time_us, frame.capture_time_us);
        if let Some(decoded) = decoder.decode(&encoded.data).unwrap() {
            assert_eq!((decoded.width(), decoded.height()), (width, height));
            if let Some(stamp) = read_stamp(&decoded) {
                counters.push(stamp.counter);
            }
        }
    }
    assert!(
        counters.len() * 10 >= total * 9,
        "{codec:?}: read {} of {total} stamps",
        counters.len()
    );
    assert!(counters.windows(2).all(|w| w[1] > w[0]), "{counters:?}");
    encoder.set_bitrate(300_000).unwrap();
    pattern.render_into(&mut frame, 0);
    assert!(encoder.encode(&frame, false).unwrap().is_some());
}

#[test]
fn vp8_carries_the_test_pattern() {
    round_trip(VideoCodec::Vp8, 320, 240);
    round_trip(VideoCodec::Vp8, 640, 480);
}

#[test]
fn h264_carries_the_test_pattern() {
    round_trip(VideoCodec::H264, 320, 240);
    round_trip(VideoCodec::H264, 640, 480);
}

#[test]
fn decoders_refuse_garbage_without_panicking() {
    for codec in [VideoCodec::Vp8, VideoCodec::H264] {
        let mut decoder = video_decoder(codec).unwrap();
        for junk in [
            &[0u8; 0][..],
            &[1, 2, 3],
            &[0xff; 500],
            &[0, 0, 0, 1, 0x65, 0x88, 0x84],
        ] {
            let _ = decoder.decode(junk);
        }
    }
    assert!(video_encoder(VideoCodec::Vp8, VideoEncoderSettings::new(321, 240, 15)).is_err());
}

#[test]
fn opus_keeps_a_tone() {
    let mut encoder = OpusEncoder::new(40_000, false).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut tone = ToneGenerator::new(440.0);
    let mut input = vec![0i16; AUDIO_FRAME_SAMPLES];
    let mut packet = [0u8; MAX_OPUS_PACKET];
    let mut output = Vec::new();
    let mut pcm = vec![0i16; AUDIO_FRAME_SAMPLES * 6];
    for _ in 0..50 {
        tone.fill(&mut input);
        let n = encoder.encode(&input, &mut packet).unwrap();
        assert!(n > 2 && n < 400, "{n}");
        let got = decoder.decode(&packet[..n], &mut pcm).unwrap();
        output.extend_from_slice(&pcm[..got]);
    }
    assert_eq!(output.len(), 50 * AUDIO_FRAME_SAMPLES);
    // Skip the codec's start-up.
    let f = dominant_frequency(&output[AUDIO_FRAME_SAMPLES * 5..], AUDIO_SAMPLE_RATE).unwrap();
    assert!((f - 440.0).abs() <= 5.0, "{f}");
    assert!(encoder.encode(&input[..10], &mut packet).is_err());
}

/// F9: a key frame that declares a size over the limit is refused before anything is allocated for it,
/// and the decoder keeps working for the next honest frame.
#[test]
fn vp8_refuses_frames_over_the_size_limit() {
    let (w, h) = (64, 48);
    let mut encoder = video_encoder(VideoCodec::Vp8, VideoEncoderSettings::new(w, h, 15)).unwrap();
    let mut decoder = video_decoder(VideoCodec::Vp8).unwrap();
    let mut frame = VideoFrame::black(w, h);
    TestPattern::new(w, h).render_into(&mut frame, 0);
    let key = encoder.encode(&frame, true).unwrap().unwrap().data;
    assert_eq!(&key[3..6], &[0x9d, 0x01, 0x2a], "a VP8 key frame");
    let mut huge = key.to_vec();
    huge[6..8].copy_from_slice(&16_000u16.to_le_bytes());
    huge[8..10].copy_from_slice(&16_000u16.to_le_bytes());
    let refused = decoder.decode(&huge).unwrap_err();
    assert!(refused.is_too_large(), "{refused}");
    assert!(refused.to_string().contains("16000x16000"), "{refused}");
    let decoded = decoder.decode(&key).unwrap().expect("a frame");
    assert_eq!((decoded.width(), decoded.height()), (w, h));
}

/// A voice-like test signal: a pitch and a loudness that change every 60 ms (a tone alone is what
/// packet-loss concealment predicts best, and would flatter it).
fn syllables(frames: usize) -> Vec<i16> {
    let rate = AUDIO_SAMPLE_RATE as f32;
    let mut phase = 0f32;
    (0..frames * AUDIO_FRAME_SAMPLES)
        .map(|i| {
            let syllable = i / 2_880;
            let pitch = 180.0 + ((syllable * 37) % 11) as f32 * 40.0;
            let loudness = 6_000.0 + ((syllable * 53) % 7) as f32 * 1_500.0;
            phase += std::f32::consts::TAU * pitch / rate;
            let s = phase.sin() + 0.5 * (2.0 * phase).sin() + 0.25 * (3.0 * phase).sin();
            (s * loudness) as i16
        })
        .collect()
}

/// The Opus packets of `signal`, with the encoder told to expect `expected_loss` percent.
fn opus_packets(signal: &[i16], expected_loss: u8) -> Vec<Vec<u8>> {
    let mut encoder = OpusEncoder::new(32_000, false).unwrap();
    encoder.set_expected_loss(expected_loss).unwrap();
    let mut packet = [0u8; MAX_OPUS_PACKET];
    signal
        .chunks(AUDIO_FRAME_SAMPLES)
        .map(|frame| {
            let n = encoder.encode(frame, &mut packet).unwrap();
            packet[..n].to_vec()
        })
        .collect()
}

/// Receives `packets` except those `lost`; returns the audio played and the receiver.
fn receive(packets: &[Vec<u8>], lost: impl Fn(usize) -> bool) -> (Vec<i16>, OpusReceiver) {
    let mut receiver = OpusReceiver::new().unwrap();
    let mut scratch = vec![0i16; AUDIO_FRAME_SAMPLES * 6];
    let mut played = Vec::new();
    for (i, p) in packets.iter().enumerate().filter(|(i, _)| !lost(*i)) {
        receiver
            .receive(i as u16, p, &mut scratch, |pcm| {
                played.extend_from_slice(pcm)
            })
            .unwrap();
    }
    (played, receiver)
}

/// Signal-to-error ratio of `got` against `reference`, dB.
fn snr_db(reference: &[i16], got: &[i16]) -> f64 {
    let (mut signal, mut error) = (0f64, 0f64);
    for (&r, &g) in reference.iter().zip(got) {
        signal += f64::from(r).powi(2);
        error += (f64::from(r) - f64::from(g)).powi(2);
    }
    10.0 * (signal / error.max(1.0)).log10()
}

/// Opus in-band FEC and concealment: with a fifth of the packets lost (single ones and runs of two),
/// every lost 20 ms is made up, no 10 ms of the result is silent, and the FEC the encoder adds when
/// told to expect loss rebuilds the lost audio better than concealment alone.
#[test]
fn opus_losses_are_rebuilt_not_heard_as_silence() {
    const FRAMES: usize = 250;
    let signal = syllables(FRAMES);
    // Seeded, about 20 %: some alone, some two in a row.
    let lost = |i: usize| {
        (1..FRAMES - 1).contains(&i) && ((i * 7_919 + 13) % 97 < 14 || (i * 7_919 + 12) % 97 < 6)
    };
    let losses = (0..FRAMES).filter(|&i| lost(i)).count();
    let mut snr = Vec::new();
    for expected_loss in [0u8, 20] {
        let packets = opus_packets(&signal, expected_loss);
        let (reference, _) = receive(&packets, |_| false);
        let (played, receiver) = receive(&packets, lost);
        assert_eq!(played.len(), reference.len(), "every lost frame made up");
        assert_eq!(
            (receiver.recovered + receiver.concealed) as usize,
            losses,
            "{receiver:?}"
        );
        // Past the codec's start-up, every 10 ms is audible (the quietest syllable is −15 dBFS).
        for (w, window) in played[4_800..].chunks(480).enumerate() {
            let level = otter_media::tone::audio_level(window);
            assert!(level > 0.02, "silent 10 ms at {} ms: {level}", 100 + w * 10);
        }
        snr.push(snr_db(&reference, &played));
    }
    eprintln!(
        "{losses} of {FRAMES} packets lost: {:.1} dB concealment only, {:.1} dB with FEC",
        snr[0], snr[1]
    );
    assert!(snr[1] > snr[0] + 1.0, "FEC adds nothing: {snr:?}");
}
