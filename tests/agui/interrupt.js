// Runs one AG-UI question with @ag-ui/client's HttpAgent and answers each
// interrupt the runs end with, the way a frontend does: the next run
// carries `resume` (built with the client's own buildResumeArray), one
// answer per interrupt. Prints a JSON summary: each run's event types and
// interrupts, and the messages the agent assembled.
// usage: [RESUME_URL=URL2] node interrupt.js URL QUESTION ANSWER [ANSWER ...]
//   RESUME_URL: where the runs that resume go (another server, say).
//   ANSWER: JSON {"status": "resolved"|"cancelled", "payload": …}, used for
//   every interrupt of one run.
const { HttpAgent, buildResumeArray } = require("@ag-ui/client");

async function main() {
  const [url, question, ...answers] = process.argv.slice(2);
  const agent = new HttpAgent({ url, threadId: "thread-hitl" });
  agent.addMessage({ id: "user-1", role: "user", content: question });
  const runs = [];
  let resume;
  for (let i = 0; i <= answers.length; i++) {
    const types = [];
    let outcome;
    try {
      await agent.runAgent(
        { runId: `run-${i + 1}`, ...(resume && { resume }) },
        {
          onEvent: ({ event }) => types.push(event.type),
          onRunFinishedEvent: (e) => {
            outcome = e.outcome;
          },
        },
      );
    } catch (error) {
      runs.push({ error: String((error && error.message) || error), types });
      break;
    }
    const interrupts = agent.pendingInterrupts.map((p) => ({ ...p }));
    runs.push({ types, outcome, interrupts });
    if (interrupts.length === 0 || i === answers.length) break;
    const answer = JSON.parse(answers[i]);
    if (process.env.RESUME_URL) agent.url = process.env.RESUME_URL;
    resume = buildResumeArray(
      agent.pendingInterrupts,
      Object.fromEntries(agent.pendingInterrupts.map((p) => [p.id, answer])),
    );
  }
  console.log(JSON.stringify({ runs, error: runs.find((r) => r.error)?.error, messages: agent.messages }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
