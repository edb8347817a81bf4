// The AI SDK's WebSocketChatTransport against a server's /api/chat
// websocket (with the `ws` package as the WebSocket, node 20 having none),
// recording every frame the server sends. Prints a JSON summary.
// usage: node ws_chat.mjs MODE URL QUESTION [ARG ...]
//   chat  [DECISION ...]  the SDK's chat (AbstractChat) over the transport,
//                         answering each approval with a DECISION
//                         ({"approved": true|false, "reason": "…"})
//   cut   N               read N chunks, cut the connection, then resume on
//                         a new one (reconnectToStream) and read to the end
//   abort N               read N chunks, then abort the request
import WebSocket from "ws";
import { AbstractChat, WebSocketChatTransport, readUIMessageStream } from "ai";

const [mode, url, question, ...args] = process.argv.slice(2);
const connections = []; // per connection: the frames it received
const sockets = [];
class RecordingSocket extends WebSocket {
  constructor(...a) {
    super(...a);
    const frames = [];
    connections.push(frames);
    sockets.push(this);
    this.addEventListener("message", (e) => frames.push(JSON.parse(String(e.data))));
  }
}
const transport = () => new WebSocketChatTransport({ url, webSocket: RecordingSocket });
const userMessage = { id: "user-1", role: "user", parts: [{ type: "text", text: question }] };
const request = (abortSignal) => ({
  chatId: "chat-1", messages: [userMessage], trigger: "submit-message",
  messageId: undefined, abortSignal, headers: undefined, body: undefined, metadata: undefined,
});
// Reads `count` chunks (all when undefined) of a stream; the rest stays.
async function read(stream, count) {
  const reader = stream.getReader();
  const chunks = [];
  while (count === undefined || chunks.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  reader.releaseLock();
  return chunks;
}
async function assemble(chunks) {
  const stream = new ReadableStream({ start(c) { chunks.forEach((x) => c.enqueue(x)); c.close(); } });
  let message;
  for await (const m of readUIMessageStream({ stream })) message = m;
  return message;
}
const summary = { connections };
if (mode === "chat") {
  let messages = [];
  const errors = [];
  const state = {
    status: "ready", error: undefined,
    get messages() { return messages; }, set messages(m) { messages = m; },
    pushMessage: (m) => { messages = [...messages, m]; },
    popMessage: () => { messages = messages.slice(0, -1); },
    replaceMessage: (i, m) => { messages = [...messages.slice(0, i), m, ...messages.slice(i + 1)]; },
    snapshot: (t) => structuredClone(t),
  };
  class Chat extends AbstractChat {}
  const chat = new Chat({ id: "chat-1", state, transport: transport(), onError: (e) => errors.push(String(e?.message ?? e)) });
  await chat.sendMessage({ text: question });
  for (const decision of args) {
    const last = messages[messages.length - 1];
    const asking = (last?.parts ?? []).filter((p) => p.state === "approval-requested");
    if (asking.length === 0) break;
    for (const part of asking) {
      const { approved, reason } = JSON.parse(decision);
      await chat.addToolApprovalResponse({ id: part.approval.id, approved, reason });
    }
    await chat.sendMessage();
  }
  Object.assign(summary, { messages, errors });
} else if (mode === "cut") {
  const first = await transport().sendMessages(request(undefined));
  summary.before = await read(first, Number(args[0]));
  sockets[0].terminate(); // a dropped network: no closing handshake
  const resumed = await transport().reconnectToStream({ chatId: "chat-1" });
  summary.resumed = resumed === null ? null : await read(resumed);
  summary.message = summary.resumed && (await assemble(summary.resumed));
} else if (mode === "abort") {
  const controller = new AbortController();
  const t = transport();
  const stream = await t.sendMessages(request(controller.signal));
  summary.before = await read(stream, Number(args[0]));
  controller.abort(); // sends the abort frame on the open socket
  // A request after it on the same connection: answered once the
  // aborted one is over, which shows the connection is still good.
  const next = await t.reconnectToStream({ chatId: "chat-0" });
  summary.after = next === null ? "no-active" : "a reply";
  t.close();
}
console.log(JSON.stringify(summary));
process.exit(0);
