// The Result card: its summary line, then either the pages with their lines or the raw output
// of a text format.

import { el } from './dom.js';
import { prepareExports } from './exports.js';
import { renderLines } from './lines.js';
import { parseResult } from './result.js';
import { state } from './state.js';
import { formatBytes, formatSeconds } from './util.js';
import { renderPages } from './viewer.js';

export function hideResult() {
  el.results.hidden = true;
  el.viewport.replaceChildren();
  el.lines.replaceChildren();
  el.documentList.replaceChildren();
  el.documents.hidden = true;
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
  } else if (parsed.kind === 'documents' && parsed.documents.length > 1) {
    parts.push(`${parsed.documents.length} PDFs`);
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

  el.documents.hidden = parsed.kind !== 'documents';
  if (parsed.kind === 'documents') {
    // Searchable PDFs are files to download, never shown as text.
    el.resultsBody.hidden = true;
    el.raw.hidden = true;
    renderDocuments(parsed);
    const n = parsed.documents.length;
    el.jobText.textContent = n
      ? `Done: ${n === 1 ? 'your searchable PDF is' : `${n} searchable PDFs are`} ready to download.`
      : 'Done, but no file could be made into a PDF.';
  } else if (parsed.kind === 'lines') {
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

// One row per searchable PDF: a download link (the server sends it as an attachment) and what it holds.
function renderDocuments(parsed) {
  const items = parsed.documents.map((doc) => {
    const li = document.createElement('li');
    li.className = 'document';
    const link = document.createElement('a');
    link.className = 'btn btn-primary document-link';
    link.href = doc.url;
    link.download = doc.filename;
    link.textContent = `Download ${doc.filename}`;
    const meta = document.createElement('span');
    meta.className = 'document-meta';
    const facts = [];
    if (Number.isFinite(doc.pages)) facts.push(`${doc.pages} ${doc.pages === 1 ? 'page' : 'pages'}`);
    if (Number.isFinite(doc.bytes)) facts.push(formatBytes(doc.bytes));
    if (doc.files.length > 1 || (doc.files.length && parsed.files > 1)) facts.push(`from ${doc.files.join(', ')}`);
    meta.textContent = facts.join(' · ');
    li.append(link, meta);
    return li;
  });
  for (const failure of parsed.failed) {
    const li = document.createElement('li');
    li.className = 'document file-error';
    li.textContent = `${failure.name}: ${failure.error}`;
    items.push(li);
  }
  el.documentList.replaceChildren(...items);
}
