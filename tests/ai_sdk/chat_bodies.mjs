// Captures what the AI SDK's DefaultChatTransport posts, for the request
// reader's tests (src/io/websockets/ui_request.rs reads the output):
//   node tests/ai_sdk/chat_bodies.mjs > tests/ai_sdk/chat_bodies.json
// A chat (AbstractChat, as useChat drives it) against a local listener that
// answers with scripted UI message chunks: a question whose reply asks to
// approve a call, the denial and the run it continues, a next question.
import http from "node:http";
import { AbstractChat, DefaultChatTransport } from "ai";
const replies = [
  [{type:"start",messageId:"msg-1"},{type:"start-step"},{type:"text-start",id:"t0"},{type:"text-delta",id:"t0",delta:"Let me check."},{type:"text-end",id:"t0"},{type:"reasoning-start",id:"r"},{type:"reasoning-delta",id:"r",delta:"hmm"},{type:"reasoning-end",id:"r"},{type:"tool-input-available",toolCallId:"call_1",toolName:"weather_forecast",input:{city:"Paris"}},{type:"tool-approval-request",approvalId:"approval-call_1",toolCallId:"call_1"},{type:"finish-step"},{type:"finish",finishReason:"tool-calls"}],
  [{type:"start",messageId:"msg-1"},{type:"tool-output-denied",toolCallId:"call_1"},{type:"start-step"},{type:"tool-input-available",toolCallId:"call_2",toolName:"weather_forecast",input:{city:"Rome"}},{type:"tool-output-available",toolCallId:"call_2",output:"Sunny in Rome."},{type:"finish-step"},{type:"start-step"},{type:"text-start",id:"t"},{type:"text-delta",id:"t",delta:"Rome is sunny."},{type:"text-end",id:"t"},{type:"data-speaker",data:{name:"chatbot"}},{type:"finish-step"},{type:"finish",finishReason:"stop"}],
  [{type:"start",messageId:"msg-2"},{type:"start-step"},{type:"text-start",id:"t"},{type:"text-delta",id:"t",delta:"Bye."},{type:"text-end",id:"t"},{type:"finish-step"},{type:"finish",finishReason:"stop"}],
];
const bodies = [];
const server = http.createServer((req, res) => {
  let body = ""; req.on("data", (d) => body += d); req.on("end", () => {
    bodies.push(JSON.parse(body));
    res.writeHead(200, { "content-type": "text/event-stream", "x-vercel-ai-ui-message-stream": "v1" });
    for (const c of replies[bodies.length - 1]) res.write(`data: ${JSON.stringify(c)}\n\n`);
    res.end("data: [DONE]\n\n");
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/api/chat`;
let messages = [];
const state = { status: "ready", error: undefined, get messages() { return messages; }, set messages(m) { messages = m; },
  pushMessage: (m) => { messages = [...messages, m]; }, popMessage: () => { messages = messages.slice(0, -1); },
  replaceMessage: (i, m) => { messages = [...messages.slice(0, i), m, ...messages.slice(i + 1)]; }, snapshot: (t) => structuredClone(t) };
class Chat extends AbstractChat {}
const chat = new Chat({ id: "chat-1", state, transport: new DefaultChatTransport({ api: url, body: { extra: 1 } }),
 onError: (e) => console.error("chat error", e) });
await chat.sendMessage({ text: "Weather in Paris?" });
await chat.addToolApprovalResponse({ id: "approval-call_1", approved: false, reason: "not today" });
await chat.sendMessage(); // continue after the answer
await chat.sendMessage({ text: "Thanks!" });
server.close();
console.log(JSON.stringify(bodies, null, 1));
