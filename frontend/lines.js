// The lines panel: the recognised lines with their confidence, grouped by page, linked both ways
// to their boxes in the viewer (hover, click, keyboard).

import { el } from './dom.js';
import { state } from './state.js';
import { boxFor } from './viewer.js';

function confidenceClass(c) {
  if (c == null) return 'conf-unknown';
  if (c >= 0.9) return 'conf-high';
  if (c >= 0.75) return 'conf-mid';
  return 'conf-low';
}

export function renderLines(parsed) {
  el.lines.replaceChildren();
  const n = parsed.lines.length;
  el.lineCount.textContent = String(n);
  if (!n && !parsed.pages.some((p) => p.error)) {
    const empty = document.createElement('p');
    empty.className = 'empty';
    empty.textContent = parsed.files > 1 ? 'No text was found in these files.' : 'No text was found in this file.';
    el.lines.append(empty);
    return;
  }
  let first = true;
  for (const page of parsed.pages) {
    if (parsed.pages.length > 1) {
      const heading = document.createElement('h4');
      heading.className = 'page-heading';
      heading.textContent = page.label;
      el.lines.append(heading);
    }
    if (page.error) {
      const failed = document.createElement('p');
      failed.className = 'empty file-error';
      failed.textContent = `Could not read this file. ${page.error}`;
      el.lines.append(failed);
      continue;
    }
    if (!page.lines.length) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = 'No text on this page.';
      el.lines.append(empty);
      continue;
    }
    const list = document.createElement('ol');
    list.className = 'lines';
    list.start = page.lines[0].index + 1;
    list.setAttribute('aria-label', page.label ? `Lines on ${page.label.toLowerCase()}` : 'Recognized lines');
    for (const line of page.lines) {
      const li = document.createElement('li');
      li.className = 'line';
      li.dataset.index = String(line.index);
      li.tabIndex = first ? 0 : -1;
      first = false;
      const no = document.createElement('span');
      no.className = 'line-no';
      no.setAttribute('aria-hidden', 'true');
      no.textContent = String(line.index + 1);
      const text = document.createElement('span');
      text.className = 'line-text';
      text.textContent = line.text || '(empty)';
      const conf = document.createElement('span');
      conf.className = `conf ${confidenceClass(line.confidence)}`;
      conf.textContent = line.confidence == null ? '–' : `${(line.confidence * 100).toFixed(1)}%`;
      conf.setAttribute('aria-label', line.confidence == null ? 'confidence unknown' : `confidence ${conf.textContent}`);
      li.append(no, text, conf);
      list.append(li);
    }
    el.lines.append(list);
  }
}

// ---------- linking lines and boxes ----------

function itemFor(index) {
  return el.lines.querySelector(`li.line[data-index="${index}"]`);
}

function setHot(index, on) {
  const box = boxFor(index);
  const item = itemFor(index);
  if (box) box.classList.toggle('is-hot', on);
  if (item) item.classList.toggle('is-hot', on);
}

function select(index, { scrollBox = true, scrollItem = true, focusItem = false } = {}) {
  if (state.selected >= 0) {
    const oldBox = boxFor(state.selected);
    const oldItem = itemFor(state.selected);
    if (oldBox) oldBox.classList.remove('is-selected');
    if (oldItem) {
      oldItem.classList.remove('is-selected');
      oldItem.removeAttribute('aria-current');
    }
  }
  state.selected = index;
  const box = boxFor(index);
  const item = itemFor(index);
  if (box) {
    box.classList.add('is-selected');
    // Paint the selected box last so neighbours do not cover its outline.
    box.parentNode.append(box);
    if (scrollBox) scrollBoxIntoView(box);
  }
  if (item) {
    item.classList.add('is-selected');
    item.setAttribute('aria-current', 'true');
    for (const other of el.lines.querySelectorAll('li.line[tabindex="0"]')) if (other !== item) other.tabIndex = -1;
    item.tabIndex = 0;
    if (focusItem) item.focus({ preventScroll: true });
    if (scrollItem) scrollWithin(el.lines, item);
  }
}

// Scroll only the given container, never the whole page.
function scrollWithin(container, node) {
  const c = container.getBoundingClientRect();
  const r = node.getBoundingClientRect();
  if (r.top < c.top) container.scrollTop -= c.top - r.top + 8;
  else if (r.bottom > c.bottom) container.scrollTop += r.bottom - c.bottom + 8;
}

function scrollBoxIntoView(box) {
  const c = el.viewport.getBoundingClientRect();
  const r = box.getBoundingClientRect();
  const margin = 24;
  if (r.top < c.top + margin || r.bottom > c.bottom - margin) {
    el.viewport.scrollTop += r.top - c.top - (c.height - r.height) / 2;
  }
  if (r.left < c.left + margin || r.right > c.right - margin) {
    el.viewport.scrollLeft += r.left - c.left - (c.width - r.width) / 2;
  }
}

const indexOf = (node) => {
  const holder = node && node.closest && node.closest('[data-index]');
  return holder ? Number(holder.dataset.index) : -1;
};

export function initLines() {
  el.viewport.addEventListener('mouseover', (ev) => {
    const i = indexOf(ev.target);
    if (i >= 0) setHot(i, true);
  });
  el.viewport.addEventListener('mouseout', (ev) => {
    const i = indexOf(ev.target);
    if (i >= 0) setHot(i, false);
  });
  el.viewport.addEventListener('click', (ev) => {
    const i = indexOf(ev.target);
    if (i >= 0) select(i, { scrollBox: false });
  });
  el.lines.addEventListener('mouseover', (ev) => {
    const i = indexOf(ev.target);
    if (i >= 0) setHot(i, true);
  });
  el.lines.addEventListener('mouseout', (ev) => {
    const i = indexOf(ev.target);
    if (i >= 0) setHot(i, false);
  });
  el.lines.addEventListener('click', (ev) => {
    const i = indexOf(ev.target);
    if (i >= 0) select(i, { scrollItem: false, focusItem: true });
  });
  el.lines.addEventListener('focusin', (ev) => {
    const i = indexOf(ev.target);
    if (i >= 0 && i !== state.selected) select(i, { scrollItem: true });
  });
  el.lines.addEventListener('keydown', (ev) => {
    const i = indexOf(ev.target);
    if (i < 0 || !state.result) return;
    const last = state.result.lines.length - 1;
    let next = null;
    if (ev.key === 'ArrowDown') next = Math.min(last, i + 1);
    else if (ev.key === 'ArrowUp') next = Math.max(0, i - 1);
    else if (ev.key === 'Home') next = 0;
    else if (ev.key === 'End') next = last;
    else if (ev.key === 'PageDown') next = Math.min(last, i + 10);
    else if (ev.key === 'PageUp') next = Math.max(0, i - 10);
    if (next === null) return;
    ev.preventDefault();
    select(next, { focusItem: true });
  });
}
