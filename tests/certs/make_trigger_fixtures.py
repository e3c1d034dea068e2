"""Write the static trigger fixtures in tests/fixtures/secrets/triggers/ (one folder per scenario).

The catalog test (tests/checks/triggers.py) needs files on disk that produce each CE code. They
are made by the same builders as tests/certs/cert_scenarios.py, with validity relative to
pki_factory.NOW, so they must be checked at that clock. Run from the repository root:

    .venv/bin/python tests/certs/make_trigger_fixtures.py

tests/certs/test_certs_trigger_fixtures.py proves the stored files still give their findings.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tests.certs.cert_scenarios import SCENARIOS  # noqa: E402

TRIGGERS = HERE.parent / "fixtures" / "secrets" / "triggers"
# One scenario per code whose subjects do not depend on where the files are.
STORED = (
    "expired_workload",
    "not_yet_valid",
    "expiring_soon",
    "chain_other_root_same_name",
    "missing_intermediate",
    "roots_differ_between_namespaces",
    "roots_differ_between_proxies",
    "no_uri_san",
    "malformed_spiffe",
    "unknown_trust_domain",
    "identity_not_the_pods",
    "plugin_ca_key_mismatch",
    "plugin_ca_not_signed_by_root",
    "plugin_ca_not_a_ca",
    "plugin_ca_path_length",
    "plugin_ca_mixed_up",
    "plugin_ca_member_missing",
    "long_lived_and_wildcard",
)


def main() -> None:
    for name in STORED:
        folder = TRIGGERS / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        SCENARIOS[name](folder)
        print(folder)


if __name__ == "__main__":
    main()
