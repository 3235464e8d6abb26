"""Protobuf message -> typed wrapper (dataclass) conversion.

Every message type has a generated frozen dataclass (``_gen/.../<svc>_types.py``, fields named and
documented as in the proto, plus ``raw``). Hand-written subclasses that add helpers (e.g.
``Job.done``, ``Report.to_pandas``) ``register`` themselves and are then used wherever that
message appears, nested ones included. Conversion is driven by the field descriptors: nested
messages recurse, enums become their names, maps dicts, repeated fields lists, unset proto3
``optional`` / oneof fields None. Registration happens at import; conversion is thread-safe.
"""

import dataclasses
from typing import Any, Dict, Optional, Sequence, Type, TypeVar, Union

from monoroute_client._pb import pb

T = TypeVar("T")

_GENERATED: Dict[str, type] = {}
for _mod in (pb.trainer_types, pb.recorder_types, pb.analysis_types):
    _GENERATED.update(_mod.WRAPPERS)
_OVERRIDES: Dict[str, type] = {}


def register(cls: Type[T]) -> Type[T]:
    """Class decorator: use ``cls`` (a subclass of a generated wrapper) for its message type."""
    _OVERRIDES[cls.PROTO] = cls  # type: ignore[attr-defined]
    return cls


def wrapper_for(full_name: str) -> type:
    """The wrapper class of a message type (registered subclass, else the generated class)."""
    cls = _OVERRIDES.get(full_name) or _GENERATED.get(full_name)
    if cls is None:
        raise TypeError(f"no wrapper for message type {full_name}")
    return cls


def _enum_name(fd: Any, number: int) -> str:
    v = fd.enum_type.values_by_number.get(number)
    return v.name if v is not None else str(number)


def _value(fd: Any, value: Any) -> Any:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        vfd = fd.message_type.fields_by_name["value"]
        if vfd.message_type is not None:
            return {k: from_proto(v) for k, v in value.items()}
        if vfd.enum_type is not None:
            return {k: _enum_name(vfd, v) for k, v in value.items()}
        return dict(value)
    if fd.label == fd.LABEL_REPEATED:
        if fd.message_type is not None:
            return [from_proto(v) for v in value]
        if fd.enum_type is not None:
            return [_enum_name(fd, v) for v in value]
        return list(value)
    if fd.message_type is not None:
        return from_proto(value)
    if fd.enum_type is not None:
        return _enum_name(fd, value)
    return value


def from_proto(msg: Any, cls: Optional[type] = None) -> Any:
    """The wrapper of ``msg`` (``cls`` overrides the registered class)."""
    cls = cls or wrapper_for(msg.DESCRIPTOR.full_name)
    kwargs: Dict[str, Any] = {"raw": msg}
    for fd in msg.DESCRIPTOR.fields:
        if fd.containing_oneof is not None and not msg.HasField(fd.name):
            kwargs[fd.name] = None  # unset proto3 optional / oneof member
        else:
            kwargs[fd.name] = _value(fd, getattr(msg, fd.name))
    return cls(**kwargs)


def enum_value(enum_type: Any, value: Union[None, str, int], field: str) -> int:
    """The number of an enum argument given by name in any case ("succeeded", "Succeeded"), with
    or without the enum's prefix ("JOB_STATE_UNSPECIFIED" also as "unspecified"), or by number;
    None -> 0. ValueError naming ``field`` and the accepted names for anything else."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"{field}: expected a name of {enum_type.DESCRIPTOR.name}, got {value!r}")
    names = [v.name for v in enum_type.DESCRIPTOR.values]
    if isinstance(value, int):
        if value not in enum_type.DESCRIPTOR.values_by_number:
            raise ValueError(f"{field}: {value} is not a value of {enum_type.DESCRIPTOR.name} "
                             f"(names: {', '.join(names)})")
        return int(value)
    if isinstance(value, str):
        want = value.strip().upper().replace("-", "_").replace(" ", "_")
        prefix = _enum_prefix(names)
        for v in enum_type.DESCRIPTOR.values:
            if want in (v.name, v.name[len(prefix):] if v.name.startswith(prefix) else v.name):
                return v.number
    raise ValueError(f"{field}: {value!r} is not a {enum_type.DESCRIPTOR.name} (one of: "
                     f"{', '.join(n.lower() for n in names)}; any case)")


def _enum_prefix(names: Sequence[str]) -> str:
    """The prefix of the enum's zero value (``JOB_STATE_`` of ``JOB_STATE_UNSPECIFIED``)."""
    zero = names[0] if names else ""
    return zero[:-len("UNSPECIFIED")] if zero.endswith("UNSPECIFIED") else ""


def to_dict(wrapper: Any) -> Any:
    """A wrapper (or list / dict of them) as plain dicts and lists, without ``raw``."""
    if isinstance(wrapper, list):
        return [to_dict(v) for v in wrapper]
    if isinstance(wrapper, dict):
        return {k: to_dict(v) for k, v in wrapper.items()}
    if not dataclasses.is_dataclass(wrapper):
        return wrapper
    return {f.name: to_dict(getattr(wrapper, f.name)) for f in dataclasses.fields(wrapper)
            if f.name != "raw"}
