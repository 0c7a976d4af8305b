"""Routing help's own storage: trained category-suggestion models and staff confirmations/corrections.

A separate small app (label ``cases_routing``) so the interfaces engineer owns its models and migrations without
touching :mod:`tongxin.cases.models`.
"""
