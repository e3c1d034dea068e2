"""Whole-mesh benchmark: generate realistic `kubectl get -A -o json` dumps, then measure.

    python scripts/bench.py [--pods 10000 50000] [--out bench-out] [--keep]

For each size it writes one JSON List (Namespaces, Deployments, ReplicaSets, Pods with
injected sidecars, Services, ServiceAccounts and a policy mix of PeerAuthentications,
DestinationRules and Sidecars), then runs, each in a fresh process so peak memory is its own:

  decode   msgspec typed decode of the file (the baseline the issue compares against)
  analyze  mtls-doctor end to end: read + model + every edge class + checks

and prints times, peak RSS, the number of evaluations actually made, and the number of
workload × service-port edges they stand for. Nothing here is a test: numbers are reported,
not asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

PODS_PER_WORKLOAD = 3.8
WORKLOADS_PER_NS = 10


def _pod(
    ns: str, app: str, rs_hash: str, i: int, injected: bool, ip: str, sa: str
) -> dict[str, Any]:
    labels = {"app": app, "version": "v1", "pod-template-hash": rs_hash}
    annotations = {
        "kubectl.kubernetes.io/default-container": app,
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "15020",
    }
    containers: list[dict[str, Any]] = [
        {
            "name": app,
            "image": f"registry.example.com/{ns}/{app}:1.{i % 7}.3",
            "imagePullPolicy": "IfNotPresent",
            "ports": [
                {"containerPort": 8080, "name": "http", "protocol": "TCP"},
                {"containerPort": 9090, "name": "grpc", "protocol": "TCP"},
            ],
            "env": [{"name": f"ENV_{k}", "value": f"value-{k}-{app}"} for k in range(12)],
            "resources": {
                "limits": {"cpu": "1", "memory": "512Mi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            },
            "readinessProbe": {
                "httpGet": {"path": "/app-health/app/readyz", "port": 15020, "scheme": "HTTP"},
                "periodSeconds": 10,
            },
            "volumeMounts": [
                {
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": "kube-api-access",
                    "readOnly": True,
                }
            ],
            "terminationMessagePath": "/dev/termination-log",
        }
    ]
    init: list[dict[str, Any]] = []
    if injected:
        labels.update(
            {
                "security.istio.io/tlsMode": "istio",
                "service.istio.io/canonical-name": app,
                "service.istio.io/canonical-revision": "v1",
            }
        )
        annotations["sidecar.istio.io/status"] = json.dumps(
            {
                "initContainers": ["istio-init"],
                "containers": ["istio-proxy"],
                "volumes": [
                    "workload-socket",
                    "credential-socket",
                    "workload-certs",
                    "istio-envoy",
                    "istio-data",
                    "istio-podinfo",
                    "istio-token",
                    "istiod-ca-cert",
                ],
                "imagePullSecrets": None,
                "revision": "default",
            }
        )
        containers.append(
            {
                "name": "istio-proxy",
                "image": "docker.io/istio/proxyv2:1.25.2",
                "args": [
                    "proxy",
                    "sidecar",
                    "--domain",
                    f"{ns}.svc.cluster.local",
                    "--proxyLogLevel=warning",
                    "--proxyComponentLogLevel=misc:error",
                    "--log_output_level=default:info",
                ],
                "env": [
                    {"name": k, "value": v}
                    for k, v in {
                        "PILOT_CERT_PROVIDER": "istiod",
                        "CA_ADDR": "istiod.istio-system.svc:15012",
                        "POD_NAME": f"{app}-{rs_hash}-{i}",
                        "POD_NAMESPACE": ns,
                        "SERVICE_ACCOUNT": sa,
                        "ISTIO_META_WORKLOAD_NAME": app,
                        "ISTIO_META_OWNER": f"kubernetes://apis/apps/v1/namespaces/{ns}/deployments/{app}",
                        "ISTIO_META_MESH_ID": "cluster.local",
                        "TRUST_DOMAIN": "cluster.local",
                        "ISTIO_META_CLUSTER_ID": "Kubernetes",
                        "ISTIO_META_INTERCEPTION_MODE": "REDIRECT",
                        "ISTIO_KUBE_APP_PROBERS": json.dumps(
                            {
                                f"/app-health/{app}/readyz": {
                                    "httpGet": {"path": "/ready", "port": 8080}
                                }
                            }
                        ),
                        "PROXY_CONFIG": json.dumps(
                            {
                                "discoveryAddress": "istiod.istio-system.svc:15012",
                                "tracing": {"zipkin": {"address": "zipkin.istio-system:9411"}},
                                "holdApplicationUntilProxyStarts": True,
                                "proxyMetadata": {
                                    "ISTIO_META_DNS_CAPTURE": "true",
                                    "ISTIO_META_DNS_AUTO_ALLOCATE": "true",
                                },
                            }
                        ),
                        "ISTIO_META_POD_PORTS": json.dumps(
                            [
                                {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                {"name": "grpc", "containerPort": 9090, "protocol": "TCP"},
                            ]
                        ),
                        "ISTIO_META_APP_CONTAINERS": app,
                        "GOMEMLIMIT": "1073741824",
                        "GOMAXPROCS": "2",
                        "ISTIO_META_CPU_LIMIT": "2",
                        "ISTIO_META_MEM_LIMIT": "1073741824",
                        "ISTIO_META_ENABLE_HBONE": "false",
                        "ISTIO_BOOTSTRAP_OVERRIDE": "/etc/istio/custom-bootstrap/bootstrap.json",
                        "OUTPUT_CERTS": "/etc/istio-output-certs",
                        "ISTIO_META_DNS_CAPTURE": "true",
                        "ISTIO_META_DNS_AUTO_ALLOCATE": "true",
                    }.items()
                ]
                + [
                    {"name": n, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": f}}}
                    for n, f in (
                        ("INSTANCE_IP", "status.podIP"),
                        ("HOST_IP", "status.hostIP"),
                        ("POD_NAME_REF", "metadata.name"),
                        ("POD_NAMESPACE_REF", "metadata.namespace"),
                        ("SERVICE_ACCOUNT_REF", "spec.serviceAccountName"),
                        ("ISTIO_META_NODE_NAME", "spec.nodeName"),
                    )
                ],
                "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
                "resources": {
                    "limits": {"cpu": "2", "memory": "1Gi"},
                    "requests": {"cpu": "100m", "memory": "128Mi"},
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "privileged": False,
                    "readOnlyRootFilesystem": True,
                    "runAsGroup": 1337,
                    "runAsNonRoot": True,
                    "runAsUser": 1337,
                    "capabilities": {"drop": ["ALL"]},
                },
                "startupProbe": {
                    "httpGet": {"path": "/healthz/ready", "port": 15021},
                    "failureThreshold": 600,
                    "periodSeconds": 1,
                },
                "readinessProbe": {
                    "httpGet": {"path": "/healthz/ready", "port": 15021},
                    "periodSeconds": 15,
                },
                "volumeMounts": [
                    {"mountPath": p, "name": n}
                    for n, p in (
                        ("workload-socket", "/var/run/secrets/workload-spiffe-uds"),
                        ("credential-socket", "/var/run/secrets/credential-uds"),
                        ("workload-certs", "/var/run/secrets/workload-spiffe-credentials"),
                        ("istiod-ca-cert", "/var/run/secrets/istio"),
                        ("istio-data", "/var/lib/istio/data"),
                        ("istio-envoy", "/etc/istio/proxy"),
                        ("istio-token", "/var/run/secrets/tokens"),
                        ("istio-podinfo", "/etc/istio/pod"),
                    )
                ],
            }
        )
        init.append(
            {
                "name": "istio-init",
                "image": "docker.io/istio/proxyv2:1.25.2",
                "args": [
                    "istio-iptables",
                    "-p",
                    "15001",
                    "-z",
                    "15006",
                    "-u",
                    "1337",
                    "-m",
                    "REDIRECT",
                    "-i",
                    "*",
                    "-x",
                    "",
                    "-b",
                    "*",
                    "-d",
                    "15090,15021,15020",
                ],
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{app}-{rs_hash}-{i:05d}",
            "namespace": ns,
            "uid": f"{random.getrandbits(128):032x}",
            "resourceVersion": str(random.randint(10**6, 10**8)),
            "creationTimestamp": "2026-11-01T10:00:00Z",
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-{rs_hash}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                    "uid": "x",
                }
            ],
        },
        "spec": {
            "serviceAccountName": sa,
            "serviceAccount": sa,
            "containers": containers,
            "initContainers": init,
            "nodeName": f"node-{i % 500}",
            "restartPolicy": "Always",
            "volumes": [
                {
                    "name": "kube-api-access",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "path": "namespace",
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                }
            ]
            + (
                [
                    {"name": "workload-socket", "emptyDir": {}},
                    {"name": "credential-socket", "emptyDir": {}},
                    {"name": "workload-certs", "emptyDir": {}},
                    {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
                    {"name": "istio-data", "emptyDir": {}},
                    {
                        "name": "istio-podinfo",
                        "downwardAPI": {
                            "defaultMode": 420,
                            "items": [
                                {
                                    "path": "labels",
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": "metadata.labels",
                                    },
                                },
                                {
                                    "path": "annotations",
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": "metadata.annotations",
                                    },
                                },
                            ],
                        },
                    },
                    {
                        "name": "istio-token",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "audience": "istio-ca",
                                        "expirationSeconds": 43200,
                                        "path": "istio-token",
                                    }
                                }
                            ],
                        },
                    },
                    {
                        "name": "istiod-ca-cert",
                        "configMap": {"defaultMode": 420, "name": "istio-ca-root-cert"},
                    },
                ]
                if injected
                else []
            ),
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
            ],
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "priority": 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
            "terminationGracePeriodSeconds": 30,
            "securityContext": {},
        },
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "hostIP": f"10.0.{i % 250}.{i % 200}",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": "2026-11-01T10:00:05Z"}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "ready": True,
                    "restartCount": 0,
                    "image": c["image"],
                    "started": True,
                    "imageID": f"{c['image']}@sha256:{random.getrandbits(256):064x}",
                    "state": {"running": {"startedAt": "2026-11-01T10:00:03Z"}},
                    "lastState": {},
                    "containerID": f"containerd://{random.getrandbits(256):064x}",
                }
                for c in containers
            ],
            "initContainerStatuses": [
                {
                    "name": c["name"],
                    "ready": True,
                    "restartCount": 0,
                    "image": c["image"],
                    "state": {
                        "terminated": {
                            "exitCode": 0,
                            "reason": "Completed",
                            "startedAt": "2026-11-01T10:00:01Z",
                            "finishedAt": "2026-11-01T10:00:02Z",
                        }
                    },
                }
                for c in init
            ],
            "qosClass": "Burstable",
            "startTime": "2026-11-01T10:00:00Z",
        },
    }


def generate(pods: int, path: Path, seed: int = 7) -> dict[str, int]:
    random.seed(seed)
    workloads = int(pods / PODS_PER_WORKLOAD)
    namespaces = max(1, workloads // WORKLOADS_PER_NS)
    items: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": {"name": "default", "namespace": "istio-system"},
            "spec": {"mtls": {"mode": "STRICT"}},
        },
    ]
    made_pods = 0
    service_ports = 0
    ip = 0
    for n in range(namespaces):
        ns = f"team-{n:04d}"
        injected_ns = n % 10 != 0
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "labels": {"istio-injection": "enabled" if injected_ns else "disabled"},
                },
            }
        )
        if n % 5 == 1:
            items.append(
                {
                    "apiVersion": "security.istio.io/v1",
                    "kind": "PeerAuthentication",
                    "metadata": {"name": "default", "namespace": ns},
                    "spec": {"mtls": {"mode": "PERMISSIVE"}},
                }
            )
        if n % 5 == 2:
            items.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "Sidecar",
                    "metadata": {"name": "default", "namespace": ns},
                    "spec": {
                        "egress": [
                            {
                                "hosts": [
                                    "./*",
                                    "istio-system/*",
                                    f"team-{(n + 1) % namespaces:04d}/*",
                                ]
                            }
                        ],
                        "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
                    },
                }
            )
        for w in range(WORKLOADS_PER_NS):
            app = f"svc-{w:02d}"
            sa = app if w % 3 else "default"
            rs_hash = f"{random.getrandbits(36):09x}"[:9]
            tpl_labels = {"app": app, "version": "v1"}
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": sa, "namespace": ns},
                }
            )
            items.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": app, "namespace": ns},
                    "spec": {
                        "replicas": 4,
                        "selector": {"matchLabels": {"app": app}},
                        "template": {
                            "metadata": {"labels": tpl_labels},
                            "spec": {
                                "serviceAccountName": sa,
                                "containers": [{"name": app, "image": "x"}],
                            },
                        },
                    },
                }
            )
            items.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{app}-{rs_hash}",
                        "namespace": ns,
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "Deployment",
                                "name": app,
                                "controller": True,
                            }
                        ],
                    },
                }
            )
            count = 4 if (n * WORKLOADS_PER_NS + w) % 5 else 3
            for _i in range(count):
                if made_pods >= pods:
                    break
                ip += 1
                addr = f"10.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"
                items.append(_pod(ns, app, rs_hash, made_pods, injected_ns, addr, sa))
                made_pods += 1
            ports = [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
            if w % 2 == 0:
                ports.append({"name": "grpc", "port": 9090, "targetPort": 9090, "protocol": "TCP"})
            service_ports += len(ports)
            items.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": app, "namespace": ns},
                    "spec": {
                        "clusterIP": f"172.20.{n % 250}.{w}",
                        "selector": {"app": app},
                        "ports": ports,
                    },
                }
            )
            if w == 3 and n % 4 == 0:
                items.append(
                    {
                        "apiVersion": "networking.istio.io/v1",
                        "kind": "DestinationRule",
                        "metadata": {"name": app, "namespace": ns},
                        "spec": {"host": app, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}},
                    }
                )
            if w == 4 and n % 9 == 0:
                items.append(
                    {
                        "apiVersion": "networking.istio.io/v1",
                        "kind": "DestinationRule",
                        "metadata": {"name": app, "namespace": ns},
                        "spec": {"host": app, "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
                    }
                )
            if w == 5 and n % 6 == 0:
                items.append(
                    {
                        "apiVersion": "security.istio.io/v1",
                        "kind": "PeerAuthentication",
                        "metadata": {"name": app, "namespace": ns},
                        "spec": {
                            "selector": {"matchLabels": {"app": app}},
                            "portLevelMtls": {"9090": {"mode": "DISABLE"}},
                        },
                    }
                )
    doc = {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc), indent=4))
    return {
        "pods": made_pods,
        "workloads": workloads,
        "namespaces": namespaces + 1,
        "service_ports": service_ports,
        "objects": len(items),
    }


def _peak_mb() -> float:
    """This process's own peak RSS. (`ru_maxrss` would include the generating parent's peak,
    which Linux carries across fork and exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_decode(path: str) -> dict[str, Any]:
    from mtls_doctor.model.objects import _FAST_DECODER

    raw = Path(path).read_bytes()
    gc.disable()
    t0 = time.perf_counter()
    doc = _FAST_DECODER.decode(raw)
    dt = time.perf_counter() - t0
    return {"decode_s": dt, "items": len(doc.items), "peak_mb": _peak_mb()}


