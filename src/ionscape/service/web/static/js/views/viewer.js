// The ion image viewer: raw image arrays coloured on a <canvas>, display controls, diagnostics.

import { request } from "../api.js";
import { isotopeChart, scoreBars } from "../charts.js";
import { COLORMAPS, cssGradient, lookupTable } from "../colormaps.js";
import { download, emptyState, field, h, notice, replace, select } from "../dom.js";
import { formatFdr, formatIntensity, formatMz, formatPpm, ionLabel } from "../format.js";
import { intensityAt, paint, prepare, scaleBar } from "../ionimage.js";
import { parseNpy } from "../npy.js";

const MAX_DISPLAY_HEIGHT = 460;
const MOLECULES_SHOWN = 8;
const EXPORT_PIXELS = 1024;

async function fetchNpy(path) {
  const response = await request("GET", path, { raw: true });
  return parseNpy(await response.arrayBuffer());
}

/** A viewer for one dataset's annotations; call `.show(annotation)` to display one. */
export function ionViewer(dataset) {
  const base = `/datasets/${dataset.id}`;
  const pixelSize = dataset.metadata.pixel_size_um;
  const state = { cmap: "viridis", scale: "linear", hotspot: true, range: [0, 1], peak: 1 };
  let maskPromise = null;
  let current = null; // {annotation, detail, image, prepared}
  let showing = 0;

  const canvas = h("canvas.ion-canvas", { width: 1, height: 1, role: "img" });
  const scaleBarNode = h("div.scale-bar");
  const readout = h("div.pixel-readout.muted.small", {}, "\u00a0");
  const stage = h("div.ion-stage", {}, canvas, scaleBarNode);
  const colorbar = h("div.colorbar");
  const colorLabels = h("div.colorbar-labels");
  const peakButtons = h("div.segmented.peaks", { role: "group", "aria-label": "isotope peak" });
  const diagnostics = h("div.diagnostics");
  const status = h("div");

  const cmapSelect = select(COLORMAPS.map((name) => [name, name]), state.cmap, { name: "colormap" });
  cmapSelect.addEventListener("change", () => {
    state.cmap = cmapSelect.value;
    repaint();
  });
  const scaleSelect = select([["linear", "Linear"], ["log", "Log"]], state.scale, { name: "scale" });
  scaleSelect.addEventListener("change", () => {
    state.scale = scaleSelect.value;
    reprepare();
  });
  const hotspot = h("input", { type: "checkbox", name: "hotspot", checked: true });
  hotspot.addEventListener("change", () => {
    state.hotspot = hotspot.checked;
    reprepare();
  });
  const slider = (name, value) => h("input", { type: "range", name, min: 0, max: 100, step: 1, value: String(value) });
  const lowSlider = slider("intensity_min", 0);
  const highSlider = slider("intensity_max", 100);
  const onSlide = (moved) => {
    let low = Number(lowSlider.value);
    let high = Number(highSlider.value);
    if (low >= high) {
      if (moved === lowSlider) low = high - 1;
      else high = low + 1;
      lowSlider.value = String(low);
      highSlider.value = String(high);
    }
    state.range = [low / 100, high / 100];
    repaint();
  };
  lowSlider.addEventListener("input", () => onSlide(lowSlider));
  highSlider.addEventListener("input", () => onSlide(highSlider));
  const pngButton = h("button.button", { type: "button", onclick: exportPng }, "Download PNG");

  const controls = h(
    "div.viewer-controls",
    {},
    field("Colormap", cmapSelect),
    field("Scale", scaleSelect),
    h("label.check.hotspot", {}, hotspot, h("span", {}, "Clip hot spots (99th percentile)")),
    h("div.field.range-field", {}, h("span.field-label", {}, "Intensity range"), h("div.range-pair", {}, lowSlider, highSlider)),
  );

  const node = h(
    "section.viewer.card",
    { "aria-live": "polite" },
    h("div.viewer-image", {}, peakButtons, stage, readout, h("div.colorbar-wrap", {}, colorbar, colorLabels), controls, h("div.viewer-actions", {}, pngButton)),
    diagnostics,
    status,
  );
  node.classList.add("empty-viewer");
  replace(diagnostics, emptyState("No annotation selected", "Pick a row of the table to see its ion image."));

  new ResizeObserver(() => layout()).observe(stage);
  canvas.addEventListener("mousemove", (event) => {
    if (!current?.image) return;
    const rect = canvas.getBoundingClientRect();
    const [height, width] = current.image.shape;
    const x = Math.floor(((event.clientX - rect.left) / rect.width) * width);
    const y = Math.floor(((event.clientY - rect.top) / rect.height) * height);
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    readout.textContent = `x ${x + 1}, y ${y + 1}: ${formatIntensity(current.image.data[y * width + x])}`;
  });
  canvas.addEventListener("mouseleave", () => (readout.textContent = "\u00a0"));

  function layout() {
    if (!current?.prepared) return;
    const { width, height } = current.prepared;
    const available = stage.clientWidth || 400;
    const zoom = Math.min(available / width, MAX_DISPLAY_HEIGHT / height);
    canvas.style.width = `${Math.max(1, Math.floor(width * zoom))}px`;
    canvas.style.height = `${Math.max(1, Math.floor(height * zoom))}px`;
    scaleBarNode.hidden = !pixelSize;
    if (pixelSize) {
      const bar = scaleBar(pixelSize[0] / zoom, Math.min(120, (width * zoom) / 3));
      replace(scaleBarNode, h("span.scale-line"), h("span.scale-label", {}, bar.label));
      scaleBarNode.firstChild.style.width = `${bar.px}px`;
    }
  }

  function repaint() {
    if (!current?.prepared) return;
    const { prepared } = current;
    canvas.width = prepared.width;
    canvas.height = prepared.height;
    canvas.getContext("2d").putImageData(paint(prepared, lookupTable(state.cmap), state.range), 0, 0);
    colorbar.style.background = cssGradient(state.cmap);
    const from = prepared.low + (prepared.high - prepared.low) * state.range[0];
    const to = prepared.low + (prepared.high - prepared.low) * state.range[1];
    const clipped = state.hotspot && Number.isFinite(prepared.clip) ? " (clipped)" : "";
    replace(colorLabels, h("span", {}, formatIntensity(intensityAt(prepared, from))), h("span", {}, formatIntensity(intensityAt(prepared, to)) + clipped));
    canvas.setAttribute("aria-label", `ion image of ${ionLabel(current.annotation)}, isotope peak ${state.peak}`);
    layout();
  }

  async function reprepare() {
    if (!current?.image) return;
    current.prepared = prepare(current.image, await maskPromise, { hotspot: state.hotspot ? 99 : null, scale: state.scale });
    repaint();
  }

  async function loadPeak(peak) {
    state.peak = peak;
    for (const button of peakButtons.children) button.setAttribute("aria-pressed", String(Number(button.dataset.peak) === peak));
    const ticket = showing;
    const image = await fetchNpy(`${base}/annotations/${current.annotation.id}/images/${peak}.npy`);
    if (ticket !== showing) return;
    current.image = image;
    await reprepare();
  }

  function exportPng() {
    if (!current?.prepared) return;
    const { width, height } = current.prepared;
    const factor = Math.max(1, Math.floor(EXPORT_PIXELS / Math.max(width, height)));
    const out = h("canvas", { width: width * factor, height: height * factor });
    const context = out.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(canvas, 0, 0, out.width, out.height);
    const name = `${dataset.name}_${ionLabel(current.annotation)}_peak${state.peak}.png`.replace(/[^\w.+-]+/g, "_");
    out.toBlob((blob) => download(blob, name), "image/png");
  }

  node.show = async (annotation) => {
    const ticket = ++showing;
    node.classList.remove("empty-viewer");
    replace(status);
    try {
      maskPromise ??= fetchNpy(`${base}/mask.npy`).then((mask) => mask.data);
      const detail = await request("GET", `${base}/annotations/${annotation.id}`);
      if (ticket !== showing) return;
      current = { annotation, detail, image: null, prepared: null };
      replace(
        peakButtons,
        detail.peaks.map((peak, k) =>
          h("button.seg", { type: "button", dataset: { peak: k + 1 }, title: `m/z ${formatMz(peak.theo_mz)}`, onclick: () => loadPeak(k + 1) }, k === 0 ? "M" : `M+${k}`),
        ),
      );
      replace(diagnostics, diagnosticsPanel(detail));
      await loadPeak(1);
    } catch (error) {
      if (ticket === showing) replace(status, notice("error", `Cannot show this annotation: ${error.message}`));
    }
  };
  return node;
}

