// What both protocol pages show, from a plain list of items their clients'
// state maps to: messages ({role, text}) and tool cards ({tool: {id, name,
// args, result, approval}}). The whole list is drawn again on each change;
// text goes in with textContent only.

const messages = () => document.getElementById("messages");

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function toolCard({ id, name, args, result, approval }) {
  const card = element("div", "tool-call");
  card.dataset.toolCallId = id;
  card.append(element("div", "name", name), element("div", "arguments", args));
  if (result !== undefined) card.append(element("div", "result", result));
  if (approval) {
    // Approve/Deny for a call that waits: each answers once.
    const approve = element("button", "approve", "Approve");
    const deny = element("button", "deny", "Deny");
    const answer = (decide) => {
      approve.disabled = deny.disabled = true;
      decide();
    };
    approve.onclick = () => answer(approval.approve);
    deny.onclick = () => answer(approval.deny);
    card.append(approve, deny);
  }
  return card;
}

/** Draws `items` in place of what #messages showed. */
export function render(items) {
  messages().replaceChildren(
    ...items.map((item) =>
      item.tool ? toolCard(item.tool) : element("div", `message ${item.role}`, item.text),
    ),
  );
}

/** Shows the run's state: idle, running, waiting (an approval), done, failed. */
export function status(state, detail = "") {
  const node = document.getElementById("status");
  node.dataset.state = state;
  node.textContent = detail ? `${state}: ${detail}` : state;
  document.getElementById("send").disabled = state === "running" || state === "waiting";
}

/** Calls `send(text)` for each message the composer submits. */
export function onSend(send) {
  document.getElementById("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const box = document.getElementById("question");
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    send(text);
  });
}
