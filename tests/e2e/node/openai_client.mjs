// Drives the official `openai` npm client against vigie for test_openai_node.py.
//
//   node openai_client.mjs '<spec JSON>'       (or a JSON list of specs: one result each,
//                                               in order, printed as a JSON list)
//
// spec: { baseURL, apiKey, op: "chat" | "models", body: {...chat request...},
//         headers: {...extra request headers...} }
// Prints one JSON object on stdout:
//   chat, not streamed: { status, request_id, completion }
//   chat, streamed:     { status, request_id, chunks: [...], content, tool_calls: [{id, name,
//                         arguments}], usage, finish_reason }
//   models:             { ids: [...] }
//   any error:          { error: { name, status, message, code, type } }
// Exit status 0 even on an API error (the test asserts on it); 2 on bad usage.
import OpenAI from "openai";

const arg = JSON.parse(process.argv[2] || "null");
if (!arg) {
  console.error("usage: node openai_client.mjs '<spec JSON>'");
  process.exit(2);
}

async function run(spec) {
  const client = new OpenAI({
    baseURL: spec.baseURL,
    apiKey: spec.apiKey,
    maxRetries: 0, // a retry would hide a failure and double what the mock records
    timeout: 60000,
  });
  const opts = { headers: spec.headers || {} };
  if (spec.op === "models") {
    const page = await client.models.list(opts);
    const ids = [];
    for await (const m of page) ids.push(m.id);
    return { ids };
  }
  const body = spec.body;
  const { data, response } = await client.chat.completions.create(body, opts).withResponse();
  const out = { status: response.status, request_id: response.headers.get("x-request-id") };
  if (!body.stream) {
    out.completion = data;
    return out;
  }
  out.chunks = [];
  out.content = "";
  out.usage = null;
  out.finish_reason = null;
  const calls = [];
  for await (const chunk of data) {
    out.chunks.push(chunk);
    if (chunk.usage) out.usage = chunk.usage;
    for (const choice of chunk.choices || []) {
      const d = choice.delta || {};
      if (typeof d.content === "string") out.content += d.content;
      for (const tc of d.tool_calls || []) {
        const c = (calls[tc.index] ||= { id: null, name: "", arguments: "" });
        if (tc.id) c.id = tc.id;
        if (tc.function && tc.function.name) c.name += tc.function.name;
        if (tc.function && tc.function.arguments) c.arguments += tc.function.arguments;
      }
      if (choice.finish_reason) out.finish_reason = choice.finish_reason;
    }
  }
  out.tool_calls = calls;
  return out;
}

async function one(spec) {
  try {
    return await run(spec);
  } catch (e) {
    return {
      error: {
        name: e && e.constructor ? e.constructor.name : String(e),
        status: e && e.status,
        message: e && e.message,
        code: e && e.code,
        type: e && e.type,
      },
    };
  }
}

let result;
if (Array.isArray(arg)) {
  result = [];
  for (const spec of arg) result.push(await one(spec));
} else {
  result = await one(arg);
}
process.stdout.write(JSON.stringify(result) + "\n");
