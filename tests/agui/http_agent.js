// Runs one AG-UI run against agentio with @ag-ui/client's own HttpAgent
// (which checks the events with verifyEvents as they come) and prints a
// JSON summary: the event types, and the messages the agent assembled.
// usage: node http_agent.js URL MESSAGE
const { HttpAgent } = require("@ag-ui/client");

async function main() {
  const [url, message] = process.argv.slice(2);
  const agent = new HttpAgent({ url, threadId: "thread-1" });
  agent.addMessage({ id: "user-1", role: "user", content: message });
  const types = [];
  try {
    await agent.runAgent({ runId: "run-1" }, { onEvent: ({ event }) => types.push(event.type) });
  } catch (error) {
    console.log(JSON.stringify({ error: String(error && error.message || error), types }));
    return;
  }
  console.log(JSON.stringify({ types, messages: agent.messages }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
