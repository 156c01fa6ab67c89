"""The assistant's hand-off to a new 1823 case (issue 22): the assistant (floor 9) knows the
conversation; 1823 (floor 8) may not import it, so the assistant registers a *transcript
source* here in its ``AppConfig.ready`` and the case form asks it for the transcript of the
conversation named in ``/1823/new/?conversation=<id>``.

A source is ``fn(conversation_id: str, request) -> str | None``: the transcript as plain text
when ``conversation_id`` is a conversation the request's person may hand over (their own
session's), else ``None``. Sources are asked in registration order; the first text wins.
The registry is configuration filled at start-up (the same in every worker), not state.
"""

from __future__ import annotations

from collections.abc import Callable

#: The longest transcript kept with a case (characters); a longer one keeps its end.
MAX_TRANSCRIPT = 20_000

_sources: list[Callable] = []


def register_transcript_source(fn: Callable[[str, object], str | None]) -> None:
    """Register ``fn`` (module docstring); registering the same function twice keeps one."""
    if fn not in _sources:
        _sources.append(fn)


def unregister_transcript_source(fn: Callable) -> None:
    """Forget ``fn`` (tests)."""
    if fn in _sources:
        _sources.remove(fn)


def transcript_for(conversation_id: str, request) -> str:
    """The transcript of ``conversation_id`` for ``request``'s person, or ``""`` when no source
    knows it (or ``conversation_id`` is empty). At most :data:`MAX_TRANSCRIPT` characters."""
    conversation_id = (conversation_id or "").strip()[:100]
    if not conversation_id:
        return ""
    for fn in _sources:
        text = fn(conversation_id, request)
        if text:
            return str(text)[-MAX_TRANSCRIPT:]
    return ""
