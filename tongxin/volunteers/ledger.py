"""Moved: the ledger is its own app now, :mod:`tongxin.ledger` (posting rules in ``tongxin.ledger.services``).

Kept only for ``alerts.py``, which still imports these two helpers from here; new code imports
``tongxin.ledger.services``.
"""

from tongxin.ledger.services import q2 as q2
from tongxin.ledger.services import quarter_bounds as quarter_bounds
