/**
 * A minimal `multipart/form-data` reader for chart uploads (`chart` and `prov` file fields, as
 * `helm cm-push` and `curl -F` send them). Upload bodies are small and already read under a
 * cap, so this works on a Buffer; anything malformed is a BAD_REQUEST.
 */
import { RegistryError } from '../../errors.ts';

export interface FormPart {
  name: string;
  filename: string | null;
  data: Buffer;
}

/** The boundary of a multipart/form-data Content-Type, or null when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary || boundary.length > 200) throw new RegistryError('BAD_REQUEST', 'multipart/form-data without a valid boundary');
  return boundary;
}

function headerParam(value: string, key: string): string | null {
  const re = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${key}=([^;\\s]+)`, 'i');
  const m = re.exec(value);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? null);
}

export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos === -1) throw new RegistryError('BAD_REQUEST', 'multipart body has no parts');
  for (;;) {
    pos += delimiter.length;
    // `--` after a delimiter closes the body.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else throw new RegistryError('BAD_REQUEST', 'malformed multipart delimiter');
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd === -1) throw new RegistryError('BAD_REQUEST', 'malformed multipart part headers');
    const headers = body.toString('utf8', pos, headerEnd).split('\r\n');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next === -1) throw new RegistryError('BAD_REQUEST', 'multipart body is truncated');
    const disposition = headers.find((h) => /^content-disposition:/i.test(h));
    const name = disposition ? headerParam(disposition, 'name') : null;
    if (name === null) throw new RegistryError('BAD_REQUEST', 'multipart part without a name');
    parts.push({ name, filename: disposition ? headerParam(disposition, 'filename') : null, data: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}
