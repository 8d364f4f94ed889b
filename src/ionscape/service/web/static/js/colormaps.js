// Colormaps for ion images: 17 evenly spaced colours of matplotlib's maps, linearly interpolated.

const STOPS = {
  viridis: "44015448186a472d7b4240863b528b33638d2c728e26828e21918c1fa08828ae803fbc735ec96284d44baddc30d8e219fde725",
  magma: "0000040a08221d114736106b51127c6a1c818326819c2e7fb73779d0416fe75263f56b5cfc8961fea772fec488fde2a3fcfdbf",
  inferno: "0000040b0724210c4a3d096557106e71196e8a226aa32c61bc3754d24644e45a31f1731df98e09fcac11f9cb35f2ea69fcffa4",
  plasma: "0d08873105974c02a16600a77e03a89511a1aa2395bc3587cc4778da5a6ae66c5cf0804ef89540fdac33fdc527f8df25f0f921",
  cividis: "00224e002e6a1a386f32436d434e6c535a6d61656f6f70737d7c788c88789b9476aba072bcae6ccdbb63dec958f0d846fee838",
  turbo: "30123b4040a2466be34294ff28bceb18ddc232f2986dfe62a4fc3ccdec34eecf3afdac34fb7e21eb500ed02f05a916017a0403",
  gray: "000000101010202020303030404040505050606060707070808080909090a0a0a0b0b0b0c0c0c0d0d0d0e0e0e0f0f0f0ffffff",
};

export const COLORMAPS = Object.keys(STOPS);

/** A 256-entry RGB lookup table (Uint8Array of 768 bytes) for the named colormap. */
export function lookupTable(name) {
  const hex = STOPS[name] ?? STOPS.viridis;
  const stops = [];
  for (let i = 0; i < hex.length; i += 6) {
    stops.push([0, 2, 4].map((k) => parseInt(hex.slice(i + k, i + k + 2), 16)));
  }
  const table = new Uint8Array(256 * 3);
  const segments = stops.length - 1;
  for (let level = 0; level < 256; level++) {
    const position = (level / 255) * segments;
    const i = Math.min(Math.floor(position), segments - 1);
    const t = position - i;
    for (let c = 0; c < 3; c++) table[level * 3 + c] = Math.round(stops[i][c] * (1 - t) + stops[i + 1][c] * t);
  }
  return table;
}

/** CSS linear-gradient() of the colormap, for colour bars. */
export function cssGradient(name) {
  const hex = STOPS[name] ?? STOPS.viridis;
  const colours = [];
  for (let i = 0; i < hex.length; i += 6) colours.push(`#${hex.slice(i, i + 6)}`);
  return `linear-gradient(to right, ${colours.join(", ")})`;
}
