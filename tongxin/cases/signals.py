"""Signals other apps listen to without cases importing them (e.g. participation credits volunteer hours).

Both are sent on commit with ``sender=Case, case=<Case>, actor=<User or None>``.
"""

from django.dispatch import Signal

case_resolved = Signal()
case_closed = Signal()
