"""Thin typed clients (Prometheus, Kubernetes) raising the project's own errors; no pytest imports."""
