// A job's life in the UI: submit the form as POST /jobs, poll the job until the server reports
// a final status (the list comes from GET /limits), cancel it, and show its status and progress.

import {
  deleteJob, errorSentence, getJob, isFinal, loadLimits, NETWORK_ERROR, postJob, readError, uploadProblem,
} from './api.js';
import { clearError, el, showError } from './dom.js';
import { releaseUrls } from './files.js';
import { hideResult, showResult } from './resultview.js';
import { state } from './state.js';
import { pageRangeError, pageRangeForApi, sentence } from './util.js';

const POLL_FIRST_MS = 250;
const POLL_MAX_MS = 2000;
const POLL_NETWORK_RETRIES = 8;
// Display names only; which statuses are final is the server's call (see isFinal).
const STATE_LABELS = {
  uploading: 'Uploading',
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  canceled: 'Canceled',
};

function jobActive() {
  return Boolean(state.job && !state.job.final);
}

export function updateSubmit() {
  const busy = jobActive();
  el.submit.disabled = !state.files.length || busy;
  el.submitHint.textContent = busy
    ? 'A job is in progress; cancel it to start another.'
    : state.files.length ? 'Ready.' : 'Choose a file to start.';
}

function setJobView(status, text, progress, final) {
  el.job.hidden = false;
  el.jobBadge.dataset.state = status;
  el.jobBadge.textContent = STATE_LABELS[status] || sentence(status).replace(/\.$/, '');
  el.jobText.textContent = text;
  el.cancel.hidden = final;
  el.cancel.disabled = false;
  el.cancel.textContent = 'Cancel';
  const showBar = !final;
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

function renderJob(job, final) {
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
  setJobView(status, text, progress, final);
}

function stopPolling() {
  if (state.job && state.job.pollTimer) {
    clearTimeout(state.job.pollTimer);
    state.job.pollTimer = null;
  }
}

// The job reached a final status (`job` as the server reported it, or the UI's own 'canceled').
function finishJob(job) {
  state.job.status = job.status;
  state.job.final = true;
  stopPolling();
  renderJob(job, true);
  updateSubmit();
  if (job.status === 'succeeded') {
    showResult(job.result);
  } else if (job.status === 'failed') {
    const err = job.error || {};
    showError(err.message ? `Recognition failed. ${sentence(err.message)}` : 'Recognition failed on the server.');
  }
}

// The job ended on this side (lost contact, unreadable status): stop and say so.
function giveUp(job, text, message) {
  job.status = 'failed';
  job.final = true;
  stopPolling();
  setJobView('failed', text, null, true);
  updateSubmit();
  showError(message);
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
    id: null, url: null, status: 'uploading', final: false, submittedAt: performance.now(), abort, pollTimer: null, gen,
    files: state.files, fileUrls: state.fileUrls, model: el.model.value, outputFormat: el.outputFormat.value,
  };
  if (previous) releaseUrls(previous.fileUrls);
  updateSubmit();

  const what = state.files.length === 1 ? state.files[0].name || 'the image' : `${state.files.length} files`;
  setJobView('uploading', `Uploading ${what}…`, null, false);

  const form = new FormData();
  for (const file of state.files) form.append('file', file, file.name || 'image');
  if (el.model.value) form.append('model', el.model.value);
  form.append('use_angle_cls', el.useAngleCls.checked ? 'true' : 'false');
  form.append('output_format', el.outputFormat.value);
  form.append('force_ocr', el.forceOcr.checked ? 'true' : 'false');
  form.append('paginate_output', el.paginate.checked ? 'true' : 'false');
  // JSON results come with each page's layout, drawn over the page as numbered blocks.
  if (el.outputFormat.value === 'json') form.append('layout', 'true');
  // The form takes pages as people count them, from 1; the API's page_range counts from 0.
  const pageRange = pageRangeForApi(el.pageRange.value);
  if (pageRange.error) {
    failBeforeJob(pageRange.error);
    return;
  }
  if (pageRange.value) form.append('page_range', pageRange.value);

  // Over a limit the server announced (GET /limits, normally long answered): say so, send nothing.
  await loadLimits();
  if (gen !== state.gen || state.job.final) return;
  const problem = uploadProblem(state.job.files);
  if (problem) {
    failBeforeJob(problem);
    return;
  }

  let response;
  try {
    response = await postJob(form, abort.signal);
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
    const info = await readError(response);
    failBeforeJob(info.code === 'invalid_page_range' ? pageRangeError(info.message) : errorSentence(info, state.job.files));
    return;
  }
  let body;
  try {
    body = await response.json();
  } catch (_) {
    failBeforeJob('The server sent an answer this page does not understand.');
    return;
  }
  if (state.job.final) return; // canceled meanwhile
  state.job.id = body.id;
  state.job.url = body.url || `/jobs/${encodeURIComponent(body.id)}`;
  state.job.status = body.status || 'queued';
  renderJob(state.job, false);
  schedulePoll(POLL_FIRST_MS, 0);
}

// The submission itself was refused: no job exists, so show only the error.
function failBeforeJob(message) {
  state.job.status = 'failed';
  state.job.final = true;
  el.job.hidden = true;
  updateSubmit();
  showError(message);
}

function schedulePoll(delay, failures) {
  const job = state.job;
  job.pollTimer = setTimeout(() => poll(job, delay, failures), delay);
}

async function poll(job, delay, failures) {
  if (job !== state.job || job.final) return;
  let response;
  try {
    response = await getJob(job.url);
  } catch (_) {
    if (job !== state.job || job.final) return;
    if (failures + 1 >= POLL_NETWORK_RETRIES) {
      giveUp(job, 'Lost contact with the server while waiting for the job.', NETWORK_ERROR);
      return;
    }
    schedulePoll(Math.min(POLL_MAX_MS * 2, delay * 2), failures + 1);
    return;
  }
  if (job !== state.job || job.final) return;
  if (response.status === 503) {
    const info = await readError(response);
    schedulePoll(Math.max(delay, (info.retryAfter || 2) * 1000), failures);
    return;
  }
  if (!response.ok) {
    const info = await readError(response);
    giveUp(job, 'Could not read the job status.', errorSentence(info, job.files));
    return;
  }
  const body = await response.json();
  if (job !== state.job || job.final) return;
  job.status = body.status;
  if (isFinal(body)) {
    finishJob(body);
    return;
  }
  renderJob(body, false);
  schedulePoll(Math.min(POLL_MAX_MS, Math.round(delay * 1.4)), 0);
}

async function cancel() {
  const job = state.job;
  if (!job || job.final) return;
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
    response = await deleteJob(job.url);
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
    const status = isFinal(body) ? body.status : 'canceled';
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
  showError(`Could not cancel the job. ${errorSentence(info, job.files)}`);
  schedulePoll(POLL_FIRST_MS, 0);
}

export function initJob() {
  el.form.addEventListener('submit', submit);
  el.cancel.addEventListener('click', cancel);
}
