// A throw-away certificate authority for a test (openssl): its CA certificate and a server
// certificate it signed for 127.0.0.1 and localhost, as PEM files in `dir`.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCa {
  /** The CA's certificate: what a client trusts. */
  readonly caFile: string;
  /** The server's certificate chain (leaf, then CA). */
  readonly certFile: string;
  /** The server's private key (unencrypted PKCS#8). */
  readonly keyFile: string;
  /** Key and chain in one file: a Kafka `ssl.keystore.type=PEM` keystore. */
  readonly keystoreFile: string;
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (error) {
    throw new Error(`openssl ${args[0]} failed (is openssl installed?): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Makes the CA and a server certificate for `cn` with SANs IP:127.0.0.1 and DNS:localhost. */
export async function makeTestCa(dir: string, cn = "localhost"): Promise<TestCa> {
  const path = (name: string) => join(dir, name);
  await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sunday-test-ca", "-keyout", path("ca.key"), "-out", path("ca.pem")]);
  await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", path("server.key"), "-out", path("server.csr")]);
  await writeFile(path("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    path("server.csr"),
    "-CA",
    path("ca.pem"),
    "-CAkey",
    path("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    path("server.ext"),
    "-out",
    path("server.crt"),
  ]);
  const [leaf, ca, key] = await Promise.all([readFile(path("server.crt"), "utf8"), readFile(path("ca.pem"), "utf8"), readFile(path("server.key"), "utf8")]);
  await writeFile(path("server-chain.pem"), leaf + ca);
  await writeFile(path("server-keystore.pem"), key + leaf + ca, { mode: 0o600 });
  return { caFile: path("ca.pem"), certFile: path("server-chain.pem"), keyFile: path("server.key"), keystoreFile: path("server-keystore.pem") };
}
