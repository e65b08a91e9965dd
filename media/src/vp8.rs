//! VP8 through libvpx, called directly with real-time settings: one pass, no look-ahead, constant
//! bitrate, error-resilient, fast (`cpu-used` 8), key frames on demand.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint, c_ulong};
use std::ptr;

use vpx_sys::*;

use crate::codec::{
    CodecError, EncodedFrame, VideoCodec, VideoDecoder, VideoEncoder, VideoEncoderSettings,
};
use crate::frame::VideoFrame;

/// libvpx's speed for VP8 in real time: higher is faster and a little worse. 8 keeps 720p30 well
/// inside one core of this project's reference machine.
const CPU_USED: c_int = 8;

fn error(operation: &'static str, ctx: *mut vpx_codec_ctx_t, code: vpx_codec_err_t) -> CodecError {
    // SAFETY: vpx_codec_error reads the context's error fields (or returns a static string for a null
    // or uninitialised context); the returned pointer is a NUL-terminated static or context-owned string.
    let detail = unsafe {
        let text = vpx_codec_error(ctx);
        if text.is_null() {
            format!("{code:?}")
        } else {
            std::ffi::CStr::from_ptr(text)
                .to_string_lossy()
                .into_owned()
        }
    };
    CodecError::new("VP8", operation, detail)
}

/// A VP8 encoder.
pub struct Vp8Encoder {
    /// Boxed: libvpx keeps pointers into the context, so it must not move.
    ctx: Box<vpx_codec_ctx_t>,
    cfg: vpx_codec_enc_cfg_t,
    settings: VideoEncoderSettings,
    pts: i64,
}

// SAFETY: a libvpx codec context has no thread affinity; `&mut self` methods make every use exclusive.
unsafe impl Send for Vp8Encoder {}

