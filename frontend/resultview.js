// The Result card: its summary line, then either the pages with their lines or the raw output
// of a text format.

import { el } from './dom.js';
import { prepareExports } from './exports.js';
import { renderLines } from './lines.js';
import { parseResult } from './result.js';
import { state } from './state.js';
import { formatSeconds } from './util.js';
import { renderPages } from './viewer.js';

export function hideResult() {
  el.results.hidden = true;
  el.viewport.replaceChildren();
  el.lines.replaceChildren();
  el.rawOutput.textContent = '';
  state.result = null;
  state.selected = -1;
}

// Show a succeeded job's result (`payload`) for the current job.
export function showResult(payload) {
  const job = state.job;
  const parsed = parseResult(payload, job && job.fileUrls);
  parsed.fileName = job && job.files && job.files.length === 1 ? job.files[0].name || 'result' : 'results';
  state.result = parsed;
  state.selected = -1;
  el.results.hidden = false;

  const parts = [];
  if (parsed.files > 1) parts.push(`${parsed.files} files`);
  if (parsed.kind === 'lines') {
    const n = parsed.lines.length;
    parts.push(`${n} ${n === 1 ? 'line' : 'lines'}`);
    const pageCount = parsed.pages.filter((p) => !p.error).length;
    if (pageCount > 1) parts.push(`${pageCount} pages`);
  }
  if (parsed.processingTime != null) parts.push(`processed in ${formatSeconds(parsed.processingTime)}`);
  if (state.job && state.job.model) parts.push(state.job.model);
  el.summary.replaceChildren();
  parts.forEach((part, i) => {
    if (i) el.summary.append(' · ');
    const span = document.createElement('span');
    span.className = 'nowrap';
    span.textContent = part;
    el.summary.append(span);
  });

  if (parsed.kind === 'lines') {
    el.resultsBody.hidden = false;
    el.raw.hidden = true;
    renderPages(parsed);
    renderLines(parsed);
    const n = parsed.lines.length;
    el.jobText.textContent = n
      ? `Done: found ${n} ${n === 1 ? 'line' : 'lines'}${parsed.processingTime != null ? ` in ${formatSeconds(parsed.processingTime)}` : ''}.`
      : 'Done: no text was found.';
  } else {
    el.resultsBody.hidden = true;
    el.raw.hidden = false;
    // Always text, never markup: an HTML or hOCR payload is shown as its source.
    el.rawOutput.textContent = parsed.text;
    el.jobText.textContent = 'Done.';
  }
  prepareExports(parsed, job && job.outputFormat);
}
