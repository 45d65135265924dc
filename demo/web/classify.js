// Shared by the demo page, the browser test page and the Node side of the browser tests: classify the
// bundled Fashion-MNIST subset with a session; returns the first output's bytes and argmaxes.

/** pixels: Uint8Array of N·784 bytes; input float32 [N,1,28,28] = pixel/255. */
export async function classify(session, Tensor, pixels) {
  const n = pixels.length / 784;
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i] / 255;
  const input = session.inputMetadata[0];
  // A static batch dim (1) runs image by image; a symbolic one runs the whole subset at once.
  const batch = typeof input.shape[0] === 'number' ? input.shape[0] : n;
  const parts = [];
  for (let i = 0; i < n; i += batch) {
    const t = new Tensor('float32', x.subarray(i * 784, (i + batch) * 784), [batch, 1, 28, 28]);
    const out = await session.run({ [session.inputNames[0]]: t });
    parts.push(out[session.outputNames[0]]);
  }
  const bytes = new Uint8Array(parts.reduce((s, t) => s + t.data.byteLength, 0));
  const preds = [];
  let o = 0;
  for (const t of parts) {
    bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), o);
    o += t.data.byteLength;
    const k = t.data.length / t.dims[0];
    for (let r = 0; r < t.dims[0]; r++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (t.data[r * k + c] > t.data[r * k + best]) best = c;
      preds.push(best);
    }
  }
  return { bytes, preds };
}
