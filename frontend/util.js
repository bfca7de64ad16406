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