def run_analyze(path: str) -> dict[str, Any]:
    from mtls_doctor.analysis import analyze
    from mtls_doctor.model.load import load_mesh

    t0 = time.perf_counter()
    loaded = load_mesh([path])
    t1 = time.perf_counter()
    gc.disable()
    a = analyze(loaded, load_seconds=t1 - t0)
    t2 = time.perf_counter()
    clients = sum(len(a.engine.clients(c)) for c in loaded.mesh.clusters)
    dests = len(a.results)
    verdicts: dict[str, int] = {}
    for r in a.results:
        for cls in r.classes:
            key = f"{cls.outcome.verdict}/{cls.outcome.cause}"
            verdicts[key] = verdicts.get(key, 0) + len(cls.clients)
    return {
        "load_s": t1 - t0,
        "evaluate_s": a.timings.evaluate_s,
        "checks_s": a.timings.checks_s,
        "total_s": t2 - t0,
        "evaluations": a.engine.evaluations,
        "client_workloads": clients,
        "destination_ports": dests,
        "edges": clients * dests,
        "findings": len(a.findings),
        "verdicts": verdicts,
        "problems": len(loaded.problems),
        "peak_mb": _peak_mb(),
    }


def _child(mode: str, path: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, path],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pods", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--keep", action="store_true", help="keep the generated dumps")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, path = args.child
        print(json.dumps(run_decode(path) if mode == "decode" else run_analyze(path)))
        return
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    for n in args.pods:
        path = out / f"mesh-{n}.json"
        t0 = time.perf_counter()
        shape = generate(n, path)
        gen_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        dec = _child("decode", str(path))
        ana = _child("analyze", str(path))
        ratio = ana["total_s"] / dec["decode_s"]
        print(
            f"\n== {n} pods: {size_mb:,.0f} MB JSON, {shape['objects']:,} objects "
            f"(generated in {gen_s:.1f} s)"
        )
        print(
            f"  typed decode (baseline)   {dec['decode_s']:6.2f} s   peak {dec['peak_mb']:,.0f} MB"
        )
        print(
            f"  analyze end to end        {ana['total_s']:6.2f} s   peak {ana['peak_mb']:,.0f} MB"
            f"   = {ratio:.2f} x decode"
        )
        print(f"    read + model            {ana['load_s']:6.2f} s")
        print(f"    edge classes            {ana['evaluate_s']:6.2f} s")
        print(f"    checks                  {ana['checks_s']:6.2f} s")
        print(
            f"  client workloads {ana['client_workloads']:,} x destination ports "
            f"{ana['destination_ports']:,} = {ana['edges']:,} edges"
        )
        print(
            f"  evaluations made          {ana['evaluations']:,} "
            f"({ana['edges'] / max(ana['evaluations'], 1):,.0f} edges per evaluation)"
        )
        print(f"  findings {ana['findings']:,}; input problems {ana['problems']}")
        print("  verdicts: " + ", ".join(f"{k} {v:,}" for k, v in sorted(ana["verdicts"].items())))
        if not args.keep:
            path.unlink()


if __name__ == "__main__":
    main()
