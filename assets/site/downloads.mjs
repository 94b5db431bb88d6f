// Downloads the static site needs, each checked against the size and sha256 the build wrote down, with
// real progress, in parallel, and kept in Cache Storage: a second visit fetches none of these bytes.
//
//   const files = await fetchAll(entries, { onBytes, cacheName });   // entries: [{ url, name, bytes, sha256 }]
//   files.get(name)                                                  // Uint8Array, verified
//
// A file that fails (network, HTTP error, wrong size, wrong sha256) rejects with a DownloadError naming it;
// nothing unverified is ever cached or returned.

const PARALLEL_FETCHES = 6; // what a browser opens per host over HTTP/1.1

export class DownloadError extends Error {
  constructor(message, file) {
    super(message);
    this.name = 'DownloadError';
    this.file = file;
  }
}

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The cache key of a file's verified bytes: its URL and its sha256, so a rebuilt file is a new entry. */
function cacheKey(entry) {
  const url = new URL(entry.url);
  url.searchParams.set('sha256', entry.sha256);
  return url.href;
}

async function openCache(cacheName) {
  if (!cacheName || typeof caches === 'undefined') return null; // no Cache Storage (e.g. not a secure context)
  try {
    return await caches.open(cacheName);
  } catch {
    return null; // storage may be disabled (private mode): download every visit, say nothing
  }
}

async function verified(entry, bytes, say) {
  if (bytes.byteLength !== entry.bytes) {
    throw new DownloadError(
      say('site.download.truncated', { name: entry.name, got: bytes.byteLength, expected: entry.bytes }), entry.name);
  }
  if ((await sha256Hex(bytes)) !== entry.sha256) {
    throw new DownloadError(say('site.download.corrupt', { name: entry.name }), entry.name);
  }
  return bytes;
}

async function download(entry, onBytes, say) {
  let response;
  try {
    response = await fetch(entry.url, { cache: 'no-store' }); // Cache Storage is the cache; no second copy
  } catch (error) {
    throw new DownloadError(say('site.download.network', { name: entry.name, detail: error.message }), entry.name);
  }
  if (!response.ok) {
    const status = `${response.status} ${response.statusText}`.trim();
    const key = response.status === 404 ? 'site.download.missing' : 'site.download.status';
    throw new DownloadError(say(key, { name: entry.name, status }), entry.name);
  }
  const bytes = new Uint8Array(entry.bytes);
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch {
      onBytes(-received);
      throw new DownloadError(say('site.download.broke_off', { name: entry.name, got: received }), entry.name);
    }
    if (chunk.done) break;
    if (received + chunk.value.byteLength > entry.bytes) {
      onBytes(-received);
      throw new DownloadError(say('site.download.too_large', { name: entry.name, expected: entry.bytes }), entry.name);
    }
    bytes.set(chunk.value, received);
    received += chunk.value.byteLength;
    onBytes(chunk.value.byteLength);
  }
  try {
    return await verified(entry, bytes.subarray(0, received), say);
  } catch (error) {
    onBytes(-received); // a failed file does not count as done
    throw error;
  }
}

async function cachedOrDownloaded(entry, cache, onBytes, stats, say) {
  if (cache) {
    const hit = await cache.match(cacheKey(entry));
    if (hit) {
      try {
        const bytes = await verified(entry, new Uint8Array(await hit.arrayBuffer()), say);
        onBytes(bytes.byteLength);
        stats.fromCache += bytes.byteLength;
        return bytes;
      } catch {
        await cache.delete(cacheKey(entry)); // a damaged entry: fetch it again
      }
    }
  }
  const bytes = await download(entry, onBytes, say);
  stats.downloaded += bytes.byteLength;
  if (cache) {
    try {
      await cache.put(cacheKey(entry), new Response(bytes, { headers: { 'Content-Type': 'application/octet-stream' } }));
    } catch {
      // storage full or refused: the site still works, the next visit downloads again
    }
  }
  return bytes;
}

/**
 * Every entry's verified bytes, fetched (or read from Cache Storage) in parallel.
 * onBytes(delta) is called as bytes arrive; the sum of deltas is the bytes done.
 * onFile(entry, bytes), when given, receives each file as soon as it is verified, instead of the returned Map.
 * say(key, values) words a failure in the page's language (words.mjs sayer: the "site.download.*" keys).
 * Returns a Map name -> Uint8Array, with `stats` = { downloaded, fromCache } in bytes.
 */
export async function fetchAll(entries, { onBytes = () => {}, onFile = null, cacheName = null, say } = {}) {
  const cache = await openCache(cacheName);
  const stats = { downloaded: 0, fromCache: 0 };
  const files = new Map();
  let next = 0;
  let failed = null;
  async function worker() {
    while (next < entries.length && failed === null) {
      const entry = entries[next++];
      try {
        const bytes = await cachedOrDownloaded(entry, cache, onBytes, stats, say);
        if (onFile) onFile(entry, bytes); // handed on at once (and not kept here)
        else files.set(entry.name, bytes);
      } catch (error) {
        failed ??= error;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL_FETCHES, entries.length) }, worker));
  if (failed) throw failed;
  files.stats = stats;
  return files;
}

/** Drop cached files of earlier builds (URLs under `prefix` whose sha256 is not one of `keep`). */
export async function forgetOtherBuilds(cacheName, keepEntries) {
  const cache = await openCache(cacheName);
  if (!cache) return;
  const keep = new Set(keepEntries.map(cacheKey));
  for (const request of await cache.keys()) {
    if (!keep.has(request.url)) await cache.delete(request);
  }
}
