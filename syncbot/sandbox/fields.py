"""Mailchimp's ``fields`` and ``exclude_fields``: comma-separated dot paths that trim an
answer (``members.email_address``, ``orders.lines.product_title``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from syncbot.sandbox.http import Request


def _tree(paths: Iterable[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for part in path.strip().split("."):
            if part:
                node = node.setdefault(part, {})
    return tree


def _include(value: Any, tree: dict[str, Any]) -> Any:
    if not tree:
        return value
    if isinstance(value, list):
        return [_include(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: _include(value[k], sub) for k, sub in tree.items() if k in value}
    return value


def _exclude(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_exclude(v, tree) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in tree and not tree[k]:
                continue
            out[k] = _exclude(v, tree[k]) if k in tree else v
        return out
    return value


def project(payload: dict[str, Any], request: Request) -> dict[str, Any]:
    """Apply ``fields`` and ``exclude_fields`` (comma-separated dot paths) to a response."""
    fields, excluded = trees(request)
    return trim(payload, fields, excluded)


def trim(value: Any, fields: dict[str, Any], excluded: dict[str, Any]) -> Any:
    """``value`` with only ``fields`` (all when empty), less ``excluded`` (trees of names)."""
    if fields:
        value = _include(value, fields)
    if excluded:
        value = _exclude(value, excluded)
    return value


def trees(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The request's ``fields`` and ``exclude_fields`` as trees of names (empty: none)."""
    fields = [p for v in request.args("fields") for p in v.split(",") if p.strip()]
    excluded = [p for v in request.args("exclude_fields") for p in v.split(",") if p.strip()]
    return _tree(fields), _tree(excluded)
