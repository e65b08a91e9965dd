//! Real codecs round trip: the test pattern through VP8 and H.264 reads back its stamps; a tone through
//! Opus keeps its frequency.

use otter_media::frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use otter_media::opus_codec::{OpusDecoder, OpusEncoder, MAX_OPUS_PACKET};
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
