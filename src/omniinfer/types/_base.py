"""The base of every task type: a dataclass that is also a dict, as in the reference client.

`out.label == out["label"]`; every declared field is present, None when the server did not send
it; keys the server sent that the type does not declare are kept (as items, read as attributes).
`dataclasses.asdict`, `fields`, `replace`, positional construction and `==` (field by field for two
objects of one class, dict equality against a plain dict) behave as for any dataclass.

Parsing is the hot path (one streamed chunk is three objects), so it does not go through
`__init__`: each class's `from_dict` is compiled on first use from a plan of its nested fields
(see `_compile`). Field attributes are C-level getters (`property(itemgetter(name))`).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, get_args

T = TypeVar("T", bound="BaseInferenceType")
C = TypeVar("C", bound="type[BaseInferenceType]")

# (field name, nested type or alias key, kind): kind 0 one object, 1 a list of them, 2 an alias key
_Plan = tuple[tuple[str, Any, int], ...]
_ONE, _LIST, _ALIAS = 0, 1, 2

_new = dict.__new__
_update = dict.update

# The chat and text-generation protocols (OpenAI, TGI) send snake_case keys: their types skip the
# key normalization the other tasks' answers get ("content-type" → "content_type").
_EXACT_KEY_MODULES = frozenset({"omniinfer.types.chat_completion", "omniinfer.types.text_generation"})


class BaseInferenceType(dict):  # type: ignore[type-arg]
    """A typed view of a JSON object: a dataclass and a dict at once."""

    _fields: ClassVar[frozenset[str]] = frozenset()
    _plan: ClassVar[_Plan | None] = None
    _blank: ClassVar[dict[str, None]] = {}
    _size: ClassVar[int] = 0
    _normalize: ClassVar[bool] = False
    _aliases: ClassVar[tuple[tuple[str, str], ...]] = ()
    _names: ClassVar[tuple[str, ...]] = ()  # the dataclass fields, in order

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: set[str] = set()
        for klass in cls.__mro__:
            names.update(n for n in klass.__dict__.get("__annotations__", {}) if not n.startswith("_"))  # noqa: RUF063
        cls._fields = frozenset(names)
        cls._plan = None
        if "from_dict" not in cls.__dict__:  # not the parent's compiled parser, which makes parents
            cls.from_dict = _FROM_DICT  # type: ignore[method-assign]

    def __missing__(self, key: str) -> Any:
        # Only for objects built without their fields (subclasses that declare no dataclass).
        if key in self._fields:
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

    def __eq__(self, other: object) -> bool:
        # A dataclass's equality (written once here rather than generated per class): two objects of
        # one class compare their declared fields; anything else is left to the other side (a plain
        # dict then compares as dicts).
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = self._names
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    __hash__ = None  # mutable, as dict

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
        """An instance from a JSON object (no validation; nested objects converted). The first call
        compiles this class's own straight-line parser, which replaces this method (see `_compile`)."""
        compiled = cls.__dict__.get("from_dict")  # reached through a reference taken before compiling
        parse: Any = compiled.__func__ if isinstance(compiled, staticmethod) else _compile(cls)
        return parse(data)  # type: ignore[no-any-return]

    @classmethod
    def _build_plan(cls) -> _Plan:
        """Which fields hold nested types, read from the annotations' text (evaluating them with
        `typing.get_type_hints` cost more than the rest of a chat module's import)."""
        namespace = vars(sys.modules[cls.__module__])
        plan: list[tuple[str, Any, int]] = []
        seen: set[str] = set()
        for klass in cls.__mro__:  # a subclass's annotation of a field wins over its parent's
            for name, hint in klass.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
                if name.startswith("_") or name in seen:
                    continue
                seen.add(name)
                found = _nested_type(hint, namespace if klass is cls else vars(sys.modules[klass.__module__]))
                if found is not None:
                    plan.append((name, found[0], _LIST if found[1] else _ONE))
        plan += [(name, key, _ALIAS) for name, key in cls._aliases]
        cls._plan = tuple(plan)
        return cls._plan


_FROM_DICT = BaseInferenceType.__dict__["from_dict"]


