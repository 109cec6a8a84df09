"""Session capture without a model: rules over what the *user* typed, plus one short record of the session.

A user message is cleaned (code blocks, quotes, logs and pasted output removed), split into sentences, and each
sentence is tried against four kinds, first match wins:

- ``remember``: an explicit request ("remember that ...", "note that ...", "keep in mind ...");
- ``preference``: "I prefer / I'd rather / I hate ...", and lasting rules ("always ...", "never ...",
  "don't ..." at the start, "we always ...");
- ``decision``: "we'll use / let's go with / we decided / switch to / the plan is ...";
- ``fact``: about the project or people ("our CI runs on ...", "we deploy to ...", "Dana owns the ...").

Questions, hedges ("maybe", "what if", "not sure"), conditionals ("if ..."), sentences whose object is only a
pronoun ("let's go with that") and sentences too short or too long to stand alone are never captured. The
assistant's words are never captured: they are suggestions until the user adopts them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mcp_memory.models import Memory
from mcp_memory.ranking import AUTO_CAPTURED_TAG, STOP_WORDS

from .kinds import DECISION, FACT, PREFERENCE, REMEMBER, SESSION, TYPES
from .transcripts import Conversation

KINDS = (REMEMBER, PREFERENCE, DECISION, FACT)
MIN_WORDS, MAX_WORDS = 4, 50
MAX_STATEMENT_CHARS = 400

_I = re.IGNORECASE
_FENCE = re.compile(r"```.*?(```|$)", re.S)
_URL = re.compile(r"https?://\S+")
_SPLIT = re.compile(r"(?<=[.!?;])\s+")
_ABBREVIATION = re.compile(r"\b(e\.g|i\.e|etc|vs|cf|approx|incl|no|fig|mr|mrs|ms|dr)\.$", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_WORD = re.compile(r"[A-Za-z][\w'\-]*")

REMEMBER_RULES = [re.compile(p, _I) for p in (
    r"^(please\s+)?(remember|note|keep in mind|don'?t forget|never forget|make a note|for (future )?reference|fyi)\b",
    r"^(can|could|would) you (please )?(remember|note|keep in mind)\b(?! (what|when|where|why|how|if|whether))",
    r"^(important|heads up|for the record)\s*[:,-]",
)]
PREFERENCE_RULES = [re.compile(p, _I) for p in (
    r"\bi\s+(really\s+|strongly\s+|generally\s+)?(prefer|hate|dislike|can'?t stand|don'?t like|do not like)\b",
    r"\bi'?d\s+(much\s+)?(rather|prefer)\b",
    r"\bi\s+would\s+(much\s+)?(rather|prefer)\b",
    r"\bi\s+like\b.*\b(better|more than|over|instead)\b",
    r"^(please\s+)?(always|never)\b",
    r"^(please\s+)?(don'?t|do not|avoid|stop|prefer)\b",
    r"\b(i|we)\s+(always|never)\b",
    r"\b(you should|make sure to|make sure you|be sure to|please)\s+(always|never)\b",
    r"\b(my|our)\s+(preference|convention|rule|style|habit)\s+(is|:)",
    r"\bwe\s+(prefer|like to|tend to)\b",
    r"\bfrom now on\b",
)]
DECISION_RULES = [re.compile(p, _I) for p in (
    r"\b(we'll|we will|we're going to|we are going to|i'll|i will|i'm going to|let's|let us|we should|we must)\s+"
    r"(go with|use|switch to|stick with|stay with|adopt|move to|keep|drop|migrate to|standardi[sz]e on|settle on|"
    r"pick|choose|opt for|not use|avoid|deprecate|replace|remove|rename|split|merge|target|require|ship|store|"
    r"put|make|add|introduce|enable|disable)\b",
    r"\b(we|i|we've|i've)\s+(have\s+|just\s+|finally\s+)?(decided|agreed|chose|settled on|picked|opted)\b",
    r"\b(decision|the plan|our plan|the approach|final answer)\s*(is|was|:)\s",
    r"\bgoing forward\b",
    r"\b(we're|we are)\s+(going with|switching to|moving to|dropping|sticking with)\b",
    r"\b(ok|okay|alright|fine|great|good|yes|agreed|sounds good)[,.!]?\s+(let'?s|we'?ll)\s+(go with|use|do|keep)\b",
)]
FACT_RULES = [re.compile(p, _I) for p in (
    r"\b(our|the project'?s|this project'?s|this repo'?s|the repo'?s)\s+[\w\-./ ]{1,40}?\s+(is|are|runs|run|lives|"
    r"live|uses|use|sits|sit|is hosted|is deployed|gets deployed|belongs|expires|expire)\b",
    r"\b(this|the)\s+(project|repo|repository|service|app|codebase)\s+(uses|is|targets|runs|requires|depends on|"
    r"talks to|supports|is built with|is written in)\b",
    r"\bwe\s+(use|run|deploy|host|target|support|ship|release|depend on|rely on|store|keep|have)\b",
    r"\b(staging|production|prod|database|db|ci|api|server|cluster|cache|queue)\b[\w\- ]{0,20}?\s+(is|are|runs|"
    r"run|lives|sits|is hosted|are hosted|is deployed)\s+(on|at|in|behind|under)\b",
    r"\b(the|our)\s+(deadline|release|launch|freeze|demo|cutoff)\s+(is|will be|was moved to)\b",
    r"\bi'?m\s+(the|a|an)\s+[\w\- ]{2,30}\s+(on|at|for|of|in)\b",
)]
#: "Dana owns the ...": a capitalised name, then a role verb (case-sensitive on the name)
PEOPLE_RULE = re.compile(r"\b[A-Z][a-z]+\s+(is|was)\s+(our|the)\s+(\w+\s+)?(lead|owner|maintainer|manager|reviewer|"
                         r"designer|pm|contact|cto|ceo|sre|architect|admin|expert|person)\b"
                         r"|\b[A-Z][a-z]+\s+(owns|maintains|reviews|handles|manages|leads|approves)\s+(the|our|all)\b")

QUESTION_START = re.compile(r"^(should|shall|can|could|would|do|does|did|is|are|was|were|will|what|why|how|which|"
                            r"where|when|who|whom|whose|any idea|thoughts|wdyt|how about|what about|why not)\b", _I)
HEDGES = re.compile(r"\b(maybe|perhaps|not sure|i wonder|might|what if|whether|i guess|possibly|could try|"
                    r"or should|considering|thinking about|wondering|unsure|not certain|tbd|undecided|probably)\b", _I)
CONDITIONAL = re.compile(r"^(if|unless|when|once|in case|assuming|suppose)\b", _I)
NOT_DECIDED = re.compile(r"\b(not|n't|never|haven't|yet to)\s+(yet\s+)?(decided|agreed|chosen|settled)\b", _I)
DECISION_TRANSIENT = re.compile(r"\b(until then|until further notice|this time|for this (pr|commit|task|test|run))\b",
                                _I)
TRANSIENT = re.compile(r"\b(for now|right now|this time|today|for this (pr|commit|change|task|test|run)|yet|"
                       r"for the moment|at the moment)\b", _I)
SESSION_ONLY = re.compile(r"^(please\s+)?(don'?t|do not)\s+(worry|bother|forget|know|think|understand|see|get|"
                          r"mind|stop|touch the|change anything|do anything|run|commit|push)\b", _I)
VAGUE_OBJECT = re.compile(r"\b(go with|use|switch to|stick with|keep|pick|choose|do|adopt|prefer)\s+"
                          r"(it|that|this|those|these|them|yours|one|both|either|neither|the (first|second|third|last|"
                          r"other|former|latter|same)( one| option| approach)?|option \w+|your (suggestion|approach|"
                          r"version|plan|idea|proposal)|what you (said|suggested|proposed)|the \w+)\s*[.!]?$", _I)
CODE_NOISE = re.compile(r"[{}<>=;$|\\]|\(\)|::|->|\w+\(")


@dataclass(frozen=True)
class Statement:
    """A sentence the user stated, its kind, when (Unix seconds) and where it was read."""

    kind: str
    text: str
    timestamp: float | None = None
    ref: str = ""


# -- cleaning and splitting ------------------------------------------------------------------------------
def clean(text: str) -> str:
    """Prose only: fenced code, quoted lines, log/traceback lines, shell lines and URLs removed."""
    text = _FENCE.sub("\n", text)
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith((">", "$ ", "# ", "at ", "File \"", "Traceback", "E  ", "+++", "---",
                                                "@@", "[", "|")):
            kept.append("")
            continue
        if line.startswith(("    ", "\t")) and not _BULLET.match(line):  # indented: pasted code or output
            kept.append("")
            continue
        kept.append(_BULLET.sub("", stripped))
    return _URL.sub("", "\n".join(kept)).replace("`", "")


def sentences(text: str) -> list[str]:
    """Sentences of cleaned text: paragraphs and lines split, then sentence punctuation."""
    out = []
    for line in clean(text).splitlines():
        pending = ""
        for part in _SPLIT.split(line.strip()):
            pending = f"{pending} {part}" if pending else part
            if _ABBREVIATION.search(pending):
                continue  # "e.g. Redis": the sentence goes on
            if pending.strip(" \t-–—"):
                out.append(pending.strip(" \t-–—"))
            pending = ""
        if pending.strip(" \t-–—"):
            out.append(pending.strip(" \t-–—"))
    return out


def _content_words(text: str) -> int:
    return sum(1 for w in _WORD.findall(text) if w.lower() not in STOP_WORDS)


# -- classification ---------------------------------------------------------------------------------------
def classify(sentence: str) -> str | None:
    """The kind of one sentence, or None when it is not worth remembering (see the module doc)."""
    s = sentence.strip()
    words = _WORD.findall(s)
    if not MIN_WORDS <= len(words) <= MAX_WORDS or _content_words(s) < 2 or len(CODE_NOISE.findall(s)) > 2:
        return None
    if any(rule.search(s) for rule in REMEMBER_RULES) and not HEDGES.search(s):
        return REMEMBER  # "can you remember that ...?" is a request, not a question
    if s.endswith("?") or QUESTION_START.match(s) or HEDGES.search(s) or CONDITIONAL.match(s) or SESSION_ONLY.match(s):
        return None
    if any(rule.search(s) for rule in PREFERENCE_RULES) and not TRANSIENT.search(s):
        return PREFERENCE
    if any(rule.search(s) for rule in DECISION_RULES):
        if NOT_DECIDED.search(s) or VAGUE_OBJECT.search(s) or DECISION_TRANSIENT.search(s):
            return None
        return DECISION
    if (any(rule.search(s) for rule in FACT_RULES) or PEOPLE_RULE.search(s)) and not TRANSIENT.search(s):
        return FACT
    return None


def classify_message(text: str) -> list[tuple[str, str]]:
    """(kind, sentence) for each sentence of a user message worth remembering."""
    found = []
    for sentence in sentences(text):
        kind = classify(sentence)
        if kind is not None:
            found.append((kind, _tidy(sentence)))
    return found


def _tidy(sentence: str) -> str:
    s = re.sub(r"^(please\s+|ok(ay)?[,.]?\s+|so[,]?\s+|also[,]?\s+|and\s+|btw[,]?\s+)+", "", sentence.strip(), flags=_I)
    s = s[:1].upper() + s[1:]
    if len(s) > MAX_STATEMENT_CHARS:
        s = s[:MAX_STATEMENT_CHARS].rsplit(" ", 1)[0] + " …"
    return s if s[-1:] in ".!…" else s + "."


def extract(conv: Conversation) -> list[Statement]:
    """The statements of the user's turns, in order, each sentence once."""
    seen: set[str] = set()
    out = []
    for turn in conv.user_turns:
        for kind, text in classify_message(turn.text):
            key = text.lower()
            if key not in seen:
                seen.add(key)
                out.append(Statement(kind, text, turn.timestamp, turn.ref))
    return out


