"""The monitoring the ops host runs, read from here: Prometheus's HTTP API (availability) and
the alert receiver's file (which alerts fired and resolved, for the chaos runner)."""
