"""ANAF's official checker (../shared/efactura/validate.py), run once per batch of files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "efactura"
VALIDATE = SHARED / "validate.py"
SAMPLES = SHARED / "samples"


def anaf_check(paths: list[Path]) -> list[dict]:
    """One process for all files: compiling ANAF's rules costs about a second."""
    proc = subprocess.run(
        [sys.executable, str(VALIDATE), "--json", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def fatal_rules(result: dict) -> set[str]:
    rules = {f["rule"] for f in result.get("ANAF-1.0.9", []) if f["flag"] != "warning"}
    return rules | ({"XSD"} if result["xsd"] else set())
