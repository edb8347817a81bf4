// Checks AG-UI events with AG-UI's own packages: every event against
// @ag-ui/core's schema, the sequence with @ag-ui/client's verifyEvents.
// Reads one JSON event per line from the file named on the command line;
// prints a JSON summary (the types, each message's joined text, each tool
// call's joined arguments) or exits 1 with what is wrong.
const fs = require("fs");
const { EventSchemas } = require("@ag-ui/core/schemas");
const { verifyEvents } = require("@ag-ui/client");
const { from } = require("rxjs");

const events = fs
  .readFileSync(process.argv[2], "utf8")
  .split("\n")
  .filter((line) => line.trim())
  .map((line) => JSON.parse(line));

for (const [i, event] of events.entries()) {
  const parsed = EventSchemas.safeParse(event);
  if (!parsed.success) {
    console.error(`event ${i} (${event.type}) breaks the schema: ${parsed.error.message}\n${JSON.stringify(event)}`);
    process.exit(1);
  }
}

const summary = { types: [], text: {}, args: {}, results: {}, steps: [] };
verifyEvents(false)(from(events)).subscribe({
  next: (event) => {
    summary.types.push(event.type);
    if (event.type === "TEXT_MESSAGE_CONTENT") summary.text[event.messageId] = (summary.text[event.messageId] || "") + event.delta;
    if (event.type === "TOOL_CALL_ARGS") summary.args[event.toolCallId] = (summary.args[event.toolCallId] || "") + event.delta;
    if (event.type === "TOOL_CALL_RESULT") summary.results[event.toolCallId] = event.content;
    if (event.type === "STEP_STARTED") summary.steps.push(event.stepName);
  },
  error: (error) => {
    console.error(`verifyEvents: ${error.message}`);
    process.exit(1);
  },
  complete: () => console.log(JSON.stringify(summary)),
});
