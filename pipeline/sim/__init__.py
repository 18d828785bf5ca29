"""Closed-loop visitor simulator: synthetic visitors of the seed's four sectors.

Visitors (personas with a latent intent) produce realistic ClickEvent streams
on a simulated clock, react to rtp's decisions through a known response model,
and convert (or not); because the truth is known, an oracle keeps the best
achievable reward beside the obtained one. The pure core knows nothing of
Kafka: ``rtp simulate``/``rtp demo`` wire it to the topics.

>>> from pipeline.sim import Simulator, SimulatorOptions
>>> sim = Simulator(SimulatorOptions(seed=5, visitors_per_minute=10))
>>> sim.start(1_700_000_000_000)
>>> len(sim.next_events(1_700_000_000_000 + 60_000)) >= 0
True
"""

from pipeline.sim.errors import (
    InvalidDecision,
    InvalidSimulationOptions,
    SimulationError,
    SimulatorNotStarted,
)
from pipeline.sim.journeys import CLOSERS, SCRIPTS, begin_journey, close_session
from pipeline.sim.ledger import ArmStats, DecisionRecord, RewardLedger, ledger_of
from pipeline.sim.options import RewardWeights, SimulatorOptions
from pipeline.sim.outcome import OUTCOME_KINDS, outcome
from pipeline.sim.personas import PERSONA_NAMES, PERSONAS, Persona, persona, personas_of
from pipeline.sim.response import AFFINITIES, Response, ResponseContext, ResponseModel
from pipeline.sim.simulator import ARMS, Simulator
from pipeline.sim.site import Page, Product, Site, site
from pipeline.sim.summary import SimulationSummary
from pipeline.sim.timeline import Timeline
from pipeline.sim.visitor import VisitorProfile, draw_visitor
from pipeline.sim.vocabulary import (
    ACTION_IDS,
    ACTION_SECTORS,
    CONVERSION_KINDS,
    LATENT_INTENTS,
    NO_ACTION,
    SECTORS,
    STRUGGLE_SIGNALS,
    STRUGGLES,
    WORLDS,
)

__all__ = [
    "ACTION_IDS",
    "ACTION_SECTORS",
    "AFFINITIES",
    "ARMS",
    "CLOSERS",
    "CONVERSION_KINDS",
    "LATENT_INTENTS",
    "NO_ACTION",
    "OUTCOME_KINDS",
    "PERSONAS",
    "PERSONA_NAMES",
    "SCRIPTS",
    "SECTORS",
    "STRUGGLES",
    "STRUGGLE_SIGNALS",
    "WORLDS",
    "ArmStats",
    "DecisionRecord",
    "InvalidDecision",
    "InvalidSimulationOptions",
    "Page",
    "Persona",
    "Product",
    "Response",
    "ResponseContext",
    "ResponseModel",
    "RewardLedger",
    "RewardWeights",
    "SimulationError",
    "SimulationSummary",
    "Simulator",
    "SimulatorNotStarted",
    "SimulatorOptions",
    "Site",
    "Timeline",
    "VisitorProfile",
    "begin_journey",
    "close_session",
    "draw_visitor",
    "ledger_of",
    "outcome",
    "persona",
    "personas_of",
    "site",
]
