"""Root conftest of the project: the gating suites use the pytest-artemis plugin (installed via pytest11)."""
