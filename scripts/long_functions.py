"""List the functions of a package longer than a limit (default 80 lines), longest first.

    python scripts/long_functions.py [rdcost] [--over 80]

A function's length is from its ``def`` line to its last line (docstring, comments and
blank lines included); nested functions are listed on their own as ``outer.inner``.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path


def long_functions(root: Path, over: int) -> list[tuple[int, str, str]]:
    """(lines, "path:line", qualified name) of every function longer than ``over`` lines."""
    rows: list[tuple[int, str, str]] = []

    def walk(node: ast.AST, path: Path, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                n = (child.end_lineno or child.lineno) - child.lineno + 1
                if n > over:
                    rows.append((n, f"{path}:{child.lineno}", prefix + child.name))
                walk(child, path, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, path, prefix + child.name + ".")
            else:
                walk(child, path, prefix)

    for path in sorted(root.rglob("*.py")):
        walk(ast.parse(path.read_text(encoding="utf-8")), path, "")
    return sorted(rows, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="rdcost", type=Path)
    parser.add_argument("--over", type=int, default=80, help="list functions longer than this")
    args = parser.parse_args()
    for n, where, name in long_functions(args.root, args.over):
        print(f"{n:5d}  {where}  {name}")


if __name__ == "__main__":
    main()
