// The result model: every job result shape the UI knows (an image's lines, a PDF's pages,
// several files, a text format's output, searchable PDFs to download) normalised into one structure:
//   {kind: 'lines', pages: [{label, width, height, image, source, lines, blocks, error?}], lines, text, processingTime, raw, files}
//   {kind: 'text', text, processingTime, raw, files}
//   {kind: 'documents', documents: [{url, filename, bytes, pages, files}], failed: [{name, error}], text: '', ...}
// where a line is {text, confidence, points: [[x, y], ...], index} and a block (layout=true) is
// {type, order, box: [x0, y0, x1, y1]}, numbered from 1 in reading order.

import { sentence } from './util.js';

// Result payloads for non-JSON formats may arrive wrapped in an object under one of these keys.
const TEXT_KEYS = ['text', 'markdown', 'html', 'hocr', 'output', 'content'];

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

const BLOCK_TYPES = new Set(['heading', 'paragraph', 'list_item', 'table', 'caption', 'header', 'footer']);

// A page's layout blocks ({blocks: [{type, bbox}]}), numbered in reading order; [] without one.
function blocksOf(layout) {
  if (!layout || !Array.isArray(layout.blocks)) return [];
  const out = [];
  for (const block of layout.blocks) {
    const box = Array.isArray(block && block.bbox) ? block.bbox.map(Number) : [];
    if (box.length !== 4 || !box.every(Number.isFinite) || !BLOCK_TYPES.has(block.type)) continue;
    out.push({ type: block.type, order: out.length + 1, box });
  }
  return out;
}

// One file's result as pages of lines: an image ({results}) or a document ({pages}); else null.
function pagesOf(result, name, imageUrl) {
  if (!result || typeof result !== 'object') return null;
  if (Array.isArray(result.results)) {
    return [{
      label: name, width: null, height: null, image: imageUrl, source: null, lines: result.results.map(cleanLine),
      blocks: blocksOf(result.layout),
    }];
  }
  if (Array.isArray(result.pages) && result.pages.every((p) => p && Array.isArray(p.results))) {
    return result.pages.map((p, i) => ({
      label: `${name ? `${name} · ` : ''}Page ${p.page ?? i + 1}`,
      width: Number(p.width) || null,
      height: Number(p.height) || null,
      image: null,
      source: p.source ? String(p.source) : null,
      lines: p.results.map(cleanLine),
      blocks: blocksOf(p.layout),
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

// output_format=pdf: where a file's document is ({url, filename, bytes, pages}); else null.
function documentOf(result) {
  if (!result || typeof result !== 'object' || result.output_format !== 'pdf') return null;
  if (typeof result.url !== 'string') return null;
  try {
    // Only a download from this server: never a link the page did not expect.
    return new URL(result.url, window.location.href).origin === window.location.origin ? result : null;
  } catch (_) {
    return null;
  }
}

// Normalise every result shape this page knows into pages of lines; anything else is raw text.
// Several files ({files: [{filename, result, error}]}) become one list, each file's pages in turn.
// `fileUrls` are the uploaded images' object URLs, in upload order (null for a PDF).
export function parseResult(result, fileUrls) {
  if (typeof result === 'string') return { kind: 'text', text: result, raw: result, files: 1 };
  if (!result || typeof result !== 'object') return { kind: 'text', text: JSON.stringify(result, null, 2), raw: result, files: 1 };
  const time = Number(result.processing_time);
  const processingTime = Number.isFinite(time) ? time : null;
  const urls = fileUrls || [];
  const entries = Array.isArray(result.files)
    ? result.files.map((f, i) => ({
      name: String((f && f.filename) || `File ${i + 1}`),
      result: f ? f.result : null,
      error: f && (f.error || !f.result) ? sentence((f.error && f.error.message) || 'This file could not be read') : null,
      url: urls[i] || null,
    }))
    : [{ name: null, result, error: null, url: urls[0] || null }];

  if (entries.some((e) => documentOf(e.result)) && entries.every((e) => e.error || documentOf(e.result))) {
    // Searchable PDFs: one per PDF sent, one for all the images; files sharing one are listed with it.
    const documents = new Map();
    for (const e of entries) {
      const doc = documentOf(e.result);
      if (!doc) continue;
      if (!documents.has(doc.url)) {
        documents.set(doc.url, {
          url: doc.url,
          filename: String(doc.filename || 'document.pdf'),
          bytes: Number(doc.bytes),
          pages: Number(doc.pages),
          files: [],
        });
      }
      if (e.name) documents.get(doc.url).files.push(e.name);
    }
    const failed = entries.filter((e) => e.error).map((e) => ({ name: e.name, error: e.error }));
    return { kind: 'documents', documents: [...documents.values()], failed, text: '', processingTime, raw: result, files: entries.length };
  }
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
