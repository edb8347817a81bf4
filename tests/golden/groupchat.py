"""Makes the group chat transcripts agentio's tests compare against, with
AutoGen 0.2 itself (autogen-agentchat 0.2.40, the last 0.2 release) on scripted models:

    python -m venv /tmp/ag02 && /tmp/ag02/bin/pip install autogen-agentchat==0.2.40
    NO_COLOR=1 /tmp/ag02/bin/python tests/golden/groupchat.py tests/golden

One file per speaker selection method, `groupchat_<method>.txt`: what the
chat printed, stdin answers not echoed (as when piped). The scripts are the
ones tests/groupchat.rs replays; change both together.
"""

import io
import sys
from contextlib import redirect_stdout
from types import SimpleNamespace

import autogen
from autogen import ConversableAgent, GroupChat, GroupChatManager


# The replies of each script, shared by every client made from its config
# (AutoGen makes a new speaker selection agent, and client, per selection).
SCRIPTS = {}


class Scripted:
    """A model client that answers from its script, one reply per call."""

    def __init__(self, config, **kwargs):
        self.script = config["script"]

    def create(self, params):
        if not SCRIPTS[self.script]:
            raise RuntimeError(f"script {self.script} ran out")
        text = SCRIPTS[self.script].pop(0)
        message = SimpleNamespace(content=text, function_call=None, tool_calls=None, role="assistant")
        return SimpleNamespace(choices=[SimpleNamespace(message=message)], model="scripted", cost=0)

    def message_retrieval(self, response):
        return [c.message.content for c in response.choices]

    def cost(self, response):
        return 0

    @staticmethod
    def get_usage(response):
        return {}


def scripted(agent, replies):
    agent.register_model_client(model_client_cls=Scripted)
    return agent


def config(script, replies):
    SCRIPTS[script] = list(replies)
    return {
        "config_list": [{"model": "scripted", "model_client_cls": "Scripted", "script": script}],
        "cache_seed": None,
    }


def agents():
    user = ConversableAgent("user_proxy", human_input_mode="NEVER", llm_config=False,
                            description="The user.")
    writer = ConversableAgent("writer", human_input_mode="NEVER",
                              llm_config=config("writer", ["Roses are red.", "Violets are blue."]),
                              description="Writes poems.")
    critic = ConversableAgent("critic", human_input_mode="NEVER",
                              llm_config=config("critic", ["Too short.", "Better."]),
                              description="Criticises poems.")
    scripted(writer, None)
    scripted(critic, None)
    return user, writer, critic


def run(method, manager_replies=None, answers="", **group_options):
    user, writer, critic = agents()
    if manager_replies:
        # The speaker selection agent is made inside the group chat, from
        # this config: its client class is registered there.
        group_options["select_speaker_auto_llm_config"] = config("manager", manager_replies)
        group_options["select_speaker_auto_model_client_cls"] = Scripted
    group = GroupChat([user, writer, critic], messages=[], speaker_selection_method=method,
                      **group_options)
    manager = GroupChatManager(group, llm_config=False)
    sys.stdin = io.StringIO(answers)
    out = io.StringIO()
    with redirect_stdout(out):
        user.initiate_chat(manager, message="Write a poem.")
    return out.getvalue()


def custom(last_speaker, groupchat):
    """After the user, round robin; after the writer, the critic; then nobody."""
    if last_speaker.name == "user_proxy":
        return "round_robin"
    if last_speaker.name == "writer":
        return groupchat.agent_by_name("critic")
    return None


def main(folder):
    transcripts = {
        "round_robin": run("round_robin", max_round=5),
        "manual": run("manual", answers="3\n9\nx\nq\n\n", max_round=5),
        "auto": run(
            "auto",
            manager_replies=["writer or critic?", "nobody", "critic", "writer", "user_proxy"],
            max_round=4,
            select_speaker_auto_verbose=True,
        ),
        "auto_quiet": run("auto", manager_replies=["critic", "the writer", "user_proxy"], max_round=4),
        "custom": run(custom, max_round=5),
    }
    for name, text in transcripts.items():
        with open(f"{folder}/groupchat_{name}.txt", "w") as f:
            f.write(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
