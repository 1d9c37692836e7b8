// Runs the spaces component in a second, independent runtime: jco transpiles the exact .wasm the `spaces` binary
// embeds, and Node.js runs it with jco's WASI 0.2 shims (wasi:http goes out through Node) and our three small
// imports — credentials, metrics, progress — written here in JavaScript. For tests/tests/jco.rs.
//
// Usage: node embed.mjs COMPONENT.wasm WORKDIR. WORKDIR holds small.txt and large.bin (written by the test); the
// downloads (and the decryptions of large.bin encrypted through the component) land beside them. Configuration comes from SPACES_ENDPOINT, SPACES_BUCKET, SPACES_ACCESS_KEY_ID and
// SPACES_SECRET_ACCESS_KEY. Prints one JSON line of facts; any failed check throws.

import { transpile } from "@bytecodealliance/jco";
import * as shim from "@bytecodealliance/preview2-shim";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [component, workdir] = process.argv.slice(2);
const env = process.env;
const { cli, clocks, filesystem, http, io, random } = shim;

// jco turns the component into a core module plus JavaScript glue that instantiates it with imports we pass.
const started = performance.now();
const { files } = await transpile(await readFile(component), { name: "spaces", instantiation: "async", quiet: true });
const out = join(workdir, "js");
for (const [name, bytes] of Object.entries(files)) {
  await mkdir(join(out, name, ".."), { recursive: true });
  await writeFile(join(out, name), bytes);
}
await writeFile(join(out, "package.json"), '{"type": "module"}');
const transpileMs = performance.now() - started;

// The imports of ours, in JavaScript: the same contract the wasmtime host implements in Rust.
const metrics = [];
const advanced = [];
const ours = {
  "spaces:storage/credentials": {
    get: () => ({ accessKeyId: env.SPACES_ACCESS_KEY_ID, secretAccessKey: env.SPACES_SECRET_ACCESS_KEY }),
    apiToken: () => {
      throw "no DigitalOcean API token in this embedding";
    },
  },
  "spaces:storage/metrics": { record: (event) => metrics.push(event) },
  "spaces:storage/progress": {
    advanced: (bytes) => advanced.push(bytes),
    purged: () => {},
    uploadStarted: () => {},
    uploadEnded: () => {},
  },
  "spaces:storage/types": {},
};
const wasi = {
  "wasi:cli/environment": cli.environment,
  "wasi:cli/exit": cli.exit,
  "wasi:cli/stderr": cli.stderr,
  "wasi:cli/stdin": cli.stdin,
  "wasi:cli/stdout": cli.stdout,
  "wasi:cli/terminal-input": cli.terminalInput,
  "wasi:cli/terminal-output": cli.terminalOutput,
  "wasi:cli/terminal-stderr": cli.terminalStderr,
  "wasi:cli/terminal-stdin": cli.terminalStdin,
  "wasi:cli/terminal-stdout": cli.terminalStdout,
  "wasi:clocks/monotonic-clock": clocks.monotonicClock,
  "wasi:clocks/wall-clock": clocks.wallClock,
  "wasi:http/outgoing-handler": http.outgoingHandler,
  "wasi:http/types": http.types,
  "wasi:io/error": io.error,
  "wasi:io/poll": io.poll,
  "wasi:io/streams": io.streams,
  "wasi:random/insecure-seed": random.insecureSeed,
  "wasi:random/random": random.random,
};
const { instantiate } = await import(pathToFileURL(join(out, "spaces.js")));
const compile = async (path) => WebAssembly.compile(await readFile(join(out, path)));
const { storage } = await instantiate(compile, { ...ours, ...wasi });

const client = storage.Client.open({
  endpoint: env.SPACES_ENDPOINT,
  region: "us-east-1",
  bucket: env.SPACES_BUCKET,
  addressing: "path",
  multipartThreshold: 5n << 20n,
  partSize: 5n << 20n,
  concurrency: 3,
});

