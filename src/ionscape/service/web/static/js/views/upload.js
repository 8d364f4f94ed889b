// Dataset submission: the two files (chunked, resumable upload), metadata, annotation settings, sharing.

import { api } from "../api.js";
import { emptyState, field, h, replace, select } from "../dom.js";
import { flash } from "../flash.js";
import { formatBytes } from "../format.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { forgetUpload, uploadFiles } from "../uploader.js";
import { actionForm, progressBar } from "../widgets.js";

const DEFAULT_DATABASE = /^core_metabolome/; // the bundled CoreMetabolome, whatever its version
const DEFAULT_ADDUCTS = { positive: "+H, +Na, +K", negative: "-H, +Cl" };
const SOURCES = ["MALDI", "DESI", "SIMS", "LAESI", "LDI", "IR-MALDESI", "nano-DESI"];
const MATRICES = ["2,5-dihydroxybenzoic acid (DHB)", "α-cyano-4-hydroxycinnamic acid (CHCA)", "9-aminoacridine (9AA)", "1,5-diaminonaphthalene (DAN)", "norharmane", "none"];
const PHASES = { checking: "Checking files", uploading: "Uploading", verifying: "Verifying", submitting: "Submitting" };

const list = (text) => text.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean);
const number = (input) => (input.value.trim() === "" ? null : Number(input.value));

