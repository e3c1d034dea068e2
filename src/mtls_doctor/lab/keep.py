"""`--keep DIR`: leave configs, certificates, logs, the case and a script that replays it."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from mtls_doctor.lab import apps
from mtls_doctor.lab.bootstrap import Ports
from mtls_doctor.lab.case import LabCase, encode_case
from mtls_doctor.lab.envoyproc import envoy_command
from mtls_doctor.lab.runner import request_path


def write_replay_script(
    case: LabCase, lab_dir: Path, ports: Ports, configs: dict[str, str], binary: Path, dialled: int
) -> Path:
    """Write case.yaml, apps.py and replay.sh into `lab_dir`; return the script's path."""
    (lab_dir / "case.yaml").write_bytes(encode_case(case))
    shutil.copyfile(apps.__file__, lab_dir / "apps.py")
    tls_args = " --cert certs/app.crt --key certs/app.key" if case.server.app_tls else ""
    who = "client sidecar" if case.client.sidecar else "no client sidecar"
    lines = [
        "#!/bin/sh",
        f"# Replays lab case {case.name!r}: {who}"
        f" -> {case.host}:{case.port} ({case.port_class} port, server mode {case.server.mode}).",
        "# Uses the same 127.0.0.1 ports as the original run; they must be free.",
        "# ENVOY overrides the Envoy binary; PYTHON the interpreter for the apps.",
        "set -u",
        'cd "$(dirname "$0")"',
        f"ENVOY=${{ENVOY:-{shlex.quote(str(binary))}}}",
        "PYTHON=${PYTHON:-python3}",
        "pids=''",
        'cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }',
        "trap cleanup EXIT INT TERM",
        f'"$PYTHON" apps.py serve --port {ports.app}{tls_args} & pids="$pids $!"',
    ]
    admin = {"server": ports.server_admin, "client": ports.client_admin}
    for side, config in configs.items():
        cmd = envoy_command(Path("ENVOY"), config, f"logs/{side}-envoy.log")
        args = " ".join(shlex.quote(a) for a in cmd[1:])
        lines.append(f'"$ENVOY" {args} >logs/{side}-stdout.log 2>&1 & pids="$pids $!"')
    for side in configs:
        lines.append(f'"$PYTHON" apps.py ready --port {admin[side]} || exit 1')
    lines += [
        f'"$PYTHON" apps.py request --port {dialled} --protocol {case.app_protocol} '
        f"--host {shlex.quote(case.host)} --path {shlex.quote(request_path(case))}",
        "sleep 0.2",
        "echo 'access logs: logs/client-access.log logs/server-access.log'",
        "",
    ]
    script = lab_dir / "replay.sh"
    script.write_text("\n".join(lines))
    script.chmod(0o755)
    return script
