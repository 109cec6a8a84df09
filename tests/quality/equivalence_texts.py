"""A deterministic set of varied texts for comparing two embedders of the same model (at least 1,000).

Short words, sentences, paragraphs far past the 256-token limit, accents, CJK, emoji, right-to-left scripts,
numbers, code, and empty or whitespace-led text. The same seed gives the same texts on every machine.
"""

from __future__ import annotations

import random

WORDS = ["memory", "deploy", "Kubernetes", "latte", "invoice", "API", "refactor", "GDPR", "on-call", "sprint",
         "PostgreSQL", "ok", "x", "why?", "TODO", "café", "naïve", "rollback", "p95", "OAuth2", "dark-mode", "USB-C"]
PEOPLE = ["Maria", "Kenji", "Aisha", "Lucas", "Priya", "Olga", "Samir", "Caroline", "Melanie", "Jon", "Gina"]
VERBS = ["moved", "prefers", "rejected", "will review", "fixed", "asked about", "forgot", "renamed", "paid for",
         "scheduled", "painted", "adopted", "wrote about"]
OBJECTS = ["the billing database", "oat milk flat whites", "the Friday deploy", "a managed Redis", "dark mode",
           "the Q3 roadmap", "GDPR retention rules", "the invoice PDF bug", "a sunset over the lake",
           "the adoption agency", "her pottery class", "the CI pipeline on Safari", "an LGBTQ support group"]
REASONS = ["because latency doubled", "after the outage", "to cut costs", "since the vendor ends support",
           "so that deploys take minutes", "because the kids love it", "to meet the audit"]
UNICODE = [
    "Le café de la gare ferme à 18 h ; prévoir un thé à emporter.", "Über die Brücke gehen wir später, Jürgen.",
    "¿Dónde está la reunión de mañana? Año nuevo, señor.", "Não esqueça a reunião às três, João.",
    "Tiếng Việt có dấu: Hà Nội, Đà Nẵng, phở bò.", "Zażółć gęślą jaźń — polskie znaki.",
    "我们把计费数据库迁移到了 PostgreSQL 16。", "明日の会議は午後三時からです。寿司を食べに行こう。",
    "회의는 내일 오후 세 시에 시작합니다.", "紅茶 and 寿司 for Kenji's daughter",
    "🎉🎉 launch day! 🚀", "👩‍💻 fixed the bug 🐛 → ✅", "🇫🇷🇯🇵🇧🇷 flags", "❤️‍🔥 love it 💯",
    "مرحبا، الاجتماع غدا في الساعة الثالثة.", "שלום, הפגישה מחר בשעה שלוש.",
    "Привет! Встреча завтра в три часа.", "Καλημέρα, η συνάντηση είναι αύριο.", "नमस्ते, बैठक कल तीन बजे है।",
    "สวัสดีครับ ประชุมพรุ่งนี้บ่ายสามโมง", "mixed: English, العربية, עברית, 中文, 😀 in one line",
    "ﬁ ligature, Ａ full-width, ① circled, Ⅻ roman", "combining: e\u0301 a\u0308 n\u0303",
]
CODE = [
    "def add(a, b):\n    return a + b", "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days';",
    "const x = await fetch(`/api/memories?tag=${tag}`);", "for i in $(seq 1 10); do echo \"$i\"; done",
    '{"content": "hello", "tags": ["a", "b"], "metadata": {"id": "D1:3"}}', r"^(?P<user>[a-z0-9_]+)@\w+\.com$",
    "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\nKeyError: 'id'",
    "git rebase -i HEAD~3 && git push --force-with-lease", "#include <stdio.h>\nint main(void) { return 0; }",
    "docker run -p 8000:8000 -e MCP_API_KEY=$KEY mcp-memory:latest", "x = [i ** 2 for i in range(10) if i % 2]",
]
BLANKS = ["", " ", "  ", "\n", "\t", "\n\n\n", " \t \n ", "\u00a0", "\u200b", "...", "—", "?!", "-", "*", "#"]


def _sentence(r: random.Random) -> str:
    return f"{r.choice(PEOPLE)} {r.choice(VERBS)} {r.choice(OBJECTS)} {r.choice(REASONS)}."


def texts(seed: int = 13) -> list[str]:
    """1,000 texts: 150 short, 300 sentences, 100 long, 150 unicode, 100 numbers, 100 code, 100 blank-led."""
    r = random.Random(seed)
    out: list[str] = []
    out += [" ".join(r.choice(WORDS) for _ in range(r.randint(1, 3))) for _ in range(150)]
    out += [" ".join(_sentence(r) for _ in range(r.randint(1, 3))) for _ in range(300)]
    out += [" ".join(_sentence(r) for _ in range(r.randint(30, 60))) for _ in range(100)]  # 300+ tokens
    out += [r.choice(UNICODE) + (" " + _sentence(r) if r.random() < 0.4 else "") for _ in range(150)]
    out += [_numbers(r) for _ in range(100)]
    out += [r.choice(CODE) + ("\n# " + _sentence(r) if r.random() < 0.3 else "") for _ in range(100)]
    out += [_blank_led(r) for _ in range(100)]
    return out


def _numbers(r: random.Random) -> str:
    forms = [f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/{r.randint(1990, 2030)}",
             f"${r.randint(1, 99999):,}.{r.randint(0, 99):02d}",
             f"v{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 9)}",
             f"{r.randint(1, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}",
             f"+1 ({r.randint(200, 999)}) {r.randint(200, 999)}-{r.randint(1000, 9999)}", f"{r.random() * 1e6:.3e}",
             f"0x{r.getrandbits(32):08x}", str(r.randint(0, 10 ** r.randint(1, 15))), f"{r.randint(1, 100)}%"]
    picked = r.sample(forms, r.randint(1, 3))
    return " ".join(picked) if r.random() < 0.5 else f"Invoice {picked[0]} paid on {forms[0]}"


def _blank_led(r: random.Random) -> str:
    lead = r.choice(BLANKS)
    return lead if r.random() < 0.3 else lead + r.choice(["", " "]) + r.choice([_sentence(r), r.choice(WORDS)])
