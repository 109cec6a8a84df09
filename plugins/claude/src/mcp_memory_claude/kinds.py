"""The kinds of auto-captured memories (a light module: the hooks import it without the capture rules)."""

DECISION, PREFERENCE, FACT, REMEMBER, SESSION = "decision", "preference", "fact", "remember", "session"
#: memory_type of each kind
TYPES = {DECISION: "decision", PREFERENCE: "preference", FACT: "fact", REMEMBER: "note", SESSION: "session"}
