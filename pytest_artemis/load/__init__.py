"""Load scenarios on Locust: scenarios, shapes, runner (child processes), results, gates, CLI."""
