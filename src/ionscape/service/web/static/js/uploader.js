// Resumable, chunked upload of a dataset's files through the upload API.
// An interrupted upload (closed tab, lost connection) resumes where the server's byte count stops.

import { ApiError, api } from "./api.js";
import { hashFile } from "./sha256.js";

export const CHUNK_BYTES = 8 * 2 ** 20;
const RETRIES = 5;
const STORE_PREFIX = "ionscape.upload:";

const storeKey = (files) => STORE_PREFIX + files.map((f) => `${f.name}:${f.size}:${f.lastModified}`).join("|");

/** Forget the saved upload of these files (after the dataset was submitted). */
export function forgetUpload(files) {
  localStorage.removeItem(storeKey(files));
}

async function resumable(files) {
  const saved = localStorage.getItem(storeKey(files));
  if (!saved) return null;
  try {
    return await api.get(`/uploads/${JSON.parse(saved).id}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      localStorage.removeItem(storeKey(files));
      return null;
    }
    throw error;
  }
}

async function declare(files, onProgress) {
  const total = files.reduce((sum, file) => sum + file.size, 0);
  let before = 0;
  const specs = [];
  for (const file of files) {
    const sha256 = await hashFile(file, (done) => onProgress({ phase: "checking", fraction: (before + done) / total }));
    before += file.size;
    specs.push({ name: file.name, size: file.size, sha256 });
  }
  const upload = await api.post("/uploads", { files: specs });
  localStorage.setItem(storeKey(files), JSON.stringify({ id: upload.id }));
  return upload;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function sendFile(uploadId, file, received, onChunk) {
  let offset = received;
  let failures = 0;
  while (offset < file.size) {
    const chunk = file.slice(offset, offset + CHUNK_BYTES);
    try {
      const path = `/uploads/${uploadId}/files/${encodeURIComponent(file.name)}`;
      offset = (await api.put(path, { body: chunk, query: { offset } })).received;
      failures = 0;
      onChunk(offset);
    } catch (error) {
      const retriable = !(error instanceof ApiError) || error.status === 0 || error.status === 409 || error.status >= 500;
      if (!retriable || ++failures > RETRIES) throw error;
      await pause(500 * 2 ** failures);
      const status = await api.get(`/uploads/${uploadId}`);
      offset = status.files.find((f) => f.name === file.name).received;
    }
  }
}

/**
 * Upload `files` (one .imzML, one .ibd) and commit them; returns the upload id.
 * `onProgress({phase, fraction})` reports "checking" (hashing), "uploading" and "verifying".
 */
export async function uploadFiles(files, onProgress = () => {}) {
  let upload = await resumable(files);
  if (!upload) upload = await declare(files, onProgress);
  if (!upload.committed) {
    const total = files.reduce((sum, file) => sum + file.size, 0);
    const received = Object.fromEntries(upload.files.map((f) => [f.name, f.received]));
    const report = () =>
      onProgress({ phase: "uploading", fraction: Object.values(received).reduce((a, b) => a + b, 0) / total });
    report();
    for (const file of files) {
      await sendFile(upload.id, file, received[file.name], (bytes) => {
        received[file.name] = bytes;
        report();
      });
    }
    onProgress({ phase: "verifying", fraction: 1 });
    await api.post(`/uploads/${upload.id}/commit`); // a corrupted file is discarded: submitting again resends it
  }
  return upload.id;
}
