// The AG-UI page: @ag-ui/client's own HttpAgent posts each run to /agui on
// the page's server and keeps the conversation; the page draws
// agent.messages whenever the agent's subscriber callbacks say they changed.
// A run that ends in interrupts (tool approvals) shows Approve/Deny; the
// answer resumes with the client's buildResumeArray.
import { HttpAgent, buildResumeArray } from "@ag-ui/client";
import { onSend, render, status } from "./view.js";

const agent = new HttpAgent({ url: "/agui", threadId: `thread-${crypto.randomUUID()}` });
let runs = 0;
// Interrupts answered already: their cards keep no buttons while the resume runs.
const answered = new Set();

// The conversation as cards: a tool call shows with its tool message's result.
function draw() {
  const results = new Map(
    agent.messages.filter((m) => m.role === "tool").map((m) => [m.toolCallId, m.content]),
  );
  const waiting = new Map(agent.pendingInterrupts.map((i) => [i.toolCallId, i]));
  const items = [];
  for (const message of agent.messages) {
    if (message.role === "user") items.push({ role: "user", text: message.content });
    if (message.role !== "assistant") continue;
    for (const call of message.toolCalls ?? []) {
      const interrupt = waiting.get(call.id);
      items.push({
        tool: {
          id: call.id,
          name: call.function.name,
          args: call.function.arguments,
          result: results.get(call.id),
          approval: interrupt && !answered.has(interrupt.id) && {
            approve: () => resume(interrupt, { approved: true }),
            deny: () => resume(interrupt, { approved: false, reason: "denied on the page" }),
          },
        },
      });
    }
    if (message.content) items.push({ role: "assistant", text: message.content });
  }
  render(items);
}

agent.subscribe({ onMessagesChanged: draw });

async function run(parameters) {
  status("running");
  try {
    runs += 1;
    await agent.runAgent({ runId: `run-${runs}`, ...parameters });
    status(agent.pendingInterrupts.length ? "waiting" : "done");
  } catch (error) {
    status("failed", String(error?.message ?? error));
  }
  draw();
}

function resume(interrupt, payload) {
  answered.add(interrupt.id);
  const resume = buildResumeArray(agent.pendingInterrupts, {
    [interrupt.id]: { status: "resolved", payload },
  });
  run({ resume });
}

onSend((text) => {
  agent.addMessage({ id: crypto.randomUUID(), role: "user", content: text });
  run({});
});
