"""Generate examples/train/meetings.jsonl: invented meeting requests → a fixed JSON schema (a behaviour task for
the fine-tuning demo and README). Seeded, so the file is reproducible: `python examples/train/make_meetings.py`."""

import json
import random
from pathlib import Path

PEOPLE = ["Ana", "Bruno", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hina", "Ivo", "Jonas", "Keiko", "Lena"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
TIMES = ["9am", "10:30am", "11am", "1pm", "2:15pm", "3pm", "4pm", "5:30pm"]
ROOMS = ["B2", "C14", "the Atrium", "room 301", "the library", "Lab 7"]
TOPICS = ["the Q3 budget", "the onboarding plan", "the vendor contract", "the release checklist",
          "hiring for the data team", "the office move", "the security review", "next year's roadmap"]
TEMPLATES = [
    "Can we meet {day} at {time} in {room} to discuss {topic}? – {person}",
    "Hi all, {person} here. Let's get together on {day} at {time} ({room}) about {topic}.",
    "{person} would like to talk about {topic}: {day}, {time}, {room}.",
    "Reminder from {person}: {topic} sync on {day} at {time}.",
    "Are you free {day} around {time}? I want to go over {topic}. {person}",
    "Meeting request ({person}) — topic: {topic}; place: {room}.",
]


def main() -> None:
    rng = random.Random(7)
    rows, seen = [], set()
    while len(rows) < 120:
        slots = {"person": rng.choice(PEOPLE), "day": rng.choice(DAYS), "time": rng.choice(TIMES),
                 "room": rng.choice(ROOMS), "topic": rng.choice(TOPICS)}
        template = rng.choice(TEMPLATES)
        text = template.format(**slots)
        if text in seen:
            continue
        seen.add(text)
        fields = {k: v for k, v in slots.items() if "{" + k + "}" in template}
        rows.append({"id": f"mtg-{len(rows):03d}", "input": f"Extract the meeting request as JSON: {text}",
                     "output": json.dumps(fields, sort_keys=True)})
    out = Path(__file__).with_name("meetings.jsonl")
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
