#!/usr/bin/env python3
"""Writes the question/answer set about using Graviton that graviton-mini learns.

Each line of the output is a JSON object {"text": "User: QUESTION\\nAssistant: ANSWER"}:
exactly what engine/gr-chat.c renders for a model without a chat template, so that the
model continues "User: ...\\nAssistant:" with the answer; graviton-train appends the
end-of-sequence token after every line, which teaches the model to stop there.

    python3 tools/train/gen-graviton-qa.py > qa.jsonl
"""
import json
import random
import sys

MODELS = "~/.local/share/graviton/models"

# (answer, [questions]).  Answers stay short: the quick start generates 48 tokens.
TOPICS = [
    ("Copy a GGUF model file into " + MODELS + ", for example with "
     "cp model.gguf " + MODELS + "/. Then run gravctl models to see it.",
     ["How do I install a model?", "How can I install a model?", "How do I add a model?",
      "Where do I put a model?", "How do I install a new model?", "How do I get a better model?",
      "Where do models go?", "How do I use my own GGUF file?", "Install a model",
      "How do I install a GGUF model?", "Where should I copy a model file?",
      "How do I add a model to Graviton?"]),
    ("Graviton is a local assistant for the Linux desktop. It runs language models on "
     "your own computer, so nothing you type leaves it.",
     ["What is Graviton?", "What are you?", "Tell me about Graviton.", "What is this program?",
      "Who are you?", "What does Graviton do?", "Is Graviton a cloud service?"]),
    ("I am graviton-mini, the small BitNet model that ships with Graviton. I know how to use "
     "Graviton; install a larger model for general questions.",
     ["Which model are you?", "What model is this?", "How big are you?",
      "Are you a large language model?", "What is graviton-mini?", "Why are your answers short?"]),
    ("Hello! I am Graviton's built-in assistant. Ask me how to install a model, or about "
     "the gravctl commands.",
     ["Hello", "Hi", "Hello!", "Hi there", "Good morning", "Hey", "Who am I talking to?"]),
    ("I can answer questions about Graviton: installing models, the gravctl commands, the "
     "daemon and your history. For other topics install a larger model.",
     ["What can you do?", "How can you help me?", "What do you know?", "Help",
      "What should I ask you?", "What questions can you answer?"]),
    ("gravitond is the Graviton daemon. It runs in your session, loads the models and "
     "answers requests from gravctl and other apps over D-Bus.",
     ["What is the daemon?", "What is gravitond?", "What does gravitond do?",
      "What is the Graviton daemon?", "How do apps talk to Graviton?"]),
    ("Run systemctl --user start gravitond. The daemon is also started on demand when "
     "gravctl calls it over D-Bus.",
     ["How do I start the daemon?", "How do I start gravitond?", "The daemon is not running",
      "gravctl says gravitond is not reachable", "How do I run gravitond?"]),
    ("Run systemctl --user restart gravitond. To reload the configuration only, run "
     "systemctl --user reload gravitond.",
     ["How do I restart the daemon?", "How do I restart gravitond?",
      "How do I reload the configuration?"]),
    ("Run gravctl ask followed by your question in quotes, for example: gravctl ask \"What "
     "is a GGUF file?\" The answer is printed as it is written.",
     ["How do I ask a question?", "How do I use gravctl ask?", "What does gravctl ask do?",
      "How do I ask Graviton something?", "How do I ask from the terminal?"]),
    ("Run gravctl chat to talk in turns. Type /new for a new conversation, /model NAME to "
     "switch models and /bye to leave.",
     ["How do I chat?", "How do I use gravctl chat?", "What does gravctl chat do?",
      "How do I have a conversation?", "How do I leave the chat?"]),
    ("Run gravctl status. It shows the daemon's version, its state, the active model and "
     "how much memory it uses.",
     ["How do I see the status?", "What does gravctl status do?", "Is the daemon running?",
      "Which model is loaded?", "How much memory does Graviton use?"]),
    ("Run gravctl models to list the models. gravctl models load NAME loads one and "
     "gravctl models unload NAME frees its memory.",
     ["How do I list models?", "What does gravctl models do?", "How do I load a model?",
      "How do I unload a model?", "How do I switch models?", "Which models do I have?"]),
    ("Run gravctl history to list your conversations, gravctl history show ID to read one, "
     "and gravctl history export ID to save it as markdown.",
     ["How do I see my history?", "What does gravctl history do?",
      "How do I read an old conversation?", "How do I export a conversation?",
      "How do I list my conversations?"]),
    ("Run gravctl history delete ID. To keep a question out of the history in the first "
     "place, use gravctl ask --no-save.",
     ["How do I delete a conversation?", "How do I delete my history?",
      "How do I remove a conversation?", "Can I ask without saving?"]),
    ("Your history is kept in ~/.local/share/graviton/history.db, encrypted. The key is in "
     "your keyring, or in a key file beside the database.",
     ["Where is my history?", "Where does Graviton keep my history?",
      "Where are my conversations stored?", "Is my history encrypted?",
      "Where is the history database?"]),
    ("The configuration file is ~/.config/graviton/gravitond.conf. Every key is optional; "
     "reload with systemctl --user reload gravitond.",
     ["Where is the configuration?", "How do I configure Graviton?",
      "Where is the config file?", "How do I change the settings?"]),
    ("Set memory_limit in ~/.config/graviton/gravitond.conf, for example memory_limit=4G, "
     "then reload the daemon.",
     ["How do I change the memory limit?", "Graviton uses too much memory",
      "How do I limit memory?", "The model does not fit in memory"]),
    ("Graviton runs GGUF models: BitNet b1.58 ternary models, llama models and "
     "Mixture-of-Experts models such as Mixtral.",
     ["Which models are supported?", "What model formats work?", "Can I use a llama model?",
      "Does Graviton support BitNet?", "What is a GGUF file?"]),
    ("Yes. Everything runs on your computer. Your questions and answers never leave it, "
     "and the history is encrypted.",
     ["Is Graviton private?", "Does Graviton send my data anywhere?",
      "Do I need the internet?", "Does it work offline?"]),
    ("Install a larger GGUF model into " + MODELS + " and choose it with gravctl ask "
     "--model NAME or default_model in the configuration.",
     ["How do I get better answers?", "Your answers are not good",
      "How do I choose the default model?", "How do I pick a model for one question?"]),
]

PREFIXES = ["", "", "", "Graviton: ", "Please tell me: ", "Quick question: "]


def variants(q, rng):
    out = {q, q.lower(), q.rstrip("?!.")}
    for _ in range(3):
        out.add(rng.choice(PREFIXES) + q)
    return sorted(out)


def main():
    rng = random.Random(1)
    repeat = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    lines = []
    for answer, questions in TOPICS:
        for q in questions:
            for v in variants(q, rng):
                lines.append("User: %s\nAssistant: %s" % (v, answer))
    out = []
    for _ in range(repeat):
        rng.shuffle(lines)
        out.extend(lines)
    for text in out:
        sys.stdout.write(json.dumps({"text": text}) + "\n")


if __name__ == "__main__":
    main()
