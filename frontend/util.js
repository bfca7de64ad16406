// Small formatting helpers shared by the UI's modules: sentences, sizes, durations, file kinds.

export function sentence(text) {
  let s = String(text || '').trim();
  if (!s) return '';
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

// A limit in bytes as the UI states it: "20 MB", "26.7 MB".
export function megabytes(bytes) {
  const mb = bytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}

// A pixel limit in megapixels: "40", "2.5".
export function megapixels(pixels) {
  return (pixels / 1e6).toFixed(1).replace(/\.0$/, '');
}

export function formatSeconds(s) {
  if (!Number.isFinite(s)) return '';
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

export function isPdf(file) {
  return file.type === 'application/pdf' || /\.pdf$/i.test(file.name || '');
}

// People count pages from 1; the API's page_range counts from 0, like Marker's. "1-3, 7" typed in
// the form -> { value: "0-2,6" }; anything else -> { error: "<sentence>" } and nothing is sent.
export function pageRangeForApi(text) {
  const spec = String(text || '').replace(/\s+/g, '');
  if (!spec) return { value: '' };
  const items = [];
  for (const item of spec.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!match) return { error: `"${item}" is not a page or a range of pages; write them like 1-3,7.` };
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (first < 1) return { error: 'Page numbers start at 1.' };
    if (last < first) return { error: `The range ${item} runs backwards; write it like ${last}-${first}.` };
    items.push(match[2] === undefined ? `${first - 1}` : `${first - 1}-${last - 1}`);
  }
  return { value: items.join(',') };
}

// The server's page_range refusals name pages from 0 ("the document has 2 pages, pages 0-1
// (0-based)"); say it as people count: "The PDF has 2 pages (1-2)."
export function pageRangeError(message) {
  const match = /the document has (\d+) pages?/.exec(String(message || ''));
  if (!match) return 'Those pages are not in the PDF.';
  const count = Number(match[1]);
  return count === 1 ? 'Those pages are not in the PDF: it has 1 page.' : `Those pages are not in the PDF: it has ${count} pages (1-${count}).`;
}
