"""What every check reads: the model and the per-destination edge results."""

from __future__ import annotations

from mtls_doctor.edges.classes import DestinationResult
from mtls_doctor.edges.records import Edge
from mtls_doctor.edges.server import ServerSides
from mtls_doctor.model.mesh import Mesh
from mtls_doctor.record import Record


class CheckContext(Record):
    mesh: Mesh
    results: tuple[DestinationResult, ...]
    servers: ServerSides | None = None  # the engine's server facts (shared cache)
    pseudo: tuple[Edge, ...] = ()  # kube-apiserver and kubelet edges

    def server_sides(self) -> ServerSides:
        return self.servers if self.servers is not None else ServerSides(self.mesh)