def _compile(cls: type[BaseInferenceType]) -> Any:
    """Write `cls.from_dict` as straight-line code for this class's plan.

    This is the hot path (a streamed chunk is three objects): a new instance gets the blank (every
    field None, in field order) and the server's dict by two in-place merges (C slots, no method
    calls), then each nested field of the plan is converted. A generic loop over the plan cost as
    much again as the merges.
    """
    plan = cls._plan if cls._plan is not None else cls._build_plan()
    if not plan:  # most types: no nested field, no source to compile (compiling costs import time)
        parse = _flat_parser(cls, cls._blank, cls._size if cls._normalize else None)
        cls.from_dict = staticmethod(parse)  # type: ignore[method-assign]
        return parse
    env: dict[str, Any] = {"new": dict.__new__, "cls": cls, "blank": cls._blank, "normalize": _normalize_keys}
    lines = ["def from_dict(data):", "    i = new(cls)", "    i |= blank", "    i |= data"]
    if cls._normalize:
        lines.append(f"    if len(i) != {cls._size}: normalize(i)")
    for index, (name, target, kind) in enumerate(plan):
        key = repr(name)
        if kind == _ALIAS:
            lines += [
                f"    if data.get({key}) is None:",
                f"        v = data.get({target!r})",
                f"        if v is not None: i[{key}] = v",
            ]
            continue
        env[f"N{index}"] = target
        lines.append(f"    v = data.get({key})")
        if kind == _ONE:
            lines.append(f"    if type(v) is dict: i[{key}] = N{index}.from_dict(v)")
        else:
            lines.append(
                f"    if type(v) is list: i[{key}] = [N{index}.from_dict(x) if type(x) is dict else x for x in v]"
            )
    lines.append("    return i")
    exec("\n".join(lines), env)  # our own text, built from field names
    parse = env["from_dict"]
    parse.__qualname__ = f"{cls.__qualname__}.from_dict"
    parse.__doc__ = _FROM_DICT.__func__.__doc__
    cls.from_dict = staticmethod(parse)  # type: ignore[method-assign]
    return parse


def _flat_parser(cls: type[BaseInferenceType], blank: dict[str, None], size: int | None) -> Any:
    new = dict.__new__
    if size is None:

        def from_dict(data: dict[str, Any]) -> Any:
            instance = new(cls)
            instance |= blank
            instance |= data
            return instance

    else:

        def from_dict(data: dict[str, Any]) -> Any:
            instance = new(cls)
            instance |= blank
            instance |= data
            if len(instance) != size:
                _normalize_keys(instance)
            return instance

    from_dict.__qualname__ = f"{cls.__qualname__}.from_dict"
    from_dict.__doc__ = _FROM_DICT.__func__.__doc__
    return from_dict


def _normalize_keys(instance: BaseInferenceType) -> None:
    """Keys such as "Content-Type" become "content_type" (as the reference client does)."""
    for key in [k for k in instance if isinstance(k, str) and k not in instance._fields]:
        normal = key.replace("-", "_").replace(" ", "_").lower()
        if normal != key and (normal not in instance._fields or dict.__getitem__(instance, normal) is None):
            instance[normal] = dict.pop(instance, key)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_TYPING_WORDS = frozenset({"None", "Any", "Literal", "list", "dict", "str", "int", "float", "bool", "object"})


def _nested_type(hint: Any, namespace: dict[str, Any]) -> tuple[type[BaseInferenceType], bool] | None:
    """(type, is_list) when a field holds a BaseInferenceType or a list of them: the first such
    type named in the annotation, as the reference client picks it. A list of lists is left as
    sent (so does the reference). NameError when a name is not defined yet."""
    if not isinstance(hint, str):
        hint = getattr(hint, "__name__", None) or repr(hint)
    if "Literal[" in hint:
        return None
    for match in _NAME.finditer(hint):
        word = match.group()
        if word in _TYPING_WORDS:
            continue
        if word not in namespace:
            raise NameError(word)
        value = namespace[word]
        candidates = [value] if isinstance(value, type) else list(get_args(value))
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseInferenceType):
                before = hint[: match.start()].replace(" ", "")
                if before.endswith("list[list["):
                    return None
                return candidate, before.endswith("list[")
    return None


def _finish(cls: C) -> C:
    """Make a class body a dataclass (positional and keyword construction, `fields`, `asdict`,
    `replace`, field-wise `==`) whose fields read from the dict with C-level getters."""
    dataclasses.dataclass(repr=False, eq=False)(cls)  # in place; `__eq__` is the base's
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for name in names:
        setattr(cls, name, property(itemgetter(name), doc=f"The `{name}` field (None when absent)."))
    for _, key in getattr(cls, "_aliases", ()):
        if key not in names:  # the alias key reads as the field when the server used the other name
            setattr(cls, key, property(_alias_getter(key, next(n for n, k in cls._aliases if k == key))))
    cls._blank = dict.fromkeys(names)
    cls._names = tuple(names)
    cls._size = len(names)
    cls._normalize = cls.__module__ not in _EXACT_KEY_MODULES
    cls._plan = None
    try:  # now, so that `from_dict` references taken at import time are the compiled parser
        _compile(cls)
    except NameError:  # a forward reference (a union alias defined further down): on first use
        cls._plan = None
    return cls


def _alias_getter(key: str, field: str) -> Any:
    def read(self: dict[str, Any]) -> Any:
        value = self.get(key)
        return value if value is not None else self[field]

    return read


if TYPE_CHECKING:
    from dataclasses import dataclass as inference_type
else:
    inference_type = _finish

__all__ = ["BaseInferenceType", "inference_type"]
