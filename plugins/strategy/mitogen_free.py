"""Mitogen's free strategy, loaded from the installed ansible_mitogen package (pyproject)."""

from ansible_mitogen.plugins.strategy.mitogen_free import StrategyModule

__all__ = ["StrategyModule"]
