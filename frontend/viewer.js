// The page viewer: each page (the uploaded image, or a blank page with its text redrawn) under
// an SVG overlay of the detected boxes in the page's own pixel space, with zoom and fit.

import { el, svgEl } from './dom.js';
import { state } from './state.js';

const ZOOM_STEPS = [0.1, 0.15, 0.25, 0.33, 0.5, 0.67, 0.75, 0.9, 1, 1.25, 1.5, 2, 3, 4];
const SOURCE_LABELS = { ocr: 'OCR', text_layer: 'text layer' };

export function boxFor(index) {
  return el.viewport.querySelector(`polygon.box[data-index="${index}"]`);
}

// Draw the parsed result's pages; records them as `parsed.stages` for sizing.
export function renderPages(parsed) {
  el.viewport.replaceChildren();
  parsed.stages = [];
  for (const page of parsed.pages) {
    if (page.error) continue; // shown in the lines panel
    const figure = document.createElement('figure');
    figure.className = 'page';
    const stage = document.createElement('div');
    stage.className = 'stage';
    const svg = svgEl('svg', { class: 'overlay', preserveAspectRatio: 'none', role: 'group', 'aria-label': 'Detected text boxes' });
    svg.append(blockLayer(page.blocks || [], labelSize(page.lines)));
    for (const line of page.lines) {
      if (line.points.length < 3) continue;
      const polygon = svgEl('polygon', {
        class: 'box',
        points: line.points.map((p) => p.join(',')).join(' '),
        'data-index': line.index,
        'vector-effect': 'non-scaling-stroke',
      });
      const title = svgEl('title');
      title.textContent = line.text;
      polygon.append(title);
      svg.append(polygon);
    }
    const entry = { page, stage, svg, width: page.width, height: page.height };
    parsed.stages.push(entry);

    if (page.image) {
      const img = document.createElement('img');
      img.className = 'page-image';
      img.alt = `${page.label || parsed.fileName} with ${page.lines.length} detected text boxes`;
      img.decoding = 'async';
      img.addEventListener('load', () => {
        entry.width = img.naturalWidth;
        entry.height = img.naturalHeight;
        sizeStage(entry);
      });
      img.addEventListener('error', () => {
        // The browser cannot display this format (TIFF, say): draw the boxes on a blank page instead.
        img.remove();
        blankPage(entry);
        sizeStage(entry);
      });
      img.src = page.image;
      stage.append(img);
    } else {
      blankPage(entry);
    }
    stage.append(svg);
    figure.append(stage);
    if (page.label) {
      const cap = document.createElement('figcaption');
      cap.textContent = page.source ? `${page.label} · ${SOURCE_LABELS[page.source] || page.source}` : page.label;
      figure.append(cap);
    }
    el.viewport.append(figure);
    if (entry.width && entry.height) sizeStage(entry);
  }
}

// The page's layout blocks under the line boxes: a frame per block, its reading-order number
// and type in a tag at its top left (e.g. "3 heading"), as large as the page's usual text.
function labelSize(lines) {
  const heights = lines.filter((l) => l.points.length >= 3)
    .map((l) => Math.max(...l.points.map((p) => p[1])) - Math.min(...l.points.map((p) => p[1])))
    .sort((a, b) => a - b);
  return heights.length ? Math.max(10, 0.8 * heights[Math.floor(heights.length / 2)]) : 14;
}

function blockLayer(blocks, size) {
  const group = svgEl('g', { class: 'blocks', 'aria-label': 'Layout blocks in reading order' });
  for (const block of blocks) {
    const [x0, y0, x1, y1] = block.box;
    const item = svgEl('g', { class: `block block-${block.type}`, 'data-order': block.order, 'data-type': block.type });
    item.append(svgEl('rect', {
      x: x0 - 4, y: y0 - 4, width: Math.max(1, x1 - x0 + 8), height: Math.max(1, y1 - y0 + 8),
      'vector-effect': 'non-scaling-stroke',
    }));
    const label = svgEl('text', { x: x0 - 4, y: y0 - 8, class: 'block-label', 'font-size': size });
    label.textContent = `${block.order} ${block.type.replace('_', ' ')}`;
    item.append(label);
    group.append(item);
  }
  return group;
}

