import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RegistryError } from '../../errors.ts';
import { multipartBoundary, parseMultipart } from './multipart.ts';

/** Encodes a form the way fetch/undici does, so the parser is tested against a real encoder. */
async function encode(form: FormData): Promise<{ body: Buffer; contentType: string }> {
  const req = new Request('http://x/', { method: 'POST', body: form });
  return { body: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get('content-type') ?? '' };
}

describe('multipart/form-data', () => {
  test('reads file and text fields as a real client encodes them', async () => {
    const chart = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0xff]);
    const form = new FormData();
    form.append('chart', new Blob([chart]), 'web-1.0.0.tgz');
    form.append('prov', new Blob(['-----BEGIN PGP SIGNED MESSAGE-----\r\n']), 'web-1.0.0.tgz.prov');
    form.append('note', 'hello');
    const { body, contentType } = await encode(form);
    const boundary = multipartBoundary(contentType);
    assert.ok(boundary);
    const parts = parseMultipart(body, boundary);
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename]),
      [
        ['chart', 'web-1.0.0.tgz'],
        ['prov', 'web-1.0.0.tgz.prov'],
        ['note', null],
      ],
    );
    assert.deepEqual(parts[0]?.data, chart);
    assert.equal(parts[2]?.data.toString(), 'hello');
  });

  test('only multipart/form-data has a boundary; a quoted one is unquoted', () => {
    assert.equal(multipartBoundary('application/gzip'), null);
    assert.equal(multipartBoundary(undefined), null);
    assert.equal(multipartBoundary('multipart/form-data; boundary="a b"'), 'a b');
    assert.throws(() => multipartBoundary('multipart/form-data'), RegistryError);
  });

  test('malformed bodies are BAD_REQUEST', () => {
    const bad = (body: string) => assert.throws(() => parseMultipart(Buffer.from(body), 'XX'), (e: unknown) => e instanceof RegistryError && e.code === 'BAD_REQUEST');
    bad('no delimiter here');
    bad('--XX\r\nContent-Disposition: form-data; name="chart"\r\n\r\nno end');
    bad('--XX\r\nContent-Type: text/plain\r\n\r\nx\r\n--XX--');
    bad('--XXgarbage');
  });
});
