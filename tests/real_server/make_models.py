#!/usr/bin/env python3
"""Tiny GGUF models for agentio's tests against llama.cpp's llama-server.

usage: make_models.py OUTDIR        (needs the packages gguf and numpy)

Writes into OUTDIR:

  scripted.gguf         A model whose every reply is written below (MARKERS).
                        Its only working part is a table of next-token logits:
                        the embeddings are one-hot, every attention and
                        feed-forward weight is zero, so the residual stream
                        that reaches the output layer is the current token's
                        one-hot vector, and the output matrix row for the
                        wanted successor is large. A reply is a chain of
                        tokens, each with one successor; the chat template
                        picks the chain by ending the prompt with a marker
                        token (see CHOOSE_MARKER): a call, two calls, text
                        and a call, a poem after tool results, a reply that
                        never ends. After tool results the template also
                        checks what the client sent back (every call answered
                        under its id, no reasoning) and says so instead of
                        the poem. Everything on the wire (SSE, deltas,
                        tool-call parsing, errors) is llama-server's.
  random.gguf           Random weights and a real forward pass (two layers of
                        attention): word-salad replies, no tool calls.
  reasoning.jinja       The scripted model's template with Qwen3-style
                        reasoning rendering; with `--chat-template-file` it,
                        llama-server sends the <think> block as
                        `reasoning_content` deltas.
  manifest.json         What was written.
  generator.py          A copy of this script: the setup script and the tests
                        compare it with the repository's, so models from an
                        older generator are made again, never used.

The Rust side (tests/llama_server.rs) holds its own copy of the texts it
expects; the two must agree.
"""

import hashlib
import importlib.metadata
import json
import sys
from pathlib import Path

import gguf
import numpy as np

TT = gguf.TokenType
SPACE = "\u2581"  # SentencePiece's visible space

# --- the replies -----------------------------------------------------------

# One call, its arguments in fragments. Each item is one token; llama-server
# streams the name first, then the arguments as they grow.
ONE_CALL = [
    "<tool_call>",
    '\n{"name": "weather_forecast", ',
    '"arguments": ',
    '{"city": "',
    "Par",
    "is",
    '"}',
    "}\n",
    "</tool_call>",
]

# Two calls in one reply (a user message naming Lyon). A token has a single
# successor, so no token of ONE_CALL can appear here: these are other texts.
TWO_CALLS = [
    '<tool_call>\n{"name": "weather_forecast", "arguments": ',
    '{"city": "Paris"}}\n</tool_call>',
    '\n<tool_call>\n{"name": "weather_forecast", ',
    '"arguments": {"city": "Lyon"}}',
    "\n</tool_call>",
]

# Reasoning, text, then ONE_CALL from its first token on (a message saying
# "think"). "ponder" marks the reasoning: the template notices it coming back.
THINK = [
    "<think>",
    "\nI ponder the sky ",
    "over Paris; ",
    "the forecast tool will know.\n",
    "</think>",
    "\n\nLet me check ",
    "the forecast.",
]

# After a tool result. Multi-byte UTF-8 in whole tokens, and a 4-byte emoji
# (U+1F324, sun behind a small cloud) as four byte tokens that the server
# must hold until the character is whole.
POEM = [
    "Paris wakes in gold",
    " — the Seine is bright;",
    "\ncafé chairs warm by nine,",
    "\n晴れ, soleil, ",
    "<0xF0>", "<0x9F>", "<0x8C>", "<0xA4>",
    "\nand not a cloud in sight.",
    "\n\nTERMINATE",
]

# After a tool result, when the conversation sent back the reasoning (as
# reasoning_content, or inside the content): the test looks for this.
ECHO = ["ECHO: my reasoning ", "came back to me. ", "TERMINATE"]

# After a tool result, when the user's message said "forever": a reply that
# never ends (a cycle) until -n or the client leaves.
FOREVER = ["and the sun ", "keeps on ", "shining, "]

# After tool results that do not answer every call of the last assistant
# message by its id.
UNANSWERED = ["UNANSWERED: a call ", "got no result. TERMINATE"]

# No tools offered.
PLAIN = ["Hello! ", "Ask me about ", "the weather."]

# Each marker opens one reply; the template ends the prompt with one.
MARKERS = {
    "<|x_call|>": ONE_CALL,
    "<|x_two|>": TWO_CALLS,
    "<|x_think|>": THINK,
    "<|x_poem|>": POEM,
    "<|x_echo|>": ECHO,
    "<|x_unanswered|>": UNANSWERED,
    "<|x_forever|>": FOREVER,
    "<|x_plain|>": PLAIN,
}
CYCLES = {"<|x_forever|>"}
# Replies that end by joining another chain instead of the end of turn.
JOINS = {"<|x_think|>": "<tool_call>"}

