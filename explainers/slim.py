"""Less memory per session: Bokeh's property containers kept only when needed, and lighter.

Every list, dict or set property value of a Bokeh model is wrapped in a
``PropertyValueContainer`` (``PropertyValueList``, ``PropertyValueDict`` ...), which keeps
the models that own it so that an in-place change (``model.tags.append(x)``) notifies them.
Bokeh 3.9 gives each wrapper its own ``set`` for that record, created in ``__init__``.
Reading a property's default wraps it too, and sending a page to the browser reads every
property, so each model carries about eight wrappers (``tags``, ``js_event_callbacks``,
``subscribed_events``, ``styles`` ...), almost all empty and each owned by exactly one
model.  Measured on ``/hopfield``: 1,300 wrappers per session, and their sets were the
largest single item of a session's memory (about 0.7 MiB of 1.9 MiB, tracemalloc).

:func:`install` makes two changes.  First, an *empty* default container is no longer kept
on its model: each read makes a fresh one (as Bokeh does for every read of a stable
default), registered with its owner.  The first in-place change of such a container makes
it the model's value, exactly where Bokeh would have kept it, before the owner is notified;
from then on reads return that object.  Serialising or walking a model reads its properties
but never changes them, so an untouched ``tags`` or ``styles`` costs nothing after the read.
What changes: ``model.tags is model.tags`` is false until the first change, and of two
such fresh containers read *before* either was changed, only the first to be changed
stays the model's (Bokeh, Panel and this app never hold one across another read).

Second, the owner record is a tuple of ``(owner, descriptor)`` pairs instead (a
class-level empty tuple until the first owner registers): the same pairs, added once,
removed on unregister, and every owner notified on each change, as before.  Wrappers
created before :func:`install` keep their sets and go on working.

:func:`install` is idempotent and does nothing on a Bokeh version it was not checked against.
"""

from __future__ import annotations

import logging
from typing import Any

import bokeh
from bokeh.core.property.descriptors import PropertyDescriptor
from bokeh.core.property.wrappers import (
    PropertyValueContainer,
    PropertyValueDict,
    PropertyValueList,
    PropertyValueSet,
)

log = logging.getLogger("explainers")

# Internals replaced below: PropertyValueContainer.__init__/_register_owner/
# _unregister_owner/_notify_owners, the `_owners` attribute that PropertyValueColumnData
# iterates directly, and PropertyDescriptor._get_default with the model's
# `_unstable_default_values` it fills.
CHECKED_BOKEH = ("3.9.",)

_ORIGINAL = {
    name: PropertyValueContainer.__dict__[name]
    for name in ("__init__", "_register_owner", "_unregister_owner", "_notify_owners")
}
_ORIGINAL_GET_DEFAULT = PropertyDescriptor.__dict__["_get_default"]
# Column data is left alone: a source's data is always set, and streaming has its own paths.
_TRANSIENT = (PropertyValueList, PropertyValueDict, PropertyValueSet)
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


def _get_default(self, obj) -> Any:
    value = _ORIGINAL_GET_DEFAULT(self, obj)
    # Bokeh keeps every unstable default on first read; drop it again while it is empty.
    if type(value) in _TRANSIENT and not value:
        kept = obj._unstable_default_values
        if kept.get(self.name) is value:
            del kept[self.name]
    return value


def _adopt(container, owner, descriptor) -> bool:
    """Whether ``container`` is (now) ``owner``'s value of ``descriptor``.

    A fresh default container that is being changed becomes the owner's value; one that the
    owner no longer holds (a fresh read that lost to another, or a replaced value) is not.
    """
    values = getattr(owner, "_property_values", None)
    if values is None:  # not a model: nothing to check
        return True
    name = descriptor.name
    if name in values:
        return values[name] is container
    themed = owner._unstable_themed_values.get(name)
    if themed is not None:
        return themed is container
    return owner._unstable_default_values.setdefault(name, container) is container


def _notify_owners(self, old: Any, hint=None) -> None:
    for owner, descriptor in self._owners:
        if _adopt(self, owner, descriptor):
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
    PropertyDescriptor._get_default = _get_default
    _installed = True
    return True
