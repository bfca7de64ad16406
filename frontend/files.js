// Choosing files: the picker, drag and drop anywhere on the page, pasting an image, and the
// selected file's name, size and thumbnail.

import { clearError, el } from './dom.js';
import { state } from './state.js';
import { formatBytes, isPdf } from './util.js';

let onChange = () => {};

// Object URLs live while the selection or the current job (and so its result view) uses them.
export function releaseUrls(urls) {
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
  el.docIcon.toggleAttribute('hidden', showThumb);  // an SVG element has no .hidden property
  if (showThumb) {
    el.thumb.src = state.fileUrls[0];
    el.thumb.onerror = () => { el.thumb.hidden = true; el.docIcon.removeAttribute('hidden'); };
  } else {
    el.thumb.removeAttribute('src');
  }
  el.selected.hidden = false;
  el.dropzone.classList.add('has-file');
  el.dropTitle.textContent = files.length === 1 ? 'Drop another file to replace it' : 'Drop other files to replace them';
  onChange();
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
  onChange();
  el.fileInput.focus();
}

// Wire the picker, drops and pastes; `changed` runs after every change of the selection.
export function initFiles(changed) {
  onChange = changed;
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
}
