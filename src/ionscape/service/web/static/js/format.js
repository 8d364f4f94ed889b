// Number, date and size formatting for display.

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export const formatDate = (iso) => (iso ? dateFormat.format(new Date(iso)) : "—");
export const formatMz = (mz) => (mz === null || mz === undefined ? "—" : mz.toFixed(4));
export const formatScore = (value) => (value === null || value === undefined ? "—" : value.toFixed(3));
export const formatFdr = (fdr) => (fdr === null || fdr === undefined ? "targeted" : `${Math.round(fdr * 100)} %`);
export const formatPpm = (ppm) => (ppm === null || ppm === undefined ? "—" : `${ppm >= 0 ? "+" : ""}${ppm.toFixed(2)} ppm`);

/** Bytes as B, KB, MB, GB with three significant digits. */
export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit ? value.toPrecision(3) : value} ${units[unit]}`;
}

/** An intensity in compact scientific-ish notation. */
export function formatIntensity(value) {
  if (!Number.isFinite(value)) return "—";
  if (value === 0) return "0";
  return Math.abs(value) >= 1e4 || Math.abs(value) < 1e-2 ? value.toExponential(2) : value.toPrecision(3);
}

/** An ion such as "C6H12O6+Na" with the chemical modification and neutral loss. */
export function ionLabel(annotation) {
  return `${annotation.formula}${annotation.chem_mod || ""}${annotation.neutral_loss || ""}${annotation.adduct}`;
}
