"""Whole-mesh benchmark: generate realistic `kubectl get -A -o json` dumps, then measure.

    python scripts/bench.py [--pods 10000 50000] [--out bench-out] [--keep]
                            [--other-kinds] [--entries] [--workloads-per-ns N]
                            [--repeat N] [--rounds N] [--load-only]

For each size it writes one JSON List (Namespaces, Deployments, ReplicaSets, Pods with
injected sidecars, Services, ServiceAccounts and a policy mix of PeerAuthentications,
DestinationRules and Sidecars; with --other-kinds also Endpoints, EndpointSlices, Events,
VirtualServices and a custom resource kind; with --entries also VMs behind ServiceEntries
and WorkloadEntries, some registered at a pod's address), then runs, each in a fresh process
so peak memory is its own:

  decode   the fast road's typed decodes of the file (the baseline the issue compares against)
  load     `load_mesh([path])` alone: read + model (--repeat times)
  analyze  mtls-doctor end to end: read + model + every edge class + checks

and prints times, peak RSS, the number of evaluations actually made, and the number of
workload × service-port edges they stand for. With --rounds N the decode and the analysis
alternate N times and the ratio is taken between the best of each (on a shared VM one run can
be 30-45% off another), and within each round (their median). Nothing here is a test: numbers
are reported, not asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
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


class _Backends:
    """The pods behind one Service, for the Endpoints, EndpointSlices and Events around it."""

    def __init__(self, ns: str, app: str, ports: list[dict[str, Any]]) -> None:
        self.ns, self.app, self.ports = ns, app, ports
        self.pods: list[tuple[str, str, str]] = []  # (name, ip, node)


def _target(ns: str, pod: str) -> dict[str, Any]:
    return {"kind": "Pod", "name": pod, "namespace": ns, "uid": f"{random.getrandbits(128):032x}"}


def _endpoints(b: _Backends) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": b.app,
            "namespace": b.ns,
            "labels": {"app": b.app},
            "annotations": {
                "endpoints.kubernetes.io/last-change-trigger-time": "2026-11-01T10:00:06Z"
            },
        },
        "subsets": [
            {
                "addresses": [
                    {"ip": ip, "nodeName": node, "targetRef": _target(b.ns, pod)}
                    for pod, ip, node in b.pods
                ],
                "ports": [
                    {"name": p["name"], "port": p["targetPort"], "protocol": "TCP"} for p in b.ports
                ],
            }
        ],
    }


def _endpoint_slice(b: _Backends) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{b.app}-{random.getrandbits(20):05x}",
            "namespace": b.ns,
            "labels": {
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "kubernetes.io/service-name": b.app,
            },
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Service", "name": b.app, "controller": True}
            ],
        },
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": [ip],
                "conditions": {"ready": True, "serving": True, "terminating": False},
                "nodeName": node,
                "targetRef": _target(b.ns, pod),
            }
            for pod, ip, node in b.pods
        ],
        "ports": [{"name": p["name"], "port": p["targetPort"], "protocol": "TCP"} for p in b.ports],
    }


def _event(b: _Backends, pod: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.{random.getrandbits(64):016x}", "namespace": b.ns},
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": b.ns, "fieldPath": ""},
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet"},
        "type": "Warning" if reason == "Unhealthy" else "Normal",
        "count": random.randint(1, 40),
        "firstTimestamp": "2026-11-01T10:00:00Z",
        "lastTimestamp": "2026-11-01T10:20:00Z",
    }


def _virtual_service(b: _Backends) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": b.app, "namespace": b.ns},
        "spec": {
            "hosts": [b.app],
            "http": [{"route": [{"destination": {"host": b.app}}], "timeout": "5s"}],
        },
    }


def _scaled_object(b: _Backends) -> dict[str, Any]:
    """A custom resource of a kind mtls-doctor knows nothing about (KEDA's)."""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": b.app, "namespace": b.ns},
        "spec": {
            "scaleTargetRef": {"name": b.app},
            "minReplicaCount": 2,
            "triggers": [{"type": "cpu", "metadata": {"value": "70"}}],
        },
    }


