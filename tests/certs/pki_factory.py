"""Real X.509 material for the certificate tests, made with `cryptography` (no mocks)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
NOW_ARG = "2026-11-23T12:00:00Z"
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str | None, org: str | None) -> x509.Name:
    attrs = []
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if cn:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _ku(cert_sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    *,
    subject: x509.Name,
    issuer: Issued | None,
    key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool,
    path_length: int | None = None,
    key_cert_sign: bool | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    uris: tuple[str, ...] = (),
    dns: tuple[str, ...] = (),
) -> Issued:
    key = key or new_key()
    nb = not_before or NOW - DAY
    na = not_after or (NOW + (3650 * DAY if ca else 12 * HOUR))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nb)
        .not_valid_after(na)
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
        .add_extension(_ku(ca if key_cert_sign is None else key_cert_sign, ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
    sans += [x509.DNSName(d) for d in dns]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def root(cn: str = "Root CA", org: str | None = "Istio", **kw: Any) -> Issued:
    return issue(subject=_name(cn, org), issuer=None, ca=True, **kw)


def intermediate(issuer: Issued, cn: str = "Intermediate CA", **kw: Any) -> Issued:
    kw.setdefault("ca", True)
    return issue(subject=_name(cn, "Istio"), issuer=issuer, **kw)


def workload(
    issuer: Issued,
    spiffe: str | None = "spiffe://cluster.local/ns/default/sa/default",
    **kw: Any,
) -> Issued:
    uris = kw.pop("uris", (spiffe,) if spiffe else ())
    return issue(subject=x509.Name([]), issuer=issuer, ca=False, uris=uris, **kw)


def pem(*items: Issued) -> str:
    return "".join(i.pem for i in items)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret(
    name: str, namespace: str, data: dict[str, str], type_: str = "Opaque"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": type_,
        "metadata": {"name": name, "namespace": namespace},
        "data": {k: b64(v) for k, v in data.items()},
    }


def configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def mesh_configmap(trust_domain: str, aliases: tuple[str, ...] = ()) -> dict[str, Any]:
    mesh = {"trustDomain": trust_domain, "trustDomainAliases": list(aliases)}
    return configmap("istio", "istio-system", {"mesh": yaml.safe_dump(mesh)})


class _KubectlDumper(yaml.SafeDumper):
    """Writes multi-line strings as `|` blocks, the way kubectl does."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_KubectlDumper.add_representer(str, _str)


def dump_yaml(*objects: dict[str, Any]) -> str:
    return yaml.dump_all(objects, Dumper=_KubectlDumper, sort_keys=False)


def write_yaml(path: Path, *objects: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_yaml(*objects))
    return path


def sds_dump(
    chain: list[Issued],
    roots: list[Issued],
    *,
    pod: str | None = None,
    namespace: str | None = None,
    service_account: str | None = None,
    key: Issued | None = None,
    camel: bool = False,
) -> dict[str, Any]:
    """An Envoy /config_dump with a bootstrap node and a SecretsConfigDump (or the camelCase
    `istioctl proxy-config secret -o json` shape when `camel`)."""
    private = b64(key.key_pem) if key else b64("[redacted]")
    default = {
        "name": "default",
        "secret": {
            "name": "default",
            "tls_certificate": {
                "certificate_chain": {"inline_bytes": b64(pem(*chain))},
                "private_key": {"inline_bytes": private},
            },
        },
    }
    rootca = {
        "name": "ROOTCA",
        "secret": {
            "name": "ROOTCA",
            "validation_context": {"trusted_ca": {"inline_bytes": b64(pem(*roots))}},
        },
    }
    secrets = {
        "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
        "dynamic_active_secrets": [default, rootca],
    }
    if camel:
        return _camel(secrets)
    configs: list[dict[str, Any]] = []
    if pod and namespace:
        meta = {"NAME": pod, "NAMESPACE": namespace}
        if service_account:
            meta["SERVICE_ACCOUNT"] = service_account
        configs.append(
            {
                "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
                "bootstrap": {
                    "node": {
                        "id": f"sidecar~10.0.0.1~{pod}.{namespace}~{namespace}.svc.cluster.local",
                        "metadata": meta,
                    }
                },
            }
        )
    configs.append(secrets)
    return {"configs": configs}


def _camel(data: Any) -> Any:
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            name = k
            if not k.startswith("@"):
                head, *rest = k.split("_")
                name = head + "".join(p.title() for p in rest)
            out[name] = _camel(v)
        return out
    if isinstance(data, list):
        return [_camel(v) for v in data]
    return data


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