impl Vp8Encoder {
    /// An encoder for one picture size.
    pub fn new(settings: VideoEncoderSettings) -> Result<Self, CodecError> {
        if settings.width == 0
            || settings.height == 0
            || settings.width % 2 == 1
            || settings.height % 2 == 1
        {
            return Err(CodecError::new(
                "VP8",
                "init",
                "width and height must be even and non-zero",
            ));
        }
        let mut cfg = MaybeUninit::<vpx_codec_enc_cfg_t>::zeroed();
        // SAFETY: the interface pointer is a static of libvpx; cfg points to writable memory of the
        // struct's size, which libvpx fills completely.
        let code = unsafe { vpx_codec_enc_config_default(vpx_codec_vp8_cx(), cfg.as_mut_ptr(), 0) };
        if code != VPX_CODEC_OK {
            return Err(error("config", ptr::null_mut(), code));
        }
        // SAFETY: initialised by vpx_codec_enc_config_default above (checked).
        let mut cfg = unsafe { cfg.assume_init() };
        cfg.g_w = settings.width;
        cfg.g_h = settings.height;
        cfg.g_timebase = vpx_rational { num: 1, den: 1000 };
        cfg.g_threads = settings.threads.max(1);
        cfg.g_lag_in_frames = 0;
        cfg.g_error_resilient = 1;
        cfg.g_pass = vpx_enc_pass::VPX_RC_ONE_PASS;
        cfg.rc_end_usage = vpx_rc_mode::VPX_CBR;
        cfg.rc_target_bitrate = (settings.bitrate_bps / 1000).max(1);
        cfg.rc_min_quantizer = 2;
        cfg.rc_max_quantizer = 56;
        cfg.rc_undershoot_pct = 100;
        cfg.rc_overshoot_pct = 15;
        cfg.rc_buf_initial_sz = 500;
        cfg.rc_buf_optimal_sz = 600;
        cfg.rc_buf_sz = 1000;
        // Let the encoder skip a frame rather than overshoot its budget: on a thin link a late
        // frame costs more than a missing one (WebRTC runs libvpx with 30 too).
        cfg.rc_dropframe_thresh = 30;
        cfg.kf_mode = vpx_kf_mode::VPX_KF_AUTO;
        // Key frames come when asked for (a subscriber joined or lost one), plus a safety net.
        cfg.kf_max_dist = 3000;
        // SAFETY: a zeroed context is what vpx_codec_enc_init_ver expects to initialise.
        let mut ctx: Box<vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: ctx and cfg are valid for the call; the ABI version matches the bindings in use.
        let code = unsafe {
            vpx_codec_enc_init_ver(
                &mut *ctx,
                vpx_codec_vp8_cx(),
                &cfg,
                0,
                VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        if code != VPX_CODEC_OK {
            return Err(error("init", &mut *ctx, code));
        }
        let mut encoder = Self {
            ctx,
            cfg,
            settings,
            pts: 0,
        };
        for (id, value) in [
            (vp8e_enc_control_id::VP8E_SET_CPUUSED, CPU_USED),
            (vp8e_enc_control_id::VP8E_SET_NOISE_SENSITIVITY, 0),
            (vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD, 1),
            (vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT, 300),
        ] {
            // SAFETY: the context is initialised; these controls take one int, passed as the variadic
            // argument libvpx reads.
            let code = unsafe { vpx_codec_control_(&mut *encoder.ctx, id as c_int, value) };
            if code != VPX_CODEC_OK {
                return Err(error("control", &mut *encoder.ctx, code));
            }
        }
        Ok(encoder)
    }
}

impl VideoEncoder for Vp8Encoder {
    fn encode(
        &mut self,
        frame: &VideoFrame,
        keyframe: bool,
    ) -> Result<Option<EncodedFrame>, CodecError> {
        let (w, h) = (self.settings.width, self.settings.height);
        if frame.width() != w || frame.height() != h {
            return Err(CodecError::new(
                "VP8",
                "encode",
                format!(
                    "frame is {}x{}, encoder is {w}x{h}",
                    frame.width(),
                    frame.height()
                ),
            ));
        }
        // SAFETY: a zeroed vpx_image_t is a valid "empty" image for vpx_img_wrap to fill.
        let mut image: vpx_image_t = unsafe { std::mem::zeroed() };
        let data = frame.data().as_ptr() as *mut u8;
        // SAFETY: `data` points to w*h*3/2 bytes of packed I420 that outlive the encode call; libvpx only
        // reads input images. The planes and strides are then set explicitly to the packed layout.
        unsafe {
            vpx_img_wrap(&mut image, vpx_img_fmt::VPX_IMG_FMT_I420, w, h, 1, data);
            let luma = (w * h) as usize;
            image.planes[0] = data;
            image.planes[1] = data.add(luma);
            image.planes[2] = data.add(luma + luma / 4);
            image.stride = [w as c_int, (w / 2) as c_int, (w / 2) as c_int, 0];
        }
        let duration = (1000 / self.settings.fps.max(1)) as c_ulong;
        let flags = if keyframe {
            VPX_EFLAG_FORCE_KF as vpx_enc_frame_flags_t
        } else {
            0
        };
        // SAFETY: context initialised; image valid for the call (see above).
        let code = unsafe {
            vpx_codec_encode(
                &mut *self.ctx,
                &image,
                self.pts,
                duration,
                flags,
                VPX_DL_REALTIME as c_ulong,
            )
        };
        self.pts += duration as i64;
        if code != VPX_CODEC_OK {
            return Err(error("encode", &mut *self.ctx, code));
        }
        let mut out = None;
        let mut iter: vpx_codec_iter_t = ptr::null();
        loop {
            // SAFETY: iterating the packets of the encode call just made, with libvpx's own iterator.
            let packet = unsafe { vpx_codec_get_cx_data(&mut *self.ctx, &mut iter) };
            if packet.is_null() {
                break;
            }
            // SAFETY: non-null packets from vpx_codec_get_cx_data are valid until the next encode call;
            // for a FRAME packet the `frame` union member is the active one and buf/sz describe its bytes.
            unsafe {
                if (*packet).kind == vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    let f = (*packet).data.frame;
                    let bytes = std::slice::from_raw_parts(f.buf as *const u8, f.sz as usize);
                    out = Some(EncodedFrame {
                        data: bytes.to_vec(),
                        keyframe: f.flags & VPX_FRAME_IS_KEY != 0,
                        capture_time_us: frame.capture_time_us,
                    });
                }
            }
        }
        Ok(out)
    }

    fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        self.cfg.rc_target_bitrate = (bps / 1000).max(1) as c_uint;
        // SAFETY: context initialised; cfg is the configuration it was created with, changed in one field.
        let code = unsafe { vpx_codec_enc_config_set(&mut *self.ctx, &self.cfg) };
        if code != VPX_CODEC_OK {
            return Err(error("set bitrate", &mut *self.ctx, code));
        }
        self.settings.bitrate_bps = bps;
        Ok(())
    }

