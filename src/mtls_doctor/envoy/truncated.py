"""Recover the complete resources of a config dump that was cut off (a truncated download or
archive member): cut after the last complete resource and close the open brackets.

Only whole resources are kept: the cut is made at a comma between the entries of a resource
list (`configs[*].dynamic_active_clusters[*]`, a section's list, or istioctl's top-level list),
or between sections, never inside a resource, so no half-read cluster is mistaken for a
plaintext one.
"""

from __future__ import annotations

_OPEN = {ord("{"): ord("}"), ord("["): ord("]")}
_CLOSE = {ord("}"), ord("]")}
_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")


def _resource_depth(data: bytes) -> int:
    head = data.lstrip()[:1]
    if head == b"[":
        return 1
    if b'"configs"' in data[:200]:
        return 4  # { configs: [ { key: [ ENTRY, ENTRY
    return 2  # { key: [ ENTRY, ENTRY


def repair(data: bytes) -> bytes | None:
    """A valid JSON text holding the complete resources before the cut, or None."""
    depth_wanted = _resource_depth(data)
    stack: list[int] = []
    in_string = False
    escaped = False
    best: tuple[int, list[int]] | None = None
    for i, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
            continue
        if byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            stack.append(_OPEN[byte])
        elif byte in _CLOSE:
            if not stack:
                return None
            stack.pop()
        elif (
            byte == _COMMA
            and stack
            and stack[-1] == ord("]")
            and len(stack) in (depth_wanted, 2 if depth_wanted == 4 else -1)
        ):
            best = (i, list(stack))
    if best is None:
        return None
    cut, open_stack = best
    return data[:cut] + bytes(reversed(open_stack))
