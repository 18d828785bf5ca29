"""The action catalog: what the decider may do, declared in YAML (``deploy/catalog/actions.yaml``).

Top level: ``version`` (integer) and ``actions`` (list). Each action:

``id`` (required)
    lower_snake_case, unique; ``no_action`` is the explicit do-nothing arm and must exist.
``slot`` (required)
    hero, overlay, grid, cta, inline; ``none`` only for ``no_action``.
``ttl_seconds`` (required, except for ``no_action``)
    how long the delivered action stays valid; ``{minutes}`` in payloads is derived from it.
``payload``
    mapping of string to string template; ``{name}`` placeholders are filled from the
    decision context (see :mod:`pipeline.decide.payload`).
``params``
    mapping of string to string: fallback placeholder values (e.g. a generic ``industry``).
``sectors`` / ``page_types``
    where the action applies (absent: everywhere).
``when``
    eligibility conditions (see :mod:`pipeline.decide.conditions`).
``caps``
    ``per_session`` / ``per_visitor``: how many times it may be delivered.
``offer``
    an incentive (discount, free shipping): removed in compliance zones.
``first_time_buyer_offer``
    removed for anyone who ever purchased, on any device.
``channel``
    web (default), app, email or sms: where the action is delivered (``Decision.channel``).
    web and app actions use the page slots; email and sms actions the slot ``message``.
``same_offer_as``
    the id of the action this one is a channel variant of (e.g. the email form of a web
    offer): ``rtp channel`` treats both as one offer, so one dismissed on the web is not
    emailed. It need not be in the same catalog (a candidate catalog may leave the web
    form out).
``description``
    free text for humans.

Every error is a :class:`CatalogError` naming the file and line.

>>> catalog = parse_catalog('''
... version: 1
... actions:
...   - id: no_action
...     slot: none
...   - id: cta_change
...     slot: cta
...     ttl_seconds: 600
...     payload: {label: "Start your {sector} trial"}
... ''', "inline.yaml")
>>> catalog.ids
('no_action', 'cta_change')
>>> sorted(catalog["cta_change"].placeholders)
['sector']
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline.decide.conditions import Condition, ConditionView
from pipeline.decide.errors import CatalogError, TemplateError
from pipeline.decide.located import Fields, content_fingerprint, line_of, load_located
from pipeline.decide.vocabulary import (
    CHANNEL_SLOTS,
    CHANNELS,
    NO_ACTION_ID,
    PAGE_TYPES,
    SECTORS,
    SLOTS,
)

__all__ = [
    "ACTION_KEYS",
    "Action",
    "Catalog",
    "FrequencyCaps",
    "load_catalog",
    "parse_catalog",
    "template_placeholders",
]

ACTION_KEYS: tuple[str, ...] = (
    "id",
    "slot",
    "description",
    "payload",
    "params",
    "sectors",
    "page_types",
    "when",
    "ttl_seconds",
    "caps",
    "offer",
    "first_time_buyer_offer",
    "channel",
    "same_offer_as",
)
"""Every key an action may have.