// Without an image to show, reconstruct the page: its lines' text drawn inside their boxes.
function blankPage(entry) {
  entry.stage.classList.add('is-blank');
  if (!entry.width || !entry.height) {
    let w = 1;
    let h = 1;
    for (const line of entry.page.lines) for (const [x, y] of line.points) { w = Math.max(w, x); h = Math.max(h, y); }
    entry.width = Math.ceil(w * 1.05);
    entry.height = Math.ceil(h * 1.05);
  }
  const group = svgEl('g', { class: 'ghost-text', 'aria-hidden': 'true' });
  for (const line of entry.page.lines) {
    if (line.points.length < 3 || !line.text) continue;
    const xs = line.points.map((p) => p[0]);
    const ys = line.points.map((p) => p[1]);
    const x = Math.min(...xs);
    const bottom = Math.max(...ys);
    const height = bottom - Math.min(...ys);
    const width = Math.max(...xs) - x;
    if (height <= 0 || width <= 0) continue;
    const text = svgEl('text', {
      x, y: bottom - height * 0.22, 'font-size': height * 0.78, textLength: width, lengthAdjust: 'spacingAndGlyphs',
    });
    text.textContent = line.text;
    group.append(text);
  }
  entry.svg.prepend(group);
}

function fitScale(entry) {
  const styles = getComputedStyle(el.viewport);
  const padX = parseFloat(styles.paddingLeft) + parseFloat(styles.paddingRight);
  const padY = parseFloat(styles.paddingTop) + parseFloat(styles.paddingBottom);
  const availW = Math.max(50, el.viewport.clientWidth - padX);
  // One page fits whole inside the viewport; several pages fit their width and scroll.
  const single = state.result && state.result.stages && state.result.stages.length === 1;
  // A single page keeps its caption (e.g. "Page 2 · OCR") in view too.
  const caption = single ? entry.stage.parentNode.querySelector('figcaption') : null;
  const captionH = caption ? caption.offsetHeight + parseFloat(getComputedStyle(caption).marginTop) : 0;
  const availH = single ? Math.max(50, el.viewport.clientHeight - padY - captionH) : Infinity;
  return Math.min(1, availW / entry.width, availH / entry.height);
}

function sizeStage(entry) {
  // An image may finish loading after a newer result replaced the one it belongs to.
  if (!state.result || !state.result.stages || !state.result.stages.includes(entry)) return;
  if (!entry.width || !entry.height) return;
  entry.svg.setAttribute('viewBox', `0 0 ${entry.width} ${entry.height}`);
  const scale = state.zoom === 'fit' ? fitScale(entry) : state.zoom;
  entry.scale = scale;
  entry.stage.style.width = `${Math.max(1, Math.round(entry.width * scale))}px`;
  entry.stage.style.height = `${Math.max(1, Math.round(entry.height * scale))}px`;
  if (entry === state.result.stages[0]) updateZoomControls(scale);
}

function sizeAll() {
  if (!state.result || !state.result.stages) return;
  for (const entry of state.result.stages) sizeStage(entry);
}

function updateZoomControls(scale) {
  el.zoomLevel.textContent = `${Math.round(scale * 100)}%`;
  el.zoomFit.setAttribute('aria-pressed', String(state.zoom === 'fit'));
  el.zoomActual.setAttribute('aria-pressed', String(state.zoom === 1));
  el.zoomOut.disabled = scale <= ZOOM_STEPS[0] + 1e-6;
  el.zoomIn.disabled = scale >= ZOOM_STEPS[ZOOM_STEPS.length - 1] - 1e-6;
}

function currentScale() {
  const first = state.result && state.result.stages && state.result.stages[0];
  return first && first.scale ? first.scale : 1;
}

function setZoom(zoom) {
  state.zoom = zoom;
  sizeAll();
  const sel = state.selected >= 0 ? boxFor(state.selected) : null;
  if (sel) sel.scrollIntoView({ block: 'center', inline: 'center' });
}

export function initViewer() {
  el.zoomIn.addEventListener('click', () => {
    const s = currentScale();
    setZoom(ZOOM_STEPS.find((z) => z > s + 1e-3) ?? ZOOM_STEPS[ZOOM_STEPS.length - 1]);
  });
  el.zoomOut.addEventListener('click', () => {
    const s = currentScale();
    setZoom([...ZOOM_STEPS].reverse().find((z) => z < s - 1e-3) ?? ZOOM_STEPS[0]);
  });
  el.zoomFit.addEventListener('click', () => setZoom('fit'));
  el.zoomActual.addEventListener('click', () => setZoom(1));
  if ('ResizeObserver' in window) {
    new ResizeObserver(() => { if (state.zoom === 'fit') sizeAll(); }).observe(el.viewport);
  } else {
    window.addEventListener('resize', () => { if (state.zoom === 'fit') sizeAll(); });
  }
}
