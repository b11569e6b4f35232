"""The registry of motion programs: every class of every profile names a registered program,
each program makes one class, and a name that is not registered is a clear error."""
from __future__ import annotations

import numpy as np
import pytest

from ean.data.synth import PROFILES
from ean.data.synth.class_sets import CLASS_SETS, class_names
from ean.data.synth.programs import PROGRAMS, get_program, program, register
from ean.data.synth.scene import Scene


def test_every_class_of_every_profile_has_a_registered_program():
    for name, prof in PROFILES.items():
        class_set = CLASS_SETS[prof.classes]
        for label in class_names(prof.classes):
            assert class_set.program(label) in PROGRAMS, (name, label)
            assert callable(get_program(class_set.program(label)))


def test_each_registered_program_makes_exactly_one_class():
    used = [cs.program(label) for cs in CLASS_SETS.values() for label in cs.classes]
    assert len(used) == len(set(used)), "two classes share a program"
    assert sorted(used) == sorted(PROGRAMS)


def test_an_unknown_program_is_an_error_that_lists_the_registered_ones():
    with pytest.raises(ValueError, match="unknown motion program 'moonwalk'") as err:
        get_program("moonwalk")
    for name in ("translate_lr", "pretend_put_onto", "forward_pike_slanted", "checker_cross", "circle_3"):
        assert name in str(err.value)


def test_a_name_registers_once(monkeypatch):
    monkeypatch.setattr("ean.data.synth.programs.PROGRAMS", dict(PROGRAMS))
    with pytest.raises(ValueError, match="registered twice"):
        register("spin_cw", lambda sc: 0.0)

    @program("test_still_a", where=0.25)
    @program("test_still_b", where=0.75)
    def rest(sc: Scene, where: float) -> float:
        sc.add(sc.look(), where * sc.W, sc.H / 2, sc.smin)
        return 0.0

    prof = PROFILES["smoke"]
    xs = []
    for name in ("test_still_a", "test_still_b"):
        sc = Scene(np.random.default_rng(0), prof.height, prof.width, frames=8, start=0, duration=8,
                   tau=np.arange(8.0), smin=4.0, smax=8.0, dist=10.0, grow=prof.grow)
        assert get_program(name)(sc) == 0.0
        xs.append(sc.tracks[0].x[0])
    assert xs == [0.25 * prof.width, 0.75 * prof.width]
