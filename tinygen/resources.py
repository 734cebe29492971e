"""Locate the top-level templates/, firmware/ and boards/ folders.

In a wheel they are mapped into the package as tinygen/_res/<name> (pyproject force-include);
in a source checkout or editable install they sit beside the package.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_dir(name: str) -> Path:
    """Return the folder `name` ('templates', 'firmware' or 'boards') as a real path."""
    packaged = resources.files("tinygen") / "_res" / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"tinygen resource folder '{name}' not found; reinstall tinygen")


def templates_dir() -> Path:
    return resource_dir("templates")


def firmware_dir() -> Path:
    return resource_dir("firmware")


def boards_dir() -> Path:
    return resource_dir("boards")

