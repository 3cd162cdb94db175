"""The reliability suite (issue 11) shares the helpers of the tests one folder up
(``migrate_support``, ``resume_support``): that folder is put on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
