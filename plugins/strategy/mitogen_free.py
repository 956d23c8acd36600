"""Mitogen's free strategy (the installed ansible_mitogen package, pyproject), each worker forked
with the controller's heap frozen (opsproof.ansible_forks)."""

from ansible_mitogen.plugins.strategy.mitogen_free import StrategyModule as _MitogenStrategy

from opsproof.ansible_forks import FrozenHeapForks


class StrategyModule(FrozenHeapForks, _MitogenStrategy):
    """mitogen_free with frozen-heap forks."""
