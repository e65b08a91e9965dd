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

    /// How much of the audio the receiver loses, in percent (0–100): libopus adds in-band FEC (a
    /// low-rate copy of each frame in the next packet) only when this is above 0, and more as it grows.
    pub fn set_expected_loss(&mut self, percent: u8) -> Result<(), CodecError> {
        self.encoder
            .set_packet_loss_perc(i32::from(percent.min(100)))
            .map_err(|e| err("set packet loss", e))
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
#[derive(Debug)]
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

/// Lost packets in a row beyond which nothing is made up: after 100 ms of outage, playback resumes
/// with what arrives (concealment would only stretch a silence into a drone).
pub const MAX_CONCEALED_FRAMES: u16 = 5;

/// Opus packets in RTP order to gap-free audio: a lost packet is rebuilt from the in-band FEC the next
/// one carries, and the ones before it (when several are lost in a row) are concealed by libopus's
/// PLC, so a loss is heard as a slightly dull moment, not as silence. A packet that comes after a later
/// one (reordered, duplicated) is too late to play and is dropped.
#[derive(Debug)]
pub struct OpusReceiver {
    decoder: OpusDecoder,
    last_seq: Option<u16>,
    /// Frames rebuilt from FEC.
    pub recovered: u64,
    /// Frames concealed by PLC.
    pub concealed: u64,
}

impl OpusReceiver {
    /// A receiver with a fresh decoder.
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            decoder: OpusDecoder::new()?,
            last_seq: None,
            recovered: 0,
            concealed: 0,
        })
    }

    /// Decodes the packet of RTP sequence number `seq`, first making up the frames lost before it;
    /// `play` gets each 20 ms frame in order. `scratch` holds at least 120 ms (5 760 samples).
    pub fn receive(
        &mut self,
        seq: u16,
        payload: &[u8],
        scratch: &mut [i16],
        mut play: impl FnMut(&[i16]),
    ) -> Result<(), CodecError> {
        let missing = match self.last_seq {
            None => 0,
            Some(last) => {
                let ahead = seq.wrapping_sub(last);
                if ahead == 0 || ahead > u16::MAX / 2 {
                    return Ok(());
                }
                ahead - 1
            }
        };
        self.last_seq = Some(seq);
        if (1..=MAX_CONCEALED_FRAMES).contains(&missing) {
            let frame = &mut scratch[..AUDIO_FRAME_SAMPLES];
            for _ in 1..missing {
                let n = self
                    .decoder
                    .decoder
                    .decode(&[], frame, false)
                    .map_err(|e| err("conceal", e))?;
                self.concealed += 1;
                play(&frame[..n]);
            }
            // The frame just before this packet, from the FEC this packet carries (PLC when it
            // carries none).
            let n = self
                .decoder
                .decoder
                .decode(payload, frame, true)
                .map_err(|e| err("decode FEC", e))?;
            self.recovered += 1;
            play(&frame[..n]);
        }
        let n = self.decoder.decode(payload, scratch)?;
        play(&scratch[..n]);
        Ok(())
    }
}
