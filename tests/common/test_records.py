"""records.record_maker: the record attrs' __init__ would make, or a refusal."""
from __future__ import annotations

import attrs
import pytest

from rccserver.common.records import record_maker, stores_only


@attrs.frozen
class Plain:
    name: str
    port: int | None = None


@attrs.frozen
class Checked:
    port: int = attrs.field(validator=attrs.validators.instance_of(int))


@attrs.frozen
class Derived:
    text: str
    length: int = attrs.field(init=False, default=0)


@attrs.frozen
class Hooked:
    value: int
    seen: list = attrs.field(factory=list, eq=False)

    def __attrs_post_init__(self) -> None:
        self.seen.append(self.value)


def test_the_made_record_is_the_constructed_one():
    made = record_maker(Plain)("host", 5060)
    built = Plain(name="host", port=5060)
    assert type(made) is Plain and made == built and repr(made) == repr(built) and hash(made) == hash(built)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.name = "other"


def test_post_init_runs_as_attrs_runs_it():
    made = record_maker(Hooked)(7, [])
    assert made.seen == [7]


@pytest.mark.parametrize("cls", [Checked, Derived])
def test_a_class_whose_init_does_more_than_store_is_refused(cls):
    assert not stores_only(cls)
    with pytest.raises(TypeError, match="does more than store"):
        record_maker(cls)