# -- the session record -----------------------------------------------------------------------------------
def _brief(text: str, limit: int = 90) -> str:
    first = next((s for s in sentences(text) if len(_WORD.findall(s)) >= 2), "")
    first = first.rstrip(".!")
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + "…"


def session_record(conv: Conversation, project: str | None, max_requests: int = 8, max_files: int = 10) -> str | None:
    """One short text: project, date, the user's requests in brief, files changed. None for an empty session."""
    requests = [b for b in (_brief(t.text) for t in conv.user_turns) if b]
    if not requests:
        return None
    when = conv.started
    day = datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%d") if when else "date unknown"
    where = f" in {project}" if project else ""
    label = {"claude-code": "Claude Code session", "claude-export": "Claude conversation",
             "chatgpt-export": "ChatGPT conversation"}.get(conv.source, "Session")
    shown = "; ".join(dict.fromkeys(requests[:max_requests]))
    more = f" (+{len(requests) - max_requests} more)" if len(requests) > max_requests else ""
    text = f"{label}{where} on {day} ({conv.session_id[:8]}): asked: {shown}{more}."
    if conv.files:
        files = ", ".join(conv.files[:max_files])
        extra = f" (+{len(conv.files) - max_files} more)" if len(conv.files) > max_files else ""
        text += f" Files changed: {files}{extra}."
    return text