EOS = "<|im_end|>"

# Words the random model strings together.
WORDS = """sun rain cloud wind storm mist fog frost snow hail breeze sky blue grey
warm cold mild hot cool dry wet bright dark calm morning noon evening night
today tomorrow week river city street roof garden bridge tower market square
light shadow weather forecast season spring summer autumn winter north south
east west high low and the a of in on over under with is was will be""".split()

# --- the chat template ------------------------------------------------------

TOOLS_BLOCK = (
    "{{- '\\n\\n# Tools\\n\\nYou can call these functions:\\n<tools>' }}"
    "{%- for tool in tools %}{{- '\\n' + (tool | tojson) }}{%- endfor %}"
    "{{- '\\n</tools>\\n\\nTo call one, answer with a JSON object of its name and "
    "arguments inside <tool_call></tool_call> tags:\\n<tool_call>\\n"
    "{\"name\": <function-name>, \"arguments\": <args-json-object>}\\n</tool_call>' }}"
)

# Which reply: decided by the last message and, after tool results, by the
# history. Jinja, evaluated by llama-server's own template engine. After tool
# results it checks what the client sent back: every call of the last
# assistant message answered by a tool message with its id, and no reasoning
# in the history (reasoning_content, reasoning, or, when the server separates
# reasoning, the reasoning's text inside the content).
CHOOSE_MARKER = """
{%- set last = messages[-1] %}
{%- set ns = namespace(echo=false, forever=false, calls=0, answers=0, matched=0, ids='') %}
{%- for m in messages %}
    {%- if m.role == 'assistant' %}
        {%- if m.reasoning_content is defined and m.reasoning_content %}
            {%- set ns.echo = true %}
        {%- endif %}
        {%- if m.reasoning is defined and m.reasoning %}
            {%- set ns.echo = true %}
        {%- endif %}
        {%- if ECHO_IN_CONTENT and m.content is string and 'ponder' in m.content %}
            {%- set ns.echo = true %}
        {%- endif %}
        {%- if m.tool_calls %}
            {%- set ns.calls = m.tool_calls | length %}
            {%- set ns.answers = 0 %}
            {%- set ns.matched = 0 %}
            {%- set ns.ids = '' %}
            {%- for call in m.tool_calls %}
                {%- if call.id is defined and call.id %}
                    {%- set ns.ids = ns.ids + '|' + call.id + '|' %}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
    {%- elif m.role == 'tool' %}
        {%- set ns.answers = ns.answers + 1 %}
        {%- if m.tool_call_id is defined and m.tool_call_id and ('|' + m.tool_call_id + '|') in ns.ids %}
            {%- set ns.matched = ns.matched + 1 %}
        {%- endif %}
    {%- elif m.role == 'user' and m.content is string and 'forever' in m.content %}
        {%- set ns.forever = true %}
    {%- endif %}
{%- endfor %}
{%- if last.role == 'tool' and ns.echo %}{{- '<|x_echo|>' }}
{%- elif last.role == 'tool' and (ns.answers != ns.calls or ns.matched != ns.calls) %}{{- '<|x_unanswered|>' }}
{%- elif last.role == 'tool' and ns.forever %}{{- '<|x_forever|>' }}
{%- elif last.role == 'tool' %}{{- '<|x_poem|>' }}
{%- elif tools and last.content is string and 'Lyon' in last.content %}{{- '<|x_two|>' }}
{%- elif tools and last.content is string and 'think' in last.content %}{{- '<|x_think|>' }}
{%- elif tools %}{{- '<|x_call|>' }}
{%- else %}{{- '<|x_plain|>' }}
{%- endif %}"""

REASONING_PART = """
        {%- if message.reasoning_content is defined and message.reasoning_content %}
            {{- '<think>\\n' + message.reasoning_content + '\\n</think>\\n\\n' }}
        {%- endif %}"""


