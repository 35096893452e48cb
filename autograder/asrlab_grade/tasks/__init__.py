"""Hidden grading tasks, one module per assignment (``<assignment>.py`` defining ``ASSIGNMENT``).

These modules hold hidden cases and reference computations. They live only in the
instructor's copy of the repository and are never part of a student release.
"""
