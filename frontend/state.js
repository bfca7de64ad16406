// The UI's mutable state, one object shared by its modules.

export const state = {
  files: [], // the selected files, sent together as one job
  fileUrls: [], // an object URL per selected image (null for a PDF), to show it under its boxes
  // The current job: {id, url, status, final, submittedAt, abort, pollTimer, gen, files, fileUrls, model, outputFormat}.
  // `final` is true once the server reports one of its final statuses (or the upload never became a job).
  job: null,
  gen: 0, // bumps on every submission so late answers for an older job are ignored
  result: null, // the parsed result (see result.js) plus its drawn pages (`stages`) and download format
  zoom: 'fit', // 'fit' or a scale factor relative to the page's natural size
  selected: -1, // index of the selected line, or -1
};
