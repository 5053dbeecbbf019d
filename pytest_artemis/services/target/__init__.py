"""The bundled reference service: the embedded default target of the gating suites."""