def other_kinds(services: list[_Backends]) -> list[dict[str, Any]]:
    """What else `kubectl get -A -o json` of several resource types holds, grouped by kind as
    kubectl writes it: one Endpoints and one EndpointSlice per Service, an Event for every
    pod and a readiness warning for one pod in ten, a VirtualService for one Service in four
    and a custom resource (a kind nobody reads) for one Service in eight."""
    events = [
        _event(b, pod, "Started", "Started container istio-proxy")
        for b in services
        for pod, *_ in b.pods
    ]
    events += [
        _event(b, pod, "Unhealthy", "Readiness probe failed: HTTP probe failed with 503")
        for b in services
        for pod, *_ in b.pods[:1]
        if random.random() < 0.4
    ]
    return (
        [_endpoints(b) for b in services]
        + [_endpoint_slice(b) for b in services]
        + events
        + [_virtual_service(b) for b in services[::4]]
        + [_scaled_object(b) for b in services[::8]]
    )


VMS_PER_ENTRY = 2


def vm_entries(namespaces: int, pod_at: dict[str, str]) -> list[dict[str, Any]]:
    """VMs in every fourth namespace: five MESH_INTERNAL ServiceEntries selecting two
    WorkloadEntries each, with a serviceAccount (so mTLS). In one such namespace in five, one
    entry's second VM is registered at a sidecar pod's address by mistake: that pod presents
    another identity, the SAN mismatch of the blog post, whose patches are verified."""
    out: list[dict[str, Any]] = []
    vm = 0
    for n in range(3, namespaces, 4):
        ns = f"team-{n:04d}"
        for k in range(5):
            app = f"vm-{k}"
            out.append(
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "ServiceEntry",
                    "metadata": {"name": app, "namespace": ns},
                    "spec": {
                        "hosts": [f"{app}.{ns}.mesh.internal"],
                        "location": "MESH_INTERNAL",
                        "resolution": "STATIC",
                        "ports": [
                            {"number": 8080, "name": "http", "protocol": "HTTP"},
                            {"number": 9000, "name": "tcp-data", "protocol": "TCP"},
                        ],
                        "workloadSelector": {"labels": {"app": app}},
                    },
                }
            )
            for r in range(VMS_PER_ENTRY):
                vm += 1
                address = f"172.{16 + (vm >> 16)}.{(vm >> 8) & 255}.{vm & 255}"
                if k == 0 and r == 1 and n % 20 == 3 and ns in pod_at:
                    address = pod_at[ns]
                out.append(
                    {
                        "apiVersion": "networking.istio.io/v1",
                        "kind": "WorkloadEntry",
                        "metadata": {"name": f"{app}-{r}", "namespace": ns},
                        "spec": {
                            "address": address,
                            "serviceAccount": app,
                            "labels": {"app": app},
                        },
                    }
                )
    return out


