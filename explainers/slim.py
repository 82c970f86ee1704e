"""Less memory per session: a lighter owner record in Bokeh's property containers.

Every list, dict or set property value of a Bokeh model is wrapped in a
``PropertyValueContainer`` (``PropertyValueList``, ``PropertyValueDict`` ...), which keeps
the models that own it so that an in-place change (``model.tags.append(x)``) notifies them.
Bokeh 3.9 gives each wrapper its own ``set`` for that record, created in ``__init__``.
Reading a property's default wraps it too, and sending a page to the browser reads every
property, so each model carries about eight wrappers (``tags``, ``js_event_callbacks``,
``subscribed_events``, ``styles`` ...), almost all empty and each owned by exactly one
model.  Measured on ``/hopfield``: 1,300 wrappers per session, and their sets were the
largest single item of a session's memory (about 0.7 MiB of 1.9 MiB, tracemalloc).

:func:`install` keeps the record as a tuple of ``(owner, descriptor)`` pairs instead (a
class-level empty tuple until the first owner registers): the same pairs, added once,
removed on unregister, and every owner notified on each change, as before.  Wrappers
created before :func:`install` keep their sets and go on working.

:func:`install` is idempotent and does nothing on a Bokeh version it was not checked against.
"""

from __future__ import annotations

import logging
from typing import Any

import bokeh
from bokeh.core.property.wrappers import PropertyValueContainer

log = logging.getLogger("explainers")

# Internals replaced below: PropertyValueContainer.__init__/_register_owner/
# _unregister_owner/_notify_owners and the `_owners` attribute that PropertyValueColumnData
# iterates directly.
CHECKED_BOKEH = ("3.9.",)

_ORIGINAL = {
    name: PropertyValueContainer.__dict__[name]
    for name in ("__init__", "_register_owner", "_unregister_owner", "_notify_owners")
}
_installed = False


def _init(self, *args, **kwargs) -> None:
    # No per-instance record until an owner registers: the class attribute stands for it.
    super(PropertyValueContainer, self).__init__(*args, **kwargs)


def _register_owner(self, owner, descriptor) -> None:
    owners = self._owners
    pair = (owner, descriptor)
    if isinstance(owners, set):  # a wrapper made before install()
        owners.add(pair)
    elif pair not in owners:
        self._owners = (*owners, pair)


def _unregister_owner(self, owner, descriptor) -> None:
    owners = self._owners
    pair = (owner, descriptor)
    if isinstance(owners, set):
        owners.discard(pair)
    elif pair in owners:
        self._owners = tuple(p for p in owners if p != pair)


def _notify_owners(self, old: Any, hint=None) -> None:
    for owner, descriptor in self._owners:
        descriptor._notify_mutated(owner, old, hint=hint)


def install() -> bool:
    """Use the lighter owner record from now on; returns whether it is active."""
    global _installed
    if _installed:
        return True
    if not bokeh.__version__.startswith(CHECKED_BOKEH):
        log.info("slim: not checked against Bokeh %s; left off", bokeh.__version__)
        return False
    PropertyValueContainer._owners = ()
    PropertyValueContainer.__init__ = _init
    PropertyValueContainer._register_owner = _register_owner
    PropertyValueContainer._unregister_owner = _unregister_owner
    PropertyValueContainer._notify_owners = _notify_owners
    _installed = True
    return True
