"""No private key material from any input appears in any output format (stdout or stderr)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import tests.certs.pki_factory as pki

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "secrets"
FIXTURE_KEYS = sorted((FIXTURES / "pem").glob("*/keys/*.pem"))


def _needles(key_pem: str) -> set[str]:
    """Pieces of a key that must never be printed: its PEM body lines and the base64 of the
    whole PEM text (as Secrets and SDS dumps hold it)."""
    body = [ln for ln in key_pem.splitlines() if ln and not ln.startswith("-----")]
    out = {ln for ln in body if len(ln) >= 16}
    encoded = base64.b64encode(key_pem.encode()).decode()
    out |= {encoded[i : i + 40] for i in range(48, len(encoded) - 40, 97)}
    der = base64.b64decode("".join(body))
    out.add(base64.b64encode(der).decode()[40:80])
    return out


@pytest.fixture
def keyed_inputs(tmp_path: Path) -> tuple[list[str], list[str]]:
    """Inputs holding private keys in every form we read, and the key PEMs they hold."""
    r = pki.root()
    ca = pki.intermediate(r)
    leaf = pki.workload(ca)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    encrypted = ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()
    broken = leaf.key_pem.replace("\n", "\n!", 2)
    combined = pki.write_text(tmp_path / "combined.pem", leaf.pem + leaf.key_pem + rsa_pem)
    mounted = tmp_path / "mounted"
    pki.write_text(mounted / "cert-chain.pem", pki.pem(leaf, ca, r))
    pki.write_text(mounted / "key.pem", rsa_pem)  # wrong key on purpose: CE501 names it
    pki.write_text(mounted / "root-cert.pem", r.pem)
    odd = pki.write_text(tmp_path / "odd.pem", encrypted + broken)
    secrets = pki.write_yaml(
        tmp_path / "secrets.yaml",
        pki.secret(
            "cacerts",
            "istio-system",
            {
                "ca-cert.pem": ca.pem,
                "ca-key.pem": ca.key_pem,
                "root-cert.pem": r.pem,
                "cert-chain.pem": pki.pem(ca, r),
            },
        ),
        pki.secret(
            "gw", "istio-system", {"tls.crt": leaf.pem, "tls.key": rsa_pem}, "kubernetes.io/tls"
        ),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "plain", "namespace": "a"},
            "stringData": {"tls.crt": leaf.pem, "tls.key": leaf.key_pem},
        },
    )
    dump = pki.write_json(
        tmp_path / "dump.json", pki.sds_dump([leaf, ca, r], [r], pod="p", namespace="a", key=leaf)
    )
    args = [
        str(combined),
        str(mounted),
        str(odd),
        str(secrets),
        str(dump),
        *[str(k) for k in FIXTURE_KEYS],
    ]
    keys = [leaf.key_pem, ca.key_pem, rsa_pem, encrypted, *[k.read_text() for k in FIXTURE_KEYS]]
    return args, keys


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_private_key_material_in_any_output(
    keyed_inputs: tuple[list[str], list[str]], fmt: str
) -> None:
    args, keys = keyed_inputs
    assert len(FIXTURE_KEYS) >= 5
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mtls_doctor",
            "certs",
            *args,
            "-o",
            fmt,
            "--now",
            pki.NOW_ARG,
            "--fail-on",
            "never",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode in (0, 3), run.stderr
    output = run.stdout + run.stderr
    assert "CE501" in output  # the keys were read and compared, not skipped
    assert "-----BEGIN" not in output
    assert "PRIVATE KEY-----" not in output
    for key in keys:
        for needle in _needles(key):
            assert needle not in output
