"""The registry of motion programs: each class of a class set names the program that makes
its clips.

A program is a function of a :class:`~ean.data.synth.scene.Scene` that appends the clip's
tracks and returns the distance its actors travel (pixels). Programs register under their
names, a family of them through one function with bound keyword arguments::

    @program("translate_lr", direction=(1, 0))
    @program("translate_rl", direction=(-1, 0))
    def translate(sc: Scene, direction: tuple[int, int]) -> float: ...

The modules that define them (one per class set) are imported by
:mod:`ean.data.synth.class_sets`, which is what fills the registry.
"""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .scene import Scene

Program = Callable[["Scene"], float]   # appends the tracks, returns the distance travelled (px)

PROGRAMS: dict[str, Program] = {}


def register(name: str, fn: Callable[..., float], **bound: Any) -> str:
    """Register ``fn`` (with the keyword arguments ``bound``) as program ``name``; returns
    the name."""
    if name in PROGRAMS:
        raise ValueError(f"motion program {name!r} is registered twice")
    PROGRAMS[name] = partial(fn, **bound) if bound else fn
    return name


def program(name: str, **bound: Any) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Decorator: register the function as program ``name`` (see :func:`register`); the
    function itself is returned, so that one function can serve several programs."""
    def decorate(fn: Callable[..., float]) -> Callable[..., float]:
        register(name, fn, **bound)
        return fn
    return decorate


def get_program(name: str) -> Program:
    """The program registered as ``name``.

    Raises:
        ValueError: no program has that name (the message lists the registered ones).
    """
    if name not in PROGRAMS:
        raise ValueError(f"unknown motion program {name!r}; registered: {', '.join(sorted(PROGRAMS))}")
    return PROGRAMS[name]