def chat_template(scripted, reasoning=False):
    """ChatML turns with Hermes-style <tool_call> blocks, written so that
    llama-server's template analysis finds the tool-call format (and, with
    `reasoning`, the <think> block)."""
    t = """{#- agentio's test models: ChatML, tools as <tool_call> JSON blocks -#}
{%- if messages and messages[0].role == 'system' %}
    {%- set system = messages[0].content %}
{%- else %}
    {%- set system = 'You talk about the weather.' %}
{%- endif %}
{%- if system or tools %}
    {{- '<|im_start|>system\\n' + system }}
    {%- if tools %}TOOLS{%- endif %}
    {{- '<|im_end|>\\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'system' and loop.first %}
    {%- elif message.role == 'assistant' %}
        {{- '<|im_start|>assistant\\n' }}REASONING
        {%- if message.content %}
            {{- message.content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for call in message.tool_calls %}
                {%- set fn = call.function if call.function is defined else call %}
                {%- if loop.first and not message.content %}
                    {{- '<tool_call>\\n' }}
                {%- else %}
                    {{- '\\n<tool_call>\\n' }}
                {%- endif %}
                {{- '{"name": "' + fn.name + '", "arguments": ' + (fn.arguments | tojson) + '}\\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}MARKER
{%- endif %}
"""
    t = t.replace("TOOLS", TOOLS_BLOCK)
    t = t.replace("REASONING", REASONING_PART if reasoning else "")
    # Without reasoning parsing the <think> block is content, and rightly
    # comes back as content: only a reasoning server looks for it there.
    choose = CHOOSE_MARKER.replace("ECHO_IN_CONTENT", "true" if reasoning else "false")
    return t.replace("MARKER", choose if scripted else "")


# --- vocabulary -------------------------------------------------------------


class Vocab:
    """A SentencePiece-style ("llama") vocabulary: every byte, the printable
    ASCII characters, and whole pieces; spaces are stored as U+2581."""

    def __init__(self):
        self.pieces, self.types, self.ids = [], [], {}

    def add(self, text, kind=TT.NORMAL):
        piece = text if kind != TT.NORMAL else text.replace(" ", SPACE)
        if piece in self.ids:
            raise ValueError(f"token {text!r} twice: a chain token must be unique")
        self.ids[piece] = len(self.pieces)
        self.pieces.append(piece)
        self.types.append(kind)
        return self.ids[piece]

    def id(self, text):
        """The id of a token given as text (byte tokens as "<0xNN>")."""
        if text in self.ids:
            return self.ids[text]
        return self.ids[text.replace(" ", SPACE)]

    def scores(self):
        # SentencePiece merges the highest-scoring pair first: prefer long pieces.
        return [float(len(p)) if t == TT.NORMAL else 0.0 for p, t in zip(self.pieces, self.types)]

    def __len__(self):
        return len(self.pieces)


def base_vocab(markers):
    v = Vocab()
    v.add("<unk>", TT.UNKNOWN)
    v.add("<s>", TT.CONTROL)
    v.add("</s>", TT.CONTROL)
    for b in range(256):
        v.add(f"<0x{b:02X}>", TT.BYTE)
    for special in ["<|im_start|>", EOS] + list(markers):
        v.add(special, TT.CONTROL)
    for tag in ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>",
                "<tools>", "</tools>", "<think>", "</think>"]:
        v.add(tag, TT.USER_DEFINED)
    v.add(SPACE)
    for c in range(0x21, 0x7F):
        v.add(chr(c))
    return v


def header(w, name, vocab, n_embd, n_layer, n_head, n_ff, template):
    w.add_name(name)
    w.add_context_length(32768)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(len(vocab))
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(vocab.pieces)
    w.add_token_scores(vocab.scores())
    w.add_token_types([int(t) for t in vocab.types])
    w.add_bos_token_id(vocab.id("<s>"))
    w.add_eos_token_id(vocab.id(EOS))
    w.add_eot_token_id(vocab.id(EOS))
    w.add_unk_token_id(vocab.id("<unk>"))
    w.add_pad_token_id(vocab.id("</s>"))
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)
    w.add_chat_template(template)


def layers(w, n_layer, n_embd, n_ff, make):
    for b in range(n_layer):
        w.add_tensor(f"blk.{b}.attn_norm.weight", np.ones(n_embd, dtype=np.float32))
        w.add_tensor(f"blk.{b}.ffn_norm.weight", np.ones(n_embd, dtype=np.float32))
        for part in ("q", "k", "v", "output"):
            w.add_tensor(f"blk.{b}.attn_{part}.weight", make(n_embd, n_embd))
        w.add_tensor(f"blk.{b}.ffn_gate.weight", make(n_ff, n_embd))
        w.add_tensor(f"blk.{b}.ffn_up.weight", make(n_ff, n_embd))
        w.add_tensor(f"blk.{b}.ffn_down.weight", make(n_embd, n_ff))


