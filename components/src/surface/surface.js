// Otter's video surface: draws the newest frame of each view on its <canvas>.
//
// Each view asks the app's loopback frame socket for a frame after drawing one, and gets the newest in
// one message. Where the socket cannot be reached, the view long-polls its asset handler: `GET /<handler>/frame?after=N&drawn=D` answers when a frame newer
// than N exists (or 204 after a while), so at most one frame per view is in flight and a slow page skips
// to the newest instead of queueing. Frames arrive as I420 (16-byte header: width, height, sequence as two
// u32, all little-endian) and are converted to RGB by a WebGL shader; without WebGL the page asks for RGBA
// and puts it on a 2D canvas. `drawn` tells the app how many frames this view has drawn (for stats).
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
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) return null;
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
    return (buf, w, h) => {
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
  }

  function canvas2d(canvas) {
    const ctx = canvas.getContext("2d", { alpha: false });
    return (buf, w, h) => {
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      ctx.putImageData(new ImageData(new Uint8ClampedArray(buf, HEADER, w * h * 4), w, h), 0, 0);
    };
  }

  const views = new Map();

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
      const buf = e.data;
      if (buf.byteLength >= HEADER) {
        const head = new DataView(buf, 0, HEADER);
        const w = head.getUint32(0, true), h = head.getUint32(4, true);
        after = head.getUint32(8, true) + head.getUint32(12, true) * 2 ** 32;
        view.draw(buf, w, h);
        view.drawn += 1;
      }
      ask();
    };
    ws.onclose = () => {
      if (live()) run(id, view);
      else if (views.get(id) === view) views.delete(id);
    };
  }

  async function run(id, view) {
    let after = 0;
    while (views.get(id) === view && view.canvas.isConnected) {
      let res;
      try {
        res = await fetch(`${view.url}?after=${after}&drawn=${view.drawn}&format=${view.format}`);
      } catch (e) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      if (res.status === 404) break;
      if (res.status !== 200) continue;
      const buf = await res.arrayBuffer();
      if (buf.byteLength < HEADER || views.get(id) !== view) continue;
      const head = new DataView(buf, 0, HEADER);
      const w = head.getUint32(0, true), h = head.getUint32(4, true);
      after = head.getUint32(8, true) + head.getUint32(12, true) * 2 ** 32;
      view.draw(buf, w, h);
      view.drawn += 1;
    }
    if (views.get(id) === view) views.delete(id);
  }

  window.otterSurface = {
    // Starts drawing into the canvas with this element id, from the asset handler at `url`.
    // Retries for a while: the element may reach the page just after this call.
    attach(id, url, socketUrl, tries = 120) {
      const canvas = document.getElementById(id);
      if (!canvas) {
        if (tries > 0) {
          requestAnimationFrame(() => window.otterSurface.attach(id, url, socketUrl, tries - 1));
        }
        return;
      }
      if (views.has(id)) return;
      let draw = webgl(canvas), format = "i420";
      if (!draw) {
        draw = canvas2d(canvas);
        format = "rgba";
      }
      const view = { canvas, url, draw, format, drawn: 0 };
      views.set(id, view);
      if (socketUrl) runSocket(id, view, socketUrl);
      else run(id, view);
    },
    detach(id) {
      views.delete(id);
    },
  };
})();
