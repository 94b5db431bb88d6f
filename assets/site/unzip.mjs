// The files of a zip archive (a wheel), read by the browser's own inflater (DecompressionStream): the download
// worker unpacks the site's wheels on its thread, so Python's thread only writes the files into its file system.
//
//   const files = await unzip(bytes);   // [{ path, data: Uint8Array }], folders left out

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

async function inflate(compressed) {
  const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function unzip(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.byteLength - 22; // the end-of-directory record, found from the back (after an optional comment)
  while (end >= 0 && view.getUint32(end, true) !== END_OF_DIRECTORY) end -= 1;
  if (end < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = view.getUint16(end + 10, true);
  let entry = view.getUint32(end + 16, true);
  const names = new TextDecoder();
  const files = [];
  for (let i = 0; i < count; i += 1) {
    if (view.getUint32(entry, true) !== DIRECTORY_ENTRY) throw new Error('a damaged zip archive (central directory)');
    const method = view.getUint16(entry + 10, true);
    const compressedSize = view.getUint32(entry + 20, true);
    const nameLength = view.getUint16(entry + 28, true);
    const extraLength = view.getUint16(entry + 30, true);
    const commentLength = view.getUint16(entry + 32, true);
    const local = view.getUint32(entry + 42, true);
    const path = names.decode(bytes.subarray(entry + 46, entry + 46 + nameLength));
    entry += 46 + nameLength + extraLength + commentLength;
    if (path.endsWith('/')) continue;
    if (view.getUint32(local, true) !== LOCAL_HEADER) throw new Error(`a damaged zip archive (${path})`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const compressed = bytes.subarray(start, start + compressedSize);
    if (method === STORED) files.push({ path, data: compressed.slice() });
    else if (method === DEFLATED) files.push({ path, data: await inflate(compressed) });
    else throw new Error(`${path}: zip compression method ${method} is not supported`);
  }
  return files;
}
