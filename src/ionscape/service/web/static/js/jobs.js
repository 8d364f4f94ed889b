// Annotation job status: progress over the engine's stages, badges.

import { badge, h } from "./dom.js";
import { progressBar } from "./widgets.js";

export const STAGES = ["ions", "dataset", "centroids", "annotate", "fdr", "results"];
export const ACTIVE = new Set(["queued", "running"]);

/** Fraction of the job done (stages weigh the same) and the stage in progress. */
export function jobProgress(job) {
  if (!job) return { fraction: 0, stage: null };
  let done = 0;
  let stage = null;
  for (const name of STAGES) {
    const progress = job.progress?.[name];
    const fraction = progress && progress.total ? progress.done / progress.total : 0;
    done += fraction;
    if (fraction < 1 && stage === null && progress) stage = name;
  }
  return { fraction: done / STAGES.length, stage };
}

/** Status badge, with a progress bar while the job runs. */
export function statusCell(dataset) {
  if (dataset.status === "running") {
    const { fraction, stage } = jobProgress(dataset.job);
    return h("div.status-cell", {}, badge("running"), progressBar(fraction, `${Math.round(fraction * 100)} %${stage ? ` · ${stage}` : ""}`));
  }
  return badge(dataset.status);
}