def finish(w, path):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# --- the scripted model -------------------------------------------------------

HIGH, LOW = 40.0, -40.0


def write_scripted(path):
    vocab = base_vocab(MARKERS)
    for reply in MARKERS.values():
        for text in reply:
            if text not in vocab.ids and not text.startswith("<0x"):
                vocab.add(text)
    n = len(vocab)
    head_dim = 64
    n_embd = -(-n // head_dim) * head_dim  # room for a one-hot vector per token
    n_head, n_ff, n_layer = n_embd // head_dim, 32, 1

    # next[successor, current]: the logit table. By default a reply ends.
    table = np.full((n, n), LOW, dtype=np.float32)
    table[vocab.id(EOS), :] = 0.0

    def follow(a, b):
        table[:, vocab.id(a)] = LOW
        table[vocab.id(b), vocab.id(a)] = HIGH

    successor = {}
    for marker, reply in MARKERS.items():
        chain = [marker] + reply
        if marker in CYCLES:
            chain.append(reply[0])
        else:
            chain.append(JOINS.get(marker, EOS))
        for a, b in zip(chain, chain[1:]):
            if successor.setdefault(a, b) != b:
                raise ValueError(f"{a!r} would have two successors")
            follow(a, b)

    w = gguf.GGUFWriter(str(path), "llama")
    header(w, "agentio-scripted", vocab, n_embd, n_layer, n_head, n_ff, chat_template(True))
    embeddings = np.zeros((n, n_embd), dtype=np.float32)
    embeddings[np.arange(n), np.arange(n)] = 1.0
    # The final RMS norm scales a one-hot vector to sqrt(n_embd): undo it.
    output = np.zeros((n, n_embd), dtype=np.float32)
    output[:, :n] = table / np.sqrt(n_embd)
    w.add_tensor("token_embd.weight", embeddings)
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output.weight", output)
    layers(w, n_layer, n_embd, n_ff, lambda *shape: np.zeros(shape, dtype=np.float32))
    finish(w, path)
    return {"vocab": n, "n_embd": n_embd, "layers": n_layer}


# --- the random model -------------------------------------------------------


def write_random(path, seed=20):
    vocab = base_vocab([])
    for word in WORDS:
        vocab.add(" " + word)
    n = len(vocab)
    n_embd, n_head, n_ff, n_layer = 64, 2, 128, 2
    rng = np.random.default_rng(seed)

    def normal(*shape, sd=0.1):
        return rng.normal(0.0, sd, shape).astype(np.float32)

    words = [vocab.id(" " + word) for word in WORDS]
    embeddings = normal(n, n_embd, sd=1.0)
    embeddings[:, 0] = 3.0  # a constant feature: the output layer's bias
    output = np.zeros((n, n_embd), dtype=np.float32)
    output[words] = normal(len(words), n_embd, sd=0.3)
    output[words, 0] = 0.0
    # Everything but the words and the end of turn is out of reach: the
    # replies are readable words, never a stray byte or a tool call.
    others = np.setdiff1d(np.arange(n), words + [vocab.id(EOS)])
    output[others, 0] = -15.0
    output[vocab.id(EOS), 0] = 1.2  # replies end, after a few dozen words

    w = gguf.GGUFWriter(str(path), "llama")
    header(w, "agentio-random", vocab, n_embd, n_layer, n_head, n_ff, chat_template(False))
    w.add_tensor("token_embd.weight", embeddings)
    w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
    w.add_tensor("output.weight", output)
    layers(w, n_layer, n_embd, n_ff, normal)
    finish(w, path)
    return {"vocab": n, "n_embd": n_embd, "layers": n_layer}


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    made = {
        "scripted.gguf": write_scripted(out / "scripted.gguf"),
        "random.gguf": write_random(out / "random.gguf"),
    }
    (out / "reasoning.jinja").write_text(chat_template(True, reasoning=True))
    source = Path(__file__).read_bytes()
    manifest = {
        "generator_sha256": hashlib.sha256(source).hexdigest(),
        "gguf": importlib.metadata.version("gguf"),
        "numpy": np.__version__,
        "models": made,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "generator.py").write_bytes(source)
    for name, info in made.items():
        print(f"{out / name}: vocab {info['vocab']}, n_embd {info['n_embd']}, layers {info['layers']}")
    print(f"{out / 'reasoning.jinja'}: for llama-server --chat-template-file")


if __name__ == "__main__":
    main()
