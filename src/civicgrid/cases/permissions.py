"""Capabilities of the case engine (mirrors the entries in accounts.permissions.Capability)."""

from __future__ import annotations

from civicgrid.accounts.permissions import Capability


class CaseCapability:
    VIEW = Capability.CASES_VIEW
    INTAKE = Capability.CASES_INTAKE
    DISPATCH = Capability.CASES_DISPATCH
    HANDLE = Capability.CASES_HANDLE
    VERIFY = Capability.CASES_VERIFY
    ADMIN = Capability.CASES_ADMIN
