/**
 * A certificate authority made for one test with Debian's openssl, and certificates it signs:
 * server certificates for 127.0.0.1, localhost and 0.0.0.0 (Go clients — containers/image, Helm —
 * insist on a subjectAltName; 0.0.0.0 reaches this host without being a loopback address, which
 * Helm 3 talks to in plain HTTP whatever its TLS flags) and client certificates for mutual TLS.
 *
 *   const ca = await createCa(dir);
 *   const server = await ca.issue('server', { serverAuth: true });
 *   // server.certFile, server.keyFile, ca.certFile
 */
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './clients.ts';

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  /** SHA-256 fingerprint, as X509Certificate prints it. */
  fingerprint: string;
}

export interface TestCa {
  dir: string;
  certFile: string;
  keyFile: string;
  /** Signs a new key pair: `serverAuth` for 127.0.0.1 and localhost, else a client certificate. */
  issue(name: string, opts?: { serverAuth?: boolean; commonName?: string }): Promise<IssuedCertificate>;
}

async function fingerprintOf(certFile: string): Promise<string> {
  return new X509Certificate(await readFile(certFile)).fingerprint256;
}

export async function createCa(dir: string, name = 'Wharf Test CA'): Promise<TestCa> {
  const certFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'ca.key');
  await runOk('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 1;
  return {
    dir,
    certFile,
    keyFile,
    async issue(certName, opts = {}) {
      const key = join(dir, `${certName}.key`);
      const csr = join(dir, `${certName}.csr`);
      const cert = join(dir, `${certName}.crt`);
      const ext = join(dir, `${certName}.ext`);
      const cn = opts.commonName ?? (opts.serverAuth ? '127.0.0.1' : certName);
      await runOk('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
      await writeFile(
        ext,
        opts.serverAuth
          ? 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,IP:0.0.0.0\n'
          : 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n',
      );
      await runOk('openssl', ['x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', keyFile, '-set_serial', String(serial++), '-days', '2', '-out', cert, '-extfile', ext]);
      return { certFile: cert, keyFile: key, fingerprint: await fingerprintOf(cert) };
    },
  };
}

/** The SHA-256 fingerprint of the certificate a TLS server presents to a new connection. */
export async function servedFingerprint(port: number, caFile: string, host = '127.0.0.1'): Promise<string> {
  const ca = await readFile(caFile);
  return await new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca, ...(host === '127.0.0.1' ? {} : { servername: host }) }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert.fingerprint256);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}
