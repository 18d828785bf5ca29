"""Keyed pseudonyms for user ids: what rtp keys a person by instead of their login or e-mail.

A Segment ``userId`` is often an e-mail address. Before anything is produced, the
collector replaces it by ``u.`` + the first 128 bits of HMAC-SHA256(key, user id), hex: the
same person gets the same pseudonym on every device and in every service holding the key
(stitching and profiles work as before), and nobody without the key can tell whose it is
or test a guess. Keys come from ``RTP_PSEUDONYM_KEYS`` (newest first, comma-separated);
without it, from a key file made once with a random key (``<RTP_CACHE_DIR>/pseudonym.key``,
mode 0600, shared by every rtp process on the machine): pseudonyms are the default, never
an option. Several machines must share ``RTP_PSEUDONYM_KEYS``; set
``RTP_REQUIRE_PSEUDONYM_KEYS=1`` there so that a process without it refuses to start
instead of making its own key (:func:`resolve_pseudonyms`).

Rotation: put a new key first and keep the old one second. New records carry the new
pseudonym, so a person's profile starts over under it (the old one is no longer linked to
anything new); an erasure names the person under *every* configured key, so it still
finds the old profile. Drop the old key once its profiles have expired or been erased.

A value shaped like a pseudonym (``u.<32 hex>``) is kept as is only from a trusted caller
(``of(..., trusted=True)``: the SDK on the site's servers, which could write any key to
Kafka anyway). From anyone else (the collector: browsers and every holder of the public
write key) it is pseudonymised like any other user id: an HMAC cannot be checked without
its input, so a client that learned someone's pseudonym (from an export, say) cannot make
its events count as theirs.

>>> names = Pseudonyms(("new-key-0123456789", "old-key-0123456789"))
>>> names.of("ann@example.com")
'u.374dd4681da29286d25af51a65282c22'
>>> names.of(names.of("ann@example.com"), trusted=True) == names.of("ann@example.com")
True
>>> names.of(names.of("ann@example.com")) == names.of("ann@example.com")  # a client's claim
False
>>> len(names.every("ann@example.com")), names.of("ann@example.com") in names.every(
...     "ann@example.com")
(2, True)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import Settings, SettingsError

__all__ = ["KEY_FILE_NAME", "MIN_KEY_CHARS", "Pseudonyms", "device_claim", "is_claim",
           "key_file_key", "pseudonyms_for", "resolve_pseudonyms"]

#: The key file's name in ``Settings.cache_dir`` (used when RTP_PSEUDONYM_KEYS is unset).
KEY_FILE_NAME = "pseudonym.key"

_TAG = b"rtp-user-pseudonym-v1\x1f"
_SHAPE = re.compile(r"u\.[0-9a-f]{32}")
_CLAIM_TAG = b"rtp-device-claim-v1\x1f"
_CLAIM_SHAPE = re.compile(r"c\.[0-9a-f]{32}")
#: Shortest key accepted (a guessable key would make the pseudonyms reversible).
MIN_KEY_CHARS = 16


@dataclass(frozen=True)
class Pseudonyms:
    """Pseudonyms under ``keys`` (newest first; the first makes new ones)."""

    keys: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("Pseudonyms needs at least one key (RTP_PSEUDONYM_KEYS)")
        if any(len(k) < MIN_KEY_CHARS for k in self.keys):
            raise ValueError(f"pseudonym keys must be at least {MIN_KEY_CHARS} characters")

    @staticmethod
    def _under(key: str, user_id: str) -> str:
        mac = hmac.new(key.encode(), _TAG + user_id.encode("utf-8", "surrogatepass"),
                       hashlib.sha256)
        return "u." + mac.hexdigest()[:32]

    def of(self, user_id: str, *, trusted: bool = False) -> str:
        """The pseudonym of ``user_id`` under the newest key; a trusted caller's pseudonym is
        kept as is (an untrusted one is pseudonymised again, see the module's text).

        >>> names = Pseudonyms(("k" * 16,))
        >>> made = names.of("42")
        >>> made.startswith("u."), names.of(made, trusted=True) == made, names.of(made) == made
        (True, True, False)
        """
        if trusted and _SHAPE.fullmatch(user_id):
            return user_id
        return self._under(self.keys[0], user_id)

    def every(self, user_id: str) -> tuple[str, ...]:
        """The pseudonyms of ``user_id`` under every key (what an erasure must reach).

        A value shaped like a pseudonym names itself (an operator erasing by pseudonym) and
        also what the collector made of it when a client sent it as its user id.

        >>> Pseudonyms(("a" * 16, "b" * 16)).every("42")[0] == Pseudonyms(("a" * 16,)).of("42")
        True
        >>> names = Pseudonyms(("a" * 16,))
        >>> names.every(names.of("42")) == (names.of("42"), names.of(names.of("42")))
        True
        """
        made = (self._under(k, user_id) for k in self.keys)
        if _SHAPE.fullmatch(user_id):
            return tuple(dict.fromkeys((user_id, *made)))
        return tuple(dict.fromkeys(made))


def is_claim(user_id: object) -> bool:
    """Whether ``user_id`` is a device's unverified claim (``c.<32 hex>``, :func:`device_claim`).

    A claim never keys a profile, never links a device to a person and never routes a
    conversion to one: whatever comes with it applies to the visitor's own profile.

    >>> is_claim("c." + "0" * 32), is_claim("u." + "0" * 32), is_claim("c.smith"), is_claim(None)
    (True, False, False, False)
    """
    return isinstance(user_id, str) and _CLAIM_SHAPE.fullmatch(user_id) is not None


def device_claim(visitor_id: str, user_id: str, pseudonyms: Pseudonyms | None) -> str:
    """What the collector keeps of a user id it could not verify: ``c.`` + 128 bits of
    HMAC-SHA256(newest pseudonym key, visitor id, user id) — one value per (device, user id),
    the same on every event of that device, unlinkable to the person's pseudonym or to the
    same claim on another device. Without pseudonym keys (user ids kept as sent, tests
    only) the hash is not keyed. So that an erasure of the user id finds the device, the
    collector lists it under the user id's pseudonym in the claim index, read by erasures
    only (:mod:`pipeline.profiles.claims`).

    >>> names = Pseudonyms(("k" * 16,))
    >>> claim = device_claim("v1", "ann@example.com", names)
    >>> is_claim(claim), claim == device_claim("v1", "ann@example.com", names)
    (True, True)
    >>> claim == device_claim("v2", "ann@example.com", names), claim[2:] in names.of(
    ...     "ann@example.com")
    (False, False)
    """
    data = _CLAIM_TAG + visitor_id.encode("utf-8", "surrogatepass") + b"\x1f" + \
        user_id.encode("utf-8", "surrogatepass")
    if pseudonyms is None:
        digest = hashlib.sha256(data).hexdigest()
    else:
        digest = hmac.new(pseudonyms.keys[0].encode(), data, hashlib.sha256).hexdigest()
    return "c." + digest[:32]


def pseudonyms_for(keys: tuple[str, ...]) -> Pseudonyms | None:
    """Pseudonyms under ``keys`` (``Settings.pseudonym_key_list()``), None when there are none.

    >>> pseudonyms_for(()) is None, pseudonyms_for(("k" * 16,)).keys
    (True, ('kkkkkkkkkkkkkkkk',))
    """
    return Pseudonyms(keys) if keys else None


def key_file_key(path: Path) -> str:
    """The key in ``path``, made first (random, 256 bits, mode 0600) when there is none.

    Made atomically: two processes starting together read the same key.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> key = key_file_key(folder / "k")
    >>> len(key), key == key_file_key(folder / "k"), oct((folder / "k").stat().st_mode)[-3:]
    (64, True, '600')
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # fails when another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < MIN_KEY_CHARS:
        raise SettingsError(f"the pseudonym key file {path} holds no usable key "
                            f"(at least {MIN_KEY_CHARS} characters); delete it or set "
                            "RTP_PSEUDONYM_KEYS")
    return key


def resolve_pseudonyms(settings: Settings) -> Pseudonyms:
    """The pseudonyms every rtp process uses: RTP_PSEUDONYM_KEYS, else the local key file.

    >>> import tempfile
    >>> resolve_pseudonyms(Settings(pseudonym_keys="k" * 16)).keys
    ('kkkkkkkkkkkkkkkk',)
    >>> folder = Path(tempfile.mkdtemp())
    >>> made = resolve_pseudonyms(Settings(cache_dir=folder))
    >>> made == resolve_pseudonyms(Settings(cache_dir=folder)), (folder / KEY_FILE_NAME).exists()
    (True, True)
    >>> resolve_pseudonyms(Settings(cache_dir=folder, require_pseudonym_keys=True))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pipeline.settings.SettingsError: RTP_PSEUDONYM_KEYS is required ...
    """
    keys = settings.pseudonym_key_list()
    if keys:
        return Pseudonyms(keys)
    if settings.require_pseudonym_keys:
        raise SettingsError("RTP_PSEUDONYM_KEYS is required (RTP_REQUIRE_PSEUDONYM_KEYS is "
                            "set): every collector, SDK and rtp erase must share one key")
    return Pseudonyms((key_file_key(settings.cache_dir / KEY_FILE_NAME),))
