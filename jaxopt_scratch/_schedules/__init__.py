"""Layer 1, schedules: functions of the step count, every numeric argument traceable.

Imports only ``_core``.
"""