>>> "when" in ACTION_KEYS
True
"""

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_FORMATTER = string.Formatter()


def template_placeholders(template: str) -> frozenset[str]:
    """Names of the ``{placeholders}`` in a payload template.

    Only plain names are allowed (no attribute access, indexing, format specs or
    conversions); ``{{`` and ``}}`` are literal braces. Raises :class:`TemplateError` otherwise
    (and ``ValueError`` for unbalanced braces).

    >>> sorted(template_placeholders("Only {rooms_left} rooms left in {category} {{now}}"))
    ['category', 'rooms_left']
    >>> template_placeholders("{price:.2f}")
    Traceback (most recent call last):
    ...
    pipeline.decide.errors.TemplateError: placeholder {price:.2f} must be a plain {name}
    """
    names: set[str] = set()
    for _literal, name, spec, conversion in _FORMATTER.parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise TemplateError(f"placeholder {{{shown}}} must be a plain {{name}}")
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class FrequencyCaps:
    """How often one action may be delivered (None: no cap).

    >>> FrequencyCaps(per_session=1).per_visitor is None
    True
    """

    per_session: int | None = None
    per_visitor: int | None = None


@dataclass(frozen=True)
class Action:
    """One catalog entry (see the module docstring for the fields).

    >>> action = Action(id="hero_by_traffic_source", slot="hero", ttl_seconds=600,
    ...                 sectors=frozenset({"saas"}))
    >>> action.applies_to(ConditionView({}, {"sector": "saas", "page_type": "home"}))
    True
    >>> action.applies_to(ConditionView({}, {"sector": "travel"}))
    False
    """

    id: str
    slot: str
    ttl_seconds: int = 0
    payload: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    sectors: frozenset[str] = frozenset()
    page_types: frozenset[str] = frozenset()
    when: Condition = field(default_factory=Condition)
    caps: FrequencyCaps = field(default_factory=FrequencyCaps)
    offer: bool = False
    first_time_buyer_offer: bool = False
    description: str = ""
    line: int = 0
    channel: str = "web"
    same_offer_as: str | None = None

    @property
    def offer_key(self) -> str:
        """The offer this action stands for across channels: ``same_offer_as`` or its own id.

        >>> Action(id="cart_email", slot="message", channel="email",
        ...        same_offer_as="first_time_buyer_discount").offer_key
        'first_time_buyer_discount'
        """
        return self.same_offer_as or self.id

    @property
    def is_no_action(self) -> bool:
        """Whether this is the do-nothing arm.

        >>> Action(id="no_action", slot="none").is_no_action
        True
        """
        return self.id == NO_ACTION_ID

    @cached_property
    def placeholders(self) -> frozenset[str]:
        """Every placeholder used by the payload templates (parsed once per action: an
        action is immutable, and every decision renders the payloads of its candidates).

        >>> sorted(Action(id="a", slot="cta", payload={"t": "{x} {y}"}).placeholders)
        ['x', 'y']
        """
        names: set[str] = set()
        for template in self.payload.values():
            names |= template_placeholders(template)
        return frozenset(names)

    def applies_to(self, view: ConditionView) -> bool:
        """Sector, page type and ``when`` all hold (``no_action`` always applies).

        >>> Action(id="no_action", slot="none").applies_to(ConditionView({}, {}))
        True
        """
        if self.is_no_action:
            return True
        if self.sectors and view.categorical.get("sector", "unknown") not in self.sectors:
            return False
        if self.page_types and view.page_type not in self.page_types:
            return False
        return self.when.matches(view)


@dataclass(frozen=True)
class Catalog:
    """A validated set of actions, in file order; ``no_action`` is always present.

    >>> catalog = Catalog(actions=(Action(id="no_action", slot="none"),))
    >>> catalog.no_action.slot, len(catalog), "no_action" in catalog
    ('none', 1, True)
    """

    actions: tuple[Action, ...]
    source: str = "<catalog>"
    version: int = 1
    fingerprint: str = ""
    _by_id: dict[str, Action] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {action.id: action for action in self.actions}
        if len(by_id) != len(self.actions):
            raise CatalogError(self.source, 1, "action ids must be unique")
        if NO_ACTION_ID not in by_id:
            raise CatalogError(self.source, 1, f"the catalog must declare {NO_ACTION_ID!r}")
        object.__setattr__(self, "_by_id", by_id)

    def __iter__(self) -> Iterator[Action]:
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._by_id

    def __getitem__(self, action_id: str) -> Action:
        return self._by_id[action_id]

    def get(self, action_id: str) -> Action | None:
        """The action with this id, or None.

        >>> Catalog(actions=(Action(id="no_action", slot="none"),)).get("nope") is None
        True
        """
        return self._by_id.get(action_id)

    @property
    def ids(self) -> tuple[str, ...]:
        """Action ids in file order.

        >>> Catalog(actions=(Action(id="no_action", slot="none"),)).ids
        ('no_action',)
        """
        return tuple(action.id for action in self.actions)

    @property
    def no_action(self) -> Action:
        """The do-nothing arm.

        >>> Catalog(actions=(Action(id="no_action", slot="none"),)).no_action.id
        'no_action'
        """
        return self._by_id[NO_ACTION_ID]


def _parse_action(item: Any, source: str, line: int, index: int) -> Action:
    what = f"action #{index + 1}"
    fields = Fields(item, source, line, what)
    if isinstance(fields.data.get("id"), str):
        fields.what = what = f"action {fields.data['id']!r}"
    fields.check_keys(ACTION_KEYS, required=("id", "slot"))
    action_id = fields.string("id")
    if not _ID.match(action_id):
        fields.fail("id", f"{action_id!r} must be lower_snake_case ([a-z][a-z0-9_]*)")
    slot = fields.string("slot")
    if slot not in SLOTS:
        fields.fail("slot", f"has unknown value {slot!r} (known: {', '.join(SLOTS)})")
    is_no_action = action_id == NO_ACTION_ID
    channel = fields.string("channel", default="web")
    if channel not in CHANNELS:
        fields.fail("channel", f"has unknown value {channel!r} (known: {', '.join(CHANNELS)})")
    if not is_no_action and slot != "none" and slot not in CHANNEL_SLOTS[channel]:
        fields.fail("slot", f"{slot!r} is not a slot of the {channel} channel "
                            f"(its slots: {', '.join(CHANNEL_SLOTS[channel])})")
    same_offer_as = fields.string("same_offer_as") if fields.has("same_offer_as") else None
    if same_offer_as == action_id:
        fields.fail("same_offer_as", "must name another action")
    if same_offer_as is not None and not _ID.match(same_offer_as):
        fields.fail("same_offer_as", f"{same_offer_as!r} must be an action id (lower_snake_case)")
    if not is_no_action and not fields.has("ttl_seconds"):
        fields.fail(None, "is missing the required field 'ttl_seconds'")
    ttl = fields.integer("ttl_seconds", default=0, minimum=0 if is_no_action else 1)
    payload = fields.string_map("payload")
    payload_fields = fields.mapping("payload")
    for name, template in payload.items():
        try:
            template_placeholders(template)
        except ValueError as error:
            payload_fields.fail(name, f"is not a valid template: {error}")
    caps_fields = fields.mapping("caps")
    caps_fields.check_keys(("per_session", "per_visitor"))
    action = Action(
        id=action_id,
        slot=slot,
        ttl_seconds=ttl,
        payload=payload,
        params=fields.string_map("params"),
        sectors=fields.names("sectors", SECTORS),
        page_types=fields.names("page_types", PAGE_TYPES),
        when=Condition.from_mapping(
            fields.data.get("when"), source, fields.line_for("when"), f"{what}: when"
        ),
        caps=FrequencyCaps(
            per_session=caps_fields.optional_integer("per_session", minimum=1),
            per_visitor=caps_fields.optional_integer("per_visitor", minimum=1),
        ),
        offer=fields.boolean("offer"),
        first_time_buyer_offer=fields.boolean("first_time_buyer_offer"),
        description=str(fields.data.get("description") or ""),
        line=fields.line,
        channel=channel,
        same_offer_as=same_offer_as,
    )
    if is_no_action:
        if slot != "none":
            fields.fail("slot", "of no_action must be 'none'")
        configured = [
            key for key in ACTION_KEYS if key not in ("id", "slot", "description", "ttl_seconds",
                                                      "channel")
        ]
        for key in configured:
            if key in fields.data:
                fields.fail(key, "is not allowed on no_action (it is always eligible)")
    elif slot == "none":
        fields.fail("slot", "'none' is reserved for no_action")
    return action


def parse_catalog(text: str, source: str = "<catalog>") -> Catalog:
    """Parse and validate catalog YAML; ``source`` names it in errors.

    >>> try:
    ...     parse_catalog("version: 1\\nactions:\\n  - id: no_action\\n    slot: none\\n"
    ...                   "  - id: hero\\n    slot: hero\\n", "a.yaml")
    ... except CatalogError as error:
    ...     print(error)
    a.yaml:5: action 'hero' is missing the required field 'ttl_seconds'
    """
    data = load_located(text, source)
    if data is None:
        raise CatalogError(source, 1, "the catalog is empty")
    top = Fields(data, source, 1, "catalog")
    top.check_keys(("version", "actions"), required=("version", "actions"))
    version = top.integer("version", minimum=1)
    items = top.data["actions"]
    if not isinstance(items, list) or not items:
        top.fail("actions", "must be a non-empty list of actions")
    actions: list[Action] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        line = line_of(items, index, top.line_for("actions"))
        action = _parse_action(item, source, line, index)
        if action.id in seen:
            raise CatalogError(
                source,
                line_of(item, "id", line),
                f"duplicate action id {action.id!r} (first declared on line {seen[action.id]})",
            )
        seen[action.id] = action.line
        actions.append(action)
    if NO_ACTION_ID not in seen:
        top.fail("actions", f"must include the explicit {NO_ACTION_ID!r} action (slot: none)")
    fingerprint = content_fingerprint(data)  # of the content, not of the text's layout
    return Catalog(actions=tuple(actions), source=source, version=version, fingerprint=fingerprint)


def load_catalog(path: Path | str) -> Catalog:
    """Load the catalog file at ``path`` (errors name the file and line).

    >>> catalog = load_catalog(Path(__file__).parents[2] / "deploy/catalog/actions.yaml")
    >>> "free_express_shipping" in catalog and catalog.no_action.slot == "none"
    True
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogError(source, 1, f"cannot read the catalog: {error}") from error
    return parse_catalog(text, source)
