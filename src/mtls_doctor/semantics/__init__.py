"""Istio's decisions, one module each. Pure functions: every answer names what decided it."""
