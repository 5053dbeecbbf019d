"""Things the session starts and stops: the reference service, Prometheus, Locust processes (no pytest imports)."""
