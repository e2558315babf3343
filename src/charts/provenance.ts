/**
 * Helm provenance files (`<chart>.tgz.prov`): a PGP clear-signed message holding the chart's
 * metadata and the sha256 of the archive it signs. Wharf does not verify signatures (clients
 * do, with their keyring); it only refuses a .prov that plainly belongs to another archive.
 */
import { ChartError } from './metadata.ts';

const SIGNED_HEADER = '-----BEGIN PGP SIGNED MESSAGE-----';
const FILE_LINE = /^\s+("?)([^\s"]+\.tgz)\1:\s*sha256:([a-f0-9]{64})\s*$/gm;

/** Throws ChartError when `prov` is not a provenance file for `filename` with digest `sha256`. */
export function checkProvenance(prov: Buffer, filename: string, sha256: string): void {
  const text = prov.toString('utf8');
  if (!text.includes(SIGNED_HEADER)) throw new ChartError('provenance file is not a PGP signed message');
  const files = [...text.matchAll(FILE_LINE)];
  if (files.length === 0) throw new ChartError('provenance file lists no chart archive digest');
  const mine = files.find((m) => m[2] === filename);
  if (!mine) {
    throw new ChartError(`provenance file is for ${files.map((m) => m[2]).join(', ')}, not ${filename}`);
  }
  if (mine[3] !== sha256) throw new ChartError(`provenance file digest does not match ${filename}`);
}
