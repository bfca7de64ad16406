// Talking to the gateway: GET /models and /limits, POST /jobs, GET and DELETE a job, and
// turning its error answers into plain sentences. Limits and final job statuses come from
// GET /limits (fetched once at start); nothing is read out of message text.

import { megabytes, megapixels, sentence } from './util.js';

const ACCEPT_JSON = { Accept: 'application/json' };

export const NETWORK_ERROR = 'Could not reach the server. Check the connection and try again.';

let limits = null; // GET /limits' answer once it arrived, else null
let finalStatuses = null; // a Set of the server's final job statuses, from limits

let limitsLoading = null; // the one GET /limits, as a promise

// GET /limits, once: the first call starts it, every call answers the same promise (the limits or null).
export function loadLimits() {
  if (!limitsLoading) limitsLoading = fetchLimits();
  return limitsLoading;
}

async function fetchLimits() {
  try {
    const response = await fetch('/limits', { headers: ACCEPT_JSON });
    if (!response.ok) throw new Error(String(response.status));
    const body = await response.json();
    const final = body && body.job_statuses && body.job_statuses.final;
    if (!Array.isArray(final) || !final.length) throw new Error('no job statuses');
    limits = body;
    finalStatuses = new Set(final.map(String));
  } catch (_) {
    // Without limits: no checks before uploading, refusals read as the server words them, and a
    // job counts as final once the server stamps it finished.
    limits = null;
    finalStatuses = null;
  }
  return limits;
}

// Whether a job, as GET or DELETE /jobs/<id> returns it, has reached a final status.
export function isFinal(job) {
  if (!job || !job.status) return false;
  return finalStatuses ? finalStatuses.has(job.status) : job.finished_at != null;
}

export async function fetchModels() {
  const response = await fetch('/models', { headers: ACCEPT_JSON });
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}

export function postJob(form, signal) {
  return fetch('/jobs', { method: 'POST', body: form, signal, headers: ACCEPT_JSON });
}

export function getJob(url) {
  return fetch(url, { headers: ACCEPT_JSON, cache: 'no-store' });
}

export function deleteJob(url) {
  return fetch(url, { method: 'DELETE', headers: ACCEPT_JSON });
}

// ---------- errors as plain sentences ----------

// Seconds to wait from a Retry-After header: either delta-seconds or an HTTP date.
function retryAfterSeconds(value) {
  if (!value) return null;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(1, Math.ceil(n));
  const when = Date.parse(value);
  if (Number.isNaN(when)) return null;
  return Math.max(1, Math.ceil((when - Date.now()) / 1000));
}

export async function readError(response) {
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

const fileLabel = (file) => file.name || 'The pasted image';

// Why these files cannot be sent, from the server's limits, or '' (also when the limits are unknown).
export function uploadProblem(files) {
  if (!limits) return '';
  if (files.length > limits.max_files_per_job) {
    return `That is too many files (limit ${limits.max_files_per_job} per job).`;
  }
  const big = files.find((f) => f.size > limits.max_upload_bytes);
  if (big) {
    return files.length === 1
      ? `That file is too large (limit ${megabytes(limits.max_upload_bytes)}).`
      : `${fileLabel(big)} is too large (limit ${megabytes(limits.max_upload_bytes)} per file).`;
  }
  if (files.reduce((sum, f) => sum + f.size, 0) > limits.max_body_bytes) {
    return `Those files are too large together (limit ${megabytes(limits.max_body_bytes)} per job).`;
  }
  return '';
}

// A 413 in the UI's words with the limit from /limits; without limits, the server's own sentence.
// `files` are the files sent, to tell a file over its limit from a request over the body limit.
function tooLarge({ code, message }, files) {
  const msg = sentence(message);
  if (code === 'too_many_pixels') {
    return limits
      ? `That image has too many pixels (limit ${megapixels(limits.max_image_pixels)} megapixels).`
      : msg || 'That image has too many pixels; scale it down and try again.';
  }
  if (code === 'too_many_pages') {
    return limits
      ? `That is too many pages (limit ${limits.max_pdf_pages} per job); choose fewer under PDF pages.`
      : msg || 'That is too many pages; choose fewer under PDF pages.';
  }
  if (code && code !== 'payload_too_large') return msg || 'That file is too large.';
  if (!limits) return msg || 'That file is too large.';
  const sent = files || [];
  if (sent.length > 1 && !sent.some((f) => f.size > limits.max_upload_bytes)) {
    return `Those files are too large together (limit ${megabytes(limits.max_body_bytes)} per job).`;
  }
  return `That file is too large (limit ${megabytes(limits.max_upload_bytes)}).`;
}

// The server's messages are sentences already; add the plain-language frame around the ones that need it.
export function errorSentence(info, files) {
  const { status, code, message, retryAfter } = info;
  const msg = sentence(message);
  switch (status) {
    case 413:
      return tooLarge(info, files);
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
