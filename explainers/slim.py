"""Less memory per session: lighter records inside Bokeh's models and param's objects.

Bokeh's property containers
---------------------------

Every list, dict or set property value of a Bokeh model is wrapped in a
``PropertyValueContainer`` (``PropertyValueList``, ``PropertyValueDict`` ...), which keeps
the models that own it so that an in-place change (``model.tags.append(x)``) notifies them.
Bokeh 3.9 gives each wrapper its own ``set`` for that record, created in ``__init__``.
Reading a property's default wraps it too, and sending a page to the browser reads every
property, so each model carries about eight wrappers (``tags``, ``js_event_callbacks``,
``subscribed_events``, ``styles`` ...), almost all empty and each owned by exactly one
model.  Measured on ``/hopfield``: 1,300 wrappers per session, and their sets were the
largest single item of a session's memory (about 0.7 MiB of 1.9 MiB, tracemalloc).

:func:`install` makes two changes here.  First, an *empty* default container is no longer kept
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

param's watcher records
-----------------------
A Panel object watches every parameter it syncs with one ``watch()`` call (a layout about
22 names, a widget about 30).  param 2.4 files the watcher under each name in a dict of
its own holding a list of its own: measured on ``/hopfield``, 1,200 names, about 0.25 MiB
per session.  :func:`install` lets the names of one ``watch()`` call share one such
record.  A later ``watch()`` or ``unwatch()`` never changes a shared record: the names it
touches move to a new one (shared again among them), and the others keep the old.  Every
name sees the same watchers, in the same order, as before.  Code that edits a record's list
in place edits it for every name sharing it; the one such caller, Panel's named layouts
(``Tabs``), reverses the list of ``objects`` right after watching that name alone, so the
record it edits is its own.

:func:`install` is idempotent, and leaves each library alone at a version it was not
checked against.
"""

from __future__ import annotations

import logging
from typing import Any

import bokeh
import param
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
# iterates directly, PropertyDescriptor._get_default with the model's
# `_unstable_default_values` it fills; param's Parameters._register_watcher with the
# instance's `_param__private.watchers` it fills.
CHECKED_BOKEH = ("3.9.",)
CHECKED_PARAM = ("2.4.",)

_ORIGINAL_REGISTER_WATCHER = param.parameterized.Parameters.__dict__["_register_watcher"]
_ORIGINAL_GET_DEFAULT = PropertyDescriptor.__dict__["_get_default"]
# Column data is left alone: a source's data is always set, and streaming has its own paths.
_TRANSIENT = (PropertyValueList, PropertyValueDict, PropertyValueSet)
_active: bool | None = None  # what install() found, once it has run


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


class _SharedRecord(dict):
    """``{"value": [watchers]}`` filed under every name one ``watch()`` call touched."""

    __slots__ = ()


def _register_watcher(self_, action: str, watcher, what: str = "value") -> None:
    inst = self_.self
    names = watcher.parameter_names
    if (
        inst is None
        or what != "value"
        or not inst._param__private.initialized
        or not all(name in self_.cls.param for name in names)
    ):  # class watchers, other kinds, and every error: param's own code
        return _ORIGINAL_REGISTER_WATCHER(self_, action, watcher, what)
    records = inst._param__private.watchers
    # Names that shared a record before this call share its successor after it.
    successors: dict[int, tuple] = {}  # id(shared record or None) -> (it, successor)
    for name in names:
        record = records.get(name)
        if record is None and action == "remove":
            record = records[name] = {}  # as param does
        if record is not None and type(record) is not _SharedRecord:
            _change(record, action, watcher)
            continue
        pair = successors.get(id(record))
        if pair is None:
            successor = _SharedRecord({k: list(v) for k, v in (record or {}).items()})
            _change(successor, action, watcher)
            pair = successors[id(record)] = (record, successor)
        records[name] = pair[1]


def _change(record: dict, action: str, watcher) -> None:
    try:
        getattr(record.setdefault("value", []), action)(watcher)
    except ValueError:  # removing a watcher that is not there: unwatch is idempotent
        if action != "remove":
            raise


def install() -> bool:
    """Use the lighter records from now on; returns whether both are active."""
    global _active
    if _active is not None:
        return _active
    ok = True
    if bokeh.__version__.startswith(CHECKED_BOKEH):
        PropertyValueContainer._owners = ()
        PropertyValueContainer.__init__ = _init
        PropertyValueContainer._register_owner = _register_owner
        PropertyValueContainer._unregister_owner = _unregister_owner
        PropertyValueContainer._notify_owners = _notify_owners
        PropertyDescriptor._get_default = _get_default
    else:
        log.info("slim: not checked against Bokeh %s; left off", bokeh.__version__)
        ok = False
    if param.__version__.startswith(CHECKED_PARAM):
        param.parameterized.Parameters._register_watcher = _register_watcher
    else:
        log.info("slim: not checked against param %s; left off", param.__version__)
        ok = False
    _active = ok
    return ok
