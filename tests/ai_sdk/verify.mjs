// Checks UI message chunks with the AI SDK's own package: every chunk
// against `ai`'s uiMessageChunkSchema, then the sequence through
// readUIMessageStream, which builds the assistant message as useChat does.
// Reads the chunks on stdin (one JSON chunk per line, or a JSON array);
// prints {types, message, errors} (message: the final UIMessage, errors:
// the `error` chunks' texts) or exits 1 with what is wrong.
import { readUIMessageStream, uiMessageChunkSchema } from "ai";

const fail = (why) => {
  console.error(why);
  process.exit(1);
};

let input = "";
for await (const piece of process.stdin) input += piece;
const text = input.trim();
const chunks = text.startsWith("[")
  ? JSON.parse(text)
  : text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line));

const schema = uiMessageChunkSchema();
for (const [i, chunk] of chunks.entries()) {
  const result = await schema.validate(chunk);
  if (!result.success) fail(`chunk ${i} (${chunk.type}) breaks the schema: ${result.error.message}\n${JSON.stringify(chunk)}`);
}

const errors = [];
const stream = new ReadableStream({
  start(controller) {
    for (const chunk of chunks) controller.enqueue(chunk);
    controller.close();
  },
});
let message;
for await (const snapshot of readUIMessageStream({
  stream,
  // An `error` chunk arrives as a plain Error; anything else is the
  // SDK refusing the sequence.
  onError: (error) => {
    if (error?.name === "AI_UIMessageStreamError") fail(`readUIMessageStream: ${error.message}\n${text}`);
    errors.push(error?.message ?? String(error));
  },
})) {
  message = snapshot;
}
console.log(JSON.stringify({ types: chunks.map((c) => c.type), message, errors }));
