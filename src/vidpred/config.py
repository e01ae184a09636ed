"""Typed dataclass configs, loaded from YAML with ``a.b=c`` command-line overrides.

Every section of a config is a dataclass. Loading walks the dataclass fields and checks each value's
type, so that a typo or a wrong type fails at once with a sentence naming the key, e.g.

    data.num_digts: unknown key; did you mean 'num_digits'?
    data.num_digits: expected int, got 'two' (str)

A field may be *polymorphic*: its dataclass is chosen by the value of a ``name`` key through a registry
(``data: {name: kth, ...}`` builds a ``KTHConfig``). Such a field carries ``metadata={"choose_by": fn}``
where ``fn(name)`` returns the dataclass to build.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml

# YAML 1.1 (PyYAML) reads a number in exponent notation without a dot, such as 1e-3, as a string
EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


class ConfigError(ValueError):
    """A config value or key is wrong; the message names the key and what was expected."""


def _closest(key: str, options: list[str]) -> str:
    match = difflib.get_close_matches(key, options, n=1, cutoff=0.5)
    if match:
        return f"did you mean '{match[0]}'?"
    return "valid keys: " + ", ".join(sorted(options))


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in typing.get_args(tp) if a is not Ellipsis)}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, path: str) -> Any:
    """Return ``value`` checked (and, for containers, converted) against the annotation ``tp``."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _convert(value, option, path)
            except ConfigError as err:
                errors.append(err)
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})")
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(f"{path}: expected one of {', '.join(repr(a) for a in allowed)}, got {value!r}")
        return value
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{path}: expected null, got {value!r}")
        return None
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r} ({type(value).__name__})")
        key_type, value_type = typing.get_args(tp) or (Any, Any)
        return {_convert(k, key_type, f"{path}"): _convert(v, value_type, f"{path}.{k}") for k, v in value.items()}
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{path}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        out = [_convert(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if dataclasses.is_dataclass(tp):
        if dataclasses.is_dataclass(value):
            value = to_dict(value)
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return from_dict(tp, value, path)
    # Scalars. bool is a subclass of int in Python, so it must be excluded explicitly.
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and EXPONENT.fullmatch(value.strip()):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{path}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})")


def from_dict(cls: type, data: dict, path: str = "") -> Any:
    """Build dataclass ``cls`` from a plain mapping, checking every key and type."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    prefix = f"{path}." if path else ""
    for key in data:
        if key not in fields:
            raise ConfigError(f"{prefix}{key}: unknown key; {_closest(str(key), list(fields))}")
    kwargs = {}
    for name, field in fields.items():
        if name not in data:
            continue
        value = data[name]
        choose_by = field.metadata.get("choose_by")
        if choose_by is not None:
            if dataclasses.is_dataclass(value):
                value = to_dict(value)
            if isinstance(value, dict) and "preset" in field.metadata and "preset" in value:
                # {preset: NAME, key: value ...}: the preset's whole config, with the keys beside it overriding
                rest = {k: v for k, v in value.items() if k != "preset"}
                value = deep_merge(to_dict(field.metadata["preset"](value["preset"])), rest)
            if not isinstance(value, dict) or "name" not in value:
                raise ConfigError(f"{prefix}{name}: expected a mapping with a 'name' key"
                                  + (" or a 'preset' key" if "preset" in field.metadata else ""))
            kwargs[name] = from_dict(choose_by(value["name"]), value, f"{prefix}{name}")
        else:
            kwargs[name] = _convert(value, hints[name], f"{prefix}{name}")
    try:
        obj = cls(**kwargs)
    except TypeError as err:  # a required field is missing
        missing = [n for n, f in fields.items() if n not in data
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        raise ConfigError(f"{prefix}{missing[0] if missing else ''}: required key is missing") from err
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as err:
            raise ConfigError(f"{prefix.rstrip('.') or 'config'}: {err}") from err
    return obj


def deep_merge(base: dict, over: dict) -> dict:
    """``base`` with ``over``'s keys set, recursing into mappings present in both."""
    out = dict(base)
    for key, value in over.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def to_dict(obj: Any) -> Any:
    """Plain-Python (YAML-safe) form of a config: dataclasses to dicts, tuples to lists."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def flatten(tree, prefix: str = "", separator: str = ".") -> dict:
    """A nested mapping as {"a.b.c": value}."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}{separator}{key}" if prefix else str(key), separator))
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'a.b=c'`` -> (['a', 'b'], value); the value is parsed as YAML so ``3`` is int and ``[1,2]`` a list."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected the form key=value, e.g. data.num_digits=1")
    key, raw = text.split("=", 1)
    keys = key.strip().split(".")
    if not all(keys):
        raise ConfigError(f"override {text!r}: empty key")
    return keys, yaml.safe_load(raw) if raw.strip() else ""


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=c`` overrides to a nested mapping (a copy); key checking happens in :func:`from_dict`."""
    data = to_dict(data)
    for text in overrides:
        keys, value = parse_override(text)
        node = data
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {'.'.join(keys[:depth + 1])} is not a section")
            node = child
        node[keys[-1]] = value
    return data


def read_yaml(path: str | Path):
    """The YAML document in ``path``, read safely (no tags that build objects); a file that is not YAML, or uses
    such a tag, is one sentence naming it."""
    try:
        with open(path) as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as err:
        problem = str(getattr(err, "problem", None) or err).strip()
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigError(f"{path} is not a readable config{where}: {problem}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file") from None


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping at the top level")
    return data


def load(cls: type, path: str | Path | None = None, overrides: list[str] = (), base: dict | None = None) -> Any:
    """Load dataclass ``cls`` from a YAML file (or ``base``), then apply ``a.b=c`` overrides."""
    data = dict(base or {})
    if path is not None:
        data.update(load_yaml(path))
    return from_dict(cls, apply_overrides(data, list(overrides)))


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary name, so a killed process never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def save(cfg: Any, path: str | Path) -> None:
    """Save the resolved config as YAML (every field, defaults included)."""
    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
