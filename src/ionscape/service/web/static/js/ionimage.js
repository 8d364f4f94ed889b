// Ion image display maths, done in the browser so colormap, scale and slider changes are instant.
// Same rules as the server's PNGs: hot spots clipped at a percentile of the non-zero in-sample values
// (linear interpolation), optional log(1 + x), colours spanning the smallest to largest shown value.

/** Percentile p (0-100) of sorted values, interpolating linearly like numpy's default. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const position = (p / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/**
 * Transform an image for display.
 * image: {shape: [h, w], data}; mask: Uint8Array (1 = sampled) or null.
 * Returns {width, height, values (Float64Array, NaN outside the sample), low, high, clip, scale}.
 */
export function prepare(image, mask, { hotspot = 99, scale = "linear" } = {}) {
  const [height, width] = image.shape;
  const values = new Float64Array(image.data.length);
  const nonzero = [];
  for (let i = 0; i < values.length; i++) {
    const v = image.data[i];
    const shown = (!mask || mask[i]) && Number.isFinite(v);
    values[i] = shown ? v : NaN;
    if (shown && v !== 0) nonzero.push(v);
  }
  let clip = Infinity;
  if (hotspot !== null && nonzero.length) {
    clip = percentile(Float64Array.from(nonzero).sort(), hotspot);
  }
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) continue;
    let v = Math.min(values[i], clip);
    if (scale === "log") v = Math.log1p(Math.max(v, 0));
    values[i] = v;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (low > high) low = high = 0;
  return { width, height, values, low, high, clip, scale };
}

/** Intensity shown at a display level (undoes the log scale). */
export function intensityAt(prepared, level) {
  return prepared.scale === "log" ? Math.expm1(level) : level;
}

/**
 * Colour a prepared image into an ImageData. `range` = [from, to] fractions (0-1) of the shown
 * range mapped onto the colormap's ends (the intensity sliders); pixels outside the sample are transparent.
 */
export function paint(prepared, table, range = [0, 1]) {
  const { width, height, values, low, high } = prepared;
  const from = low + (high - low) * range[0];
  const to = low + (high - low) * range[1];
  const span = to - from;
  const pixels = new ImageData(width, height);
  const out = pixels.data;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const t = span > 0 ? Math.min(1, Math.max(0, (v - from) / span)) : 0;
    const level = Math.round(t * 255) * 3;
    out[4 * i] = table[level];
    out[4 * i + 1] = table[level + 1];
    out[4 * i + 2] = table[level + 2];
    out[4 * i + 3] = 255;
  }
  return pixels;
}

/** A scale bar for `micronsPerCssPixel`: a round length (1, 2, 5 × 10^k µm) near `targetPx` wide. */
export function scaleBar(micronsPerCssPixel, targetPx = 100) {
  const target = micronsPerCssPixel * targetPx;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  const microns = [5, 2, 1].map((m) => m * magnitude).find((length) => length <= target) ?? magnitude;
  const label = microns >= 1000 ? `${microns / 1000} mm` : `${microns} µm`;
  return { px: microns / micronsPerCssPixel, label };
}
