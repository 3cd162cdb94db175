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


def _reason(message: str) -> str:
    text = " ".join(message.replace("AssertionError: ", "").split())
    text = text.split(" assert ")[0]
    return (text[:300] + "...") if len(text) > 300 else text


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
            known.setdefault(name, {})[check] = _reason(failure.get("message") or "failed")
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
