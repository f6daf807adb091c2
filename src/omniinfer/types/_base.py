"""The base of every output type: a dict whose fields are also attributes.

`out.label == out["label"]`; a field the server did not send reads as None (both ways); keys the
server sent that the type does not know are kept. Nested fields are converted to their own types
once, when the object is parsed, by a per-class plan computed on first use (not at import time).
"""

from __future__ import annotations

import types
import typing
from operator import itemgetter
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin

T = TypeVar("T", bound="BaseInferenceType")

# (field name, nested type, is a list of it)
_Plan = tuple[tuple[str, type["BaseInferenceType"], bool], ...]


class BaseInferenceType(dict):  # type: ignore[type-arg]
    """A typed view of a JSON object: attribute and key access, missing fields None, extras kept."""

    __slots__ = ()
    _fields: ClassVar[frozenset[str]] = frozenset()
    _plan: ClassVar[_Plan | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: set[str] = set()
        for klass in cls.__mro__:
            fields.update(name for name in klass.__dict__.get("__annotations__", {}) if not name.startswith("_"))  # noqa: RUF063
        cls._fields = frozenset(fields)
        cls._plan = None
        # A C-level getter per field: `out.choices` costs a dict lookup, not a failed attribute
        # search plus __getattr__ (this is read once per streamed token). Missing fields read as None
        # through __missing__. Names that are dict methods keep the method.
        for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063
            if not name.startswith("_") and not hasattr(dict, name):
                setattr(cls, name, property(itemgetter(name)))

    def __missing__(self, key: str) -> Any:
        if key in self._fields:
            # Servers may send "content-type" for the field content_type.
            for variant in (key.replace("_", "-"), key.replace("_", " ")):
                if variant != key and dict.__contains__(self, variant):
                    return dict.__getitem__(self, variant)
            return None
        raise KeyError(key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def response_meta(self) -> Any:
        """`omniinfer.ResponseMeta` of the answer this came from (provider, request id, timings...)."""
        return self.__dict__.get("_response_meta")

    def __repr__(self) -> str:
        inner = ", ".join(f"{key}={value!r}" for key, value in self.items())
        return f"{type(self).__name__}({inner})"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | self._fields | {k for k in self if isinstance(k, str)})

    @classmethod
    def parse_obj(cls: type[T], data: Any) -> T | list[T]:
        """An instance (from a JSON object) or a list of them (from a JSON array); bytes/str are
        decoded as JSON first."""
        if isinstance(data, (bytes, bytearray, str)):
            from omniinfer._core.jsonutil import loads

            data = loads(data)
        if isinstance(data, list):
            if not all(isinstance(item, dict) for item in data):
                raise ValueError(f"Cannot parse a list holding non-objects as {cls.__name__}")
            return [cls.from_dict(item) for item in data]
        if isinstance(data, dict):
            return cls.from_dict(data)
        raise ValueError(f"Cannot parse {type(data).__name__} as {cls.__name__}")

    @classmethod
    def parse_obj_as_instance(cls: type[T], data: Any) -> T:
        parsed = cls.parse_obj(data)
        if isinstance(parsed, list):
            raise ValueError(f"Expected one {cls.__name__}, got a list")
        return parsed

    @classmethod
    def parse_obj_as_list(cls: type[T], data: Any) -> list[T]:
        parsed = cls.parse_obj(data)
        if not isinstance(parsed, list):
            raise ValueError(f"Expected a list of {cls.__name__}, got one object")
        return parsed

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """The hot path: one copy of the dict, then nested fields converted by the class plan."""
        instance = cls(data)
        plan = cls._plan
        if plan is None:
            plan = cls._build_plan()
        for name, nested, is_list in plan:
            value = data.get(name)
            if value is None:
                continue
            if is_list:
                if type(value) is list:
                    instance[name] = [nested.from_dict(v) if type(v) is dict else v for v in value]
            elif type(value) is dict:
                instance[name] = nested.from_dict(value)
        return instance

    @classmethod
    def _build_plan(cls) -> _Plan:
        hints = typing.get_type_hints(cls)
        plan = []
        for name, hint in hints.items():
            if name.startswith("_"):
                continue
            found = _nested_type(hint)
            if found is not None:
                plan.append((name, *found))
        cls._plan = tuple(plan)
        return cls._plan


def _nested_type(hint: Any) -> tuple[type[BaseInferenceType], bool] | None:
    """(type, is_list) when a field holds a BaseInferenceType or a list of them."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for arg in get_args(hint):
            if arg is not type(None):
                found = _nested_type(arg)
                if found is not None:
                    return found
        return None
    if origin in (list, typing.List):  # noqa: UP006
        args = get_args(hint)
        if args and isinstance(args[0], type) and issubclass(args[0], BaseInferenceType):
            return args[0], True
        return None
    if isinstance(hint, type) and issubclass(hint, BaseInferenceType):
        return hint, False
    return None
