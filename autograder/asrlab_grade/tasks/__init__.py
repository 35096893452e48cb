"""Hidden grading tasks, one module per assignment (``<assignment>.py`` defining ``ASSIGNMENT``).

Each module declares its assignment's tasks; their hidden inputs and references are in
:mod:`asrlab_grade.cases`. Both live only in the instructor's copy of the repository and are never part
of a student release.
"""
