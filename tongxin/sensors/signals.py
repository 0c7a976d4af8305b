"""Signals other apps listen to without sensors importing them.

``care_signal_raised`` is the hook for the care/visits app: sent on commit with ``sender=CareSignal,
care_signal=<CareSignal>`` whenever a meter suggests a care visit (e.g. an elderly person living alone used no water
for 24 hours). A receiver may plan a household visit and later call
:func:`tongxin.sensors.services.record_care_visit` to close the signal.
"""

from django.dispatch import Signal

care_signal_raised = Signal()