function diagnosticsPanel(detail) {
  const molecules = detail.molecules;
  const moleculeList = h(
    "ul.molecules",
    {},
    molecules.slice(0, MOLECULES_SHOWN).map((m) => h("li", {}, h("span", {}, m.name), " ", h("span.mono.muted.small", {}, m.id))),
  );
  const more =
    molecules.length > MOLECULES_SHOWN &&
    h(
      "button.link-button",
      {
        type: "button",
        onclick: (event) => {
          replace(moleculeList, molecules.map((m) => h("li", {}, h("span", {}, m.name), " ", h("span.mono.muted.small", {}, m.id))));
          event.target.remove();
        },
      },
      `Show all ${molecules.length} molecules`,
    );
  const theoMz = detail.peaks[0]?.theo_mz ?? detail.mz;
  const ppm = detail.mz_err_abs === null ? null : (detail.mz_err_abs / theoMz) * 1e6;
  const milliDa = (da) => (da === null ? "—" : `${da >= 0 ? "+" : ""}${(da * 1000).toFixed(3)} mDa`);
  return h(
    "div.diagnostics-body",
    {},
    h("div.ion-title", {}, h("h3", {}, ionLabel(detail)), h("span.badge.badge-fdr", {}, `FDR ${formatFdr(detail.fdr)}`)),
    h(
      "dl.facts",
      {},
      h("dt", {}, "Database"), h("dd", {}, detail.database),
      h("dt", {}, "Ion formula"), h("dd.mono", {}, detail.ion_formula),
      h("dt", {}, "m/z"), h("dd.mono", {}, formatMz(detail.mz)),
      h("dt", {}, "m/z error"), h("dd.mono", { title: "observed − theoretical m/z of the principal peak" }, `${formatPpm(ppm)} (${milliDa(detail.mz_err_abs)})`),
      h("dt", {}, "Isotope shift"), h("dd.mono", { title: "mean m/z shift of the other isotope peaks, relative to the principal peak's" }, milliDa(detail.mz_err_rel)),
    ),
    h("h4", {}, "Scores"),
    scoreBars(detail),
    h("h4", {}, "Isotope pattern"),
    isotopeChart(detail.peaks),
    h("h4", {}, molecules.length === 1 ? "Molecule" : `Molecules (${molecules.length})`),
    moleculeList,
    more,
  );
}
