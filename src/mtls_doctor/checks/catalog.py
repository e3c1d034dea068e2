"""The one catalog of finding codes, gathered from the family modules in a fixed order.

Families (the letters are the `--select`/`--ignore` prefixes):
  ED edges, PA PeerAuthentication, DR DestinationRule, SE ServiceEntry/WorkloadEntry,
  AZ AuthorizationPolicy, PR protocol, IN injection and non-mesh callers, TR trust domains,
  CE certificates, EV Envoy config dumps, LG logs, IP input problems.
"""

from __future__ import annotations

from importlib import import_module
from importlib.resources import files

from mtls_doctor.checks.codes import Code

# Each module has a module-level `CODES: tuple[Code, ...]`. Listed explicitly, in order.
_FAMILY_MODULES = (
    "mtls_doctor.checks.codes_core",
    "mtls_doctor.checks.codes_runbook",
    "mtls_doctor.checks.codes_authz",
    "mtls_doctor.certs.codes",
    "mtls_doctor.envoy.codes",
)


def _load() -> tuple[Code, ...]:
    codes: list[Code] = []
    for name in _FAMILY_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        codes.extend(module.CODES)
    return tuple(codes)


CATALOG: tuple[Code, ...] = _load()
BY_CODE: dict[str, Code] = {c.code: c for c in CATALOG}


def page(code: str) -> str | None:
    """The bundled documentation page of a code, or None."""
    resource = files("mtls_doctor").joinpath("docs", "codes", f"{code}.md")
    return resource.read_text(encoding="utf-8") if resource.is_file() else None
