"""Mitogen's linear strategy, loaded from the installed ansible_mitogen package (pyproject)."""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule

__all__ = ["StrategyModule"]
