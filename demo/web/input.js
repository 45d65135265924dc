// The input panel: a 16×16 grid of the bundled test images to pick from, a drawing pad whose
// strokes are averaged down to 28×28 (white on black, as the training images), and the preview.

const SIDE = 28;
const COLS = 16;

function putGray(ctx, pixels, x, y) {
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = pixels[i];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, x, y);
}

/** The pad's 280×280 strokes as 28×28 bytes: the mean of each 10×10 block. */
function padPixels(pad) {
  const k = pad.width / SIDE;
  const rgba = pad.getContext('2d').getImageData(0, 0, pad.width, pad.height).data;
  const out = new Uint8Array(SIDE * SIDE);
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      let s = 0;
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) s += rgba[4 * ((r * k + y) * pad.width + c * k + x)];
      out[r * SIDE + c] = Math.round(s / (k * k));
    }
  }
  return out;
}

/**
 * images: Uint8Array of N·784; labels: Uint8Array of N; onImage(pixels, { index?, label? }) is
 * called with each new 28×28 image. Returns { select(index) }, which returns what onImage does.
 */
export function setupInput({ images, labels, classes, onImage }) {
  const n = labels.length;
  const grid = document.getElementById('grid');
  const gctx = grid.getContext('2d');
  const preview = document.getElementById('preview').getContext('2d');
  const truth = document.getElementById('truth');
  let selected = -1;

  function drawGrid() {
    for (let i = 0; i < n; i++) putGray(gctx, images.subarray(i * 784, (i + 1) * 784), (i % COLS) * SIDE, Math.floor(i / COLS) * SIDE);
    if (selected >= 0) {
      gctx.strokeStyle = '#a78bfa';
      gctx.lineWidth = 2;
      gctx.strokeRect((selected % COLS) * SIDE + 1, Math.floor(selected / COLS) * SIDE + 1, SIDE - 2, SIDE - 2);
    }
  }

  function show(pixels, info) {
    putGray(preview, pixels, 0, 0);
    truth.textContent = info.label === undefined ? 'your drawing' : `${classes[info.label]} · test image #${info.index}`;
    return onImage(pixels, info);
  }

  function select(index) {
    selected = index;
    drawGrid();
    return show(images.slice(index * 784, (index + 1) * 784), { index, label: labels[index] });
  }

  grid.addEventListener('click', (e) => {
    const r = grid.getBoundingClientRect();
    const c = Math.floor(((e.clientX - r.left) / r.width) * COLS);
    const row = Math.floor(((e.clientY - r.top) / r.height) * (n / COLS));
    const i = row * COLS + c;
    if (i >= 0 && i < n) select(i);
  });

  const pad = document.getElementById('pad');
  const pctx = pad.getContext('2d');
  const clear = () => {
    pctx.fillStyle = '#000';
    pctx.fillRect(0, 0, pad.width, pad.height);
  };
  clear();
  let last = null;
  let pending = false;
  const point = (e) => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * pad.width, ((e.clientY - r.top) / r.height) * pad.height];
  };
  const classifyDrawing = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      show(padPixels(pad), {});
    });
  };
  pad.addEventListener('pointerdown', (e) => {
    pad.setPointerCapture(e.pointerId);
    last = point(e);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = point(e);
    pctx.strokeStyle = '#fff';
    pctx.lineWidth = 24;
    pctx.lineCap = pctx.lineJoin = 'round';
    pctx.beginPath();
    pctx.moveTo(...last);
    pctx.lineTo(...p);
    pctx.stroke();
    last = p;
  });
  const end = () => {
    if (!last) return;
    last = null;
    classifyDrawing();
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  document.getElementById('clear').addEventListener('click', () => {
    clear();
    classifyDrawing();
  });

  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => {
      for (const t of document.querySelectorAll('.tab')) t.classList.toggle('active', t === tab);
      document.getElementById('tab-pick').classList.toggle('hidden', tab.dataset.tab !== 'pick');
      document.getElementById('tab-draw').classList.toggle('hidden', tab.dataset.tab !== 'draw');
    });
  }
  drawGrid();
  return { select };
}
