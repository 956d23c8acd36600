"""The load generator's ceiling: one FastHttpUser task, no pause, one endpoint.

Run by `opsproof perf ceiling` (make loadtest-ceiling) in ONE Locust process, beside `wrk`
on the same URL, so a reader can tell the generator from the system under test.
"""

from __future__ import annotations

from typing import Any

from locust import FastHttpUser, constant, events, task

from loadtests import target
from loadtests.personas import ca_context_factory


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    target.add_options(parser)
    parser.add_argument("--ceiling-path", default="/health", help="path to request")
    parser.add_argument("--ceiling-status", type=int, default=200, help="expected status")


class CeilingUser(FastHttpUser):
    wait_time = constant(0)
    insecure = False
    ssl_context_factory = staticmethod(ca_context_factory(""))  # --ca-cert at init

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.path = options.ceiling_path if options else "/health"
        self.status = options.ceiling_status if options else 200

    @task
    def hit(self) -> None:
        with self.client.get(
            self.path, name=self.path, allow_redirects=False, catch_response=True
        ) as resp:
            if resp.status_code != self.status:
                resp.failure(f"status {resp.status_code}, expected {self.status}")


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    target.fill_defaults(environment)
    options = environment.parsed_options
    if options is not None:
        CeilingUser.ssl_context_factory = staticmethod(ca_context_factory(options.ca_cert))
