"""Rewrite known_failures.toml from a JUnit report of a corpus run.

    pytest tests/test_corpus.py --junitxml=corpus.xml
    python tests/corpus/update_known_failures.py corpus.xml

A failed check is added with the first line of its failure as the reason; an XPASS
(a check that now passes) is removed; an expected failure keeps its reason. Read the
result before committing it: a reason should say what is wrong, not just that it fails.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from corpus_support import CHECKS, KNOWN_FAILURES, known_failures  # noqa: E402

_ID = re.compile(r"\[(?P<name>.+)-(?P<check>[a-z0-9]+)\]$")


def _reason(message: str, text: str = "") -> str:
    """One line: why migrate refused, or which cell of the migrated copy differs first."""
    first = message.split("\n")[0]
    diff = re.search(r"cell (\d+): outputs differ", text or message)
    if diff and "stork migrate failed" not in first:
        number = int(diff[1]) + 1  # compare_outputs counts from 0; JupyterLab from 1
        error = re.search(r"^[E\s]*\+error: (.+)$", text or message, re.MULTILINE)
        got = f"raises {error[1].strip()}" if error else "prints something else"
        reason = f"migrate exits 0, but cell {number} of the migrated copy {got}"
    else:
        reason = " ".join(message.replace("AssertionError: ", "").split()).split(" assert ")[0]
        reason = re.sub(r"^stork migrate failed: Error: [\w.]+\.ipynb: ", "migrate refuses: ",
                        reason)
        reason = re.sub(r"\d+ data access\(es\) cannot be migrated, nothing was changed "
                        r"\(use --partial to migrate the rest\): [\w.]+\.ipynb: ", "", reason)
        reason = reason.replace("; nothing was changed (use --partial to migrate the rest)", "")
    return (reason[:240] + "...") if len(reason) > 240 else reason


def update(report: Path) -> dict[str, dict[str, str]]:
    known = known_failures()
    for case in ET.parse(report).iter("testcase"):
        match = _ID.search(case.get("name", ""))
        if not match or match["check"] not in CHECKS:
            continue
        name, check = match["name"], match["check"]
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        if failure is not None and "XPASS" in (failure.get("message") or ""):
            known.get(name, {}).pop(check, None)
        elif failure is not None:
            known.setdefault(name, {})[check] = _reason(failure.get("message") or "failed",
                                                        failure.text or "")
        elif case.find("skipped") is None:  # passed
            known.get(name, {}).pop(check, None)
    return {n: c for n, c in sorted(known.items()) if c}


def write(known: dict[str, dict[str, str]]) -> None:
    header = [line for line in KNOWN_FAILURES.read_text().splitlines() if line.startswith("#")]
    lines = header + [""]
    for name, checks in known.items():
        lines.append(f"[{name}]")
        for check in CHECKS:
            if check in checks:
                reason = checks[check].replace("\\", "\\\\").replace('"', '\\"')
                lines.append(f'{check} = "{reason}"')
        lines.append("")
    KNOWN_FAILURES.write_text("\n".join(lines))


if __name__ == "__main__":
    write(update(Path(sys.argv[1])))
