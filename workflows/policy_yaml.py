"""Policy YAML text into one bounded document and the line of every key path; pure, no I/O.

`policy_load` names the file; problems leave here as `YamlProblem`, a line and a reason.
The file is read by a running server. Size, nesting and alias expansion are bounded before
anything is built from it: a 3 KB "billion laughs" file would otherwise stand for billions of
nodes, and deep nesting or an alias inside its own anchor would recurse until Python gives up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from workflows.policy_rules import Path

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
# Nodes that aliases may add beyond those written: anchors for shared tier rules or channel
# lists use tens; a bomb needs billions.
MAX_ALIAS_NODES = 10_000

# libyaml's parser when the wheel has it: several times faster on a large policy.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(Exception):
    """Why the text is not a policy document, at a 1-based line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"{line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Document:
    data: Any
    lines: dict[Path, int]
    duplicates: tuple[YamlProblem, ...]


def parse_document(text: str) -> Document:
    """The document and its key lines; raises YamlProblem for anything that is not one.

    The caller keeps the text within MAX_BYTES.
    """
    try:
        _check_bounds(text)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise YamlProblem(1, "the file is empty")
            lines, duplicates = _index(node)
            data = None if duplicates else loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(error, "problem", None) or str(error)
        raise YamlProblem(line, f"YAML syntax error: {reason}") from None
    return Document(data, lines, tuple(duplicates))


def _check_bounds(text: str) -> None:
    """Walk the parser's events once, counting what each alias stands for.

    The events come flat, so nothing here recurses and no alias is expanded: an anchored
    value's size is known when it ends, and an alias adds that size.
    """
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    added = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_nodes) >= MAX_DEPTH:
                raise YamlProblem(line, f"values are nested deeper than {MAX_DEPTH} levels")
            open_nodes.append((event.anchor, 1))
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, _alias_size(str(event.anchor), sizes, open_nodes, line)
            added += size
            if added > MAX_ALIAS_NODES:
                raise YamlProblem(
                    line,
                    f"aliases here stand for more than {MAX_ALIAS_NODES} values in all; "
                    "write the values out instead",
                )
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_nodes:
            parent_anchor, parent_size = open_nodes[-1]
            open_nodes[-1] = (parent_anchor, parent_size + size)


def _alias_size(
    anchor: str, sizes: dict[str, int], open_nodes: list[tuple[str | None, int]], line: int
) -> int:
    if any(name == anchor for name, _ in open_nodes):
        raise YamlProblem(line, f"the alias *{anchor} refers to a value that contains it")
    if anchor not in sizes:
        raise YamlProblem(line, f"the alias *{anchor} names no anchor (&{anchor}) above it")
    return sizes[anchor]


def _index(root: yaml.Node) -> tuple[dict[Path, int], list[YamlProblem]]:
    """The 1-based line of every key path, each node walked once, and every duplicate key.

    A node reached again through an alias is not walked again: paths below it fall back to
    the alias's own line.
    """
    lines: dict[Path, int] = {}
    duplicates: list[YamlProblem] = []
    walked: set[int] = set()
    todo: list[tuple[yaml.Node, Path]] = [(root, ())]
    while todo:
        node, path = todo.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in walked:
            continue
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in seen:
                    where = dotted((*path, key))
                    duplicates.append(YamlProblem(line, f"{where}: '{key}' appears twice"))
                    continue
                seen.add(key)
                lines[(*path, key)] = line
                todo.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, (*path, number)) for number, item in enumerate(node.value))
    return lines, duplicates


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path) or "policy"
