/**
 * The docs server serves only what it should: requests sent as raw bytes over TCP (so that no client
 * normalises them first) for traversal in every encoding, links out of the tree, oversized and malformed
 * requests, and the dashboard's API, which reads run directories and nothing else.
 */
import { createHandler } from "../../web/server.ts";

/** A served site over temporary folders: a static tree with links out of it, and runs with a link out. */
async function withServer(fn: (port: number) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir();
  const [site, runs, outside] = ["site", "runs", "outside"].map((d) => `${root}/${d}`);
  for (const dir of [site, `${site}/islands`, runs, `${runs}/good-run`, outside, `${outside}/run`]) {
    await Deno.mkdir(dir, { recursive: true });
  }
  await Deno.writeTextFile(`${site}/islands/app.js`, "export {};\n");
  await Deno.writeTextFile(`${outside}/secret.txt`, "SECRET\n");
  await Deno.writeTextFile(`${outside}/run/metrics.jsonl`, '{"step":1,"loss":"SECRET"}\n');
  await Deno.symlink(`${outside}/secret.txt`, `${site}/islands/link.js`);
  await Deno.symlink(outside, `${site}/out`);
  await Deno.writeTextFile(`${runs}/good-run/metrics.jsonl`, '{"step":1,"loss":2}\n');
  await Deno.writeTextFile(`${runs}/good-run/notes.txt`, "SECRET\n");
  await Deno.symlink(`${outside}/run`, `${runs}/linked-run`);
  await Deno.symlink(`${outside}/run/metrics.jsonl`, `${runs}/good-run/config.json`);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    createHandler({ staticDir: site, runsDir: runs }),
  );
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
}

/** Sends `head` (and `body`) as they are and returns the status code and the body of the answer. */
async function raw(port: number, head: string, body = ""): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(head + body));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
  }
  conn.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
  return { status: Number(text.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0), text };
}

const get = (port: number, target: string, extra = "") =>
  raw(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${extra}\r\n`);

Deno.test("server: traversal in any encoding gets a 4xx and never a file from outside the tree", async () => {
  await withServer(async (port) => {
    const targets = [
      "/../outside/secret.txt",
      "/islands/../../outside/secret.txt",
      "/%2e%2e/outside/secret.txt",
      "/%2E%2E/%2e%2e/outside/secret.txt",
      "/islands/..%2f..%2foutside%2fsecret.txt",
      "/islands/%2e%2e%2f%2e%2e%2foutside/secret.txt",
      "/islands/..%5c..%5coutside%5csecret.txt",
      "/islands/%252e%252e/%252e%252e/outside/secret.txt",
      "/islands/%c0%ae%c0%ae/%c0%ae%c0%ae/outside/secret.txt",
      "/islands/app.js%00.txt",
      "/.%2e/outside/secret.txt",
      "//outside/secret.txt",
      "/islands/./../../outside/secret.txt",
    ];
    for (const target of targets) {
      const { status, text } = await get(port, target);
      if (!(status >= 400 && status < 500) || text.includes("SECRET")) {
        throw new Error(`${target}: ${status}\n${text}`);
      }
    }
    if ((await get(port, "/islands/app.js")).status !== 200) throw new Error("the file itself is served");
  });
});

Deno.test("server: links that leave the static tree are not followed", async () => {
  await withServer(async (port) => {
    for (const target of ["/islands/link.js", "/out/secret.txt"]) {
      const { status, text } = await get(port, target);
      if (status !== 404 || text.includes("SECRET")) throw new Error(`${target}: ${status}`);
    }
  });
});

Deno.test("server: oversized and malformed requests get a 4xx", async () => {
  await withServer(async (port) => {
    const cases: [string, Promise<{ status: number }>][] = [
      ["long target", get(port, `/${"a".repeat(5000)}`)],
      ["huge header", get(port, "/", `X-Big: ${"b".repeat(200_000)}\r\n`)],
      [
        "POST",
        raw(
          port,
          "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
          "x",
        ),
      ],
      [
        "PUT",
        raw(
          port,
          "PUT /islands/app.js HTTP/1.1\r\nHost: l\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
          "x",
        ),
      ],
      [
        "GET with a body",
        raw(port, "GET / HTTP/1.1\r\nHost: l\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", "abc"),
      ],
      ["garbage request line", raw(port, "HELLO\r\n\r\n")],
      ["bad percent-encoding", get(port, "/guide/%zz")],
      ["broken UTF-8", get(port, "/guide/%ff%fe/")],
      ["control bytes", raw(port, "GET /\x01\x02 HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n")],
    ];
    for (const [name, answer] of cases) {
      const { status } = await answer;
      if (!(status >= 400 && status < 500)) throw new Error(`${name}: got ${status}`);
    }
  });
});

Deno.test("server: the dashboard's API reads run directories' files and nothing else", async () => {
  await withServer(async (port) => {
    const list = await get(port, "/runs/api/runs");
    if (list.status !== 200 || !list.text.includes("good-run") || list.text.includes("linked-run")) {
      throw new Error(list.text);
    }
    // A linked config.json is not read.
    if (list.text.includes("SECRET")) throw new Error(list.text);
    const metrics = await get(port, "/runs/api/metrics/good-run");
    if (!metrics.text.includes('"loss":2')) throw new Error(metrics.text);
    for (
      const target of [
        "/runs/api/metrics/linked-run",
        "/runs/api/metrics/..%2foutside%2frun",
        "/runs/api/metrics/%2e%2e",
        "/runs/api/notes/good-run",
        "/runs/good-run/notes.txt",
      ]
    ) {
      const { status, text } = await get(port, target);
      if (text.includes("SECRET") || (status === 200 && !text.includes("[]"))) {
        throw new Error(`${target}: ${status}\n${text}`);
      }
    }
  });
});

Deno.test("server: every answer carries cross-origin isolation and no-sniff headers", async () => {
  await withServer(async (port) => {
    for (const target of ["/", "/islands/app.js", "/nope", "/../x"]) {
      const { text } = await get(port, target);
      for (
        const header of [
          "cross-origin-opener-policy: same-origin",
          "cross-origin-embedder-policy: require-corp",
        ]
      ) {
        if (!text.toLowerCase().includes(header)) throw new Error(`${target} lacks ${header}`);
      }
    }
  });
});