def generate(
    pods: int,
    path: Path,
    seed: int = 7,
    *,
    with_other_kinds: bool = False,
    with_entries: bool = False,
    workloads_per_ns: int = WORKLOADS_PER_NS,
) -> dict[str, int]:
    """A `kubectl get -A -o json` List of `pods` pods and the mesh around them; with
    `with_other_kinds`, also the Endpoints, EndpointSlices, Events and custom resources a
    dump of every resource type holds; with `with_entries`, VMs behind ServiceEntries
    (`vm_entries`); `workloads_per_ns` sizes the namespaces. Returns the shape of what was
    written."""
    random.seed(seed)
    services: list[_Backends] = []
    workloads = int(pods / PODS_PER_WORKLOAD)
    namespaces = max(1, workloads // workloads_per_ns)
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
    pod_at: dict[str, str] = {}  # a sidecar pod's address per injected namespace
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
        for w in range(workloads_per_ns):
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
            ports = [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
            if w % 2 == 0:
                ports.append({"name": "grpc", "port": 9090, "targetPort": 9090, "protocol": "TCP"})
            backends = _Backends(ns, app, ports)
            services.append(backends)
            count = 4 if (n * workloads_per_ns + w) % 5 else 3
            for _i in range(count):
                if made_pods >= pods:
                    break
                ip += 1
                addr = f"10.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"
                if injected_ns:
                    pod_at.setdefault(ns, addr)
                pod = _pod(ns, app, rs_hash, made_pods, injected_ns, addr, sa)
                items.append(pod)
                backends.pods.append((pod["metadata"]["name"], addr, pod["spec"]["nodeName"]))
                made_pods += 1
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
    entries = vm_entries(namespaces, pod_at) if with_entries else []
    items.extend(entries)
    read = len(items)
    if with_other_kinds:
        items.extend(other_kinds(services))
    doc = {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}
    path.write_bytes(msgspec.json.format(msgspec.json.encode(doc), indent=4))
    return {
        "pods": made_pods,
        "workloads": workloads,
        "namespaces": namespaces + 1,
        "service_ports": service_ports,
        "service_entries": sum(1 for e in entries if e["kind"] == "ServiceEntry"),
        "objects": read,  # of kinds mtls-doctor reads
        "other_objects": len(items) - read,
    }


def _peak_mb() -> float:
    """This process's own peak RSS. (`ru_maxrss` would include the generating parent's peak,
    which Linux carries across fork and exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(decode: Any, raw: bytes) -> float | None:
    """Seconds `decode(raw)` took, or None when it refused the dump."""
    t0 = time.perf_counter()
    ok = decode(raw) is not None
    return time.perf_counter() - t0 if ok else None


def run_decode(path: str) -> dict[str, Any]:
    """The fast road's decodes alone: one pass over a tagged union of the kinds read and
    ignored (refused when a kind nobody knows is in the dump), item by item, and the whole
    fast road as a load takes it (the one pass, if refused the item-by-item one, lines)."""
    from mtls_doctor.model import objects

    raw = Path(path).read_bytes()
    gc.disable()
    return {
        "decode_s": _timed(objects._decode_at_once, raw),
        "item_by_item_s": _timed(objects._decode_each, raw),
        "fast_road_s": _timed(lambda b: objects.fast_decode("default", path, b), raw),
        "peak_mb": _peak_mb(),
    }


def run_load(path: str) -> dict[str, Any]:
    """`load_mesh([path])` alone: the read + model phase, with nothing imported late."""
    from mtls_doctor.model.load import load_mesh

    t0 = time.perf_counter()
    loaded = load_mesh([path])
    dt = time.perf_counter() - t0
    return {
        "load_s": dt,
        "objects": loaded.objects,
        "problems": len(loaded.problems),
        "peak_mb": _peak_mb(),
    }


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
            verdicts[key] = verdicts.get(key, 0) + cls.count
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
    ap.add_argument(
        "--other-kinds",
        action="store_true",
        help="add the Endpoints, EndpointSlices, Events, VirtualServices and custom resources "
        "of a dump of every resource type (kinds mtls-doctor does not read)",
    )
    ap.add_argument(
        "--entries",
        action="store_true",
        help="add VMs behind ServiceEntries and WorkloadEntries (some at a pod's address)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="load_mesh runs, each in a new process")
    ap.add_argument(
        "--workloads-per-ns",
        type=int,
        default=WORKLOADS_PER_NS,
        help=f"namespace size (default {WORKLOADS_PER_NS}; large namespaces test the selector "
        "lookups)",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="decode and analyze alternately N times (each in a new process); best of each",
    )
    ap.add_argument("--load-only", action="store_true", help="skip the end-to-end analysis")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, path = args.child
        run = {"decode": run_decode, "load": run_load, "analyze": run_analyze}[mode]
        print(json.dumps(run(path)))
        return
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    from mtls_doctor.build import describe

    print(f"mtls-doctor with a {describe()} (mtls-doctor --version)")
    for n in args.pods:
        suffix = ("-other" if args.other_kinds else "") + ("-entries" if args.entries else "")
        if args.workloads_per_ns != WORKLOADS_PER_NS:
            suffix += f"-ns{args.workloads_per_ns}"
        path = out / f"mesh-{n}{suffix}.json"
        t0 = time.perf_counter()
        shape = generate(
            n,
            path,
            with_other_kinds=args.other_kinds,
            with_entries=args.entries,
            workloads_per_ns=args.workloads_per_ns,
        )
        gen_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        print(
            f"\n== {n} pods, {shape['service_entries']:,} ServiceEntries: {size_mb:,.0f} MB JSON, "
            f"{shape['objects']:,} objects read "
            f"+ {shape['other_objects']:,} of other kinds (generated in {gen_s:.1f} s)"
        )
        decodes = [_child("decode", str(path))]
        _print_decode(decodes[0])
        _print_loads([_child("load", str(path)) for _ in range(args.repeat)])
        if not args.load_only:
            analyses = [_child("analyze", str(path))]
            for _ in range(args.rounds - 1):
                decodes.append(_child("decode", str(path)))
                analyses.append(_child("analyze", str(path)))
            _print_analyze(analyses, decodes)
        if not args.keep:
            path.unlink()


def _seconds(value: float | None) -> str:
    return "  refused" if value is None else f"{value:7.2f} s"


def _print_decode(dec: dict[str, Any]) -> None:
    peak = f"   peak {dec['peak_mb']:,.0f} MB"
    print(f"  typed decode, one pass     {_seconds(dec['decode_s'])}{peak}")
    print(f"  typed decode, item by item {_seconds(dec['item_by_item_s'])}")
    print(f"  fast road (+ item lines)   {_seconds(dec['fast_road_s'])}")


def _print_loads(loads: list[dict[str, Any]]) -> None:
    times = sorted(x["load_s"] for x in loads)
    spread = f"{times[0]:.2f}" + (f"-{times[-1]:.2f}" if len(times) > 1 else "")
    last = loads[-1]
    print(
        f"  load_mesh alone           {spread} s over {len(times)} run(s)   "
        f"peak {last['peak_mb']:,.0f} MB; {last['objects']:,} objects, "
        f"{last['problems']} input problem(s)"
    )


def _print_analyze(analyses: list[dict[str, Any]], decodes: list[dict[str, Any]]) -> None:
    def base(dec: dict[str, Any]) -> float:
        return float(dec["decode_s"] or dec["item_by_item_s"] or 0.0)

    ana = min(analyses, key=lambda a: float(a["total_s"]))
    best = min(base(d) for d in decodes)
    ratio = f"   = {ana['total_s'] / best:.2f} x decode" if best else ""
    print(
        f"  analyze end to end        {ana['total_s']:6.2f} s   peak {ana['peak_mb']:,.0f} MB"
        f"{ratio}"
    )
    if len(analyses) > 1:
        pairs = list(zip(analyses, decodes, strict=True))
        rounds = ", ".join(f"{a['total_s']:.2f} / {base(d):.2f} s" for a, d in pairs)
        print(f"    best of {len(analyses)} rounds (analyze / decode: {rounds})")
        # each round's analysis against the decode run just before it: a slow phase of the
        # machine that spans a round slows both, so the median of these ratios is steadier
        ratios = sorted(float(a["total_s"]) / base(d) for a, d in pairs if base(d))
        if ratios:
            print(
                f"    ratio within each round: median {statistics.median(ratios):.2f} x "
                f"(from {ratios[0]:.2f} to {ratios[-1]:.2f})"
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


if __name__ == "__main__":
    main()
