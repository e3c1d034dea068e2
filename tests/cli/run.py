"""Run the real command in a subprocess, from the project root, with a fixed terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE = "examples/pod-ip-multicluster"
BASE = [f"cluster1={EXAMPLE}/cluster1", f"cluster2={EXAMPLE}/cluster2"]
STRICT = [f"cluster1={EXAMPLE}/stages/2-strict.yaml", f"cluster2={EXAMPLE}/stages/2-strict.yaml"]
SA = [f"cluster1={EXAMPLE}/stages/3-serviceaccount.yaml"]
SAN = [f"cluster1={EXAMPLE}/stages/4-subjectaltnames.yaml"]
STAGES = {1: BASE, 2: BASE + STRICT, 3: BASE + STRICT + SA, 4: BASE + STRICT + SA + SAN}


def mtls_doctor(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    env.pop("MTLS_DOCTOR_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "mtls_doctor", *args],
        check=False,
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