    fn codec(&self) -> VideoCodec {
        VideoCodec::Vp8
    }
}

impl Drop for Vp8Encoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialised in `new` and is destroyed exactly once.
        unsafe { vpx_codec_destroy(&mut *self.ctx) };
    }
}

/// A VP8 decoder.
pub struct Vp8Decoder {
    ctx: Box<vpx_codec_ctx_t>,
}

// SAFETY: as for the encoder: no thread affinity, exclusive use through `&mut self`.
unsafe impl Send for Vp8Decoder {}

impl Vp8Decoder {
    /// A decoder; the picture size comes from the stream.
    pub fn new() -> Result<Self, CodecError> {
        // SAFETY: a zeroed context is what vpx_codec_dec_init_ver expects to initialise.
        let mut ctx: Box<vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        let cfg = vpx_codec_dec_cfg_t {
            threads: 1,
            w: 0,
            h: 0,
        };
        // SAFETY: ctx and cfg valid for the call; ABI version matches the bindings.
        let code = unsafe {
            vpx_codec_dec_init_ver(
                &mut *ctx,
                vpx_codec_vp8_dx(),
                &cfg,
                0,
                VPX_DECODER_ABI_VERSION as c_int,
            )
        };
        if code != VPX_CODEC_OK {
            return Err(error("init", &mut *ctx, code));
        }
        Ok(Self { ctx })
    }
}

impl VideoDecoder for Vp8Decoder {
    fn decode(&mut self, data: &[u8]) -> Result<Option<VideoFrame>, CodecError> {
        if data.is_empty() {
            return Ok(None);
        }
        // A key frame declares its size before libvpx allocates for it: refuse oversized ones first.
        if let Some((w, h)) = keyframe_size(data) {
            crate::codec::check_dimensions("vp8", w, h)?;
        }
        // SAFETY: context initialised; `data` is valid for reads of its length during the call.
        let code = unsafe {
            vpx_codec_decode(
                &mut *self.ctx,
                data.as_ptr(),
                data.len() as c_uint,
                ptr::null_mut(),
                0,
            )
        };
        if code != VPX_CODEC_OK {
            return Err(error("decode", &mut *self.ctx, code));
        }
        let mut iter: vpx_codec_iter_t = ptr::null();
        let mut last = None;
        loop {
            // SAFETY: iterating the frames of the decode call just made.
            let image = unsafe { vpx_codec_get_frame(&mut *self.ctx, &mut iter) };
            if image.is_null() {
                break;
            }
            // SAFETY: a non-null image from vpx_codec_get_frame is valid until the next decode call; its
            // planes hold d_h rows (half that for chroma) of at least d_w (half) bytes at their strides.
            let frame = unsafe {
                let img = &*image;
                let (w, h) = (img.d_w & !1, img.d_h & !1);
                if w == 0 || h == 0 {
                    continue;
                }
                let plane = |i: usize, width: u32, rows: u32| {
                    let stride = img.stride[i] as usize;
                    let len = stride * (rows as usize - 1) + width as usize;
                    (std::slice::from_raw_parts(img.planes[i], len), stride)
                };
                let mut frame = VideoFrame::black(w, h);
                frame.copy_from_planes([
                    plane(0, w, h),
                    plane(1, w / 2, h / 2),
                    plane(2, w / 2, h / 2),
                ]);
                frame
            };
            last = Some(frame);
        }
        Ok(last)
    }

    fn codec(&self) -> VideoCodec {
        VideoCodec::Vp8
    }
}

/// The size a VP8 key frame declares (RFC 6386 §9.1): a 3-byte frame tag whose lowest bit is 0 for a key
/// frame, the start code 9d 01 2a, then 14-bit width and height.
fn keyframe_size(data: &[u8]) -> Option<(u32, u32)> {
    let header = data.get(..10)?;
    if header[0] & 1 != 0 || header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let dim = |i: usize| u32::from(u16::from_le_bytes([header[i], header[i + 1]]) & 0x3fff);
    Some((dim(6), dim(8)))
}

impl Drop for Vp8Decoder {
    fn drop(&mut self) {
        // SAFETY: initialised in `new`, destroyed once.
        unsafe { vpx_codec_destroy(&mut *self.ctx) };
    }
}
