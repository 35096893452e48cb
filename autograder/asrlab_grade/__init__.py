"""asrlab-grade: hardened autograding for asrlab's nbgrader notebooks.

Student code runs in a sandboxed process per submission; the trusted process draws the
inputs, computes the references and compares plain data. See ``autograder/README.md``.
"""
__version__ = "0.1.0"
