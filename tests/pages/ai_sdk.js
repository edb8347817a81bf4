// The AI SDK page: the SDK's AbstractChat with its DefaultChatTransport
// (what useChat wraps), posting to /api/chat on the page's server; the
// chat's own state is drawn whenever it changes. A tool part in state
// approval-requested shows Approve/Deny; the answer goes in with
// addToolApprovalResponse and on with sendMessage().
import { AbstractChat, DefaultChatTransport } from "ai";
import { onSend, render, status } from "./view.js";

// The framework-free ChatState: plain fields, a redraw on every change.
class State {
  onChange = () => {};
  #status = "ready";
  #messages = [];
  error = undefined;
  get status() { return this.#status; }
  set status(value) { this.#status = value; this.onChange(); }
  get messages() { return this.#messages; }
  set messages(value) { this.#messages = value; this.onChange(); }
  pushMessage = (m) => { this.messages = [...this.#messages, m]; };
  popMessage = () => { this.messages = this.#messages.slice(0, -1); };
  replaceMessage = (i, m) => {
    this.messages = [...this.#messages.slice(0, i), m, ...this.#messages.slice(i + 1)];
  };
  snapshot = (thing) => structuredClone(thing);
}

class Chat extends AbstractChat {}
const state = new State();
const chat = new Chat({
  state,
  transport: new DefaultChatTransport({ api: "/api/chat" }),
});

function toolName(part) {
  return part.type === "dynamic-tool" ? part.toolName : part.type.slice("tool-".length);
}

// What came of the call: its output, or the denial and its reason.
function result(part) {
  if (part.state === "output-available") return String(part.output);
  if (part.state === "output-denied") return `Denied: ${part.approval?.reason ?? ""}`;
  return undefined;
}

function answer(part, approved) {
  const reason = approved ? undefined : "denied on the page";
  chat
    .addToolApprovalResponse({ id: part.approval.id, approved, reason })
    .then(() => chat.sendMessage());
}

// The parts as cards, in the order the message has them.
function draw() {
  const items = [];
  for (const message of chat.messages) {
    for (const part of message.parts) {
      if (part.type === "text") items.push({ role: message.role, text: part.text });
      if (!part.type.startsWith("tool-") && part.type !== "dynamic-tool") continue;
      const asking = part.state === "approval-requested";
      items.push({
        tool: {
          id: part.toolCallId,
          name: toolName(part),
          args: JSON.stringify(part.input),
          result: result(part),
          approval: asking && { approve: () => answer(part, true), deny: () => answer(part, false) },
        },
      });
    }
  }
  render(items);
  if (chat.status === "submitted" || chat.status === "streaming") status("running");
  else if (chat.status === "error") status("failed", String(chat.error?.message ?? chat.error));
  else if (chat.messages.some((m) => m.parts.some((p) => p.state === "approval-requested"))) status("waiting");
  else if (chat.messages.length) status("done");
}

// Not before: the chat sets its state while it is built.
state.onChange = draw;

onSend((text) => chat.sendMessage({ text }));
