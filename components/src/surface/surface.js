// Otter's video surface: draws the newest frame of each view on its <canvas>.
//
// Each view asks the app's loopback frame socket for a frame after drawing one, and gets the newest in
// one message. Where the socket cannot be used, the view long-polls its asset handler instead
// (`GET /<handler>/frame?after=N&drawn=D&format=F`: 200 with a frame newer than N, or 204). Either way at
// most one frame per view is in flight and a slow page skips to the newest instead of queueing. Frames
// are I420 after a 16-byte header (width, height, sequence as two u32, little-endian), converted to RGB
// by a WebGL shader; without WebGL, or without a GPU, the page asks for RGBA and puts it on a 2D
// canvas. `drawn` tells the app how many frames the view has drawn (for stats).
(() => {
  if (window.otterSurface) return;
  const HEADER = 16;
  const VERTEX = `attribute vec2 p; varying vec2 uv;
    void main() { uv = vec2((p.x + 1.0) * 0.5, (1.0 - p.y) * 0.5); gl_Position = vec4(p, 0.0, 1.0); }`;
  // BT.601, limited range: what VP8, H.264 and our sources produce.
  const FRAGMENT = `precision mediump float; varying vec2 uv; uniform sampler2D ty, tu, tv;
    void main() {
      float y = 1.1644 * (texture2D(ty, uv).r - 0.0627);
      float u = texture2D(tu, uv).r - 0.5, v = texture2D(tv, uv).r - 0.5;
      gl_FragColor = vec4(y + 1.5960 * v, y - 0.3918 * u - 0.8130 * v, y + 2.0172 * u, 1.0);
    }`;

  // Gives a WebGL context back now rather than at garbage collection: WebKit keeps only a few alive.
  function release(gl) {
    const lose = gl && gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
  }

  function webgl(canvas) {
    const gl = canvas.getContext("webgl", { alpha: false, antialias: false, depth: false,
      preserveDrawingBuffer: false, powerPreference: "low-power" });
    if (!gl) return null;
    const shader = (type, src) => {
      const s = gl.createShader(type);
      gl.shaderSource(s, src);
      gl.compileShader(s);
      return s;
    };
    const prog = gl.createProgram();
    gl.attachShader(prog, shader(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      release(gl);
      return null;
    }
    gl.useProgram(prog);
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const p = gl.getAttribLocation(prog, "p");
    gl.enableVertexAttribArray(p);
    gl.vertexAttribPointer(p, 2, gl.FLOAT, false, 0, 0);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    const textures = ["ty", "tu", "tv"].map((name, i) => {
      const t = gl.createTexture();
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, t);
      for (const [k, v] of [[gl.TEXTURE_MIN_FILTER, gl.LINEAR], [gl.TEXTURE_MAG_FILTER, gl.LINEAR],
        [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE], [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE]]) {
        gl.texParameteri(gl.TEXTURE_2D, k, v);
      }
      gl.uniform1i(gl.getUniformLocation(prog, name), i);
      return t;
    });
    let size = [0, 0];
    const draw = (buf, w, h) => {
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
        gl.viewport(0, 0, w, h);
      }
      const cw = w >> 1, ch = h >> 1;
      const planes = [[HEADER, w, h], [HEADER + w * h, cw, ch], [HEADER + w * h + cw * ch, cw, ch]];
      const fresh = size[0] !== w || size[1] !== h;
      planes.forEach(([off, pw, ph], i) => {
        gl.activeTexture(gl.TEXTURE0 + i);
        const px = new Uint8Array(buf, off, pw * ph);
        if (fresh) {
          gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, pw, ph, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, px);
        } else {
          gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, pw, ph, gl.LUMINANCE, gl.UNSIGNED_BYTE, px);
        }
      });
      size = [w, h];
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    };
    draw.release = () => release(gl);
    return draw;
  }

  function canvas2d(canvas) {
    const ctx = canvas.getContext("2d", { alpha: false });
    if (!ctx) return null;
    return (buf, w, h) => {
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      ctx.putImageData(new ImageData(new Uint8ClampedArray(buf, HEADER, w * h * 4), w, h), 0, 0);
    };
  }

  const views = new Map();

  // Draws one frame message if it is whole; returns its sequence number, or null for an empty or short
  // message. A drawing error is logged, never allowed to stop the view.
  function drawFrame(view, buf) {
    if (!buf || buf.byteLength < HEADER) return null;
    const head = new DataView(buf, 0, HEADER);
    const w = head.getUint32(0, true), h = head.getUint32(4, true);
    const need = HEADER + (view.format === "rgba" ? w * h * 4 : w * h * 1.5);
    if (!w || !h || buf.byteLength < need) return null;
    try {
      view.draw(buf, w, h);
      view.drawn += 1;
    } catch (e) {
      console.warn("otter surface: draw failed", e);
    }
    return head.getUint32(8, true) + head.getUint32(12, true) * 2 ** 32;
  }

  function stop(id, view) {
    if (views.get(id) === view) views.delete(id);
    if (view.draw.release) view.draw.release();
  }

  // The frame socket: one request message per frame drawn; an empty answer means "nothing new yet".
  // Falls back to the asset handler if the socket fails or closes while the view is still shown.
  function runSocket(id, view, socketUrl) {
    const ws = new WebSocket(socketUrl);
    ws.binaryType = "arraybuffer";
    let after = 0;
    const live = () => views.get(id) === view && view.canvas.isConnected;
    const ask = () => ws.send(`after=${after}&drawn=${view.drawn}&format=${view.format}`);
    ws.onopen = ask;
    ws.onmessage = (e) => {
      if (!live()) {
        ws.close();
        return;
      }
      const seq = drawFrame(view, e.data);
      if (seq !== null) after = seq;
      ask();
    };
    ws.onclose = () => {
      if (live()) run(id, view);
      else stop(id, view);
    };
  }

  // The asset handler: long-polls `GET <url>?after=N…`; 200 = a frame, 204 = nothing new yet.
  async function run(id, view) {
    let after = 0;
    const pause = () => new Promise((r) => setTimeout(r, 250));
    while (views.get(id) === view && view.canvas.isConnected) {
      try {
        const res = await fetch(`${view.url}?after=${after}&drawn=${view.drawn}&format=${view.format}`);
        if (res.status === 200) {
          const seq = drawFrame(view, await res.arrayBuffer());
          if (seq !== null) after = seq;
        } else if (res.status !== 204) {
          await pause(); // the handler is gone (unmounting) or failing: do not spin
        }
      } catch (e) {
        await pause();
      }
    }
    stop(id, view);
  }

  window.otterSurface = {
    // Starts drawing into the canvas with this element id, from the asset handler at `url`.
    // Retries for a while: the element may reach the page just after this call.
    // `software`: the app found no GPU. Then RGBA on a 2D canvas costs less than WebGL, whose
    // software rasterizer and read-back for compositing outweigh the smaller I420 frames (measured
    // 0.35 vs 0.45 core for a 640x480@30 tile).
    attach(id, url, socketUrl, software, tries = 120) {
      const canvas = document.getElementById(id);
      if (!canvas) {
        if (tries > 0) {
          requestAnimationFrame(() => window.otterSurface.attach(id, url, socketUrl, software, tries - 1));
        }
        return;
      }
      if (views.has(id)) return;
      let draw = software ? null : webgl(canvas), format = "i420";
      if (!draw) {
        draw = canvas2d(canvas);
        format = "rgba";
      }
      if (!draw) return; // the canvas already has a context of another kind: nothing we can draw with
      const view = { canvas, url, draw, format, drawn: 0 };
      // A lost WebGL context (the browser reclaims them under pressure) is rebuilt when it comes back.
      canvas.addEventListener("webglcontextlost", (e) => e.preventDefault());
      canvas.addEventListener("webglcontextrestored", () => {
        const fresh = webgl(canvas);
        if (fresh && views.get(id) === view) view.draw = fresh;
      });
      views.set(id, view);
      if (socketUrl) runSocket(id, view, socketUrl);
      else run(id, view);
    },
    detach(id) {
      const view = views.get(id);
      if (view) stop(id, view);
    },
  };
})();
