"""Where the shared corpus of real files (e-mails, .msg, vCards, CRM exports) lives for tests that read it.

The corpus sits next to the checkout (``../shared/corpus``) and is never copied into the repository; a clone
made elsewhere (a CI scratch folder) finds it through ``$VORONKA_CORPUS`` or the development machine's
``/work/shared/corpus``.
"""

from __future__ import annotations

import os
from pathlib import Path

FALLBACK = Path("/work/shared/corpus")


def corpus_dir() -> Path:
    """The corpus folder: ``$VORONKA_CORPUS``, else ``shared/corpus`` beside the working directory or any
    folder above it, else :data:`FALLBACK` (which may not exist: callers skip, or fail under CI)."""
    explicit = os.environ.get("VORONKA_CORPUS")
    if explicit:
        return Path(explicit)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "corpus"
        if candidate.is_dir():
            return candidate
    return FALLBACK
