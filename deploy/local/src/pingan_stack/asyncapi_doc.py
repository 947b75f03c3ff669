"""Writes docs/asyncapi.json, the AsyncAPI 3 document of every topic and event (`make schemas`).

``python -m pingan_stack.asyncapi_doc [PATH]`` (default docs/asyncapi.json); the document itself is built by
``pingan_shared.events.asyncapi``, which does no I/O, and shared/tests/test_asyncapi.py fails while the file differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pingan_shared.events.asyncapi import asyncapi_document, render

DEFAULT_PATH = Path("docs/asyncapi.json")


def write(path: Path = DEFAULT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(asyncapi_document()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH))
