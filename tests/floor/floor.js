// The floor page's only script: each pointer event repaints the output canvas (#reconstruction) at once, inside
// its handler, and does no other work. Whatever latency the benchmark measures here is the harness's own plus
// the wait for the next frame: the least any page can score.
const draw = document.getElementById('draw-canvas');
const plot = document.getElementById('latent-plot');
const input = document.getElementById('encoder-input');
const output = document.getElementById('reconstruction');
const out = output.getContext('2d');
const pen = draw.getContext('2d');
let last = null;

// A small dark mark whose place follows the pointer, so every repaint changes pixels.
const repaint = (fx, fy) => {
  out.fillStyle = '#fff';
  out.fillRect(0, 0, 28, 28);
  out.fillStyle = '#111';
  out.fillRect(Math.round(fx * 24), Math.round(fy * 24), 4, 4);
};
const fraction = (el, event) => {
  const r = el.getBoundingClientRect();
  return [(event.clientX - r.left) / r.width, (event.clientY - r.top) / r.height];
};

// The first view: ink on the input and output canvases, as the real page's first view has.
input.getContext('2d').fillStyle = '#111';
input.getContext('2d').fillRect(10, 4, 8, 20);
repaint(0.5, 0.5);

plot.addEventListener('pointermove', (event) => repaint(...fraction(plot, event)));
draw.addEventListener('pointerdown', (event) => {
  last = fraction(draw, event);
  repaint(...last);
});
draw.addEventListener('pointermove', (event) => {
  if (!last || !event.buttons) return;
  const next = fraction(draw, event);
  pen.lineWidth = 24;
  pen.lineCap = 'round';
  pen.beginPath();
  pen.moveTo(last[0] * draw.width, last[1] * draw.height);
  pen.lineTo(next[0] * draw.width, next[1] * draw.height);
  pen.stroke();
  last = next;
  repaint(...next);
});
draw.addEventListener('pointerup', () => { last = null; });
document.getElementById('clear-button').addEventListener('click', () => {
  pen.clearRect(0, 0, draw.width, draw.height);
  last = null;
  repaint(0.5, 0.5);
});
