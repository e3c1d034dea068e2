"""What every check reads: the model and the per-destination edge results."""

from __future__ import annotations

import msgspec

from mtls_doctor.edges.classes import DestinationResult
from mtls_doctor.model.mesh import Mesh


class CheckContext(msgspec.Struct, frozen=True):
    mesh: Mesh
    results: tuple[DestinationResult, ...]
