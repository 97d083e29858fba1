/**
 * Throwaway certificates for the TLS specs, made with the openssl command
 * line in a temporary directory: a CA, a certificate it signs for 127.0.0.1
 * and localhost (usable by a server and as a client certificate), and a
 * second, unrelated CA with a certificate of its own (the wrong one).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Paths of a certificate and its key, and their bytes. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestPki {
  readonly dir: string;
  /** The CA that signed `node`. */
  readonly ca: CertFiles;
  /** Signed by `ca`, for 127.0.0.1 and localhost, for servers and clients alike. */
  readonly node: CertFiles;
  /** Another CA, which nothing here trusts. */
  readonly rogueCa: CertFiles;
  /** Signed by `rogueCa`, same names as `node`. */
  readonly rogue: CertFiles;
  remove(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') {
      throw new Error('the TLS specs make their certificates with the openssl command-line tool, which is not installed (Debian: apt-get install openssl)');
    }
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

function files(dir: string, name: string): CertFiles {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

/** A self-signed CA valid for a day. */
function makeCa(dir: string, name: string): CertFiles {
  openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', `/CN=im-cloud test ${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return files(dir, name);
}

/** A leaf certificate `ca` signs for 127.0.0.1 and localhost, for server and client use. */
function makeLeaf(dir: string, name: string, ca: string): CertFiles {
  writeFileSync(path.join(dir, `${name}.ext`), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth,clientAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ].join('\n') + '\n');
  openssl(dir, [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`,
  ]);
  openssl(dir, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`,
  ]);
  return files(dir, name);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'im-cloud-tls-'));
  try {
    const ca = makeCa(dir, 'ca');
    const node = makeLeaf(dir, 'node', 'ca');
    const rogueCa = makeCa(dir, 'rogue-ca');
    const rogue = makeLeaf(dir, 'rogue', 'rogue-ca');
    return { dir, ca, node, rogueCa, rogue, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
