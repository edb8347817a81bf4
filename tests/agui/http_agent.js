// Runs AG-UI runs against agentio with @ag-ui/client's own HttpAgent
// (which checks the events with verifyEvents as they come), one per
// message, on one thread (each run sends the whole conversation so far),
// and prints a JSON summary: each run's event types, and the messages the
// agent assembled.
// usage: node http_agent.js URL MESSAGE [MESSAGE ...]
const { HttpAgent } = require("@ag-ui/client");

async function main() {
  const [url, ...questions] = process.argv.slice(2);
  const agent = new HttpAgent({ url, threadId: "thread-1" });
  const runs = [];
  for (const [i, question] of questions.entries()) {
    agent.addMessage({ id: `user-${i + 1}`, role: "user", content: question });
    const types = [];
    try {
      await agent.runAgent({ runId: `run-${i + 1}` }, { onEvent: ({ event }) => types.push(event.type) });
    } catch (error) {
      runs.push({ error: String((error && error.message) || error), types });
      break;
    }
    runs.push({ types });
  }
  console.log(JSON.stringify({ runs, types: runs[0] && runs[0].types, error: runs.find((r) => r.error)?.error, messages: agent.messages }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
