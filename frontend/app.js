// Web UI for the OCR service: pick files, submit them as a job, poll it, show the result.
// Entry module: wires the parts together and loads the server's models and limits.
// Plain browser JavaScript modules, no build step, no third-party code; runs under `default-src 'self'`.
//
//   api.js        requests to the gateway, its limits and job statuses, errors as sentences
//   files.js      the picker, drag and drop, paste, the selected file's thumbnail
//   job.js        submitting, polling and canceling a job; its status and progress
//   result.js     the result model: every result shape as pages of lines, or text
//   resultview.js the Result card: summary, pages and lines, or raw output
//   viewer.js     the zoomable page viewer with the detected boxes
//   lines.js      the lines panel, linked to the boxes
//   exports.js    copy and downloads
//   dom.js, state.js, util.js  elements, shared state, small helpers

import { fetchModels, loadLimits } from './api.js';
import { el } from './dom.js';
import { initExports } from './exports.js';
import { initFiles } from './files.js';
import { initJob, updateSubmit } from './job.js';
import { initLines } from './lines.js';
import { initViewer } from './viewer.js';

async function loadModels() {
  try {
    const body = await fetchModels();
    const models = Array.isArray(body.models) ? body.models : [];
    if (!models.length) throw new Error('empty');
    el.model.replaceChildren();
    for (const name of models) {
      const opt = new Option(name === body.default ? `${name} (default)` : name, name);
      if (name === body.default) opt.selected = true;
      el.model.append(opt);
    }
    el.modelHint.textContent = models.length === 1 ? 'One model set installed.' : `${models.length} model sets installed.`;
  } catch (_) {
    el.modelHint.textContent = 'Could not load the model list; the server default will be used.';
  }
}

initFiles(updateSubmit);
initJob();
initViewer();
initLines();
initExports();

if (/Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)) {
  const key = document.querySelector('#drop-hint kbd');
  if (key) key.textContent = '⌘';
}
updateSubmit();
loadLimits();
loadModels();
