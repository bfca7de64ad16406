// Web UI for the OCR service: pick a file, submit it as a job, poll it, show the result.
// Plain browser JavaScript, no build step, no third-party code; runs under `default-src 'self'`.
'use strict';

(() => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
  const ZOOM_STEPS = [0.1, 0.15, 0.25, 0.33, 0.5, 0.67, 0.75, 0.9, 1, 1.25, 1.5, 2, 3, 4];
  const POLL_FIRST_MS = 250;
  const POLL_MAX_MS = 2000;
  const POLL_NETWORK_RETRIES = 8;
  const STATE_LABELS = {
    uploading: 'Uploading',
    queued: 'Queued',
    running: 'Running',
    succeeded: 'Succeeded',
    failed: 'Failed',
    canceled: 'Canceled',
  };
  // Result payloads for non-JSON formats may arrive wrapped in an object under one of these keys.
  const TEXT_KEYS = ['text', 'markdown', 'html', 'hocr', 'output', 'content'];

  const byId = (id) => document.getElementById(id);
  const el = {
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
    raw: byId('raw'),
    rawOutput: byId('raw-output'),
  };

  // What a text format downloads as.
  const FORMAT_FILES = {
    text: { ext: 'txt', type: 'text/plain;charset=utf-8' },
    markdown: { ext: 'md', type: 'text/markdown;charset=utf-8' },
    html: { ext: 'html', type: 'text/html;charset=utf-8' },
    hocr: { ext: 'hocr', type: 'application/xhtml+xml;charset=utf-8' },
  };

  const state = {
    files: [], // the selected files, sent together as one job
    fileUrls: [], // an object URL per selected image (null for a PDF), to show it under its boxes
    job: null, // {id, url, status, submittedAt, abort, pollTimer, gen, files, fileUrls, model, outputFormat}
    gen: 0, // bumps on every submission so late answers for an older job are ignored
    result: null, // {raw, pages: [{width, height, image, label, lines}], lines: [...], text}
    zoom: 'fit', // 'fit' or a scale factor relative to the page's natural size
    selected: -1,
  };

  // ---------- small helpers ----------

  function sentence(text) {
    let s = String(text || '').trim();
    if (!s) return '';
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : `${s}.`;
  }

  function formatBytes(n) {
    if (!Number.isFinite(n)) return '';
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
    return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  }

  function formatSeconds(s) {
    if (!Number.isFinite(s)) return '';
    return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
  }

  function isPdf(file) {
    return file.type === 'application/pdf' || /\.pdf$/i.test(file.name || '');
  }

  function svgEl(name, attrs) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function baseName(name) {
    const stem = String(name || 'result').replace(/\.[^.]+$/, '');
    return stem.replace(/[^\w.-]+/g, '_').slice(0, 80) || 'result';
  }

  // Seconds to wait from a Retry-After header: either delta-seconds or an HTTP date.
  function retryAfterSeconds(value) {
    if (!value) return null;
    const n = Number(value);
    if (Number.isFinite(n)) return Math.max(1, Math.ceil(n));
    const when = Date.parse(value);
    if (Number.isNaN(when)) return null;
    return Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  // ---------- errors as plain sentences ----------

  async function readError(response) {
    let code = '';
    let message = '';
    try {
      const body = await response.json();
      const err = body && (body.error || body);
      if (err && typeof err === 'object') {
        code = String(err.code || '');
        message = String(err.message || '');
      } else if (typeof err === 'string') {
        message = err;
      }
    } catch (_) {
      // Not JSON (a proxy's HTML page, for instance): fall back to the status alone.
    }
    return { status: response.status, code, message, retryAfter: retryAfterSeconds(response.headers.get('Retry-After')) };
  }

  function megabytes(bytes) {
    const mb = bytes / (1024 * 1024);
    return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
  }

  // The server's messages are sentences already; add the plain-language frame around the ones that need it.
  function errorSentence({ status, code, message, retryAfter }) {
    const msg = sentence(message);
    switch (status) {
      case 413: {
        if (code === 'too_many_pixels') {
          const px = /limit is (\d+) pixels/i.exec(message || '');
          return px
            ? `That image has too many pixels (limit ${(Number(px[1]) / 1e6).toFixed(1).replace(/\.0$/, '')} megapixels).`
            : 'That image has too many pixels; scale it down and try again.';
        }
        const bytes = /limit (?:is|of) (\d+) bytes/i.exec(message || '');
        if (bytes) return `That file is too large (limit ${megabytes(Number(bytes[1]))}).`;
        const size = /(\d+(?:\.\d+)?\s*[KMG]i?B)/i.exec(message || '');
        if (size) return `That file is too large (limit ${size[1].replace(/\s+/, ' ')}).`;
        return 'That file is too large.';
      }
      case 415:
        return msg || 'That file type is not supported; upload a PDF or a PNG, JPEG, WebP, BMP or TIFF image.';
      case 422:
        return msg || 'The file could not be read as an image or PDF.';
      case 503:
        return retryAfter
          ? `The service is busy; try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`
          : 'The service is busy; try again shortly.';
      case 504:
        return msg ? `The server took too long to answer. ${msg}` : 'The server took too long to answer; try again, or try a smaller image.';
      case 404:
        return code === 'not_found' && /job/i.test(message || '') ? msg : 'That job no longer exists; it may have expired.';
      case 409:
        return msg || 'That job has already finished.';
      case 400:
        return msg || 'The request was not accepted.';
      default:
        if (msg) return msg;
        if (status >= 500) return `Something went wrong on the server (HTTP ${status}); try again in a moment.`;
        return `The request failed (HTTP ${status}${code ? `, ${code}` : ''}).`;
    }
  }

  function showError(text) {
    el.errorText.textContent = text;
    el.error.hidden = false;
  }

  function clearError() {
    el.error.hidden = true;
    el.errorText.textContent = '';
  }

  const NETWORK_ERROR = 'Could not reach the server. Check the connection and try again.';

  // ---------- file selection: picker, drag and drop, paste ----------

  // Object URLs live while the selection or the current job (and so its result view) uses them.
  function releaseUrls(urls) {
    const inUse = new Set([...state.fileUrls, ...((state.job && state.job.fileUrls) || [])]);
    for (const url of urls || []) if (url && !inUse.has(url)) URL.revokeObjectURL(url);
  }

  function kindOf(file) {
    return isPdf(file) ? 'PDF' : (file.type || 'unknown type').replace(/^image\//, '').toUpperCase();
  }

  function setFiles(list, how) {
    const files = Array.from(list || []).filter(Boolean);
    if (!files.length) return;
    const old = state.fileUrls;
    state.files = files;
    state.fileUrls = files.map((f) => (isPdf(f) ? null : URL.createObjectURL(f)));
    releaseUrls(old);
    clearError();

    const first = files[0];
    const size = formatBytes(files.reduce((sum, f) => sum + f.size, 0));
    if (files.length === 1) {
      el.fileName.textContent = first.name || 'Pasted image';
      el.fileMeta.textContent = `${kindOf(first)} · ${size}${how ? ` · ${how}` : ''}`;
    } else {
      el.fileName.textContent = files.map((f) => f.name || 'Pasted image').join(', ');
      const kinds = [...new Set(files.map(kindOf))].join(', ');
      el.fileMeta.textContent = `${files.length} files (${kinds}) · ${size}${how ? ` · ${how}` : ''}`;
    }
    el.fileName.title = el.fileName.textContent;
    const showThumb = files.length === 1 && !isPdf(first) && (!first.type || first.type.startsWith('image/'));
    el.thumb.hidden = !showThumb;
    el.docIcon.hidden = showThumb;
    if (showThumb) {
      el.thumb.src = state.fileUrls[0];
      el.thumb.onerror = () => { el.thumb.hidden = true; el.docIcon.hidden = false; };
    } else {
      el.thumb.removeAttribute('src');
    }
    el.selected.hidden = false;
    el.dropzone.classList.add('has-file');
    el.dropTitle.textContent = files.length === 1 ? 'Drop another file to replace it' : 'Drop other files to replace them';
    updateSubmit();
  }

  function clearFile() {
    const old = state.fileUrls;
    state.files = [];
    state.fileUrls = [];
    releaseUrls(old);
    el.fileInput.value = '';
    el.thumb.removeAttribute('src');
    el.selected.hidden = true;
    el.dropzone.classList.remove('has-file');
    el.dropTitle.textContent = 'Drop images or PDFs here';
    updateSubmit();
    el.fileInput.focus();
  }

  function jobActive() {
    return Boolean(state.job && !TERMINAL.has(state.job.status));
  }

  function updateSubmit() {
    const busy = jobActive();
    el.submit.disabled = !state.files.length || busy;
    el.submitHint.textContent = busy
      ? 'A job is in progress; cancel it to start another.'
      : state.files.length ? 'Ready.' : 'Choose a file to start.';
  }

  el.fileInput.addEventListener('change', () => {
    if (el.fileInput.files && el.fileInput.files.length) setFiles(el.fileInput.files);
  });
  el.clearFile.addEventListener('click', clearFile);

  // Accept drops anywhere on the page, so a near miss does not navigate away to the file.
  let dragDepth = 0;
  const hasFiles = (ev) => ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files');
  window.addEventListener('dragenter', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    dragDepth += 1;
    el.dropzone.classList.add('is-dragging');
  });
  window.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('dragleave', (ev) => {
    if (!hasFiles(ev)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) el.dropzone.classList.remove('is-dragging');
  });
  window.addEventListener('drop', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    dragDepth = 0;
    el.dropzone.classList.remove('is-dragging');
    const files = ev.dataTransfer.files;
    if (files && files.length) setFiles(files, 'dropped');
  });

  document.addEventListener('paste', (ev) => {
    const data = ev.clipboardData;
    if (!data) return;
    let file = null;
    for (const item of Array.from(data.items || [])) {
      if (item.kind === 'file') {
        file = item.getAsFile();
        if (file) break;
      }
    }
    if (!file && data.files && data.files.length) file = data.files[0];
    if (!file) return;
    ev.preventDefault();
    if (!file.name || file.name === 'image.png') {
      const ext = (file.type.split('/')[1] || 'png').replace('jpeg', 'jpg');
      file = new File([file], `pasted-image.${ext}`, { type: file.type || 'image/png' });
    }
    setFiles([file], 'pasted');
  });

  // ---------- models ----------

  async function loadModels() {
    try {
      const response = await fetch('/models', { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new Error(String(response.status));
      const body = await response.json();
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

  // ---------- submitting and polling ----------

  function setJobView(status, text, progress) {
    el.job.hidden = false;
    el.jobBadge.dataset.state = status;
    el.jobBadge.textContent = STATE_LABELS[status] || sentence(status).replace(/\.$/, '');
    el.jobText.textContent = text;
    el.cancel.hidden = TERMINAL.has(status);
    el.cancel.disabled = false;
    el.cancel.textContent = 'Cancel';
    const showBar = status === 'uploading' || status === 'queued' || status === 'running';
    el.progress.hidden = !showBar;
    if (showBar) {
      const determinate = progress && progress.total > 0;
      el.progress.classList.toggle('is-indeterminate', !determinate);
      el.progress.setAttribute('role', 'progressbar');
      el.progress.setAttribute('aria-label', 'Job progress');
      if (determinate) {
        const pct = Math.min(100, Math.round((100 * progress.done) / progress.total));
        el.progressBar.style.width = `${pct}%`;
        el.progress.setAttribute('aria-valuenow', String(pct));
        el.progress.setAttribute('aria-valuemin', '0');
        el.progress.setAttribute('aria-valuemax', '100');
      } else {
        el.progressBar.style.width = '';
        el.progress.removeAttribute('aria-valuenow');
      }
    }
  }

  function elapsed() {
    return state.job ? (performance.now() - state.job.submittedAt) / 1000 : 0;
  }

  function renderJob(job) {
    const status = job.status;
    // Progress only means something for several pages; a single image reports 0 of 1 until it is done.
    const progress = job.progress && Number(job.progress.total) > 1 ? job.progress : null;
    let text;
    switch (status) {
      case 'queued':
        text = `Waiting for a worker… (${Math.floor(elapsed())} s)`;
        break;
      case 'running':
        text = progress
          ? `Recognizing text: ${progress.done} of ${progress.total} pages done.`
          : 'Recognizing text…';
        break;
      case 'succeeded':
        text = 'Done.';
        break;
      case 'failed':
        text = 'The job failed; see the message above.';
        break;
      case 'canceled':
        text = 'The job was canceled.';
        break;
      default:
        text = `Status: ${status}.`;
    }
    setJobView(status, text, progress);
  }

  function stopPolling() {
    if (state.job && state.job.pollTimer) {
      clearTimeout(state.job.pollTimer);
      state.job.pollTimer = null;
    }
  }

  function finishJob(job) {
    state.job.status = job.status;
    stopPolling();
    renderJob(job);
    updateSubmit();
    if (job.status === 'succeeded') {
      showResult(job.result);
    } else if (job.status === 'failed') {
      const err = job.error || {};
      showError(err.message ? `Recognition failed. ${sentence(err.message)}` : 'Recognition failed on the server.');
    }
  }

  async function submit(ev) {
    ev.preventDefault();
    if (!state.files.length || jobActive()) return;
    clearError();
    hideResult();

    const gen = ++state.gen;
    const abort = new AbortController();
    const previous = state.job;
    state.job = {
      id: null, url: null, status: 'uploading', submittedAt: performance.now(), abort, pollTimer: null, gen,
      files: state.files, fileUrls: state.fileUrls, model: el.model.value, outputFormat: el.outputFormat.value,
    };
    if (previous) releaseUrls(previous.fileUrls);
    updateSubmit();
    const what = state.files.length === 1 ? state.files[0].name || 'the image' : `${state.files.length} files`;
    setJobView('uploading', `Uploading ${what}…`, null);

    const form = new FormData();
    for (const file of state.files) form.append('file', file, file.name || 'image');
    if (el.model.value) form.append('model', el.model.value);
    form.append('use_angle_cls', el.useAngleCls.checked ? 'true' : 'false');
    form.append('output_format', el.outputFormat.value);
    form.append('force_ocr', el.forceOcr.checked ? 'true' : 'false');
    form.append('paginate_output', el.paginate.checked ? 'true' : 'false');
    const pageRange = el.pageRange.value.replace(/\s+/g, '');
    if (pageRange) form.append('page_range', pageRange);

    let response;
    try {
      response = await fetch('/jobs', { method: 'POST', body: form, signal: abort.signal, headers: { Accept: 'application/json' } });
    } catch (err) {
      if (gen !== state.gen) return;
      if (err && err.name === 'AbortError') {
        finishJob({ status: 'canceled' });
      } else {
        failBeforeJob(NETWORK_ERROR);
      }
      return;
    }
    if (gen !== state.gen) return;
    if (!response.ok) {
      failBeforeJob(errorSentence(await readError(response)));
      return;
    }
    let body;
    try {
      body = await response.json();
    } catch (_) {
      failBeforeJob('The server sent an answer this page does not understand.');
      return;
    }
    if (state.job.status === 'canceled') return;
    state.job.id = body.id;
    state.job.url = body.url || `/jobs/${encodeURIComponent(body.id)}`;
    state.job.status = body.status || 'queued';
    renderJob(state.job);
    schedulePoll(POLL_FIRST_MS, 0);
  }

  // The submission itself was refused: no job exists, so show only the error.
  function failBeforeJob(message) {
    state.job.status = 'failed';
    el.job.hidden = true;
    updateSubmit();
    showError(message);
  }

  function schedulePoll(delay, failures) {
    const job = state.job;
    job.pollTimer = setTimeout(() => poll(job, delay, failures), delay);
  }

  async function poll(job, delay, failures) {
    if (job !== state.job || TERMINAL.has(job.status)) return;
    let response;
    try {
      response = await fetch(job.url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (_) {
      if (job !== state.job || TERMINAL.has(job.status)) return;
      if (failures + 1 >= POLL_NETWORK_RETRIES) {
        stopPolling();
        setJobView('failed', 'Lost contact with the server while waiting for the job.', null);
        job.status = 'failed';
        updateSubmit();
        showError(NETWORK_ERROR);
        return;
      }
      schedulePoll(Math.min(POLL_MAX_MS * 2, delay * 2), failures + 1);
      return;
    }
    if (job !== state.job || TERMINAL.has(job.status)) return;
    if (response.status === 503) {
      const info = await readError(response);
      schedulePoll(Math.max(delay, (info.retryAfter || 2) * 1000), failures);
      return;
    }
    if (!response.ok) {
      const info = await readError(response);
      job.status = 'failed';
      stopPolling();
      setJobView('failed', 'Could not read the job status.', null);
      updateSubmit();
      showError(errorSentence(info));
      return;
    }
    const body = await response.json();
    if (job !== state.job || TERMINAL.has(job.status)) return;
    job.status = body.status;
    if (TERMINAL.has(body.status)) {
      finishJob(body);
      return;
    }
    renderJob(body);
    schedulePoll(Math.min(POLL_MAX_MS, Math.round(delay * 1.4)), 0);
  }

  async function cancel() {
    const job = state.job;
    if (!job || TERMINAL.has(job.status)) return;
    if (!job.id) {
      // Still uploading: abort the request itself.
      job.abort.abort();
      return;
    }
    el.cancel.disabled = true;
    el.cancel.textContent = 'Canceling…';
    stopPolling();
    let response;
    try {
      response = await fetch(job.url, { method: 'DELETE', headers: { Accept: 'application/json' } });
    } catch (_) {
      el.cancel.disabled = false;
      el.cancel.textContent = 'Cancel';
      showError(`Could not cancel the job. ${NETWORK_ERROR}`);
      schedulePoll(POLL_MAX_MS, 0);
      return;
    }
    if (job !== state.job) return;
    if (response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* an empty body still means canceled */ }
      const status = body && body.status && TERMINAL.has(body.status) ? body.status : 'canceled';
      finishJob({ ...(body || {}), status });
      return;
    }
    if (response.status === 409) {
      // It finished while we asked: show whatever it finished as.
      job.status = 'running';
      schedulePoll(0, 0);
      return;
    }
    const info = await readError(response);
    el.cancel.disabled = false;
    el.cancel.textContent = 'Cancel';
    showError(`Could not cancel the job. ${errorSentence(info)}`);
    schedulePoll(POLL_FIRST_MS, 0);
  }

  el.form.addEventListener('submit', submit);
  el.cancel.addEventListener('click', cancel);

  // ---------- result model ----------

  function cleanLine(line) {
    const box = Array.isArray(line && line.bounding_box) ? line.bounding_box : [];
    const points = box
      .filter((p) => Array.isArray(p) && p.length >= 2)
      .map((p) => [Number(p[0]), Number(p[1])])
      .filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    const conf = Number(line && line.confidence);
    return {
      text: String((line && line.text) ?? ''),
      confidence: Number.isFinite(conf) ? conf : null,
      points,
    };
  }

  const SOURCE_LABELS = { ocr: 'OCR', text_layer: 'text layer' };

  // One file's result as pages of lines: an image ({results}) or a document ({pages}); else null.
  function pagesOf(result, name, imageUrl) {
    if (!result || typeof result !== 'object') return null;
    if (Array.isArray(result.results)) {
      return [{ label: name, width: null, height: null, image: imageUrl, source: null, lines: result.results.map(cleanLine) }];
    }
    if (Array.isArray(result.pages) && result.pages.every((p) => p && Array.isArray(p.results))) {
      return result.pages.map((p, i) => ({
        label: `${name ? `${name} · ` : ''}Page ${p.page ?? i + 1}`,
        width: Number(p.width) || null,
        height: Number(p.height) || null,
        image: null,
        source: p.source ? String(p.source) : null,
        lines: p.results.map(cleanLine),
      }));
    }
    return null;
  }

  // A text format's output: {content} from the server (or a bare string); else null.
  function textOf(result) {
    if (typeof result === 'string') return result;
    if (!result || typeof result !== 'object') return null;
    for (const key of TEXT_KEYS) if (typeof result[key] === 'string') return result[key];
    return null;
  }

  // Normalise every result shape this page knows into pages of lines; anything else is raw text.
  // Several files ({files: [{filename, result, error}]}) become one list, each file's pages in turn.
  function parseResult(result, job) {
    if (typeof result === 'string') return { kind: 'text', text: result, raw: result, files: 1 };
    if (!result || typeof result !== 'object') return { kind: 'text', text: JSON.stringify(result, null, 2), raw: result, files: 1 };
    const time = Number(result.processing_time);
    const processingTime = Number.isFinite(time) ? time : null;
    const urls = (job && job.fileUrls) || [];
    const entries = Array.isArray(result.files)
      ? result.files.map((f, i) => ({
        name: String((f && f.filename) || `File ${i + 1}`),
        result: f ? f.result : null,
        error: f && (f.error || !f.result) ? sentence((f.error && f.error.message) || 'This file could not be read') : null,
        url: urls[i] || null,
      }))
      : [{ name: null, result, error: null, url: urls[0] || null }];

    if (entries.every((e) => e.error || pagesOf(e.result, e.name, e.url))) {
      const pages = entries.flatMap((e) => (e.error ? [{ label: e.name, error: e.error, lines: [] }] : pagesOf(e.result, e.name, e.url)));
      let index = 0;
      for (const page of pages) for (const line of page.lines) line.index = index++;
      const all = pages.flatMap((p) => p.lines);
      const text = pages.filter((p) => !p.error).map((p) => p.lines.map((l) => l.text).join('\n')).join('\n\n');
      return { kind: 'lines', pages, lines: all, text, processingTime, raw: result, files: entries.length };
    }
    // A text format: the output itself, under a header per file when there are several.
    const blocks = entries.map((e) => {
      const body = e.error ? `(${e.error})` : textOf(e.result) ?? JSON.stringify(e.result, null, 2);
      return entries.length > 1 ? `==> ${e.name} <==\n${body.replace(/\n$/, '')}` : body;
    });
    return { kind: 'text', text: blocks.join('\n\n'), processingTime, raw: result, files: entries.length };
  }

  // ---------- result view ----------

  function hideResult() {
    el.results.hidden = true;
    el.viewport.replaceChildren();
    el.lines.replaceChildren();
    el.rawOutput.textContent = '';
    state.result = null;
    state.selected = -1;
  }

  function showResult(payload) {
    const job = state.job;
    const parsed = parseResult(payload, job);
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
    // A single file in a text format downloads as that format (.md, .html, .hocr); anything else as text.
    const format = job && job.outputFormat;
    parsed.download = parsed.kind === 'text' && parsed.files === 1 && FORMAT_FILES[format] ? FORMAT_FILES[format] : FORMAT_FILES.text;
    el.downloadTxt.textContent = `Download ${parsed.download.ext.toUpperCase()}`;
    el.copyText.disabled = !parsed.text;
  }

  function renderPages(parsed) {
    el.viewport.replaceChildren();
    parsed.stages = [];
    for (const page of parsed.pages) {
      if (page.error) continue; // shown in the lines panel
      const figure = document.createElement('figure');
      figure.className = 'page';
      const stage = document.createElement('div');
      stage.className = 'stage';
      const svg = svgEl('svg', { class: 'overlay', preserveAspectRatio: 'none', role: 'group', 'aria-label': 'Detected text boxes' });
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

  function confidenceClass(c) {
    if (c == null) return 'conf-unknown';
    if (c >= 0.9) return 'conf-high';
    if (c >= 0.75) return 'conf-mid';
    return 'conf-low';
  }

  function renderLines(parsed) {
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

  function boxFor(index) {
    return el.viewport.querySelector(`polygon.box[data-index="${index}"]`);
  }

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

  // ---------- export ----------

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

  // ---------- start ----------

  if (/Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent)) {
    const key = document.querySelector('#drop-hint kbd');
    if (key) key.textContent = '⌘';
  }
  updateSubmit();
  loadModels();
})();
