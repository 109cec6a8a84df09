"""The settings of the claude plugin, declared through ``memory_settings`` and read with ``settings.section``."""

from __future__ import annotations

from mcp_memory.config import Setting, as_bool, as_float, as_int, as_optional_path

#: days an auto-captured memory lives without being recalled: a quarter covers a project's usual cycle of work,
#: and anything recalled in the meantime stays (its last use counts, not its capture)
DEFAULT_AUTO_CAPTURE_DAYS = 90

CLAUDE_SETTINGS: tuple[Setting, ...] = (
    Setting("MCP_MEMORY_CLAUDE_START_TOKENS", "token budget of the SessionStart brief", 800, as_int(50, 20_000),
            key="start_tokens"),
    Setting("MCP_MEMORY_CLAUDE_PROMPT_TOKENS", "token budget of the memories added to a prompt", 400,
            as_int(50, 20_000), key="prompt_tokens"),
    Setting("MCP_MEMORY_CLAUDE_PROMPT_RELEVANCE", "relevance a memory needs to be added to a prompt "
            "(0..1; curated memories come first)", 0.4,
            as_float(0.0, 1.0), key="prompt_relevance"),
    Setting("MCP_MEMORY_CLAUDE_PROMPT_RESULTS", "most memories added to one prompt", 3, as_int(1, 20),
            key="prompt_results"),
    Setting("MCP_MEMORY_CLAUDE_CAPTURE", "capture decisions, preferences and facts from Claude Code sessions "
            "(PreCompact, SessionEnd)", True, as_bool, key="capture"),
    Setting("MCP_MEMORY_AUTO_CAPTURE_DAYS", "days an auto-captured memory lives unless recalled; then it goes to "
            "the trash (reason expired); 0 keeps them", DEFAULT_AUTO_CAPTURE_DAYS, as_int(0, 100_000),
            key="auto_capture_days"),
    Setting("MCP_MEMORY_CLAUDE_CONTEXT_DEADLINE", "seconds a SessionStart or UserPromptSubmit hook may take before "
            "it gives up and adds nothing", 5.0, as_float(0.1, 600.0), key="context_deadline"),
    Setting("MCP_MEMORY_CLAUDE_CAPTURE_DEADLINE", "seconds a PreCompact or SessionEnd capture may take", 45.0,
            as_float(0.1, 3600.0), key="capture_deadline"),
    Setting("MCP_MEMORY_CLAUDE_LOG", "log file of the hooks (Claude Code hides their stderr); default "
            "claude-hooks.log in the data directory", None, as_optional_path, key="log_file"),
)
