"""Certificates in Envoy SDS secret dumps.

Reads the `SecretsConfigDump` of an Envoy `/config_dump` (snake_case) and the output of
`istioctl proxy-config secret -o json` (lowerCamelCase). When the dump also holds the bootstrap,
its node id and metadata say which pod, namespace and service account the proxy belongs to.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from mtls_doctor.certs.assemble import assemble
from mtls_doctor.certs.model import Anchors, Bundle, CertRecord, Chain, Owner
from mtls_doctor.certs.pem import read_member
from mtls_doctor.checks.finding import Subject
from mtls_doctor.model.refs import Origin
from mtls_doctor.sources.problems import InputProblem

SECRETS_DUMP = "type.googleapis.com/envoy.admin.v3.SecretsConfigDump"
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_LOWER_CAMEL = re.compile(r"^[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*$")


def snake(data: Any) -> Any:
    """lowerCamelCase keys (proto JSON, as istioctl prints) to Envoy's snake_case; values kept."""
    if isinstance(data, dict):
        return {
            (_CAMEL.sub(r"_\1", k).lower() if _LOWER_CAMEL.match(k) else k): snake(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [snake(v) for v in data]
    return data


def is_secrets_dump(data: Any) -> bool:
    """True for a config dump with a SecretsConfigDump, or a SecretsConfigDump on its own."""
    if not isinstance(data, dict):
        return False
    if data.get("@type") == SECRETS_DUMP:
        return True
    configs = data.get("configs")
    return isinstance(configs, list) and any(
        isinstance(c, dict) and c.get("@type") == SECRETS_DUMP for c in configs
    )


def _owner(bootstrap: dict[str, Any] | None) -> Owner:
    if not isinstance(bootstrap, dict):
        return Owner()
    node = bootstrap.get("node")
    if not isinstance(node, dict):
        return Owner()
    meta = node.get("metadata") if isinstance(node.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    node_id = str(node.get("id") or "") or None
    pod = meta.get("NAME") or meta.get("POD_NAME")
    namespace = meta.get("NAMESPACE") or meta.get("POD_NAMESPACE")
    if node_id and (not pod or not namespace):
        parts = node_id.split("~")  # type~ip~pod.namespace~namespace.svc.cluster.local
        if len(parts) == 4 and "." in parts[2]:
            pod = pod or parts[2].rsplit(".", 1)[0]
            namespace = namespace or parts[2].rsplit(".", 1)[1]
    return Owner(
        namespace=str(namespace) if namespace else None,
        pod=str(pod) if pod else None,
        proxy=node_id,
        service_account=str(meta["SERVICE_ACCOUNT"]) if meta.get("SERVICE_ACCOUNT") else None,
        mesh_id=str(meta["MESH_ID"]) if meta.get("MESH_ID") else None,
    )


def _inline(source: Any) -> str | None:
    """The PEM text of an Envoy DataSource (inline_bytes base64, or inline_string)."""
    if not isinstance(source, dict):
        return None
    if isinstance(source.get("inline_bytes"), str):
        try:
            return base64.b64decode(source["inline_bytes"]).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
    if isinstance(source.get("inline_string"), str):
        return str(source["inline_string"])
    return None


def read_dump(data: Any, *, cluster: str, file: str) -> tuple[Bundle | None, list[InputProblem]]:
    """One proxy's bundle from a config dump or a `proxy-config secret -o json` document."""
    data = snake(data)
    problems: list[InputProblem] = []
    configs = data.get("configs") if isinstance(data.get("configs"), list) else [data]
    bootstrap = next(
        (c.get("bootstrap") for c in configs if isinstance(c, dict) and "bootstrap" in c), None
    )
    owner = _owner(bootstrap)
    who = f"{owner.pod}.{owner.namespace}" if owner.pod and owner.namespace else None
    label = f"{file}#proxy/{who}" if who else file
    origin = Origin(file)
    members: list[tuple[str, tuple[CertRecord, ...]]] = []
    chains: list[Chain] = []
    anchors: list[Anchors] = []
    for config in configs:
        if not isinstance(config, dict) or config.get("@type") != SECRETS_DUMP:
            continue
        for state in ("static_secrets", "dynamic_active_secrets"):
            for entry in config.get(state) or ():
                if not isinstance(entry, dict):
                    continue
                secret = entry.get("secret")
                if not isinstance(secret, dict):
                    continue
                name = str(entry.get("name") or secret.get("name") or "?")
                _read_secret(
                    secret, name, cluster, label, origin, members, chains, anchors, problems
                )
    namespace = owner.namespace or ""
    subject = Subject("Proxy", namespace, owner.pod or file)
    if not members:
        return None, problems
    bundle = assemble(
        "proxy",
        cluster=cluster,
        label=label,
        subject=subject,
        origin=origin,
        members=members,
        keys=(),
        owner=owner,
        chains=chains,
        anchors=anchors,
    )
    return bundle, problems


def _read_secret(
    secret: dict[str, Any],
    name: str,
    cluster: str,
    label: str,
    origin: Origin,
    members: list[tuple[str, tuple[CertRecord, ...]]],
    chains: list[Chain],
    anchors: list[Anchors],
    problems: list[InputProblem],
) -> None:
    taken = {m for m, _ in members}
    member = name if name not in taken else f"{name}#{len(members)}"

    def read(text: str | None, part: str, suffix: str = "") -> tuple[CertRecord, ...]:
        if not text:
            return ()
        got = read_member(
            text,
            cluster=cluster,
            member=member + suffix,
            origin=origin,
            source=f"{label}#sds/{member}{suffix}",
            line_sources=False,
        )
        problems.extend(
            InputProblem(p.origin, f"SDS secret {name} {part}: {p.message}", p.level)
            for p in got.problems
        )
        return got.certs

    tls = secret.get("tls_certificate")
    if isinstance(tls, dict):
        certs = read(_inline(tls.get("certificate_chain")), "certificate_chain")
        if certs:
            members.append((member, certs))
            chains.append(Chain(member, certs))
    context = secret.get("validation_context")
    if isinstance(context, dict):
        roots = read(_inline(context.get("trusted_ca")), "trusted_ca")
        if roots:
            members.append((member, roots))
            anchors.append(Anchors(member, roots))
        validator = context.get("custom_validator_config")
        typed = validator.get("typed_config") if isinstance(validator, dict) else None
        for domain in (typed or {}).get("trust_domains") or ():
            if not isinstance(domain, dict):
                continue
            td = str(domain.get("name") or "")
            bundle = read(_inline(domain.get("trust_bundle")), f"trust bundle {td}", f"/{td}")
            if bundle:
                members.append((f"{member}/{td}", bundle))
                anchors.append(Anchors(f"{member}/{td}", bundle, trust_domain=td or None))
