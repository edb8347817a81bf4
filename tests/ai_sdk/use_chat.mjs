// Drives a chat the way useChat does (the SDK's AbstractChat with its
// DefaultChatTransport, which checks every chunk against
// uiMessageChunkSchema) against a server's AI SDK endpoint: the question,
// then one decision per approval the replies ask for, each answered with
// addToolApprovalResponse and sent on with sendMessage(). Prints a JSON
// summary: the messages, each response's stream header and chunk types,
// and any error.
// usage: node use_chat.mjs URL QUESTION [DECISION ...]
//   DECISION: JSON {"approved": true|false, "reason": "…"}
import { AbstractChat, DefaultChatTransport } from "ai";

const [url, question, ...decisions] = process.argv.slice(2);
const responses = [];
// Records what the server answered while the SDK reads it.
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init);
  const record = { status: response.status, header: response.headers.get("x-vercel-ai-ui-message-stream"), types: [], done: false };
  responses.push(record);
  const [mine, theirs] = response.body.tee();
  record.read = (async () => {
    const text = await new Response(mine).text();
    for (const event of text.split("\n\n")) {
      const data = event.startsWith("data: ") ? event.slice(6) : null;
      if (data === "[DONE]") record.done = true;
      else if (data) record.types.push(JSON.parse(data).type);
    }
  })();
  return new Response(theirs, { status: response.status, headers: response.headers });
};
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
const chat = new Chat({
  id: "chat-1", state,
  transport: new DefaultChatTransport({ api: url, fetch: recordingFetch }),
  onError: (e) => errors.push(String((e && e.message) || e)),
});
await chat.sendMessage({ text: question });
for (const decision of decisions) {
  const last = messages[messages.length - 1];
  const asking = (last?.parts ?? []).filter((p) => p.state === "approval-requested");
  if (asking.length === 0) break;
  for (const part of asking) {
    const { approved, reason } = JSON.parse(decision);
    await chat.addToolApprovalResponse({ id: part.approval.id, approved, reason });
  }
  await chat.sendMessage();
}
await Promise.all(responses.map((r) => r.read));
console.log(JSON.stringify({ messages, responses, errors, status: state.status }));
