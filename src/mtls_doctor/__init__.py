"""mtls-doctor: per-edge Istio mTLS verdicts for a whole mesh."""

__version__ = "0.1.0"