export async function uploadView() {
  if (!session.user) {
    return emptyState("Sign in to upload", "Datasets belong to an account.", h("a.button.primary", { href: "/login?next=/upload" }, "Sign in"));
  }
  const [moldbs, groups] = await Promise.all([api.get("/moldbs"), api.get("/groups")]);
  let files = [];

  // --- files ---
  const fileInput = h("input", { type: "file", multiple: true, accept: ".imzML,.imzml,.ibd", name: "files", id: "dataset-files" });
  const fileList = h("ul.file-list");
  const fileError = h("div");
  const dropZone = h(
    "label.drop-zone",
    { for: "dataset-files" },
    h("strong", {}, "Choose the .imzML and .ibd files"),
    h("span.muted", {}, "or drop them here. Large files upload in resumable chunks."),
    fileInput,
  );
  const datasetName = h("input", { name: "name", required: true, maxlength: 300 });
  const takeFiles = (chosen) => {
    files = [...chosen];
    replace(fileList, files.map((f) => h("li", {}, h("span.mono", {}, f.name), h("span.muted", {}, formatBytes(f.size)))));
    const problem = checkFiles(files);
    replace(fileError, problem && h("p.notice.error", {}, problem));
    const imzml = files.find((f) => /\.imzml$/i.test(f.name));
    if (imzml && !datasetName.value) datasetName.value = imzml.name.replace(/\.imzml$/i, "");
  };
  fileInput.addEventListener("change", () => takeFiles(fileInput.files));
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("dragging");
    takeFiles(event.dataTransfer.files);
  });

  // --- metadata ---
  const input = (name, attrs = {}) => h("input", { name, ...attrs });
  const organism = input("organism", { placeholder: "e.g. Homo sapiens (human)" });
  const organismPart = input("organism_part", { placeholder: "e.g. colon" });
  const condition = input("condition", { placeholder: "e.g. untreated" });
  const polarity = select([["positive", "Positive"], ["negative", "Negative"]], "positive", { name: "polarity" });
  const source = input("ionisation_source", { list: "sources", value: "MALDI" });
  const analyzer = select([["Orbitrap", "Orbitrap"], ["FTICR", "FTICR"], ["TOF", "TOF"]], "Orbitrap", { name: "analyzer" });
  const resolvingPower = input("resolving_power", { type: "number", min: 1, step: "any", placeholder: "e.g. 140000" });
  const resolvingMz = input("resolving_power_mz", { type: "number", min: 1, step: "any", value: "200" });
  const matrix = input("matrix", { list: "matrices", placeholder: "e.g. DHB" });
  const pixelX = input("pixel_size_x", { type: "number", min: 0, step: "any", placeholder: "x" });
  const pixelY = input("pixel_size_y", { type: "number", min: 0, step: "any", placeholder: "y" });

  // --- annotation settings ---
  const databaseBoxes = moldbs.map((db) =>
    h(
      "label.check",
      {},
      h("input", { type: "checkbox", name: "databases", value: db.id, checked: DEFAULT_DATABASE.test(db.id) }),
      h("span", {}, db.name, h("small.muted", {}, ` ${db.n_formulas.toLocaleString()} formulas${db.bundled ? "" : " · yours"}`)),
    ),
  );
  const adducts = input("adducts", { value: DEFAULT_ADDUCTS.positive });
  let adductsEdited = false;
  adducts.addEventListener("input", () => (adductsEdited = true));
  polarity.addEventListener("change", () => {
    if (!adductsEdited) adducts.value = DEFAULT_ADDUCTS[polarity.value];
  });
  const ppm = input("ppm", { type: "number", min: 0.1, max: 100, step: "any", value: "3" });
  const neutralLosses = input("neutral_losses", { placeholder: "e.g. -H2O, -CO2" });
  const chemMods = input("chem_mods", { placeholder: "e.g. -H+C" });
  const decoys = input("decoy_sample_size", { type: "number", min: 1, max: 80, step: 1, value: "20" });
  const nPeaks = input("n_peaks", { type: "number", min: 1, max: 10, step: 1, value: "4" });
  const instrument = select([["", "From the analyzer"], ["TOF", "TOF"], ["Orbitrap", "Orbitrap"], ["FTICR", "FTICR"]], "", { name: "instrument" });
  const sigma = input("isocalc_sigma", { type: "number", min: 0, step: "any", placeholder: "from the resolving power" });

  // --- sharing ---
  const visibility = select(
    [["private", "Private — only me"], ...(groups.length ? [["group", "My group"]] : []), ["public", "Public — everyone"]],
    "private",
    { name: "visibility" },
  );
  const group = select(groups.map((g) => [g.id, g.name]), groups[0]?.id, { name: "group_id" });
  const groupField = field("Group", group);
  const syncGroup = () => (groupField.hidden = visibility.value !== "group");
  visibility.addEventListener("change", syncGroup);
  syncGroup();

  const progress = progressBar(0, "");
  progress.hidden = true;

  function body(uploadId) {
    const databases = [...document.querySelectorAll("input[name=databases]:checked")].map((box) => box.value);
    const pixel = number(pixelX) ?? number(pixelY);
    return {
      upload_id: uploadId,
      name: datasetName.value.trim(),
      metadata: {
        organism: organism.value.trim(),
        organism_part: organismPart.value.trim(),
        condition: condition.value.trim(),
        polarity: polarity.value,
        ionisation_source: source.value.trim(),
        analyzer: analyzer.value,
        resolving_power: number(resolvingPower),
        resolving_power_mz: number(resolvingMz) ?? 200,
        matrix: matrix.value.trim(),
        pixel_size_um: pixel === null ? null : [pixel, number(pixelY) ?? pixel],
      },
      settings: {
        databases,
        adducts: list(adducts.value),
        neutral_losses: list(neutralLosses.value),
        chem_mods: list(chemMods.value),
        ppm: number(ppm) ?? 3,
        n_peaks: number(nPeaks) ?? 4,
        decoy_sample_size: number(decoys) ?? 20,
        instrument: instrument.value || null,
        isocalc_sigma: number(sigma),
      },
      visibility: visibility.value,
      group_id: visibility.value === "group" ? group.value : null,
    };
  }

  async function submit() {
    const problem = checkFiles(files) || (!document.querySelector("input[name=databases]:checked") && "Choose at least one molecular database.");
    if (problem) throw new Error(problem);
    progress.hidden = false;
    const show = ({ phase, fraction }) => progress.set(fraction, `${PHASES[phase]} · ${Math.round(fraction * 100)} %`);
    let dataset;
    try {
      const uploadId = await uploadFiles(files, show);
      show({ phase: "submitting", fraction: 1 });
      dataset = await api.post("/datasets", body(uploadId));
    } finally {
      progress.hidden = dataset === undefined;
    }
    forgetUpload(files);
    flash.set(`“${dataset.name}” is queued for annotation.`);
    navigate("/");
  }

  const section = (title, hint, ...content) => h("fieldset.card.form-section", {}, h("legend", {}, title), hint && h("p.muted.small", {}, hint), content);
  const form = actionForm(
    { class: "upload-form" },
    [
      section("Files", null, dropZone, fileList, fileError, field("Dataset name", datasetName)),
      section(
        "Sample and instrument",
        "Polarity, analyzer and resolving power set the isotope pattern defaults.",
        h("div.grid-3", {}, field("Organism", organism), field("Organism part", organismPart), field("Condition", condition)),
        h("div.grid-3", {}, field("Polarity", polarity), field("Ionisation source", source), field("Analyzer", analyzer)),
        h(
          "div.grid-3",
          {},
          field("Resolving power", resolvingPower, "Empty: the analyzer's default."),
          field("at m/z", resolvingMz),
          field("MALDI matrix", matrix),
        ),
        h("div.grid-3", {}, field("Pixel size x (µm)", pixelX), field("Pixel size y (µm)", pixelY, "For the scale bar; y defaults to x.")),
        h("datalist", { id: "sources" }, SOURCES.map((s) => h("option", { value: s }))),
        h("datalist", { id: "matrices" }, MATRICES.map((m) => h("option", { value: m }))),
      ),
      section(
        "Annotation",
        null,
        h("div.field", {}, h("span.field-label", {}, "Molecular databases"), h("div.checks", {}, databaseBoxes), h("small.hint", {}, "Your own databases: ", h("a", { href: "/databases" }, "upload a CSV"), ".")),
        h("div.grid-3", {}, field("Adducts", adducts, "Comma-separated."), field("m/z tolerance (ppm)", ppm), field("Decoy sample size", decoys)),
        h("div.grid-3", {}, field("Neutral losses", neutralLosses), field("Chemical modifications", chemMods)),
        h(
          "details.advanced",
          {},
          h("summary", {}, "Advanced isotope settings"),
          h("div.grid-3", {}, field("Isotope peaks", nPeaks), field("Peak shape", instrument), field("Peak width σ", sigma)),
        ),
      ),
      section("Sharing", "You can change this later.", h("div.grid-3", {}, field("Visibility", visibility), groupField)),
      h("div.form-actions", {}, progress, h("button.button.primary.large", { type: "submit" }, "Upload and annotate")),
    ],
    submit,
  );
  return h("section.page.narrow", {}, h("div.page-head", {}, h("div", {}, h("h1", {}, "Upload a dataset"), h("p.muted", {}, "Centroided imzML (continuous or processed) with its .ibd file."))), form);
}

/** Why the chosen files are not one .imzML and one .ibd, or null. */
function checkFiles(files) {
  const imzml = files.filter((f) => /\.imzml$/i.test(f.name));
  const ibd = files.filter((f) => /\.ibd$/i.test(f.name));
  if (files.length === 0) return "Choose the dataset's .imzML and .ibd files.";
  if (imzml.length !== 1 || ibd.length !== 1 || files.length !== 2) return "A dataset is exactly one .imzML file and one .ibd file.";
  return null;
}
