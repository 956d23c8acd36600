"""The hardening controls catalog: the single source for the hardening roles and the inspection."""

from opsproof.controls.catalog import (
    DEFAULT_CATALOG,
    MLPS_TEST_ITEMS,
    catalog_errors,
    load_catalog,
    load_schema,
    read_catalog,
    validate_catalog,
)
from opsproof.controls.model import (
    LAYER_PREFIX,
    LAYERS,
    SEVERITIES,
    Bilingual,
    Catalog,
    Check,
    Control,
    LabApplicability,
    Layer,
    References,
    Setting,
    Severity,
    Standard,
)

__all__ = [
    "DEFAULT_CATALOG",
    "LAYERS",
    "LAYER_PREFIX",
    "MLPS_TEST_ITEMS",
    "SEVERITIES",
    "Bilingual",
    "Catalog",
    "Check",
    "Control",
    "LabApplicability",
    "Layer",
    "References",
    "Setting",
    "Severity",
    "Standard",
    "catalog_errors",
    "load_catalog",
    "load_schema",
    "read_catalog",
    "validate_catalog",
]
