// A POSIX ustar archive of files, built in the browser so a template can be
// uploaded from its `.tf` files or folder like `coder templates push` does.
// Only what an upload needs: regular files, names up to 255 bytes.

const enc = new TextEncoder();

function put(block, offset, length, text) {
  const bytes = enc.encode(text);
  if (bytes.length > length) throw new Error(`"${text}" does not fit a tar header field`);
  block.set(bytes, offset);
}

function octal(n, width) {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

// Splits a long path into ustar's prefix and name at a slash.
function splitName(path) {
  if (enc.encode(path).length <= 100) return ['', path];
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (enc.encode(prefix).length <= 155 && enc.encode(name).length <= 100 && name) return [prefix, name];
  }
  throw new Error(`The file name "${path}" is too long for a tar archive.`);
}

function header(path, size, mtime) {
  const block = new Uint8Array(512);
  const [prefix, name] = splitName(path);
  put(block, 0, 100, name);
  put(block, 100, 8, '0000644\0');
  put(block, 108, 8, '0000000\0');
  put(block, 116, 8, '0000000\0');
  put(block, 124, 12, octal(size, 12));
  put(block, 136, 12, octal(mtime, 12));
  put(block, 148, 8, '        ');
  put(block, 156, 1, '0');
  put(block, 257, 6, 'ustar\0');
  put(block, 263, 2, '00');
  put(block, 345, 155, prefix);
  let sum = 0;
  for (const b of block) sum += b;
  put(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

// `files`: [{ path, data: Uint8Array, mtime?: seconds }] → Uint8Array.
export function tar(files) {
  const parts = [];
  let total = 0;
  for (const f of files) {
    const h = header(f.path, f.data.length, Math.floor(f.mtime || Date.now() / 1000));
    const pad = (512 - (f.data.length % 512)) % 512;
    parts.push(h, f.data, new Uint8Array(pad));
    total += 512 + f.data.length + pad;
  }
  parts.push(new Uint8Array(1024));
  total += 1024;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
