/**
 * Loom imports by URL: serve this repository over HTTP on 127.0.0.1 and run a separate Deno process that
 * imports `mod.ts` from it and computes a gradient. Also: `deno info mod.ts` lists no npm or jsr module.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

Deno.test("import by URL: a separate deno process imports mod.ts over HTTP and computes a gradient", async () => {
  const controller = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response("no", { status: 400 });
      try {
        const body = await Deno.readFile(root + path.slice(1));
        return new Response(body, { headers: { "content-type": "application/typescript" } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const { port } = server.addr as Deno.NetAddr;
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/user.ts`;
    await Deno.writeTextFile(
      script,
      `import { grad, tensor } from "http://127.0.0.1:${port}/mod.ts";\n` +
        `const g = grad((x) => x.mul(x).sum())(tensor([1, 2, 3]));\n` +
        `console.log(JSON.stringify(await g.toArray()));\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-lock", "--no-config", `--allow-import=127.0.0.1:${port}`, script],
      env: { DENO_DIR: `${dir}/cache`, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), "[2,4,6]");
  } finally {
    controller.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import by URL: deno info mod.ts shows no npm or jsr dependency", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    // Without the project config, only what mod.ts itself imports is resolved (the config maps test packages).
    args: ["info", "--json", "--no-config", "--no-lock", `${root}mod.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const specifiers: string[] = info.modules.map((m: { specifier: string }) => m.specifier);
  assert.ok(specifiers.length > 5);
  // `node:worker_threads` is Deno's built-in Node API (imported only under Deno, for unref-able workers).
  for (const s of specifiers) {
    assert.ok(s.startsWith("file://") || s === "node:worker_threads", `unexpected dependency ${s}`);
  }
  assert.deepEqual(Object.keys(info.npmPackages ?? {}), []);
});
