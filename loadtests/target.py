"""Where the load goes: the platform of the inventory (opsproof.endpoints), never an address
written here. `opsproof perf …` passes --host and --ca-cert; a hand-run `locust` without them
reads the inventory named by --inventory (default inventories/lab)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsproof.endpoints import DEFAULT_INVENTORY

if TYPE_CHECKING:  # importing locust monkey-patches the process (gevent)
    from locust.env import Environment


def add_options(parser: Any) -> None:
    parser.add_argument(
        "--inventory",
        env_var="LOCUST_INVENTORY",
        default=DEFAULT_INVENTORY,
        help="the inventory whose platform (URL, CA) is the default target",
    )
    parser.add_argument(
        "--ca-cert",
        env_var="LOCUST_CA_CERT",
        default=None,
        help="CA certificate to verify the platform's TLS certificate with "
        "('' = system CAs; default: the inventory's)",
    )


def fill_defaults(environment: Environment) -> None:
    """Set the host and the CA from the inventory where the command line left them out."""
    options = environment.parsed_options
    if options is None or (environment.host and options.ca_cert is not None):
        return
    from opsproof.endpoints import platform_endpoint

    endpoint = platform_endpoint(options.inventory)
    if not environment.host:
        environment.host = options.host = endpoint.url
    if options.ca_cert is None:
        options.ca_cert = endpoint.ca_cert
