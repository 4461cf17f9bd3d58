// Throwaway TLS material made with openssl for one test: a CA, a server
// certificate for 127.0.0.1/localhost signed by it, and a client certificate.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certs {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(dir: string, args: string[]): void {
  const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr}`);
}

/** Signs `name`.pem with the CA; EC keys because they are quick to make. */
function issue(dir: string, name: string, subject: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`]);
}

/** `cleanup` is a TestContext or node:test's own { after }: the folder goes when the test (or file) ends. */
export function makeCerts(cleanup: { after(fn: () => void): void }): Certs {
  const dir = mkdtempSync(join(tmpdir(), 'mqtt-qos-lab-certs-'));
  cleanup.after(() => rmSync(dir, { recursive: true, force: true }));
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mqtt-qos-lab test CA']);
  issue(dir, 'server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
  issue(dir, 'client', '/CN=lab-client', 'extendedKeyUsage=clientAuth');
  const at = (file: string) => join(dir, file);
  return { dir, ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key') };
}
