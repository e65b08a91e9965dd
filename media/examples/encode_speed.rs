//! How fast the test pattern encodes and decodes at real sizes: `cargo run --release -p otter-media
//! --example encode_speed -- [vp8|h264] [WIDTHxHEIGHT]`. Prints JSON lines.

use std::time::Instant;

use otter_media::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let codec = match args.get(1).map(String::as_str) {
        Some("h264") => VideoCodec::H264,
        _ => VideoCodec::Vp8,
    };
    let (w, h) = args
        .get(2)
        .and_then(|s| s.split_once('x'))
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .unwrap_or((1280, 720));
    let fps = 30;
    let mut encoder = video_encoder(codec, VideoEncoderSettings::new(w, h, fps)).unwrap();
    let mut decoder = video_decoder(codec).unwrap();
    let mut pattern = TestPattern::new(w, h);
    let mut frame = VideoFrame::black(w, h);
    let n = 300;
    let (mut render, mut encode, mut decode, mut bytes) = (0f64, 0f64, 0f64, 0usize);
    for i in 0..n {
        let t = Instant::now();
        pattern.render_into(&mut frame, i as u64 * 33_333);
        let t1 = Instant::now();
        let e = encoder.encode(&frame, i == 0).unwrap().unwrap();
        let t2 = Instant::now();
        decoder.decode(&e.data).unwrap();
        let t3 = Instant::now();
        render += (t1 - t).as_secs_f64();
        encode += (t2 - t1).as_secs_f64();
        decode += (t3 - t2).as_secs_f64();
        bytes += e.data.len();
    }
    let per = |s: f64| s * 1000.0 / n as f64;
    let name = codec.rtp_name();
    for (metric, value, unit) in [
        ("render_ms_per_frame", per(render), "ms"),
        ("encode_ms_per_frame", per(encode), "ms"),
        ("decode_ms_per_frame", per(decode), "ms"),
        (
            "encode_core_share_at_30fps",
            per(encode) * fps as f64 / 10.0,
            "%",
        ),
        (
            "bitrate_kbps",
            bytes as f64 * 8.0 / (n as f64 / fps as f64) / 1000.0,
            "kbit/s",
        ),
    ] {
        println!(
            r#"{{"bench":"codec","codec":"{name}","size":"{w}x{h}","metric":"{metric}","value":{value:.3},"unit":"{unit}"}}"#
        );
    }
}
