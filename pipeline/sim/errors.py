"""What the simulator raises on bad input.

>>> issubclass(InvalidDecision, SimulationError) and issubclass(InvalidDecision, ValueError)
True
"""

from __future__ import annotations

__all__ = ["InvalidDecision", "InvalidSimulationOptions", "SimulationError", "SimulatorNotStarted"]


class SimulationError(Exception):
    """Base class of every simulator error.

    >>> str(SimulationError("boom"))
    'boom'
    """


class InvalidSimulationOptions(SimulationError, ValueError):
    """Options that make no sense (a negative rate, an unknown sector or persona...).

    >>> raise InvalidSimulationOptions("visitors_per_minute must be positive")
    Traceback (most recent call last):
    ...
    pipeline.sim.errors.InvalidSimulationOptions: visitors_per_minute must be positive
    """


class InvalidDecision(SimulationError, ValueError):
    """A decision dict the simulator cannot read (missing id, unknown experiment arm...).

    >>> str(InvalidDecision("Decision.visitor_id is missing"))
    'Decision.visitor_id is missing'
    """


class SimulatorNotStarted(SimulationError, RuntimeError):
    """The clock was advanced before :meth:`Simulator.start`.

    >>> issubclass(SimulatorNotStarted, RuntimeError)
    True
    """
