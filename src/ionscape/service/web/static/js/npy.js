// Reading NumPy .npy files (the API's raw ion images and masks): little-endian float32/64 and bool.

const TYPES = {
  "<f4": Float32Array,
  "<f8": Float64Array,
  "|b1": Uint8Array,
  "|u1": Uint8Array,
};

/** Parse an .npy ArrayBuffer into {shape, data} (C order). */
export function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== "NUMPY") throw new Error("not an .npy file");
  const view = new DataView(buffer);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const Type = TYPES[descr];
  if (!Type || fortran) throw new Error(`unsupported .npy array (${descr}, fortran_order=${fortran})`);
  const start = headerStart + headerLength;
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Type(buffer.slice(start, start + count * Type.BYTES_PER_ELEMENT));
  return { shape, data };
}
