"""Locust scenarios for the platform (run with `locust -f loadtests/locustfile.py`)."""