// Bodies cross the boundary as wasi:io streams, here backed by files through jco's wasi:filesystem shim.
const dir = filesystem._createPreopenDescriptor(workdir);
const reader = (name) => {
  const file = dir.openAt({}, name, {}, { read: true });
  return [file.readViaStream(0n), file.stat().size];
};
const writer = (name) => dir.openAt({}, name, { create: true, truncate: true }, { write: true }).writeViaStream(0n);
const typed = (call) => {
  try {
    call();
  } catch (e) {
    return e.payload ?? e;
  }
  throw new Error("the call should have failed");
};

const [smallBody, smallSize] = reader("small.txt");
const small = client.putObject("jco/small.txt", smallBody, smallSize, {
  contentType: "text/plain; charset=utf-8",
  acl: "private",
  metadata: [["runtime", "jco"]],
  keepPartial: false,
});
const [largeBody, largeSize] = reader("large.bin");
const large = client.putObject("jco/large.bin", largeBody, largeSize, {
  acl: "private",
  metadata: [],
  keepPartial: false,
});
assert.equal(large.size, largeSize);

const page = client.listObjects({ prefix: "jco/" });
const listed = page.objects.map((o) => [o.key, Number(o.size)]);

const head = client.headObject("jco/small.txt");
assert.deepEqual(head.metadata, [["runtime", "jco"]]);
assert.equal(head.contentType, "text/plain; charset=utf-8");

for (const [key, file, options] of [
  ["jco/small.txt", "small.out", {}],
  ["jco/large.bin", "large.out", {}],
  ["jco/large.bin", "range.out", { range: { first: 100n, last: 199n } }],
]) {
  const download = client.getObject(key, options);
  download.writeTo(writer(file));
}

// Encryption happens in the component, so this embedding has it too: the large file sealed to a new identity,
// read back whole and as a range across a chunk boundary, and refused to another identity with a typed error.
const me = storage.generateIdentity();
const [sealBody, sealSize] = reader("large.bin");
const sealed = client.putObject("sealed/large.bin", sealBody, sealSize, {
  acl: "private",
  metadata: [],
  keepPartial: false,
  encrypt: { tag: "recipients", val: [me.recipient] },
});
const opened = { tag: "identities", val: me.identity };
client.getObject("sealed/large.bin", { decrypt: opened }).writeTo(writer("sealed.out"));
client.getObject("sealed/large.bin", { decrypt: opened, range: { first: 65530n, last: 65545n } }).writeTo(
  writer("sealed-range.out"),
);
const stranger = { tag: "identities", val: storage.generateIdentity().identity };
const wrongKey = typed(() => client.getObject("sealed/large.bin", { decrypt: stranger }));
client.deleteObject("sealed/large.bin");

const presigned = client.presign({ key: "jco/small.txt", method: "get", expiresSeconds: 60, signedHeaders: [] });
const fetched = await fetch(presigned.url);
const fetchedText = await fetched.text();

const missing = typed(() => client.headObject("jco/never-stored"));
const badKey = typed(() => client.presign({ key: "", method: "get", expiresSeconds: 60, signedHeaders: [] }));
client.deleteObject("jco/small.txt");
const existsAfterDelete = client.exists("jco/small.txt");

console.log(
  JSON.stringify({
    transpile_ms: Math.round(transpileMs),
    core_wasm_bytes: files["spaces.core.wasm"]?.length ?? 0,
    small_etag: small.etag,
    large_parts: large.parts,
    listed,
    presigned_status: fetched.status,
    presigned_text: fetchedText,
    missing,
    bad_key: badKey.tag,
    exists_after_delete: existsAfterDelete,
    operations: [...new Set(metrics.map((e) => e.operation))].sort(),
    progress_bytes: advanced.reduce((a, b) => a + Number(b), 0),
    sealed_size: Number(sealed.size),
    recipient: me.recipient,
    wrong_key: wrongKey.tag,
  }),
);
