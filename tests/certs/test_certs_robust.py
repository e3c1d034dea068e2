"""Bad input never raises: arbitrary text through the PEM splitter, the SPIFFE parser and the
readers becomes records or problems, nothing else."""

from __future__ import annotations

import base64
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import tests.certs.pki_factory as pki
from mtls_doctor.certs import CERT_SUFFIXES, read_certificates
from mtls_doctor.certs.facts import parse_spiffe_id
from mtls_doctor.certs.pem import read_member
from mtls_doctor.certs.sds import read_dump
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.paths import expand

PEM_LINES = st.sampled_from(
    [
        "-----BEGIN CERTIFICATE-----",
        "-----END CERTIFICATE-----",
        "-----BEGIN PRIVATE KEY-----",
        "-----END PRIVATE KEY-----",
        "MIIB",
        "!!!",
        "",
        "AAAA" * 16,
    ]
)


@given(st.text())
def test_spiffe_parser_never_raises(uri: str) -> None:
    sid = parse_spiffe_id("spiffe://" + uri)
    assert sid.problem is None or isinstance(sid.problem, str)


@given(st.lists(st.one_of(PEM_LINES, st.text(max_size=30)), max_size=30))
@settings(max_examples=200)
def test_pem_reader_never_raises(lines: list[str]) -> None:
    got = read_member(
        "\n".join(lines),
        cluster="c",
        member="m",
        origin=Origin("f", 1),
        source="f",
        line_sources=True,
    )
    assert all(p.origin.file == "f" for p in got.problems)


@given(
    st.recursive(
        st.none() | st.text(max_size=10) | st.integers(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "configs",
                        "@type",
                        "dynamic_active_secrets",
                        "secret",
                        "name",
                        "tls_certificate",
                        "certificate_chain",
                        "inline_bytes",
                        "validation_context",
                        "trusted_ca",
                        "bootstrap",
                        "node",
                    ]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
@settings(max_examples=200)
def test_sds_reader_never_raises(data: object) -> None:
    read_dump(data if isinstance(data, dict) else {"configs": [data]}, cluster="c", file="f")


def test_garbage_files_become_problems(tmp_path: Path) -> None:
    r = pki.root()
    pki.write_text(tmp_path / "a.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n")
    pki.write_text(tmp_path / "b.yaml", "kind: Secret\nmetadata: [\n")
    pki.write_text(tmp_path / "c.json", '{"configs": [')
    (tmp_path / "d.der").write_bytes(b"\x30\x82\x01")
    pki.write_text(
        tmp_path / "e.yaml",
        pki.dump_yaml(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "x", "namespace": "y"},
                "data": {
                    "tls.crt": base64.b64encode(
                        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                    ).decode()
                },
            }
        ),
    )
    pki.write_text(tmp_path / "ok.pem", r.pem)
    files, _ = expand([str(tmp_path)], CERT_SUFFIXES)
    inv = read_certificates(files)
    bad = {Path(p.origin.file).name for p in inv.problems}
    assert bad == {"a.pem", "b.yaml", "c.json", "d.der", "e.yaml"}
    assert [c.facts.fingerprint_sha256 for c in inv.certificates] == [r.fingerprint]