# -- memories ---------------------------------------------------------------------------------------------
def metadata(conv: Conversation, kind: str, captured_by: str, now: float, ref: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {"source": conv.source, "session_id": conv.session_id, "kind": kind,
                            "captured_by": captured_by, "captured_at": round(now, 3)}
    if ref:
        data["ref"] = ref
    if conv.title:
        data["title"] = conv.title[:200]
    return data


def tags_of(kind: str) -> list[str]:
    return [AUTO_CAPTURED_TAG, kind]


def to_memories(conv: Conversation, project: str | None, captured_by: str, record: bool = True,
                now: float | None = None) -> list[Memory]:
    """The auto-captured memories of one conversation: its statements, then its session record (if wanted)."""
    now = time.time() if now is None else now
    out = [Memory.create(s.text, tags=tags_of(s.kind), memory_type=TYPES[s.kind],
                         metadata=metadata(conv, s.kind, captured_by, now, s.ref), created_at=s.timestamp,
                         project=project)
           for s in extract(conv)]
    text = session_record(conv, project) if record else None
    if text:
        out.append(Memory.create(text, tags=tags_of(SESSION), memory_type=TYPES[SESSION],
                                 metadata=metadata(conv, SESSION, captured_by, now), created_at=conv.started,
                                 project=project))
    return out


def captured_at(memory: Memory) -> float:
    """When an auto-captured memory was captured (its metadata), else when it was created."""
    value = memory.metadata.get("captured_at")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else memory.created_at
