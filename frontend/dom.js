// The page's elements by role, looked up once (module scripts run after the document is parsed),
// and a helper to make SVG nodes.

const SVG_NS = 'http://www.w3.org/2000/svg';
const byId = (id) => document.getElementById(id);

export const el = {
  form: byId('ocr-form'),
  dropzone: byId('dropzone'),
  fileInput: byId('file-input'),
  dropLabel: byId('drop-label'),
  dropTitle: byId('drop-title'),
  selected: byId('selected'),
  thumb: byId('thumb'),
  docIcon: byId('doc-icon'),
  fileName: byId('file-name'),
  fileMeta: byId('file-meta'),
  clearFile: byId('clear-file'),
  model: byId('model'),
  modelHint: byId('model-hint'),
  outputFormat: byId('output-format'),
  useAngleCls: byId('use-angle-cls'),
  pageRange: byId('page-range'),
  forceOcr: byId('force-ocr'),
  paginate: byId('paginate'),
  submit: byId('submit'),
  submitHint: byId('submit-hint'),
  error: byId('error'),
  errorText: byId('error-text'),
  job: byId('job'),
  jobBadge: byId('job-badge'),
  jobText: byId('job-text'),
  cancel: byId('cancel'),
  progress: byId('progress'),
  progressBar: byId('progress-bar'),
  results: byId('results'),
  summary: byId('summary'),
  copyText: byId('copy-text'),
  downloadJson: byId('download-json'),
  downloadTxt: byId('download-txt'),
  resultsBody: byId('results-body'),
  viewport: byId('viewport'),
  zoomIn: byId('zoom-in'),
  zoomOut: byId('zoom-out'),
  zoomFit: byId('zoom-fit'),
  zoomActual: byId('zoom-actual'),
  zoomLevel: byId('zoom-level'),
  lines: byId('lines'),
  lineCount: byId('line-count'),
  documents: byId('documents'),
  documentList: byId('document-list'),
  raw: byId('raw'),
  rawOutput: byId('raw-output'),
};

export function svgEl(name, attrs) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

export function showError(text) {
  el.errorText.textContent = text;
  el.error.hidden = false;
}

export function clearError() {
  el.error.hidden = true;
  el.errorText.textContent = '';
}
