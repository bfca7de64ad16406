// Getting the result out: copy its text, download it as JSON, or as text in the job's format
// (.txt, or .md/.html/.hocr for a single file in that format).

import { el } from './dom.js';
import { state } from './state.js';

// What a text format downloads as.
const FORMAT_FILES = {
  text: { ext: 'txt', type: 'text/plain;charset=utf-8' },
  markdown: { ext: 'md', type: 'text/markdown;charset=utf-8' },
  html: { ext: 'html', type: 'text/html;charset=utf-8' },
  hocr: { ext: 'hocr', type: 'application/xhtml+xml;charset=utf-8' },
};

function baseName(name) {
  const stem = String(name || 'result').replace(/\.[^.]+$/, '');
  return stem.replace(/[^\w.-]+/g, '_').slice(0, 80) || 'result';
}

// Set up the export buttons for a freshly shown result.
export function prepareExports(parsed, outputFormat) {
  // A single file in a text format downloads as that format (.md, .html, .hocr); anything else as text.
  parsed.download = parsed.kind === 'text' && parsed.files === 1 && FORMAT_FILES[outputFormat]
    ? FORMAT_FILES[outputFormat] : FORMAT_FILES.text;
  el.downloadTxt.textContent = `Download ${parsed.download.ext.toUpperCase()}`;
  el.copyText.disabled = !parsed.text;
  // Searchable PDFs have their own download links and no text here to copy or save.
  el.copyText.hidden = parsed.kind === 'documents';
  el.downloadTxt.hidden = parsed.kind === 'documents';
}

function flash(button, text) {
  const original = button.dataset.label || button.textContent;
  button.dataset.label = original;
  button.textContent = text;
  clearTimeout(button.flashTimer);
  button.flashTimer = setTimeout(() => { button.textContent = original; }, 1600);
}

async function copyText() {
  const text = state.result ? state.result.text : '';
  if (!text) return;
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch (_) { /* fall back below */ }
  if (!ok) {
    // Plain-HTTP deployments have no async clipboard; a hidden textarea still works there.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
    area.remove();
    el.copyText.focus();
  }
  flash(el.copyText, ok ? 'Copied' : 'Copy failed');
  el.jobText.textContent = ok ? 'Text copied to the clipboard.' : 'Could not copy; select the text and copy it by hand.';
}

function download(content, type, name) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.className = 'offscreen';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function initExports() {
  el.copyText.addEventListener('click', copyText);
  el.downloadJson.addEventListener('click', () => {
    if (!state.result) return;
    const raw = state.result.raw;
    const body = typeof raw === 'string' ? JSON.stringify({ output: raw }, null, 2) : JSON.stringify(raw, null, 2);
    download(`${body}\n`, 'application/json', `${baseName(state.result.fileName)}.json`);
  });
  el.downloadTxt.addEventListener('click', () => {
    if (!state.result) return;
    const text = state.result.text.endsWith('\n') ? state.result.text : `${state.result.text}\n`;
    const { ext, type } = state.result.download || FORMAT_FILES.text;
    download(text, type, `${baseName(state.result.fileName)}.${ext}`);
  });
}
