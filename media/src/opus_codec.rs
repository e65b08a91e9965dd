//! Opus through libopus: 48 kHz mono, 20 ms frames, bitrate and DTX from the publisher's properties.

use crate::codec::CodecError;
use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};

/// The largest Opus packet we produce (RFC 6716 allows 1275 bytes per frame).
pub const MAX_OPUS_PACKET: usize = 1275;

fn err(operation: &'static str, e: opus::Error) -> CodecError {
    CodecError::new("Opus", operation, e.to_string())
}

/// An Opus encoder.
pub struct OpusEncoder {
    encoder: opus::Encoder,
}

impl OpusEncoder {
    /// An encoder at `bitrate_bps` (6 000–510 000), with discontinuous transmission when `dtx`.
    pub fn new(bitrate_bps: u32, dtx: bool) -> Result<Self, CodecError> {
        let mut encoder = opus::Encoder::new(
            AUDIO_SAMPLE_RATE,
            opus::Channels::Mono,
            opus::Application::Voip,
        )
        .map_err(|e| err("init", e))?;
        encoder
            .set_bitrate(opus::Bitrate::Bits(bitrate_bps.clamp(6_000, 510_000) as i32))
            .map_err(|e| err("set bitrate", e))?;
        encoder.set_dtx(dtx).map_err(|e| err("set DTX", e))?;
        encoder
            .set_inband_fec(true)
            .map_err(|e| err("set FEC", e))?;
        Ok(Self { encoder })
    }

    /// Changes the bitrate (6 000–510 000) from the next frame on.
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), CodecError> {
        self.encoder
            .set_bitrate(opus::Bitrate::Bits(bitrate_bps.clamp(6_000, 510_000) as i32))
            .map_err(|e| err("set bitrate", e))
    }

    /// Encodes 20 ms ([`AUDIO_FRAME_SAMPLES`] samples) into `out`, returning the packet's length
    /// (a length of 1–2 bytes is a DTX frame).
    pub fn encode(
        &mut self,
        samples: &[i16],
        out: &mut [u8; MAX_OPUS_PACKET],
    ) -> Result<usize, CodecError> {
        if samples.len() != AUDIO_FRAME_SAMPLES {
            return Err(CodecError::new(
                "Opus",
                "encode",
                format!("{} samples, not {AUDIO_FRAME_SAMPLES}", samples.len()),
            ));
        }
        self.encoder
            .encode(samples, out)
            .map_err(|e| err("encode", e))
    }
}

/// An Opus decoder.
pub struct OpusDecoder {
    decoder: opus::Decoder,
}

impl OpusDecoder {
    /// A decoder.
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            decoder: opus::Decoder::new(AUDIO_SAMPLE_RATE, opus::Channels::Mono)
                .map_err(|e| err("init", e))?,
        })
    }

    /// Decodes one packet into `out` (room for at least 120 ms), returning the samples written. An empty
    /// packet conceals a lost one.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> Result<usize, CodecError> {
        self.decoder
            .decode(packet, out, false)
            .map_err(|e| err("decode", e))
    }
}
