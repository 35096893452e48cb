"""The base of every error asrlab raises for bad input or setup.

Such an error's message names the problem and the fix, so the ``asrlab`` command prints it as one line
(``asrlab: error: ...``) instead of a traceback; ``asrlab --traceback ...`` shows the traceback too.

Usage::

    class CorpusError(AsrlabError, ValueError):
        '''A corpus on disk is malformed.'''
"""
from __future__ import annotations


class AsrlabError(Exception):
    """An error in the user's input or environment, with a message that says how to fix it."""


class SettingError(AsrlabError, ValueError):
    """An environment variable or setting holds a value asrlab cannot use."""
